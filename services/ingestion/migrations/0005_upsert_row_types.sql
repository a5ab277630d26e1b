-- Row types of the batch upserts: each upsert passes one array of rows instead of an
-- array per column. asyncpg checks every element of an array parameter against the
-- collections.abc classes in Python (two checks per string): with a column per field that
-- was about 37 checks per ERP event, with a row type three per row (services/ingestion/
-- queries.py; docs/ingestion.md, issue 22).
CREATE TYPE invoice_upsert AS (
    company_code    text,
    invoice_number  text,
    customer_id     text,
    version         bigint,
    currency        text,
    amount          numeric,
    open_amount     numeric,
    issue_date      date,
    due_date        date,
    status          text,
    settled_on      date,
    payment_terms   text,
    purchase_order  text,
    extra           text,
    content_hash    text
);

CREATE TYPE document_upsert AS (
    company_code  text,
    kind          text,
    document_id   text,
    customer_id   text,
    currency      text,
    amount        numeric,
    value_date    date,
    content_hash  text,
    status        text,
    event_id      uuid
);

CREATE TYPE balance_upsert AS (
    company_code  text,
    customer_id   text,
    currency      text,
    balance       numeric,
    lots          text
);
