-- The reporting schema: read models for BI tools, fed only by events.
-- Every column is described in docs/reporting.md.

-- Parameters written by the service at start from its settings (one row).
CREATE TABLE report_parameters (
    singleton           boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    reporting_currency  char(3) NOT NULL DEFAULT 'EUR'
);
INSERT INTO report_parameters (reporting_currency) VALUES ('EUR');

-- Age buckets of the aged balance; days overdue = as-of date - due date.
CREATE TABLE aging_buckets (
    bucket_order  integer PRIMARY KEY,
    label         text NOT NULL UNIQUE,
    min_days      integer,          -- NULL: no lower bound
    max_days      integer           -- NULL: no upper bound
);
INSERT INTO aging_buckets VALUES
    (0, 'not_due', NULL, 0),
    (1, '1-30', 1, 30),
    (2, '31-60', 31, 60),
    (3, '61-90', 61, 90),
    (4, '91-120', 91, 120),
    (5, 'over_120', 121, NULL);

-- Customers, without personal data: no contacts, and no name for consumers.
CREATE TABLE customers (
    customer_id    text PRIMARY KEY,
    company_code   text NOT NULL,
    version        bigint NOT NULL,
    name           text,
    country        char(2) NOT NULL,
    customer_type  text NOT NULL,
    market         text NOT NULL,
    risk_rating    text NOT NULL,
    payer_profile  text
);
CREATE INDEX customers_company ON customers (company_code);

