-- Deliveries (reminders sent), call outcomes, the collector of each customer, disputes,
-- promises, payment plans and escalations reports, and a covering index for the aged
-- balance. Every column is described in docs/reporting.md.

-- The collector's portfolio code, from the customer's tag `collector:<code>`.
ALTER TABLE customers ADD COLUMN collector text;
CREATE INDEX customers_collector ON customers (collector);

-- What became of each delivery of a reminder (notifier.deliveries.v1), without contents,
-- recipients, provider tracking ids or failure texts.
CREATE TABLE deliveries (
    delivery_id         uuid PRIMARY KEY,
    reminder_id         uuid NOT NULL,
    customer_id         text NOT NULL,
    channel             text NOT NULL,
    invoice_count       integer NOT NULL,
    status              text NOT NULL
        CHECK (status IN ('failed', 'sent', 'delivered', 'bounced', 'suppressed')),
    status_at           timestamptz NOT NULL,
    sent_at             timestamptz,
    delivered_at        timestamptz,
    bounce_kind         text,
    suppression_reason  text,
    failures            integer NOT NULL DEFAULT 0
);
CREATE INDEX deliveries_reminder ON deliveries (reminder_id);

-- Ranks outcomes reported at the same instant: the later stage wins.
CREATE FUNCTION delivery_status_rank(status text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE status WHEN 'failed' THEN 0 WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2
                       WHEN 'bounced' THEN 3 ELSE 4 END
$$;

-- The (reminder, invoice) pairs handed to a provider, first time only.
CREATE TABLE sent_invoices (
    reminder_id  uuid NOT NULL,
    invoice_id   text NOT NULL,
    sent_at      timestamptz NOT NULL,
    PRIMARY KEY (reminder_id, invoice_id)
);

-- Outcomes of collectors' calls (call_task.closed), without notes nor who called.
CREATE TABLE call_outcomes (
    task_id        uuid PRIMARY KEY,
    reminder_id    uuid NOT NULL,
    customer_id    text NOT NULL,
    outcome        text NOT NULL,
    invoice_count  integer NOT NULL,
    closed_at      timestamptz NOT NULL
);

-- Effectiveness of each scenario step, from reminders actually sent.
DROP VIEW step_effectiveness;
CREATE VIEW step_effectiveness AS
WITH decided AS (
    SELECT scenario_id, step_name, count(DISTINCT reminder_id) AS reminders_due
    FROM reminder_invoices
    GROUP BY scenario_id, step_name
),
reminded AS (
    SELECT r.scenario_id, r.step_name, r.reminder_id, r.invoice_id,
           i.settled_on - (s.sent_at AT TIME ZONE 'UTC')::date AS days_to_payment,
           EXISTS (
               SELECT 1 FROM promise_invoices pi JOIN promises p USING (promise_id)
               WHERE pi.invoice_id = r.invoice_id AND p.made_at >= s.sent_at
                 AND p.made_at < s.sent_at + interval '30 days'
           ) AS promised,
           EXISTS (
               SELECT 1 FROM dispute_invoices di JOIN disputes d USING (dispute_id)
               WHERE di.invoice_id = r.invoice_id AND d.opened_at >= s.sent_at
                 AND d.opened_at < s.sent_at + interval '30 days'
           ) AS disputed
    FROM reminder_invoices r
    JOIN sent_invoices s ON s.reminder_id = r.reminder_id AND s.invoice_id = r.invoice_id
    LEFT JOIN invoices i ON i.invoice_id = r.invoice_id AND i.status = 'settled'
                        AND i.settlement_cause = 'payment'
)
SELECT d.scenario_id, d.step_name, d.reminders_due,
       count(DISTINCT m.reminder_id) AS reminders,
       count(m.invoice_id) AS invoices_reminded,
       round(avg(coalesce(m.days_to_payment BETWEEN 0 AND 7, false)::int)
             FILTER (WHERE m.invoice_id IS NOT NULL), 4) AS paid_within_7_days,
       round(avg(coalesce(m.days_to_payment BETWEEN 0 AND 14, false)::int)
             FILTER (WHERE m.invoice_id IS NOT NULL), 4) AS paid_within_14_days,
       round(avg(coalesce(m.days_to_payment BETWEEN 0 AND 30, false)::int)
             FILTER (WHERE m.invoice_id IS NOT NULL), 4) AS paid_within_30_days,
       count(*) FILTER (WHERE m.promised) AS promises_within_30_days,
       count(*) FILTER (WHERE m.disputed) AS disputes_within_30_days
FROM decided d
LEFT JOIN reminded m ON m.scenario_id = d.scenario_id AND m.step_name = d.step_name
GROUP BY d.scenario_id, d.step_name, d.reminders_due;

-- The collectors' worklist as of any day, from the open-amount history.
CREATE FUNCTION collector_worklist_as_of(as_of date)
RETURNS TABLE (rank bigint, company_code text, customer_id text, collector text,
               risk_rating text, overdue_invoices bigint, reporting_currency char(3),
               overdue_amount_reporting numeric, amount_at_risk numeric,
               oldest_days_overdue integer)
LANGUAGE sql STABLE AS $$
    WITH overdue AS (
        SELECT o.company_code, o.customer_id, count(*) AS overdue_invoices,
               CASE WHEN bool_and(r.rate IS NOT NULL)
                    THEN sum(round(o.open_amount * r.rate, 2)) END AS overdue_amount_reporting,
               max(as_of - o.due_date) AS oldest_days_overdue, p.reporting_currency
        FROM reporting.open_items_as_of(as_of) AS o
        CROSS JOIN reporting.report_parameters AS p
        LEFT JOIN reporting.rates_on(as_of) AS r ON r.currency = o.currency
        WHERE o.due_date < as_of
        GROUP BY o.company_code, o.customer_id, p.reporting_currency
    ),
    weighted AS (
        SELECT o.*, c.collector, coalesce(c.risk_rating, 'medium') AS risk_rating,
               round(o.overdue_amount_reporting
                     * CASE coalesce(c.risk_rating, 'medium')
                           WHEN 'low' THEN 0.25 WHEN 'medium' THEN 0.5
                           WHEN 'high' THEN 0.75 ELSE 1.0 END, 2) AS amount_at_risk
        FROM overdue AS o
        LEFT JOIN reporting.customers AS c ON c.customer_id = o.customer_id
    )
    SELECT rank() OVER (ORDER BY w.amount_at_risk DESC NULLS LAST,
                        w.oldest_days_overdue DESC, w.customer_id),
           w.company_code, w.customer_id, w.collector, w.risk_rating, w.overdue_invoices,
           w.reporting_currency, w.overdue_amount_reporting, w.amount_at_risk,
           w.oldest_days_overdue
    FROM weighted AS w
$$;

-- The worklist of today gains the collector (a new last column).
CREATE OR REPLACE VIEW collector_worklist AS
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
       o.oldest_days_overdue,
       c.collector
FROM overdue AS o
LEFT JOIN customers AS c ON c.customer_id = o.customer_id;

-- Age bands of disputes, in days since they were opened.
CREATE FUNCTION dispute_age_band(days integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN days <= 7 THEN '0-7' WHEN days <= 30 THEN '8-30'
                WHEN days <= 60 THEN '31-60' ELSE 'over_60' END
$$;

CREATE FUNCTION dispute_age_band_order(band text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE band WHEN '0-7' THEN 0 WHEN '8-30' THEN 1 WHEN '31-60' THEN 2 ELSE 3 END
$$;

-- One row per dispute opened by the end of a day: its state that day, age, and the open
-- amount it holds up (named invoices, or every open invoice for a whole account).
CREATE FUNCTION dispute_items_as_of(as_of date)
RETURNS TABLE (dispute_id uuid, customer_id text, company_code text, category text,
               raised_by text, owner_role text, whole_account boolean, state text,
               opened_on date, resolved_on date, age_days integer, age_band text,
               overdue boolean, days_to_resolve numeric, outcome text,
               invoice_count bigint, reporting_currency char(3),
               disputed_amount_reporting numeric)
LANGUAGE sql STABLE AS $$
    WITH d AS (
        SELECT s.*, (s.opened_at AT TIME ZONE 'UTC')::date AS opened_on,
               (s.resolved_at AT TIME ZONE 'UTC')::date AS resolved_on,
               s.status = 'resolved' AND (s.resolved_at AT TIME ZONE 'UTC')::date <= as_of
                   AS resolved_by_then
        FROM reporting.disputes AS s
        WHERE (s.opened_at AT TIME ZONE 'UTC')::date <= as_of
    ),
    items AS (SELECT * FROM reporting.open_items_as_of(as_of)),
    held AS (
        SELECT d.dispute_id, count(o.invoice_id) AS invoice_count,
               CASE WHEN bool_and(o.invoice_id IS NULL OR r.rate IS NOT NULL)
                    THEN coalesce(sum(round(o.open_amount * r.rate, 2)), 0) END AS amount
        FROM d
        LEFT JOIN items AS o ON o.customer_id = d.customer_id AND (d.whole_account OR EXISTS (
            SELECT 1 FROM reporting.dispute_invoices di
            WHERE di.dispute_id = d.dispute_id AND di.invoice_id = o.invoice_id))
        LEFT JOIN reporting.rates_on(as_of) AS r ON r.currency = o.currency
        GROUP BY d.dispute_id
    )
    SELECT d.dispute_id, d.customer_id, c.company_code, d.category, d.raised_by, d.owner_role,
           d.whole_account,
           CASE WHEN d.resolved_by_then THEN 'resolved' ELSE 'open' END,
           d.opened_on,
           CASE WHEN d.resolved_by_then THEN d.resolved_on END,
           CASE WHEN d.resolved_by_then THEN d.resolved_on - d.opened_on
                ELSE as_of - d.opened_on END,
           reporting.dispute_age_band(CASE WHEN d.resolved_by_then
                                           THEN d.resolved_on - d.opened_on
                                           ELSE as_of - d.opened_on END),
           NOT d.resolved_by_then AND d.due_date < as_of,
           CASE WHEN d.resolved_by_then
                THEN round(extract(epoch FROM d.resolved_at - d.opened_at) / 86400, 2) END,
           CASE WHEN d.resolved_by_then THEN d.outcome END,
           h.invoice_count, p.reporting_currency, h.amount
    FROM d
    JOIN held AS h ON h.dispute_id = d.dispute_id
    CROSS JOIN reporting.report_parameters AS p
    LEFT JOIN reporting.customers AS c ON c.customer_id = d.customer_id
$$;

CREATE VIEW dispute_items AS SELECT * FROM dispute_items_as_of(current_date);

-- Open disputes by reason, owner and age band at the end of a day.
CREATE FUNCTION open_disputes_as_of(as_of date)
RETURNS TABLE (category text, owner_role text, age_band text, disputes bigint,
               overdue_disputes bigint, invoices bigint, reporting_currency char(3),
               disputed_amount_reporting numeric)
LANGUAGE sql STABLE AS $$
    SELECT category, owner_role, age_band, count(*), count(*) FILTER (WHERE overdue),
           sum(invoice_count), min(reporting_currency),
           CASE WHEN bool_and(disputed_amount_reporting IS NOT NULL)
                THEN sum(disputed_amount_reporting) END
    FROM reporting.dispute_items_as_of(as_of)
    WHERE state = 'open'
    GROUP BY category, owner_role, age_band
$$;

CREATE VIEW open_disputes AS SELECT * FROM open_disputes_as_of(current_date);

-- Time to resolve per reason, owner and outcome, over the disputes resolved now.
CREATE VIEW dispute_resolution AS
SELECT category, owner_role, outcome, count(*) AS resolved,
       round(avg(extract(epoch FROM resolved_at - opened_at) / 86400), 2)
           AS average_days_to_resolve,
       round((percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM resolved_at - opened_at) / 86400))::numeric, 2)
           AS median_days_to_resolve,
       round(max(extract(epoch FROM resolved_at - opened_at) / 86400), 2)
           AS max_days_to_resolve,
       count(*) FILTER (WHERE (resolved_at AT TIME ZONE 'UTC')::date > due_date)
           AS resolved_late
FROM disputes
WHERE status = 'resolved'
GROUP BY category, owner_role, outcome;

-- Promises per customer: how many were kept and broken.
CREATE VIEW promise_rates AS
SELECT p.customer_id, c.company_code, c.collector, count(*) AS promises,
       count(*) FILTER (WHERE p.status = 'pending') AS pending,
       count(*) FILTER (WHERE p.status = 'kept') AS kept,
       count(*) FILTER (WHERE p.status = 'broken') AS broken,
       round(count(*) FILTER (WHERE p.status = 'broken')::numeric
             / nullif(count(*) FILTER (WHERE p.status <> 'pending'), 0), 4) AS broken_rate
FROM promises p
LEFT JOIN customers c ON c.customer_id = p.customer_id
GROUP BY p.customer_id, c.company_code, c.collector;

-- Promises per month of the promised date and company, with amounts.
CREATE VIEW promise_outcomes AS
SELECT date_trunc('month', p.promised_date)::date AS month, c.company_code,
       count(*) AS promises,
       count(*) FILTER (WHERE p.status = 'pending') AS pending,
       count(*) FILTER (WHERE p.status = 'kept') AS kept,
       count(*) FILTER (WHERE p.status = 'broken') AS broken,
       param.reporting_currency,
       CASE WHEN bool_and(x.amount_reporting IS NOT NULL)
            THEN sum(x.amount_reporting) END AS promised_amount_reporting,
       CASE WHEN bool_and(x.amount_reporting IS NOT NULL)
            THEN coalesce(sum(x.amount_reporting) FILTER (WHERE p.status = 'broken'), 0)
       END AS broken_amount_reporting
FROM promises p
LEFT JOIN customers c ON c.customer_id = p.customer_id
CROSS JOIN report_parameters param
CROSS JOIN LATERAL (
    SELECT round(p.amount * fx_rate(p.currency, param.reporting_currency, p.promised_date), 2)
        AS amount_reporting
) AS x
GROUP BY 1, 2, param.reporting_currency;

-- Payment plans per company and status.
CREATE VIEW payment_plan_summary AS
SELECT c.company_code, pl.status, count(*) AS plans,
       count(*) FILTER (WHERE pl.instalments_missed > 0) AS plans_with_missed_instalments,
       sum(pl.instalments) AS instalments, sum(pl.instalments_missed) AS instalments_missed,
       param.reporting_currency,
       CASE WHEN bool_and(x.amount_reporting IS NOT NULL)
            THEN sum(x.amount_reporting) END AS total_amount_reporting
FROM payment_plans pl
LEFT JOIN customers c ON c.customer_id = pl.customer_id
CROSS JOIN report_parameters param
CROSS JOIN LATERAL (
    SELECT round(pl.total_amount
                 * fx_rate(pl.currency, param.reporting_currency, pl.agreed_on), 2)
        AS amount_reporting
) AS x
GROUP BY c.company_code, pl.status, param.reporting_currency;

-- Escalations per company, action and month raised, converted at the day raised.
CREATE VIEW escalation_summary AS
SELECT e.company_code, e.action,
       date_trunc('month', e.raised_at AT TIME ZONE 'UTC')::date AS month,
       count(DISTINCT e.event_id) AS escalations,
       count(DISTINCT e.customer_id) AS customers,
       sum(e.invoice_count) AS invoices,
       param.reporting_currency,
       CASE WHEN bool_and(x.amount_reporting IS NOT NULL)
            THEN sum(x.amount_reporting) END AS total_open_reporting
FROM escalations e
CROSS JOIN report_parameters param
CROSS JOIN LATERAL (
    SELECT round(e.total_open * fx_rate(e.currency, param.reporting_currency,
                                        (e.raised_at AT TIME ZONE 'UTC')::date), 2)
        AS amount_reporting
) AS x
GROUP BY 1, 2, 3, param.reporting_currency;

-- A handful of currencies: without this the planner expects thousands of rates.
ALTER FUNCTION rates_on(date) ROWS 10;

-- Today's aged balance, maintained: open amounts per customer, currency and bucket as of
-- report_parameters.aging_day. A trigger on invoices applies each change; the service rolls
-- it to the next day (roll_aged_balance), moving only the invoices that change bucket.
ALTER TABLE report_parameters ADD COLUMN aging_day date;

CREATE TABLE aged_balance_current (
    company_code   text NOT NULL,
    customer_id    text NOT NULL,
    currency       char(3) NOT NULL,
    bucket_order   integer NOT NULL,
    invoice_count  bigint NOT NULL,
    open_amount    numeric(20, 4) NOT NULL,
    PRIMARY KEY (company_code, customer_id, currency, bucket_order)
);

-- Invoices open on a due date: the ones a roll to the next day may move.
CREATE INDEX invoices_open_due ON invoices (due_date) WHERE status = 'open';

CREATE FUNCTION track_aged_balance() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    day date;
    edges integer[];
BEGIN
    -- FOR SHARE: waits for a roll under way, so no change is counted in the wrong day
    SELECT aging_day INTO day FROM reporting.report_parameters FOR SHARE;
    IF day IS NULL THEN
        RETURN NULL;
    END IF;
    edges := reporting.bucket_lower_edges();
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'open' THEN
        UPDATE reporting.aged_balance_current AS a
        SET invoice_count = a.invoice_count - 1, open_amount = a.open_amount - OLD.open_amount
        WHERE a.company_code = OLD.company_code AND a.customer_id = OLD.customer_id
          AND a.currency = OLD.currency
          AND a.bucket_order = width_bucket(day - OLD.due_date, edges);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status = 'open' THEN
        INSERT INTO reporting.aged_balance_current AS a
        VALUES (NEW.company_code, NEW.customer_id, NEW.currency,
                width_bucket(day - NEW.due_date, edges), 1, NEW.open_amount)
        ON CONFLICT (company_code, customer_id, currency, bucket_order) DO UPDATE
        SET invoice_count = a.invoice_count + 1,
            open_amount = a.open_amount + EXCLUDED.open_amount;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER aged_balance_on_insert AFTER INSERT OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION track_aged_balance();
CREATE TRIGGER aged_balance_on_update AFTER UPDATE ON invoices
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          OR OLD.open_amount IS DISTINCT FROM NEW.open_amount
          OR OLD.due_date IS DISTINCT FROM NEW.due_date
          OR OLD.company_code IS DISTINCT FROM NEW.company_code
          OR OLD.customer_id IS DISTINCT FROM NEW.customer_id
          OR OLD.currency IS DISTINCT FROM NEW.currency)
    EXECUTE FUNCTION track_aged_balance();

