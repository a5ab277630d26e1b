-- The disputes service's view of the ledger, its disputes, promises and payment plans.

-- Customers as the ledger describes them: only what the service needs (days end in their zone).
CREATE TABLE customer (
    customer_id text PRIMARY KEY,
    time_zone   text NOT NULL,
    version     bigint NOT NULL
);

-- Invoices as the ledger describes them: a command naming an unknown, settled or cancelled
-- invoice is rejected.
CREATE TABLE invoice (
    invoice_id  text PRIMARY KEY,
    customer_id text NOT NULL,
    currency    text NOT NULL,
    open_amount numeric NOT NULL,
    status      text NOT NULL CHECK (status IN ('open', 'settled', 'cancelled'))
);
CREATE INDEX invoice_customer ON invoice (customer_id);

-- Payments the ledger showed on each invoice (a reversal is negative), for promises and plans.
CREATE TABLE payment (
    id          bigserial PRIMARY KEY,
    invoice_id  text NOT NULL,
    customer_id text NOT NULL,
    amount      numeric NOT NULL,
    received_at timestamptz NOT NULL
);
CREATE INDEX payment_invoice ON payment (invoice_id, received_at);

-- status: open (the owner must solve it), awaiting_correction (justified: paused until the
-- ledger shows the credit note or correction on every invoice), resolved.
-- opening: 1, then one more at each reopening; owner reminders are numbered per opening.
-- next_reminder_at: the durable timer of the next owner reminder, while open.
CREATE TABLE dispute (
    dispute_id        uuid PRIMARY KEY,
    customer_id       text NOT NULL,
    invoice_ids       text[] NOT NULL,
    whole_account     boolean NOT NULL,
    category          text NOT NULL,
    text              text NOT NULL,
    raised_by         text NOT NULL,
    owner_role        text NOT NULL,
    owner             text,
    due_date          date NOT NULL,
    status            text NOT NULL CHECK (status IN ('open', 'awaiting_correction', 'resolved')),
    outcome           text,
    awaiting          text[] NOT NULL DEFAULT '{}',
    opening           integer NOT NULL DEFAULT 1,
    reminders_sent    integer NOT NULL DEFAULT 0,
    next_reminder_at  timestamptz,
    version           integer NOT NULL DEFAULT 1,
    opened_at         timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX dispute_customer ON dispute (customer_id);
CREATE INDEX dispute_reminder_due ON dispute (next_reminder_at) WHERE next_reminder_at IS NOT NULL;

-- Every transition of a dispute: who did what, when (the proof of good faith).
CREATE TABLE dispute_transition (
    id          bigserial PRIMARY KEY,
    dispute_id  uuid NOT NULL REFERENCES dispute (dispute_id),
    version     integer NOT NULL,
    action      text NOT NULL,
    actor       text NOT NULL,
    at          timestamptz NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX dispute_transition_dispute ON dispute_transition (dispute_id, id);

-- deadline_at: the durable timer: when the promised date plus the grace is over.
CREATE TABLE promise (
    promise_id    uuid PRIMARY KEY,
    customer_id   text NOT NULL,
    invoice_ids   text[] NOT NULL,
    promised_date date NOT NULL,
    amount        numeric NOT NULL,
    currency      text NOT NULL,
    channel       text NOT NULL,
    recorded_by   text NOT NULL,
    made_at       timestamptz NOT NULL,
    deadline_at   timestamptz NOT NULL,
    status        text NOT NULL CHECK (status IN ('open', 'kept', 'broken')),
    received      numeric NOT NULL DEFAULT 0,
    closed_on     date
);
CREATE INDEX promise_customer ON promise (customer_id);
CREATE INDEX promise_deadline ON promise (deadline_at) WHERE status = 'open';

-- next_check_at: the durable timer: when the first unpaid instalment is missed.
CREATE TABLE payment_plan (
    plan_id       uuid PRIMARY KEY,
    customer_id   text NOT NULL,
    invoice_ids   text[] NOT NULL,
    agreed_on     date NOT NULL,
    agreed_by     text NOT NULL,
    instalments   jsonb NOT NULL,
    currency      text NOT NULL,
    made_at       timestamptz NOT NULL,
    status        text NOT NULL CHECK (status IN ('active', 'completed', 'broken')),
    received      numeric NOT NULL DEFAULT 0,
    next_check_at timestamptz,
    closed_on     date
);
CREATE INDEX payment_plan_customer ON payment_plan (customer_id);
CREATE INDEX payment_plan_check ON payment_plan (next_check_at) WHERE status = 'active';

-- Each customer's promises, for the broken-promise rate (reporting, payer-profile hints).
CREATE TABLE customer_promise_record (
    customer_id text PRIMARY KEY,
    made        integer NOT NULL DEFAULT 0,
    kept        integer NOT NULL DEFAULT 0,
    broken      integer NOT NULL DEFAULT 0
);
