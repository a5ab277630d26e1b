-- The portal's read model: what a customer sees of their account with one company, built
-- only from the public topics (ledger.events.v1, disputes.events.v1), and the revocation
-- list of the customers' signed links. Described in docs/portal.md.

CREATE TABLE customers (
    customer_id   text PRIMARY KEY,
    company_code  text NOT NULL,
    version       bigint NOT NULL,
    name          text NOT NULL,
    language      text NOT NULL,
    country       text NOT NULL
);

-- One row per invoice; closed (settled or cancelled) invoices leave the open list.
CREATE TABLE invoices (
    invoice_id      text PRIMARY KEY,
    customer_id     text NOT NULL,
    company_code    text NOT NULL,
    invoice_number  text NOT NULL,
    issue_date      date NOT NULL,
    due_date        date NOT NULL,
    amount          numeric NOT NULL,
    open_amount     numeric NOT NULL,
    currency        char(3) NOT NULL,
    closed          boolean NOT NULL DEFAULT false,
    changed_at      timestamptz NOT NULL
);
CREATE INDEX invoices_open_of_customer ON invoices (customer_id, company_code) WHERE NOT closed;

-- Payments and credit notes received: what reduced an invoice's open amount.
CREATE TABLE receipts (
    event_id        uuid PRIMARY KEY,
    customer_id     text NOT NULL,
    company_code    text NOT NULL,
    invoice_id      text NOT NULL,
    invoice_number  text NOT NULL,
    cause           text NOT NULL,   -- payment, credit_note
    amount          numeric NOT NULL,
    currency        char(3) NOT NULL,
    received_on     date NOT NULL
);
CREATE INDEX receipts_of_customer ON receipts (customer_id, company_code, received_on DESC);

-- What pauses an invoice: open disputes, running promises and payment plans.
CREATE TABLE pauses (
    kind           text NOT NULL CHECK (kind IN ('dispute', 'promise', 'plan')),
    pause_id       uuid NOT NULL,
    customer_id    text NOT NULL,
    invoice_ids    text[] NOT NULL,
    whole_account  boolean NOT NULL DEFAULT false,
    until          date,             -- a promise's date; NULL otherwise
    PRIMARY KEY (kind, pause_id)
);
CREATE INDEX pauses_of_customer ON pauses (customer_id);

-- Revoked links: every link of this customer and company signed before revoked_at is refused.
CREATE TABLE revoked_links (
    customer_id   text NOT NULL,
    company_code  text NOT NULL,
    revoked_at    timestamptz NOT NULL,
    reason        text NOT NULL,
    PRIMARY KEY (customer_id, company_code)
);
