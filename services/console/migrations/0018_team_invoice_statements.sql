-- The Team page's aggregates follow the invoices a statement changed, together: the row
-- trigger of migration 0007 ran a plpgsql call per invoice row (its segment looked up, its
-- shares upserted one by one, the reminders holding it scanned), three quarters of the
-- backend's CPU per ledger event once the projection writes a run's invoices with one
-- statement per kind (services/console/ledger_run.py). Statement triggers read the rows
-- before and after from the transition tables and apply the same shares, summed per
-- aggregate row: one upsert per table and statement. What each invoice's change adds and
-- takes out is the row trigger's, rule for rule (team_track_invoice, kept for reference
-- and for team_rebuild's tests); sums add up in any order, a row counting no open invoice
-- is removed, and a row touched keeps existing at zero as before.

-- One share of a changed invoice: kind 'open' (day: due date, n: invoices, amount: open
-- amount), 'issued' (day: issue date, amount: what was invoiced) or 'closed' (day: the
-- day it closed, n: invoices settled, amount: what closed), under a segment.
CREATE TYPE team_share AS (
    kind          text,
    company_code  text,
    currency      char(3),
    seg_company   text,
    seg_collector text,
    seg_market    text,
    day           date,
    n             bigint,
    amount        numeric
);

-- One invoice a step reminded, counted (n) and, settled, paid N days after the step.
CREATE TYPE team_reminded AS (
    scenario_id   text,
    step_name     text,
    level         text,
    channel       text,
    seg_company   text,
    seg_collector text,
    seg_market    text,
    day           date,
    paid_after    integer,
    n             bigint
);

-- The invoices' rows before (olds) and after (news) a statement, paired by id.
CREATE FUNCTION team_count_invoice_changes(olds console.invoices[], news console.invoices[])
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    shares console.team_share[];
    reminded console.team_reminded[];
