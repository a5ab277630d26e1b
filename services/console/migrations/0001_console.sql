-- The console's read model, built from the public topics only (ledger, dunning actions,
-- deliveries, disputes): what a collector's pages show, never another service's tables.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

CREATE TABLE customers (
    customer_id    text PRIMARY KEY,
    company_code   text NOT NULL,
    version        bigint NOT NULL,
    name           text NOT NULL,
    country        text NOT NULL,
    language       text NOT NULL,
    customer_type  text NOT NULL,
    market         text NOT NULL,
    risk_rating    text NOT NULL,
    payer_profile  text,
    collector_code text,
    contacts       jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX customers_name_trgm ON customers USING gin (name public.gin_trgm_ops);
CREATE INDEX customers_id_trgm ON customers USING gin (customer_id public.gin_trgm_ops);
CREATE INDEX customers_company ON customers (company_code);

CREATE TABLE invoices (
    invoice_id     text PRIMARY KEY,
    customer_id    text NOT NULL,
    company_code   text NOT NULL,
    invoice_number text NOT NULL,
    issue_date     date NOT NULL,
    due_date       date NOT NULL,
    currency       char(3) NOT NULL,
    amount         numeric(20, 4) NOT NULL,
    open_amount    numeric(20, 4) NOT NULL,
    status         text NOT NULL CHECK (status IN ('open', 'settled', 'cancelled')),
    scenario_id    text,
    step_name      text,
    level          text,
    paused         boolean NOT NULL DEFAULT false,
    pause_reason   text,
    next_action_at timestamptz
);
CREATE INDEX invoices_customer ON invoices (customer_id) WHERE status = 'open';
CREATE INDEX invoices_number_trgm ON invoices USING gin (invoice_number public.gin_trgm_ops);

-- Disputes, promises and plans: their current state, for statuses and the worklist.
CREATE TABLE disputes (
    dispute_id    uuid PRIMARY KEY,
    customer_id   text NOT NULL,
    invoice_ids   text[] NOT NULL,
    whole_account boolean NOT NULL,
    category      text NOT NULL,
    owner_role    text NOT NULL,
    owner         text,
    due_date      date NOT NULL,
    state         text NOT NULL CHECK (state IN ('open', 'resolved')),
    opened_at     timestamptz NOT NULL
);
CREATE INDEX disputes_customer ON disputes (customer_id);

CREATE TABLE promises (
    promise_id    uuid PRIMARY KEY,
    customer_id   text NOT NULL,
    invoice_ids   text[] NOT NULL,
    promised_date date NOT NULL,
    currency      char(3) NOT NULL,
    amount        numeric(20, 4) NOT NULL,
    state         text NOT NULL CHECK (state IN ('made', 'kept', 'broken')),
    closed_at     timestamptz
);
CREATE INDEX promises_customer ON promises (customer_id);

CREATE TABLE plans (
    plan_id     uuid PRIMARY KEY,
    customer_id text NOT NULL,
    invoice_ids text[] NOT NULL,
    state       text NOT NULL CHECK (state IN ('agreed', 'broken', 'completed')),
    missed      integer NOT NULL DEFAULT 0
);
CREATE INDEX plans_customer ON plans (customer_id);

-- Reminders due and what became of them: a phone call is a call task until closed.
CREATE TABLE reminders (
    reminder_id   uuid PRIMARY KEY,
    customer_id   text NOT NULL,
    company_code  text NOT NULL,
    channel       text NOT NULL,
    level         text NOT NULL,
    step_name     text NOT NULL,
    scheduled_for timestamptz NOT NULL,
    invoice_ids   text[] NOT NULL,
    call_outcome  text,
    closed_at     timestamptz
);
CREATE INDEX reminders_calls_open ON reminders (scheduled_for)
    WHERE channel = 'phone_call' AND closed_at IS NULL;

-- The latest outcome of each delivery; a failure or a bounce needs someone.
CREATE TABLE deliveries (
    delivery_id uuid PRIMARY KEY,
    reminder_id uuid NOT NULL,
    customer_id text NOT NULL,
    channel     text NOT NULL,
    outcome     text NOT NULL,
    reason      text,
    invoice_ids text[] NOT NULL,
    at          timestamptz NOT NULL
);
CREATE INDEX deliveries_trouble ON deliveries (customer_id) WHERE outcome IN ('failed', 'bounced');

-- The customer's timeline: one entry per event, its facts as JSON for the page to word.
CREATE TABLE timeline (
    event_id    uuid PRIMARY KEY,
    customer_id text NOT NULL,
    at          timestamptz NOT NULL,
    kind        text NOT NULL,
    facts       jsonb NOT NULL
);
CREATE INDEX timeline_customer ON timeline (customer_id, at DESC);
