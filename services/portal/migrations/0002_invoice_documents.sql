-- Invoice copies: the document reference the ERP published with each invoice
-- (erp.invoices.v1, `document`), newest version wins. A copy is served only to the link of
-- the invoice's own customer and company (docs/portal.md, "Invoice copies").

CREATE TABLE invoice_documents (
    invoice_id      text PRIMARY KEY,
    customer_id     text NOT NULL,
    company_code    text NOT NULL,
    invoice_number  text NOT NULL,
    version         bigint NOT NULL,
    reference       text,             -- NULL: the newest version names no copy
    media_type      text,
    sha256          char(64)
);
CREATE INDEX invoice_documents_of_customer ON invoice_documents (customer_id, company_code);
