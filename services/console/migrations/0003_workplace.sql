-- What My day, the Disputes, Promises and plans, Team and Operations pages need beyond the
-- customer page: when invoices closed (results, DSO), the reminders' scenario and template
-- and a phone call's task, plans' instalments and misses, money waiting for its invoices,
-- how fresh each topic is, the dead letters the console can see and the commands refused.
ALTER TABLE invoices ADD COLUMN closed_on date;
CREATE INDEX invoices_open_company ON invoices (company_code, due_date) WHERE status = 'open';
CREATE INDEX invoices_closed ON invoices (company_code, closed_on) WHERE status = 'settled';

ALTER TABLE reminders ADD COLUMN scenario_id text;
ALTER TABLE reminders ADD COLUMN template text;
ALTER TABLE reminders ADD COLUMN call_task_id uuid;
CREATE INDEX reminders_step ON reminders (scenario_id, step_name);

ALTER TABLE promises ADD COLUMN made_at timestamptz;
ALTER TABLE promises ADD COLUMN recorded_by text;
CREATE INDEX promises_state ON promises (state, promised_date);

ALTER TABLE plans ADD COLUMN agreed_on date;
ALTER TABLE plans ADD COLUMN agreed_by text;
ALTER TABLE plans ADD COLUMN instalments jsonb NOT NULL DEFAULT '[]';
ALTER TABLE plans ADD COLUMN last_missed_on date;
ALTER TABLE plans ADD COLUMN missed_currency char(3);
ALTER TABLE plans ADD COLUMN missed_amount numeric(20, 4);
CREATE INDEX plans_missed ON plans (last_missed_on) WHERE state = 'agreed' AND missed > 0;

CREATE INDEX disputes_open ON disputes (due_date) WHERE state = 'open';

-- A payment or credit note that names invoices the ledger has not seen yet, until cleared.
CREATE TABLE unmatched_cash (
    kind         text NOT NULL,
    document_id  text NOT NULL,
    customer_id  text NOT NULL,
    company_code text NOT NULL,
    currency     char(3) NOT NULL,
    amount       numeric(20, 4) NOT NULL,
    value_date   date NOT NULL,
    awaiting     text[] NOT NULL,
    recorded_at  timestamptz NOT NULL,
    outcome      text,
    cleared_at   timestamptz,
    PRIMARY KEY (kind, document_id)
);
CREATE INDEX unmatched_cash_waiting ON unmatched_cash (customer_id) WHERE cleared_at IS NULL;

-- How fresh the read model is: per topic, the newest event applied and when.
CREATE TABLE topic_freshness (
    topic            text PRIMARY KEY,
    last_occurred_at timestamptz NOT NULL,
    last_applied_at  timestamptz NOT NULL,
    events           bigint NOT NULL DEFAULT 0
);

-- Dead letters of the public topics, counted per topic and reason by the console's census
-- (it reads the dead-letter topics without a consumer group from where it stopped).
CREATE TABLE dead_letter_counts (
    topic   text NOT NULL,
    reason  text NOT NULL,
    records bigint NOT NULL,
    last_at timestamptz NOT NULL,
    PRIMARY KEY (topic, reason)
);
CREATE TABLE dead_letter_positions (
    topic       text NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint NOT NULL,
    PRIMARY KEY (topic, partition)
);

-- A command of any producer that the scheduler refused (dunning.commands.v1.dlq).
CREATE TABLE refused_commands (
    command_id    uuid PRIMARY KEY,
    customer_id   text,
    command       text NOT NULL,
    actor_subject text,
    reason        text NOT NULL,
    detail        text,
    refused_at    timestamptz NOT NULL
);
CREATE INDEX refused_commands_at ON refused_commands (refused_at DESC);
CREATE INDEX customers_collector ON customers (collector_code);

-- Each combination of company, collector and market some customer has had: My day's filter
-- lists read these few rows instead of every customer.
CREATE TABLE customer_segments (
    company_code   text NOT NULL,
    collector_code text NOT NULL DEFAULT '',
    market         text NOT NULL,
    PRIMARY KEY (company_code, collector_code, market)
);
INSERT INTO customer_segments (company_code, collector_code, market)
SELECT DISTINCT company_code, coalesce(collector_code, ''), market FROM customers;

-- The money at risk of each item My day lists (the open amount of its invoices, in the
-- currency holding the most), kept by the projection when the item or one of its invoices
-- changes: My day then sorts stored amounts instead of summing invoices for every item.
ALTER TABLE disputes ADD COLUMN at_risk_currency char(3);
ALTER TABLE disputes ADD COLUMN at_risk numeric(20, 4);
ALTER TABLE deliveries ADD COLUMN at_risk_currency char(3);
ALTER TABLE deliveries ADD COLUMN at_risk numeric(20, 4);
ALTER TABLE reminders ADD COLUMN at_risk_currency char(3);
ALTER TABLE reminders ADD COLUMN at_risk numeric(20, 4);
CREATE INDEX disputes_open_invoices ON disputes USING gin (invoice_ids) WHERE state = 'open';
CREATE INDEX deliveries_trouble_invoices ON deliveries USING gin (invoice_ids)
    WHERE outcome IN ('failed', 'bounced');
CREATE INDEX reminders_calls_open_invoices ON reminders USING gin (invoice_ids)
    WHERE channel = 'phone_call' AND closed_at IS NULL;
UPDATE disputes d SET (at_risk_currency, at_risk) = (
    SELECT i.currency, sum(i.open_amount) FROM invoices i
    WHERE i.status = 'open' AND i.invoice_id = ANY(d.invoice_ids)
    GROUP BY i.currency ORDER BY 2 DESC LIMIT 1);
UPDATE deliveries v SET (at_risk_currency, at_risk) = (
    SELECT i.currency, sum(i.open_amount) FROM invoices i
    WHERE i.status = 'open' AND i.invoice_id = ANY(v.invoice_ids)
    GROUP BY i.currency ORDER BY 2 DESC LIMIT 1);
UPDATE reminders t SET (at_risk_currency, at_risk) = (
    SELECT i.currency, sum(i.open_amount) FROM invoices i
    WHERE i.status = 'open' AND i.invoice_id = ANY(t.invoice_ids)
    GROUP BY i.currency ORDER BY 2 DESC LIMIT 1)
WHERE t.channel = 'phone_call';
