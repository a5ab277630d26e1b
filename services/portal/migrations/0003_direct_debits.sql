-- Direct debits the portal started through GoCardless (docs/portal.md, "Paying by direct
-- debit"): one row per chosen invoices (with their open amounts) and attempt. `debit_id` is
-- the billing request's Idempotency-Key, so the same choice is one billing request, one
-- payment; a new attempt on the same choice only after the previous one failed.
--   started    the billing request exists; the customer has not authorised it yet
--   fulfilled  the customer authorised the mandate and the payment (not submitted yet)
--   announced  the payment went to the banks: sent as a `payment_announced` promise
--   failed     the payment (or the billing request) failed or was cancelled
CREATE TABLE direct_debits (
    debit_id            uuid PRIMARY KEY,
    choice              text NOT NULL,
    attempt             integer NOT NULL CHECK (attempt >= 0),
    customer_id         text NOT NULL,
    company_code        text NOT NULL,
    invoice_ids         text[] NOT NULL,
    amount              numeric NOT NULL CHECK (amount > 0),
    currency            text NOT NULL,
    billing_request_id  text UNIQUE,
    payment_id          text UNIQUE,
    status              text NOT NULL DEFAULT 'started'
                        CHECK (status IN ('started', 'fulfilled', 'announced', 'failed')),
    reason              text,
    created_at          timestamptz NOT NULL,
    changed_at          timestamptz NOT NULL,
    UNIQUE (choice, attempt)
);
CREATE INDEX direct_debits_of_customer ON direct_debits (customer_id, company_code);
