-- The notifier's own view of customers, invoices and disputes, and its deliveries.

CREATE TABLE customers (
    customer_id text PRIMARY KEY,
    version bigint NOT NULL,
    name text NOT NULL,
    language text NOT NULL,
    contacts jsonb NOT NULL
);

-- Invoices settled or cancelled: a reminder never mentions them again (a reversal reopens).
CREATE TABLE closed_invoices (
    invoice_id text PRIMARY KEY,
    customer_id text NOT NULL,
    status text NOT NULL CHECK (status IN ('settled', 'cancelled'))
);

CREATE TABLE open_disputes (
    dispute_id uuid PRIMARY KEY,
    customer_id text NOT NULL,
    invoice_ids text[] NOT NULL,
    whole_account boolean NOT NULL
);
CREATE INDEX open_disputes_customer ON open_disputes (customer_id);

-- One delivery per reminder and channel: a reminder delivered twice is recorded once.
CREATE TABLE deliveries (
    reminder_id uuid NOT NULL,
    channel text NOT NULL,
    delivery_id uuid NOT NULL UNIQUE,
    customer_id text NOT NULL,
    reminder jsonb NOT NULL,
    status text NOT NULL
        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'suppressed')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    lease_until timestamptz,
    invoice_ids text[] NOT NULL,
    recipients text[],
    message_id text,
    content bytea,
    content_sha256 text,
    provider text,
    provider_tracking_id text,
    provider_reply text,
    last_error text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (reminder_id, channel)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status IN ('pending', 'sending');
CREATE INDEX deliveries_invoices ON deliveries USING gin (invoice_ids);

-- Every attempt, with its timestamps and outcome: the proof archive.
CREATE TABLE delivery_attempts (
    delivery_id uuid NOT NULL,
    attempt integer NOT NULL,
    started_at timestamptz NOT NULL,
    finished_at timestamptz,
    outcome text,
    detail text,
    PRIMARY KEY (delivery_id, attempt)
);
CREATE INDEX deliveries_tracking ON deliveries (provider, provider_tracking_id);

-- What providers report after sending (SMS delivery reports, acknowledgements of receipt).
CREATE TABLE delivery_reports (
    delivery_id uuid NOT NULL,
    status text NOT NULL,
    received_at timestamptz NOT NULL,
    detail jsonb NOT NULL,
    PRIMARY KEY (delivery_id, status)
);
