-- Customers as the ledger describes them, with the scheduler's own per-customer facts.
CREATE TABLE customer (
    customer_id      text PRIMARY KEY,
    company_code     text NOT NULL,
    country          text NOT NULL,
    time_zone        text NOT NULL,
    language         text NOT NULL,
    segment          jsonb NOT NULL,
    version          bigint NOT NULL,
    last_contact_at  timestamptz
);

-- One row per invoice the scheduler follows: its dunning state and its durable timer.
-- position: index of the next step of the scenario (number of steps = only the exit is left).
-- status: active (in its scenario), closed (settled or cancelled), escalated (exit taken),
--         unassigned (no scenario: no reminders).
CREATE TABLE dunning_invoice (
    invoice_id      text PRIMARY KEY,
    customer_id     text NOT NULL,
    company_code    text NOT NULL,
    invoice_number  text NOT NULL,
    due_date        date NOT NULL,
    currency        text NOT NULL,
    amount          numeric NOT NULL,
    open_amount     numeric NOT NULL,
    scenario_id     text,
    position        integer NOT NULL DEFAULT 0,
    status          text NOT NULL DEFAULT 'active'
                    CHECK (status IN ('active', 'closed', 'escalated', 'unassigned')),
    pause_reason    text,
    -- set when a pause ends: the next step is the one where the invoice stopped, with no
    -- catch-up over the steps that fell due during the pause
    resumed         boolean NOT NULL DEFAULT false,
    last_step_name  text,
    last_level      text,
    last_action_at  timestamptz,
    next_action_at  timestamptz
);

CREATE INDEX dunning_invoice_due ON dunning_invoice (next_action_at)
    WHERE next_action_at IS NOT NULL;
CREATE INDEX dunning_invoice_customer ON dunning_invoice (customer_id);

-- Steps passed over after an outage (catch-up): kept as the history of what was not sent.
CREATE TABLE skipped_step (
    invoice_id  text NOT NULL,
    scenario_id text NOT NULL,
    step_name   text NOT NULL,
    skipped_at  timestamptz NOT NULL,
    PRIMARY KEY (invoice_id, scenario_id, step_name)
);

-- A single row: when suspended, no tick sends anything until resumed.
CREATE TABLE global_suspension (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    suspended  boolean NOT NULL DEFAULT false,
    changed_at timestamptz
);
INSERT INTO global_suspension (singleton, suspended) VALUES (true, false);