BEGIN
    WITH pairs AS (
        SELECT o, n, os, ns,
               same,
               NOT same OR (o.status, o.open_amount, o.due_date)
                           IS DISTINCT FROM (n.status, n.open_amount, n.due_date) AS open_changed,
               NOT same OR (o.status = 'cancelled', o.issue_date)
                           IS DISTINCT FROM (n.status = 'cancelled', n.issue_date) AS issued_changed,
               NOT same OR (o.status = 'settled', o.closed_on)
                           IS DISTINCT FROM (n.status = 'settled', n.closed_on) AS closed_changed
        FROM unnest(olds) o FULL JOIN unnest(news) n ON n.invoice_id = o.invoice_id
        CROSS JOIN LATERAL (
            SELECT o.invoice_id IS NOT NULL AND n.invoice_id IS NOT NULL
                   AND (o.company_code, o.currency, o.customer_id, o.amount)
                       IS NOT DISTINCT FROM (n.company_code, n.currency, n.customer_id, n.amount)
                   AS same
        ) s
        -- each side's segment, as team_segment gives it ('' for an unknown customer)
        LEFT JOIN console.customers oc ON oc.customer_id = o.customer_id
        LEFT JOIN console.customers nc ON nc.customer_id = n.customer_id
        CROSS JOIN LATERAL (
            SELECT coalesce(oc.company_code, '') AS company,
                   coalesce(oc.collector_code, '') AS collector,
                   coalesce(oc.market, '') AS market
        ) os
        CROSS JOIN LATERAL (
            SELECT coalesce(nc.company_code, '') AS company,
                   coalesce(nc.collector_code, '') AS collector,
                   coalesce(nc.market, '') AS market
        ) ns
    ),
    moved AS (  -- the open amount alone changed: one row moves by the difference
        SELECT *, same AND open_changed AND (o).status = 'open' AND (n).status = 'open'
                  AND (o).due_date = (n).due_date AS amount_only
        FROM pairs
        WHERE open_changed OR issued_changed OR closed_changed
    )
    SELECT coalesce(array_agg(share), '{}') INTO shares FROM (
        SELECT ROW('open', (n).company_code, (n).currency, (ns).company, (ns).collector,
                   (ns).market, (n).due_date, 0, (n).open_amount - (o).open_amount
               )::console.team_share AS share
        FROM moved WHERE amount_only
        UNION ALL
        SELECT ROW('open', (o).company_code, (o).currency, (os).company, (os).collector,
                   (os).market, (o).due_date, -1, -(o).open_amount)::console.team_share
        FROM moved
        WHERE open_changed AND NOT amount_only AND (o).invoice_id IS NOT NULL
          AND (o).status = 'open'
        UNION ALL
        SELECT ROW('open', (n).company_code, (n).currency, (ns).company, (ns).collector,
                   (ns).market, (n).due_date, 1, (n).open_amount)::console.team_share
        FROM moved
        WHERE open_changed AND NOT amount_only AND (n).invoice_id IS NOT NULL
          AND (n).status = 'open'
        UNION ALL
        SELECT ROW('issued', (o).company_code, (o).currency, (os).company, (os).collector,
                   (os).market, (o).issue_date, 0, -(o).amount)::console.team_share
        FROM moved
        WHERE issued_changed AND (o).invoice_id IS NOT NULL AND (o).status <> 'cancelled'
        UNION ALL
        SELECT ROW('issued', (n).company_code, (n).currency, (ns).company, (ns).collector,
                   (ns).market, (n).issue_date, 0, (n).amount)::console.team_share
        FROM moved
        WHERE issued_changed AND (n).invoice_id IS NOT NULL AND (n).status <> 'cancelled'
        UNION ALL
        SELECT ROW('closed', (o).company_code, (o).currency, (os).company, (os).collector,
                   (os).market, (o).closed_on, -1, -(o).amount)::console.team_share
        FROM moved
        WHERE closed_changed AND (o).invoice_id IS NOT NULL AND (o).status = 'settled'
          AND (o).closed_on IS NOT NULL
        UNION ALL
        SELECT ROW('closed', (n).company_code, (n).currency, (ns).company, (ns).collector,
                   (ns).market, (n).closed_on, 1, (n).amount)::console.team_share
        FROM moved
        WHERE closed_changed AND (n).invoice_id IS NOT NULL AND (n).status = 'settled'
          AND (n).closed_on IS NOT NULL
    ) all_shares;

    -- The reminders of a scenario step holding an invoice whose settlement changed (or
    -- that appeared or went): the invoice taken out of its step's counts and put back in.
    WITH pairs AS (
        SELECT o, n
        FROM unnest(olds) o FULL JOIN unnest(news) n ON n.invoice_id = o.invoice_id
        WHERE o.invoice_id IS NULL OR n.invoice_id IS NULL
           OR (o.status, o.closed_on) IS DISTINCT FROM (n.status, n.closed_on)
    ),
    step AS (
        SELECT p.o, p.n, r.scenario_id, r.step_name, r.level, r.channel, rs.company,
               rs.collector, rs.market, (r.scheduled_for AT TIME ZONE 'UTC')::date AS day
        FROM pairs p
        JOIN console.reminders r
          ON r.scenario_id IS NOT NULL
         AND r.invoice_ids @> ARRAY[coalesce((p.n).invoice_id, (p.o).invoice_id)]
        LEFT JOIN console.customers rc ON rc.customer_id = r.customer_id
        CROSS JOIN LATERAL (
            SELECT coalesce(rc.company_code, '') AS company,
                   coalesce(rc.collector_code, '') AS collector,
                   coalesce(rc.market, '') AS market
        ) rs
    )
    SELECT coalesce(array_agg(counted), '{}') INTO reminded FROM (
        SELECT ROW(scenario_id, step_name, level, channel, company, collector, market, day,
                   CASE WHEN (o).status = 'settled' AND (o).closed_on IS NOT NULL
                        THEN (o).closed_on - day END, -1)::console.team_reminded AS counted
        FROM step WHERE (o).invoice_id IS NOT NULL
        UNION ALL
        SELECT ROW(scenario_id, step_name, level, channel, company, collector, market, day,
                   CASE WHEN (n).status = 'settled' AND (n).closed_on IS NOT NULL
                        THEN (n).closed_on - day END, 1)::console.team_reminded
        FROM step WHERE (n).invoice_id IS NOT NULL
    ) all_reminded;

    IF cardinality(shares) > 0 THEN
        INSERT INTO console.team_open_invoices AS a
        SELECT company_code, currency, seg_company, seg_collector, seg_market, day, sum(n),
               sum(amount)
        FROM unnest(shares) WHERE kind = 'open'
        GROUP BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (company_code, currency, seg_company, seg_collector, seg_market, due_date)
        DO UPDATE SET invoices = a.invoices + EXCLUDED.invoices,
                      open_amount = a.open_amount + EXCLUDED.open_amount;
        DELETE FROM console.team_open_invoices a
        USING (SELECT DISTINCT company_code, currency, seg_company, seg_collector, seg_market,
                               day
               FROM unnest(shares) WHERE kind = 'open') s
        WHERE (a.company_code, a.currency, a.seg_company, a.seg_collector, a.seg_market,
               a.due_date) = (s.company_code, s.currency, s.seg_company, s.seg_collector,
                              s.seg_market, s.day)
          AND a.invoices = 0;
        INSERT INTO console.team_daily_flows AS f
            (company_code, currency, seg_company, seg_collector, seg_market, day, issued,
             closed, settled)
        SELECT company_code, currency, seg_company, seg_collector, seg_market, day,
               coalesce(sum(amount) FILTER (WHERE kind = 'issued'), 0),
               coalesce(sum(amount) FILTER (WHERE kind = 'closed'), 0),
               coalesce(sum(n) FILTER (WHERE kind = 'closed'), 0)
        FROM unnest(shares) WHERE kind IN ('issued', 'closed')
        GROUP BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (company_code, currency, seg_company, seg_collector, seg_market, day)
        DO UPDATE SET issued = f.issued + EXCLUDED.issued, closed = f.closed + EXCLUDED.closed,
                      settled = f.settled + EXCLUDED.settled;
        INSERT INTO console.team_receivable AS r
            (company_code, currency, seg_company, seg_collector, seg_market, issued, closed)
        SELECT company_code, currency, seg_company, seg_collector, seg_market,
               coalesce(sum(amount) FILTER (WHERE kind = 'issued'), 0),
               coalesce(sum(amount) FILTER (WHERE kind = 'closed'), 0)
        FROM unnest(shares) WHERE kind IN ('issued', 'closed')
        GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (company_code, currency, seg_company, seg_collector, seg_market)
        DO UPDATE SET issued = r.issued + EXCLUDED.issued, closed = r.closed + EXCLUDED.closed;
    END IF;
    IF cardinality(reminded) > 0 THEN
        INSERT INTO console.team_steps AS s
            (scenario_id, step_name, level, channel, seg_company, seg_collector, seg_market,
             day, invoices)
        SELECT scenario_id, step_name, level, channel, seg_company, seg_collector, seg_market,
               day, sum(n)
        FROM unnest(reminded)
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
        ON CONFLICT (scenario_id, step_name, level, channel, seg_company, seg_collector,
                     seg_market, day)
        DO UPDATE SET invoices = s.invoices + EXCLUDED.invoices;
        INSERT INTO console.team_steps_paid AS p
        SELECT scenario_id, step_name, level, channel, seg_company, seg_collector, seg_market,
               day, paid_after, sum(n)
        FROM unnest(reminded) WHERE paid_after IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
        ON CONFLICT (scenario_id, step_name, level, channel, seg_company, seg_collector,
                     seg_market, day, paid_after)
        DO UPDATE SET invoices = p.invoices + EXCLUDED.invoices;
    END IF;