-- Move the maintained aged balance to another day: 'current' when already there, 'rolled'
-- when only the invoices crossing a bucket edge moved (up to 31 days forward), 'rebuilt'
-- when it was recomputed from the open invoices (first time, buckets changed, backwards).
CREATE FUNCTION roll_aged_balance(to_day date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    from_day date;
    edges integer[];
BEGIN
    SELECT aging_day INTO from_day FROM reporting.report_parameters FOR UPDATE;
    IF from_day = to_day THEN
        RETURN 'current';
    END IF;
    edges := reporting.bucket_lower_edges();
    IF from_day IS NULL OR to_day < from_day OR to_day - from_day > 31 THEN
        DELETE FROM reporting.aged_balance_current;
        INSERT INTO reporting.aged_balance_current
        SELECT i.company_code, i.customer_id, i.currency,
               width_bucket(to_day - i.due_date, edges), count(*), sum(i.open_amount)
        FROM reporting.invoices AS i
        WHERE i.status = 'open'
        GROUP BY 1, 2, 3, 4;
        UPDATE reporting.report_parameters SET aging_day = to_day;
        RETURN 'rebuilt';
    END IF;
    -- an invoice enters bucket k on the day its days overdue reach the bucket's lower edge
    WITH moving AS (
        SELECT i.company_code, i.customer_id, i.currency, i.open_amount,
               width_bucket(from_day - i.due_date, edges) AS old_bucket,
               width_bucket(to_day - i.due_date, edges) AS new_bucket
        FROM reporting.invoices AS i
        WHERE i.status = 'open'
          AND i.due_date = ANY (ARRAY(
              SELECT from_day + d - e
              FROM generate_series(1, to_day - from_day) AS d, unnest(edges) AS e))
    ),
    deltas AS (
        SELECT company_code, customer_id, currency, old_bucket AS bucket_order,
               -1 AS invoices, -open_amount AS amount
        FROM moving WHERE old_bucket <> new_bucket
        UNION ALL
        SELECT company_code, customer_id, currency, new_bucket, 1, open_amount
        FROM moving WHERE old_bucket <> new_bucket
    )
    INSERT INTO reporting.aged_balance_current AS a
    SELECT company_code, customer_id, currency, bucket_order, sum(invoices), sum(amount)
    FROM deltas
    GROUP BY 1, 2, 3, 4
    ON CONFLICT (company_code, customer_id, currency, bucket_order) DO UPDATE
    SET invoice_count = a.invoice_count + EXCLUDED.invoice_count,
        open_amount = a.open_amount + EXCLUDED.open_amount;
    DELETE FROM reporting.aged_balance_current WHERE invoice_count = 0;
    UPDATE reporting.report_parameters SET aging_day = to_day;
    RETURN 'rolled';
END
$$;

-- Today's aged balance per customer, currency and bucket: the maintained table when it is
-- of today, otherwise grouped from the open invoices (the same rows, more slowly). Each
-- branch is planned on its own, so reading the small table costs no plan of the big one.
CREATE FUNCTION aged_balance_groups_today()
RETURNS TABLE (company_code text, customer_id text, currency char(3), bucket_order integer,
               invoice_count bigint, open_amount numeric)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    edges integer[];
BEGIN
    IF EXISTS (SELECT 1 FROM reporting.report_parameters AS p
               WHERE p.aging_day = current_date) THEN
        RETURN QUERY
        SELECT a.company_code, a.customer_id, a.currency, a.bucket_order, a.invoice_count,
               a.open_amount::numeric
        FROM reporting.aged_balance_current AS a
        WHERE a.invoice_count > 0;
    ELSE
        edges := reporting.bucket_lower_edges();
        RETURN QUERY
        SELECT i.company_code, i.customer_id, i.currency,
               width_bucket(current_date - i.due_date, edges), count(*), sum(i.open_amount)
        FROM reporting.invoices AS i
        WHERE i.status = 'open'
        GROUP BY 1, 2, 3, 4;
    END IF;
END
$$;

CREATE OR REPLACE VIEW aged_balance AS
SELECT current_date AS as_of_date, g.company_code, g.customer_id, g.currency::char(3),
       b.label AS bucket, g.bucket_order, g.invoice_count, g.open_amount,
       p.reporting_currency, round(g.open_amount * r.rate, 2) AS open_amount_reporting
FROM aged_balance_groups_today() AS g
JOIN aging_buckets AS b ON b.bucket_order = g.bucket_order
CROSS JOIN report_parameters AS p
LEFT JOIN rates_on(current_date) AS r ON r.currency = g.currency;
