-- The receivables ledger, built from the ERPs' documents. Money is numeric(18, 4), never float.

CREATE TABLE customers (
    customer_id   text PRIMARY KEY,
    company_code  text NOT NULL,
    version       bigint NOT NULL CHECK (version >= 0),
    name          text NOT NULL,
    country       text NOT NULL,
    time_zone     text NOT NULL,
    language      text NOT NULL,
    document      jsonb NOT NULL
);

CREATE TABLE invoices (
    company_code    text NOT NULL,
    invoice_number  text NOT NULL,
    customer_id     text NOT NULL,
    version         bigint NOT NULL CHECK (version >= 0),
    currency        char(3) NOT NULL,
    amount          numeric(18, 4) NOT NULL CHECK (amount > 0),
    open_amount     numeric(18, 4) NOT NULL CHECK (open_amount >= 0 AND open_amount <= amount),
    issue_date      date NOT NULL,
    due_date        date NOT NULL CHECK (due_date >= issue_date),
    status          text NOT NULL CHECK (status IN ('open', 'settled', 'cancelled')),
    settled_on      date,
    payment_terms   text,
    purchase_order  text,
    extra           jsonb NOT NULL DEFAULT '{}',
    content_hash    text NOT NULL,
    PRIMARY KEY (company_code, invoice_number)
);
CREATE INDEX invoices_open_by_customer ON invoices (customer_id, company_code, due_date)
    WHERE status = 'open';

-- Payments and credit notes: one row per ERP document, whatever became of it.
CREATE TABLE documents (
    company_code   text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('payment', 'credit_note')),
    document_id    text NOT NULL,
    customer_id    text NOT NULL,
    currency       char(3) NOT NULL,
    amount         numeric(18, 4) NOT NULL CHECK (amount > 0),
    value_date     date NOT NULL,
    content_hash   text NOT NULL,
    status         text NOT NULL CHECK (status IN ('applied', 'parked', 'rejected')),
    event_id       uuid NOT NULL,
    PRIMARY KEY (company_code, kind, document_id)
);

-- What each payment or credit note paid on which invoice.
CREATE TABLE allocations (
    company_code    text NOT NULL,
    kind            text NOT NULL,
    document_id     text NOT NULL,
    invoice_number  text NOT NULL,
    currency        char(3) NOT NULL,
    amount          numeric(18, 4) NOT NULL CHECK (amount > 0)
);
CREATE INDEX allocations_by_invoice ON allocations (company_code, invoice_number);

-- Unallocated credit of a customer, per company and currency.
CREATE TABLE credit_balances (
    company_code  text NOT NULL,
    customer_id   text NOT NULL,
    currency      char(3) NOT NULL,
    balance       numeric(18, 4) NOT NULL CHECK (balance >= 0),
    PRIMARY KEY (company_code, customer_id, currency)
);

-- Payments and credit notes naming invoices not seen yet; applied when the last one arrives.
CREATE TABLE parked_documents (
    company_code  text NOT NULL,
    kind          text NOT NULL,
    document_id   text NOT NULL,
    customer_id   text NOT NULL,
    awaiting      text[] NOT NULL,
    event         jsonb NOT NULL,
    parked_seq    bigserial,
    status        text NOT NULL DEFAULT 'parked' CHECK (status IN ('parked', 'rejected')),
    reason        text,
    PRIMARY KEY (company_code, kind, document_id)
);
CREATE INDEX parked_documents_awaiting ON parked_documents USING gin (awaiting);
