-- Send-time controls: what the notifier must know to stay silent, or to wait, right before
-- anything reaches a customer.

-- The customer's company (suspensions are per company), country and time zone (the sending
-- window and business days) and type (consumers owe no fixed recovery indemnity).
-- Rows recorded before this migration keep NULLs until the customer's next upsert; the
-- dispatcher then uses the settings' default country and time zone.
ALTER TABLE customers
    ADD COLUMN company_code text,
    ADD COLUMN country text,
    ADD COLUMN time_zone text,
    ADD COLUMN customer_type text;

-- The reminder's company, for the claim's set-based suspension check.
ALTER TABLE deliveries ADD COLUMN company_code text;
UPDATE deliveries SET company_code = reminder->>'company_code';
ALTER TABLE deliveries ALTER COLUMN company_code SET NOT NULL;
-- Each customer's last delivery sent, for the minimum gap when held deliveries are released.
CREATE INDEX deliveries_sent_to_customer ON deliveries (customer_id, updated_at)
    WHERE status = 'sent';

-- Since when an invoice is disputed (the statements say "in dispute since 18/02").
ALTER TABLE open_disputes ADD COLUMN opened_on date;

-- Sending suspensions, for one company (company_code) or for every company (NULL).
-- A suspension is active while lifted_at is NULL; who, when and why are kept.
CREATE TABLE suspensions (
    suspension_id uuid PRIMARY KEY,
    company_code  text,
    suspended_by  text NOT NULL,
    reason        text NOT NULL,
    suspended_at  timestamptz NOT NULL,
    lifted_by     text,
    lifted_at     timestamptz,
    released      integer
);
CREATE INDEX suspensions_active ON suspensions (company_code) WHERE lifted_at IS NULL;

-- Active promises to pay and payment plans: their invoices are handled elsewhere and are
-- never dunned (reason `paused`), nor counted as due in a statement.
CREATE TABLE commitments (
    commitment_id uuid PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('promise', 'plan')),
    customer_id   text NOT NULL,
    invoice_ids   text[] NOT NULL,
    since         date NOT NULL,
    until         date
);
CREATE INDEX commitments_customer ON commitments (customer_id);

-- Addresses (phone numbers in E.164, email addresses) that asked to receive nothing more,
-- e.g. an SMS "STOP" reported by Twilio; a "START" removes the row.
CREATE TABLE opt_outs (
    address     text PRIMARY KEY,
    source      text NOT NULL,
    recorded_at timestamptz NOT NULL
);