END
$$;

CREATE FUNCTION team_track_invoices_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM new_rows) THEN
        RETURN NULL;  -- an INSERT ... ON CONFLICT DO UPDATE that inserted nothing
    END IF;
    PERFORM console.team_count_invoice_changes(
        '{}', ARRAY(SELECT n::console.invoices FROM new_rows n));
    RETURN NULL;
END
$$;

CREATE FUNCTION team_track_invoices_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- nothing the aggregates count changed (a dunning state, a money at risk), or nothing
    -- updated at all (an INSERT ... ON CONFLICT that only inserted): the common case of a
    -- single-row update, answered by one look at the transition tables
    IF NOT EXISTS (
        SELECT FROM old_rows o JOIN new_rows n USING (invoice_id)
        WHERE (o.company_code, o.currency, o.customer_id, o.amount, o.status, o.open_amount,
               o.due_date, o.issue_date, o.closed_on)
              IS DISTINCT FROM (n.company_code, n.currency, n.customer_id, n.amount, n.status,
                                n.open_amount, n.due_date, n.issue_date, n.closed_on)
    ) THEN
        RETURN NULL;
    END IF;
    PERFORM console.team_count_invoice_changes(
        ARRAY(SELECT o::console.invoices FROM old_rows o),
        ARRAY(SELECT n::console.invoices FROM new_rows n));
    RETURN NULL;
END
$$;

CREATE FUNCTION team_track_invoices_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM console.team_count_invoice_changes(
        ARRAY(SELECT o::console.invoices FROM old_rows o), '{}');
    RETURN NULL;
END
$$;

DROP TRIGGER team_on_invoice ON invoices;
CREATE TRIGGER team_on_invoices_inserted AFTER INSERT ON invoices
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION team_track_invoices_inserted();
CREATE TRIGGER team_on_invoices_updated AFTER UPDATE ON invoices
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION team_track_invoices_updated();
CREATE TRIGGER team_on_invoices_deleted AFTER DELETE ON invoices
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION team_track_invoices_deleted();