-- Every invoice the ledger opened, open or not.
CREATE TABLE invoices (
    invoice_id      text PRIMARY KEY,
    company_code    text NOT NULL,
    customer_id     text NOT NULL,
    invoice_number  text NOT NULL,
    issue_date      date NOT NULL,
    due_date        date NOT NULL,
    currency        char(3) NOT NULL,
    amount          numeric(20, 4) NOT NULL,
    open_amount     numeric(20, 4) NOT NULL,
    status          text NOT NULL CHECK (status IN ('open', 'settled', 'cancelled')),
    settled_on      date,
    settlement_cause text,
    cancelled_at    timestamptz,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX invoices_open ON invoices (company_code, customer_id) WHERE status = 'open';
CREATE INDEX invoices_customer ON invoices (customer_id);
CREATE INDEX invoices_settled ON invoices (settled_on) WHERE status = 'settled';
CREATE INDEX invoices_issue ON invoices (company_code, issue_date);

-- History of each invoice's open amount: one row per ledger event, effective from a date.
CREATE TABLE invoice_open_amounts (
    invoice_id    text NOT NULL,
    event_id      uuid NOT NULL,
    effective_on  date NOT NULL,
    occurred_at   timestamptz NOT NULL,
    open_amount   numeric(20, 4) NOT NULL,
    due_date      date NOT NULL,
    cause         text NOT NULL,
    PRIMARY KEY (invoice_id, effective_on, occurred_at, event_id)
);

-- Where each invoice stands in its dunning scenario (from dunning.state.changed).
CREATE TABLE invoice_dunning (
    invoice_id      text PRIMARY KEY,
    customer_id     text NOT NULL,
    scenario_id     text NOT NULL,
    step_name       text,
    dunning_level   text,
    paused          boolean NOT NULL,
    pause_reason    text,
    last_action_at  timestamptz,
    next_action_at  timestamptz,
    changed_at      timestamptz NOT NULL
);

-- Disputes, without their texts and actors (free text and logins may be personal data).
CREATE TABLE disputes (
    dispute_id     uuid PRIMARY KEY,
    customer_id    text NOT NULL,
    whole_account  boolean NOT NULL,
    category       text NOT NULL,
    raised_by      text NOT NULL,
    owner_role     text NOT NULL,
    due_date       date NOT NULL,
    status         text NOT NULL CHECK (status IN ('open', 'resolved')),
    outcome        text,
    opened_at      timestamptz NOT NULL,
    resolved_at    timestamptz
);
CREATE INDEX disputes_open ON disputes (customer_id) WHERE status = 'open';

CREATE TABLE dispute_invoices (
    dispute_id  uuid NOT NULL REFERENCES disputes ON DELETE CASCADE,
    invoice_id  text NOT NULL,
    PRIMARY KEY (dispute_id, invoice_id)
);
CREATE INDEX dispute_invoices_invoice ON dispute_invoices (invoice_id);

-- Unallocated customer credit per currency.
CREATE TABLE credit_balances (
    customer_id   text NOT NULL,
    currency      char(3) NOT NULL,
    company_code  text NOT NULL,
    balance       numeric(20, 4) NOT NULL,
    PRIMARY KEY (customer_id, currency)
);

-- Exchange rates: units of quote currency for one unit of base currency, per day.
CREATE TABLE fx_rates (
    base_currency   char(3) NOT NULL,
    quote_currency  char(3) NOT NULL,
    valid_on        date NOT NULL,
    rate            numeric(24, 12) NOT NULL,
    PRIMARY KEY (base_currency, quote_currency, valid_on)
);

-- The rate from one currency to another on a day: the latest direct rate valid on or
-- before that day, else the inverse of the latest reverse rate; NULL when none is known.
CREATE FUNCTION fx_rate(from_currency text, to_currency text, on_date date) RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN from_currency = to_currency THEN 1::numeric ELSE (
        SELECT r.rate FROM (
            SELECT f.rate, f.valid_on, 0 AS preference FROM reporting.fx_rates f
            WHERE f.base_currency = from_currency AND f.quote_currency = to_currency
              AND f.valid_on <= on_date
            UNION ALL
            SELECT 1 / f.rate, f.valid_on, 1 FROM reporting.fx_rates f
            WHERE f.base_currency = to_currency AND f.quote_currency = from_currency
              AND f.valid_on <= on_date
        ) AS r ORDER BY r.valid_on DESC, r.preference LIMIT 1
    ) END
$$;

-- The rate from every currency with a known rate to the reporting currency on a day, so
-- that a query converts per currency rather than per row; NULL rate when none is known.
CREATE FUNCTION rates_on(on_date date)
RETURNS TABLE (currency char(3), reporting_currency char(3), rate numeric)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT c.currency, p.reporting_currency,
           reporting.fx_rate(c.currency, p.reporting_currency, on_date)
    FROM (
        SELECT base_currency AS currency FROM reporting.fx_rates
        UNION SELECT quote_currency FROM reporting.fx_rates
        UNION SELECT reporting_currency FROM reporting.report_parameters
    ) AS c CROSS JOIN reporting.report_parameters AS p
$$;

-- Open invoices as they stood at the end of a day, from the open-amount history.
CREATE FUNCTION open_items_as_of(as_of date)
RETURNS TABLE (invoice_id text, company_code text, customer_id text, currency char(3),
               due_date date, open_amount numeric)
LANGUAGE sql STABLE AS $$
    SELECT i.invoice_id, i.company_code, i.customer_id, i.currency, h.due_date, h.open_amount
    FROM reporting.invoices i
    JOIN LATERAL (
        SELECT a.due_date, a.open_amount FROM reporting.invoice_open_amounts a
        WHERE a.invoice_id = i.invoice_id AND a.effective_on <= as_of
        ORDER BY a.effective_on DESC, a.occurred_at DESC, a.event_id DESC LIMIT 1
    ) AS h ON true
    WHERE h.open_amount > 0
$$;

-- The lower edges of the buckets after "not yet due", in order: width_bucket(days overdue,
-- edges) is then the bucket_order of an item (0 for not yet due), with no join per item.
CREATE FUNCTION bucket_lower_edges() RETURNS integer[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT array_agg(b.min_days ORDER BY b.bucket_order) FROM reporting.aging_buckets b
    WHERE b.bucket_order > 0
$$;

-- Aged balance per customer, currency and bucket at the end of a day, in the invoice
-- currency and in the reporting currency (NULL when a rate is missing).
CREATE FUNCTION aged_balance_as_of(as_of date)
RETURNS TABLE (as_of_date date, company_code text, customer_id text, currency char(3),
               bucket text, bucket_order integer, invoice_count bigint, open_amount numeric,
               reporting_currency char(3), open_amount_reporting numeric)
LANGUAGE sql STABLE AS $$
    WITH edges AS (SELECT reporting.bucket_lower_edges() AS lower_edges),
    grouped AS (
        SELECT o.company_code, o.customer_id, o.currency,
               width_bucket(as_of - o.due_date, (SELECT lower_edges FROM edges)) AS bucket_order,
               count(*) AS invoice_count, sum(o.open_amount) AS open_amount
        FROM reporting.open_items_as_of(as_of) AS o
        GROUP BY 1, 2, 3, 4
    )
    SELECT as_of, g.company_code, g.customer_id, g.currency, b.label, g.bucket_order,
           g.invoice_count, g.open_amount, p.reporting_currency,
           round(g.open_amount * r.rate, 2)
    FROM grouped AS g
    JOIN reporting.aging_buckets AS b ON b.bucket_order = g.bucket_order
    CROSS JOIN reporting.report_parameters AS p
    LEFT JOIN reporting.rates_on(as_of) AS r ON r.currency = g.currency
$$;

-- Average payment delay (settlement value date - due date, in days) per customer over the
-- six months before a day, for invoices settled by a payment.
CREATE FUNCTION payment_delay_as_of(as_of date)
RETURNS TABLE (customer_id text, company_code text, invoices_paid bigint,
               average_delay_days numeric)
LANGUAGE sql STABLE AS $$
    SELECT i.customer_id, i.company_code, count(*),
           round(avg(i.settled_on - i.due_date), 2)
    FROM reporting.invoices i
    WHERE i.status = 'settled' AND i.settlement_cause = 'payment'
      AND i.settled_on > (as_of - interval '6 months')::date AND i.settled_on <= as_of
    GROUP BY i.customer_id, i.company_code
$$;

-- Views for BI tools, as of the database's current date.
CREATE VIEW open_items AS
SELECT i.invoice_id, i.company_code, i.customer_id, c.name AS customer_name, c.country,
       c.customer_type, c.market, c.risk_rating, c.payer_profile,
       i.invoice_number, i.issue_date, i.due_date, i.currency, i.amount, i.open_amount,
       greatest(current_date - i.due_date, 0) AS days_overdue,
       d.scenario_id, d.step_name, d.dunning_level,
       coalesce(d.paused, false) AS paused, d.pause_reason,
       EXISTS (
           SELECT 1 FROM disputes s
           WHERE s.customer_id = i.customer_id AND s.status = 'open'
             AND (s.whole_account OR EXISTS (
                 SELECT 1 FROM dispute_invoices di
                 WHERE di.dispute_id = s.dispute_id AND di.invoice_id = i.invoice_id))
       ) AS disputed,
       d.last_action_at, d.next_action_at
FROM invoices i
LEFT JOIN customers c ON c.customer_id = i.customer_id
LEFT JOIN invoice_dunning d ON d.invoice_id = i.invoice_id
WHERE i.status = 'open';

-- Today's aged balance reads the invoices' current state (no history lookup): the same
-- rows as aged_balance_as_of(current_date) when no change is dated in the future.
CREATE VIEW aged_balance AS
WITH grouped AS (
    SELECT i.company_code, i.customer_id, i.currency,
           width_bucket(current_date - i.due_date, (SELECT bucket_lower_edges())) AS bucket_order,
           count(*) AS invoice_count, sum(i.open_amount) AS open_amount
    FROM invoices AS i
    WHERE i.status = 'open'
    GROUP BY 1, 2, 3, 4
)
SELECT current_date AS as_of_date, g.company_code, g.customer_id, g.currency,
       b.label AS bucket, g.bucket_order, g.invoice_count, g.open_amount,
       p.reporting_currency, round(g.open_amount * r.rate, 2) AS open_amount_reporting
FROM grouped AS g
JOIN aging_buckets AS b ON b.bucket_order = g.bucket_order
CROSS JOIN report_parameters AS p
LEFT JOIN rates_on(current_date) AS r ON r.currency = g.currency;

CREATE VIEW payment_delay_6m AS SELECT * FROM payment_delay_as_of(current_date);

-- Monthly DSO per company (countback), written by the service's daily refresh.
CREATE TABLE dso_monthly (
    company_code        text NOT NULL,
    month               date NOT NULL,       -- first day of the month
    reporting_currency  char(3) NOT NULL,
    receivables         numeric(20, 2),      -- open at the month's last day
    dso_days            numeric(10, 2),
    PRIMARY KEY (company_code, month)
);

-- Daily aged balance snapshots, written by the service once per day, for trends.
CREATE TABLE aged_balance_snapshots (
    snapshot_date          date NOT NULL,
    company_code           text NOT NULL,
    customer_id            text NOT NULL,
    currency               char(3) NOT NULL,
    bucket                 text NOT NULL,
    bucket_order           integer NOT NULL,
    invoice_count          bigint NOT NULL,
    open_amount            numeric(20, 4) NOT NULL,
    reporting_currency     char(3) NOT NULL,
    open_amount_reporting  numeric(20, 2),
    PRIMARY KEY (snapshot_date, company_code, customer_id, currency, bucket)
);

-- Collectors' worklist: customers with overdue open invoices, ranked by amount at risk
-- (overdue amount in the reporting currency weighted by the customer's risk rating).
CREATE VIEW collector_worklist AS
WITH overdue AS (
    SELECT i.company_code, i.customer_id, count(*) AS overdue_invoices,
           CASE WHEN bool_and(r.rate IS NOT NULL) THEN sum(round(i.open_amount * r.rate, 2)) END
               AS overdue_amount_reporting,
           max(current_date - i.due_date) AS oldest_days_overdue,
           p.reporting_currency
    FROM invoices AS i
    CROSS JOIN report_parameters AS p
    LEFT JOIN rates_on(current_date) AS r ON r.currency = i.currency
    WHERE i.status = 'open' AND i.due_date < current_date
    GROUP BY i.company_code, i.customer_id, p.reporting_currency
)
SELECT rank() OVER (ORDER BY o.overdue_amount_reporting
                    * CASE coalesce(c.risk_rating, 'medium')
                          WHEN 'low' THEN 0.25 WHEN 'medium' THEN 0.5
                          WHEN 'high' THEN 0.75 ELSE 1.0 END DESC NULLS LAST,
                    o.oldest_days_overdue DESC, o.customer_id) AS rank,
       o.company_code, o.customer_id, c.name AS customer_name,
       coalesce(c.risk_rating, 'medium') AS risk_rating, o.overdue_invoices,
       o.reporting_currency, o.overdue_amount_reporting,
       round(o.overdue_amount_reporting
             * CASE coalesce(c.risk_rating, 'medium')
                   WHEN 'low' THEN 0.25 WHEN 'medium' THEN 0.5
                   WHEN 'high' THEN 0.75 ELSE 1.0 END, 2) AS amount_at_risk,
       o.oldest_days_overdue
FROM overdue AS o
LEFT JOIN customers AS c ON c.customer_id = o.customer_id;

-- Promises to pay, from promise.made / kept / broken (without who recorded them).
CREATE TABLE promises (
    promise_id      uuid PRIMARY KEY,
    customer_id     text NOT NULL,
    invoice_count   integer NOT NULL,
    promised_date   date NOT NULL,
    currency        char(3) NOT NULL,
    amount          numeric(20, 4) NOT NULL,
    channel         text NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'kept', 'broken')),
    received        numeric(20, 4),
    made_at         timestamptz NOT NULL,
    closed_on       date
);

-- Payment plans, from payment_plan.agreed / instalment_missed / broken / completed.
CREATE TABLE payment_plans (
    plan_id               uuid PRIMARY KEY,
    customer_id           text NOT NULL,
    invoice_count         integer NOT NULL,
    agreed_on             date NOT NULL,
    currency              char(3) NOT NULL,
    total_amount          numeric(20, 4) NOT NULL,
    instalments           integer NOT NULL,
    instalments_missed    integer NOT NULL DEFAULT 0,
    status                text NOT NULL CHECK (status IN ('on_track', 'broken', 'completed')),
    closed_on             date
);

-- Escalations out of the amicable phase, one row per escalation and currency.
CREATE TABLE escalations (
    event_id       uuid NOT NULL,
    customer_id    text NOT NULL,
    company_code   text NOT NULL,
    scenario_id    text NOT NULL,
    action         text NOT NULL,
    currency       char(3) NOT NULL,
    total_open     numeric(20, 4) NOT NULL,
    invoice_count  integer NOT NULL,
    raised_at      timestamptz NOT NULL,
    PRIMARY KEY (event_id, currency)
);

CREATE TABLE promise_invoices (
    promise_id  uuid NOT NULL REFERENCES promises ON DELETE CASCADE,
    invoice_id  text NOT NULL,
    PRIMARY KEY (promise_id, invoice_id)
);
CREATE INDEX promise_invoices_invoice ON promise_invoices (invoice_id);

-- Reminders decided by the scheduler (dunning.reminder.due), one row per invoice.
CREATE TABLE reminder_invoices (
    reminder_id    uuid NOT NULL,
    invoice_id     text NOT NULL,
    customer_id    text NOT NULL,
    company_code   text NOT NULL,
    scenario_id    text NOT NULL,
    step_name      text NOT NULL,
    dunning_level  text NOT NULL,
    channel        text NOT NULL,
    scheduled_for  timestamptz NOT NULL,
    PRIMARY KEY (reminder_id, invoice_id)
);
CREATE INDEX reminder_invoices_invoice ON reminder_invoices (invoice_id);

-- Effectiveness of each scenario step: how many of the invoices it reminded were paid, or
-- drew a promise or a dispute, within 7, 14 and 30 days of the reminder's day.
CREATE VIEW step_effectiveness AS
WITH reminded AS (
    SELECT r.scenario_id, r.step_name, r.reminder_id, r.invoice_id,
           (r.scheduled_for AT TIME ZONE 'UTC')::date AS reminded_on,
           i.settled_on - (r.scheduled_for AT TIME ZONE 'UTC')::date AS days_to_payment,
           EXISTS (
               SELECT 1 FROM promise_invoices pi JOIN promises p USING (promise_id)
               WHERE pi.invoice_id = r.invoice_id AND p.made_at >= r.scheduled_for
                 AND p.made_at < r.scheduled_for + interval '30 days'
           ) AS promised,
           EXISTS (
               SELECT 1 FROM dispute_invoices di JOIN disputes d USING (dispute_id)
               WHERE di.invoice_id = r.invoice_id AND d.opened_at >= r.scheduled_for
                 AND d.opened_at < r.scheduled_for + interval '30 days'
           ) AS disputed
    FROM reminder_invoices r
    LEFT JOIN invoices i ON i.invoice_id = r.invoice_id AND i.status = 'settled'
                        AND i.settlement_cause = 'payment'
)
SELECT scenario_id, step_name,
       count(DISTINCT reminder_id) AS reminders,
       count(*) AS invoices_reminded,
       round(avg(coalesce(days_to_payment BETWEEN 0 AND 7, false)::int), 4) AS paid_within_7_days,
       round(avg(coalesce(days_to_payment BETWEEN 0 AND 14, false)::int), 4) AS paid_within_14_days,
       round(avg(coalesce(days_to_payment BETWEEN 0 AND 30, false)::int), 4) AS paid_within_30_days,
       count(*) FILTER (WHERE promised) AS promises_within_30_days,
       count(*) FILTER (WHERE disputed) AS disputes_within_30_days
FROM reminded
GROUP BY scenario_id, step_name;
