-- The ledger's keys compare byte by byte (COLLATE "C"). A btree on text under a libc
-- collation other than C calls strcoll for every comparison of a descent: each invoice
-- written probes the primary key and inserts into it and into the open invoices' index,
-- each payment or credit note its document's key, each read of a batch the customers' and
-- invoices' keys. Identifiers (company codes, invoice and document numbers, customer ids,
-- currency codes) have no linguistic order to keep; in UTF-8 the bytes' order is the code
-- points', which is also what glibc's C.UTF-8 gives, so the order of any listing by these
-- columns is unchanged on such a database. Equality was byte by byte already (every libc
-- collation is deterministic). PostgreSQL rebuilds the indexes on these columns; it does
-- not rewrite the tables (docs/ingestion.md, issue 22, fourteenth round).
ALTER TABLE customers
    ALTER COLUMN customer_id TYPE text COLLATE "C";

ALTER TABLE invoices
    ALTER COLUMN company_code TYPE text COLLATE "C",
    ALTER COLUMN invoice_number TYPE text COLLATE "C",
    ALTER COLUMN customer_id TYPE text COLLATE "C";

ALTER TABLE documents
    ALTER COLUMN company_code TYPE text COLLATE "C",
    ALTER COLUMN kind TYPE text COLLATE "C",
    ALTER COLUMN document_id TYPE text COLLATE "C",
    ALTER COLUMN customer_id TYPE text COLLATE "C";

ALTER TABLE allocations
    ALTER COLUMN company_code TYPE text COLLATE "C",
    ALTER COLUMN kind TYPE text COLLATE "C",
    ALTER COLUMN document_id TYPE text COLLATE "C",
    ALTER COLUMN invoice_number TYPE text COLLATE "C";

ALTER TABLE credit_balances
    ALTER COLUMN company_code TYPE text COLLATE "C",
    ALTER COLUMN customer_id TYPE text COLLATE "C",
    ALTER COLUMN currency TYPE char(3) COLLATE "C";

ALTER TABLE parked_documents
    ALTER COLUMN company_code TYPE text COLLATE "C",
    ALTER COLUMN kind TYPE text COLLATE "C",
    ALTER COLUMN document_id TYPE text COLLATE "C",
    ALTER COLUMN customer_id TYPE text COLLATE "C";
