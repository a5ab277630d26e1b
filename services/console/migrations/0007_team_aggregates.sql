-- The Team page's figures, maintained as events arrive instead of aggregated from every
-- invoice on each visit: triggers on invoices, reminders and customers keep small tables
-- per company, currency and customer segment (the customer's company, collector code and
-- market: what a portfolio filters on; '' while the customer is unknown), in the
-- projection's own transaction. team_rebuild() recomputes them from the state tables (this
-- migration, a bulk load); a test checks that the triggers and the rebuild agree.

-- Customers per segment (the collectors' workload).
ALTER TABLE customer_segments ADD COLUMN customers bigint NOT NULL DEFAULT 0;

-- Open invoices per due date: the aged balance (bucketed on reading, against today) and
-- each collector's open invoices and amounts. A row counting no invoice is removed.
CREATE TABLE team_open_invoices (
    company_code  text NOT NULL,
    currency      char(3) NOT NULL,
    seg_company   text NOT NULL,
    seg_collector text NOT NULL,
    seg_market    text NOT NULL,
    due_date      date NOT NULL,
    invoices      bigint NOT NULL,
    open_amount   numeric(20, 4) NOT NULL,
    PRIMARY KEY (company_code, currency, seg_company, seg_collector, seg_market, due_date)
);

-- What was invoiced (full amounts, on the issue date) and what closed by settlement (on the
-- day it closed) per day, and in all: the DSO at any date is what is receivable in all, less
-- what was invoiced after it, plus what closed after it. Cancelled invoices count nowhere.
CREATE TABLE team_daily_flows (
    company_code  text NOT NULL,
    currency      char(3) NOT NULL,
    seg_company   text NOT NULL,
    seg_collector text NOT NULL,
    seg_market    text NOT NULL,
    day           date NOT NULL,
    issued        numeric(20, 4) NOT NULL DEFAULT 0,
    closed        numeric(20, 4) NOT NULL DEFAULT 0,
    settled       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (company_code, currency, seg_company, seg_collector, seg_market, day)
);
CREATE INDEX team_daily_flows_day ON team_daily_flows (day);

CREATE TABLE team_receivable (
    company_code  text NOT NULL,
    currency      char(3) NOT NULL,
    seg_company   text NOT NULL,
    seg_collector text NOT NULL,
    seg_market    text NOT NULL,
    issued        numeric(20, 4) NOT NULL DEFAULT 0,
    closed        numeric(20, 4) NOT NULL DEFAULT 0,
    PRIMARY KEY (company_code, currency, seg_company, seg_collector, seg_market)
);

-- Each scenario step's reminders per day (UTC) of their scheduled time, the invoices they
-- named, and those settled, by days from the step to the settlement (paid_after): "paid
-- within N days" sums the rows up to N.
CREATE TABLE team_steps (
    scenario_id   text NOT NULL,
    step_name     text NOT NULL,
    level         text NOT NULL,
    channel       text NOT NULL,
    seg_company   text NOT NULL,
    seg_collector text NOT NULL,
    seg_market    text NOT NULL,
    day           date NOT NULL,
    reminders     bigint NOT NULL DEFAULT 0,
    invoices      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (scenario_id, step_name, level, channel, seg_company, seg_collector,
                 seg_market, day)
);
CREATE INDEX team_steps_day ON team_steps (day);

CREATE TABLE team_steps_paid (
    scenario_id   text NOT NULL,
    step_name     text NOT NULL,
    level         text NOT NULL,
    channel       text NOT NULL,
    seg_company   text NOT NULL,
    seg_collector text NOT NULL,
    seg_market    text NOT NULL,
    day           date NOT NULL,
    paid_after    integer NOT NULL,
    invoices      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (scenario_id, step_name, level, channel, seg_company, seg_collector,
                 seg_market, day, paid_after)
);
CREATE INDEX team_steps_paid_day ON team_steps_paid (day);

-- Every invoice of a customer (a segment change moves them), a reminder's invoices and a
-- customer's reminders (a step's counters follow them).
DROP INDEX invoices_customer;
CREATE INDEX invoices_customer ON invoices (customer_id);
CREATE INDEX reminders_steps_invoices ON reminders USING gin (invoice_ids)
    WHERE scenario_id IS NOT NULL;
CREATE INDEX reminders_customer ON reminders (customer_id);

-- A customer's segment; '' for each part while the customer is unknown.
CREATE FUNCTION team_segment(customer text, OUT company text, OUT collector text,
                             OUT market text)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(max(c.company_code), ''), coalesce(max(c.collector_code), ''),
           coalesce(max(c.market), '')
    FROM console.customers c WHERE c.customer_id = customer
$$;

-- An open invoice's share of the open balance, added (sign 1) or taken back (sign -1).
CREATE FUNCTION team_count_open(i console.invoices, s_company text, s_collector text,
                                s_market text, sign integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF i.status <> 'open' THEN
        RETURN;
    END IF;
    INSERT INTO console.team_open_invoices AS a
    VALUES (i.company_code, i.currency, s_company, s_collector, s_market, i.due_date, sign,
            sign * i.open_amount)
    ON CONFLICT (company_code, currency, seg_company, seg_collector, seg_market, due_date)
    DO UPDATE SET invoices = a.invoices + EXCLUDED.invoices,
                  open_amount = a.open_amount + EXCLUDED.open_amount;
    IF sign < 0 THEN
        DELETE FROM console.team_open_invoices a
        WHERE (a.company_code, a.currency, a.seg_company, a.seg_collector, a.seg_market,
               a.due_date) = (i.company_code, i.currency, s_company, s_collector, s_market,
                              i.due_date)
          AND a.invoices = 0;
    END IF;
END
$$;

-- An invoice's share of what was invoiced (its full amount on its issue date, unless
-- cancelled), added (sign 1) or taken back (sign -1).
CREATE FUNCTION team_count_issued(i console.invoices, s_company text, s_collector text,
                                  s_market text, sign integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF i.status = 'cancelled' THEN
        RETURN;
    END IF;
    INSERT INTO console.team_daily_flows AS f
        (company_code, currency, seg_company, seg_collector, seg_market, day, issued)
    VALUES (i.company_code, i.currency, s_company, s_collector, s_market, i.issue_date,
            sign * i.amount)
    ON CONFLICT (company_code, currency, seg_company, seg_collector, seg_market, day)
    DO UPDATE SET issued = f.issued + EXCLUDED.issued;
    INSERT INTO console.team_receivable AS r
        (company_code, currency, seg_company, seg_collector, seg_market, issued)
    VALUES (i.company_code, i.currency, s_company, s_collector, s_market, sign * i.amount)
    ON CONFLICT (company_code, currency, seg_company, seg_collector, seg_market)
    DO UPDATE SET issued = r.issued + EXCLUDED.issued;
END
$$;

-- A settled invoice's share of what closed (its full amount on the day it closed).
CREATE FUNCTION team_count_closed(i console.invoices, s_company text, s_collector text,
                                  s_market text, sign integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF i.status <> 'settled' OR i.closed_on IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO console.team_daily_flows AS f
        (company_code, currency, seg_company, seg_collector, seg_market, day, closed, settled)
    VALUES (i.company_code, i.currency, s_company, s_collector, s_market, i.closed_on,
            sign * i.amount, sign)
    ON CONFLICT (company_code, currency, seg_company, seg_collector, seg_market, day)
    DO UPDATE SET closed = f.closed + EXCLUDED.closed, settled = f.settled + EXCLUDED.settled;
    INSERT INTO console.team_receivable AS r
        (company_code, currency, seg_company, seg_collector, seg_market, closed)
    VALUES (i.company_code, i.currency, s_company, s_collector, s_market, sign * i.amount)
    ON CONFLICT (company_code, currency, seg_company, seg_collector, seg_market)
    DO UPDATE SET closed = r.closed + EXCLUDED.closed;
END
$$;

CREATE FUNCTION team_count_flows(i console.invoices, s_company text, s_collector text,
                                 s_market text, sign integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM console.team_count_issued(i, s_company, s_collector, s_market, sign);
    PERFORM console.team_count_closed(i, s_company, s_collector, s_market, sign);
END
$$;

-- One invoice a step reminded: counted, and paid N days after the step when settled.
CREATE FUNCTION team_count_reminded(r console.reminders, i console.invoices, s_company text,
                                    s_collector text, s_market text, sign integer)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    step_day date := (r.scheduled_for AT TIME ZONE 'UTC')::date;
BEGIN
    INSERT INTO console.team_steps AS s
        (scenario_id, step_name, level, channel, seg_company, seg_collector, seg_market, day,
         invoices)
    VALUES (r.scenario_id, r.step_name, r.level, r.channel, s_company, s_collector, s_market,
            step_day, sign)
    ON CONFLICT (scenario_id, step_name, level, channel, seg_company, seg_collector,
                 seg_market, day)
    DO UPDATE SET invoices = s.invoices + EXCLUDED.invoices;
    IF i.status = 'settled' AND i.closed_on IS NOT NULL THEN
        INSERT INTO console.team_steps_paid AS p
        VALUES (r.scenario_id, r.step_name, r.level, r.channel, s_company, s_collector,
                s_market, step_day, i.closed_on - step_day, sign)
        ON CONFLICT (scenario_id, step_name, level, channel, seg_company, seg_collector,
                     seg_market, day, paid_after)
        DO UPDATE SET invoices = p.invoices + EXCLUDED.invoices;
    END IF;
END
$$;

-- A reminder of a scenario step, with each of its invoices the read model holds.
CREATE FUNCTION team_count_reminder(r console.reminders, s_company text, s_collector text,
                                    s_market text, sign integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    i console.invoices;
BEGIN
    IF r.scenario_id IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO console.team_steps AS s
        (scenario_id, step_name, level, channel, seg_company, seg_collector, seg_market, day,
         reminders)
    VALUES (r.scenario_id, r.step_name, r.level, r.channel, s_company, s_collector, s_market,
            (r.scheduled_for AT TIME ZONE 'UTC')::date, sign)
    ON CONFLICT (scenario_id, step_name, level, channel, seg_company, seg_collector,
                 seg_market, day)
    DO UPDATE SET reminders = s.reminders + EXCLUDED.reminders;
    FOR i IN SELECT * FROM console.invoices WHERE invoice_id = ANY(r.invoice_ids) LOOP
        PERFORM console.team_count_reminded(r, i, s_company, s_collector, s_market, sign);
    END LOOP;
END
$$;

-- Each change takes out the old row's shares that differ from the new row's and puts the
-- new ones in: an open amount that changes moves one row, a settlement adds what closed and
-- takes the invoice out of the open balance, leaving what was invoiced alone.
CREATE FUNCTION team_track_invoice() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    o record;
    n record;
    r console.reminders;
    rs record;
    same boolean := TG_OP = 'UPDATE'
        AND (OLD.company_code, OLD.currency, OLD.customer_id, OLD.amount)
            IS NOT DISTINCT FROM (NEW.company_code, NEW.currency, NEW.customer_id, NEW.amount);
    open_changed boolean := NOT same
        OR (OLD.status, OLD.open_amount, OLD.due_date)
           IS DISTINCT FROM (NEW.status, NEW.open_amount, NEW.due_date);
    issued_changed boolean := NOT same
        OR (OLD.status = 'cancelled', OLD.issue_date)
           IS DISTINCT FROM (NEW.status = 'cancelled', NEW.issue_date);
    closed_changed boolean := NOT same
        OR (OLD.status = 'settled', OLD.closed_on)
           IS DISTINCT FROM (NEW.status = 'settled', NEW.closed_on);
    paid_changed boolean := TG_OP <> 'UPDATE'
        OR (OLD.status, OLD.closed_on) IS DISTINCT FROM (NEW.status, NEW.closed_on);
BEGIN
    IF NOT (open_changed OR issued_changed OR closed_changed) THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        SELECT * INTO o FROM console.team_segment(OLD.customer_id);
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.customer_id = NEW.customer_id THEN
        n := o;
    ELSIF TG_OP <> 'DELETE' THEN
        SELECT * INTO n FROM console.team_segment(NEW.customer_id);
    END IF;
    IF same AND open_changed AND OLD.status = 'open' AND NEW.status = 'open'
       AND OLD.due_date = NEW.due_date THEN
        -- the open amount alone changed: one row moves by the difference
        UPDATE console.team_open_invoices a
        SET open_amount = a.open_amount + NEW.open_amount - OLD.open_amount
        WHERE (a.company_code, a.currency, a.seg_company, a.seg_collector, a.seg_market,
               a.due_date) = (NEW.company_code, NEW.currency, n.company, n.collector,
                              n.market, NEW.due_date);
        open_changed := false;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        IF open_changed THEN
            PERFORM console.team_count_open(OLD, o.company, o.collector, o.market, -1);
        END IF;
        IF issued_changed THEN
            PERFORM console.team_count_issued(OLD, o.company, o.collector, o.market, -1);
        END IF;
        IF closed_changed THEN
            PERFORM console.team_count_closed(OLD, o.company, o.collector, o.market, -1);
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF open_changed THEN
            PERFORM console.team_count_open(NEW, n.company, n.collector, n.market, 1);
        END IF;
        IF issued_changed THEN
            PERFORM console.team_count_issued(NEW, n.company, n.collector, n.market, 1);
        END IF;
        IF closed_changed THEN
            PERFORM console.team_count_closed(NEW, n.company, n.collector, n.market, 1);
        END IF;
    END IF;
    IF paid_changed THEN
        FOR r IN SELECT * FROM console.reminders t
                 WHERE t.scenario_id IS NOT NULL
                   AND t.invoice_ids @> ARRAY[coalesce(NEW.invoice_id, OLD.invoice_id)]
        LOOP
            SELECT * INTO rs FROM console.team_segment(r.customer_id);
            IF TG_OP <> 'INSERT' THEN
                PERFORM console.team_count_reminded(r, OLD, rs.company, rs.collector,
                                                    rs.market, -1);
            END IF;
            IF TG_OP <> 'DELETE' THEN
                PERFORM console.team_count_reminded(r, NEW, rs.company, rs.collector,
                                                    rs.market, 1);
            END IF;
        END LOOP;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER team_on_invoice AFTER INSERT OR UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION team_track_invoice();

CREATE FUNCTION team_track_reminder() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    s record;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        SELECT * INTO s FROM console.team_segment(OLD.customer_id);
        PERFORM console.team_count_reminder(OLD, s.company, s.collector, s.market, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        SELECT * INTO s FROM console.team_segment(NEW.customer_id);
        PERFORM console.team_count_reminder(NEW, s.company, s.collector, s.market, 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER team_on_reminder_insert AFTER INSERT OR DELETE ON reminders
    FOR EACH ROW EXECUTE FUNCTION team_track_reminder();
CREATE TRIGGER team_on_reminder_update AFTER UPDATE ON reminders
    FOR EACH ROW
    WHEN ((OLD.scenario_id, OLD.step_name, OLD.level, OLD.channel, OLD.scheduled_for,
           OLD.invoice_ids, OLD.customer_id)
          IS DISTINCT FROM (NEW.scenario_id, NEW.step_name, NEW.level, NEW.channel,
                            NEW.scheduled_for, NEW.invoice_ids, NEW.customer_id))
    EXECUTE FUNCTION team_track_reminder();

-- A customer that appears, leaves or changes segment: counted in its segment, and its
-- invoices and reminders moved from the old segment to the new one.
CREATE FUNCTION team_track_customer() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    customer text := coalesce(NEW.customer_id, OLD.customer_id);
    o text[] := ARRAY['', '', ''];
    n text[] := ARRAY['', '', ''];
    i console.invoices;
    r console.reminders;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        o := ARRAY[OLD.company_code, coalesce(OLD.collector_code, ''), OLD.market];
        UPDATE console.customer_segments SET customers = customers - 1
        WHERE (company_code, collector_code, market) = (o[1], o[2], o[3]);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        n := ARRAY[NEW.company_code, coalesce(NEW.collector_code, ''), NEW.market];
        INSERT INTO console.customer_segments AS s (company_code, collector_code, market,
                                                    customers)
        VALUES (n[1], n[2], n[3], 1)
        ON CONFLICT (company_code, collector_code, market)
        DO UPDATE SET customers = s.customers + 1;
    END IF;
    IF o = n THEN
        RETURN NULL;
    END IF;
    FOR i IN SELECT * FROM console.invoices WHERE customer_id = customer LOOP
        PERFORM console.team_count_open(i, o[1], o[2], o[3], -1);
        PERFORM console.team_count_flows(i, o[1], o[2], o[3], -1);
        PERFORM console.team_count_open(i, n[1], n[2], n[3], 1);
        PERFORM console.team_count_flows(i, n[1], n[2], n[3], 1);
    END LOOP;
    FOR r IN SELECT * FROM console.reminders
             WHERE customer_id = customer AND scenario_id IS NOT NULL LOOP
        PERFORM console.team_count_reminder(r, o[1], o[2], o[3], -1);
        PERFORM console.team_count_reminder(r, n[1], n[2], n[3], 1);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER team_on_customer_insert AFTER INSERT OR DELETE ON customers
    FOR EACH ROW EXECUTE FUNCTION team_track_customer();
CREATE TRIGGER team_on_customer_update AFTER UPDATE ON customers
    FOR EACH ROW
    WHEN ((OLD.company_code, OLD.collector_code, OLD.market)
          IS DISTINCT FROM (NEW.company_code, NEW.collector_code, NEW.market))
    EXECUTE FUNCTION team_track_customer();

-- Everything above recomputed from the state tables, set-based.
CREATE FUNCTION team_rebuild() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM console.team_open_invoices;
    DELETE FROM console.team_daily_flows;
    DELETE FROM console.team_receivable;
    DELETE FROM console.team_steps;
    DELETE FROM console.team_steps_paid;
    UPDATE console.customer_segments SET customers = 0 WHERE customers <> 0;
    INSERT INTO console.customer_segments AS s (company_code, collector_code, market,
                                                customers)
    SELECT company_code, coalesce(collector_code, ''), market, count(*)
    FROM console.customers GROUP BY 1, 2, 3
    ON CONFLICT (company_code, collector_code, market)
    DO UPDATE SET customers = EXCLUDED.customers;

    -- (no temporary table: the service's database role may not create one)

    WITH team_invoices AS (
    SELECT i.invoice_id, i.company_code, i.currency, i.status, i.issue_date, i.due_date,
           i.closed_on, i.amount, i.open_amount,
           coalesce(c.company_code, '') AS s_company,
           coalesce(c.collector_code, '') AS s_collector, coalesce(c.market, '') AS s_market
    FROM console.invoices i LEFT JOIN console.customers c USING (customer_id)
    )
    INSERT INTO console.team_open_invoices
    SELECT company_code, currency, s_company, s_collector, s_market, due_date, count(*),
           sum(open_amount)
    FROM team_invoices WHERE status = 'open'
    GROUP BY 1, 2, 3, 4, 5, 6;

    WITH team_invoices AS (
    SELECT i.invoice_id, i.company_code, i.currency, i.status, i.issue_date, i.due_date,
           i.closed_on, i.amount, i.open_amount,
           coalesce(c.company_code, '') AS s_company,
           coalesce(c.collector_code, '') AS s_collector, coalesce(c.market, '') AS s_market
    FROM console.invoices i LEFT JOIN console.customers c USING (customer_id)
    )
    INSERT INTO console.team_daily_flows
    SELECT company_code, currency, s_company, s_collector, s_market, day, sum(issued),
           sum(closed), sum(settled)
    FROM (
        SELECT company_code, currency, s_company, s_collector, s_market, issue_date AS day,
               amount AS issued, 0 AS closed, 0 AS settled
        FROM team_invoices WHERE status <> 'cancelled'
        UNION ALL
        SELECT company_code, currency, s_company, s_collector, s_market, closed_on, 0,
               amount, 1
        FROM team_invoices WHERE status = 'settled' AND closed_on IS NOT NULL
    ) flows
    GROUP BY 1, 2, 3, 4, 5, 6;

    WITH team_invoices AS (
    SELECT i.invoice_id, i.company_code, i.currency, i.status, i.issue_date, i.due_date,
           i.closed_on, i.amount, i.open_amount,
           coalesce(c.company_code, '') AS s_company,
           coalesce(c.collector_code, '') AS s_collector, coalesce(c.market, '') AS s_market
    FROM console.invoices i LEFT JOIN console.customers c USING (customer_id)
    )
    INSERT INTO console.team_receivable
    SELECT company_code, currency, s_company, s_collector, s_market, sum(amount),
           coalesce(sum(amount) FILTER (WHERE status = 'settled' AND closed_on IS NOT NULL),
                    0)
    FROM team_invoices WHERE status <> 'cancelled'
    GROUP BY 1, 2, 3, 4, 5;


    WITH team_reminders AS (
    SELECT t.reminder_id, t.scenario_id, t.step_name, t.level, t.channel, t.invoice_ids,
           (t.scheduled_for AT TIME ZONE 'UTC')::date AS day,
           coalesce(c.company_code, '') AS s_company,
           coalesce(c.collector_code, '') AS s_collector, coalesce(c.market, '') AS s_market
    FROM console.reminders t LEFT JOIN console.customers c USING (customer_id)
    WHERE t.scenario_id IS NOT NULL
    )
    INSERT INTO console.team_steps
    SELECT t.scenario_id, t.step_name, t.level, t.channel, t.s_company, t.s_collector,
           t.s_market, t.day, count(DISTINCT t.reminder_id),
           count(i.invoice_id)
    FROM team_reminders t LEFT JOIN console.invoices i ON i.invoice_id = ANY(t.invoice_ids)
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

    WITH team_reminders AS (
    SELECT t.reminder_id, t.scenario_id, t.step_name, t.level, t.channel, t.invoice_ids,
           (t.scheduled_for AT TIME ZONE 'UTC')::date AS day,
           coalesce(c.company_code, '') AS s_company,
           coalesce(c.collector_code, '') AS s_collector, coalesce(c.market, '') AS s_market
    FROM console.reminders t LEFT JOIN console.customers c USING (customer_id)
    WHERE t.scenario_id IS NOT NULL
    )
    INSERT INTO console.team_steps_paid
    SELECT t.scenario_id, t.step_name, t.level, t.channel, t.s_company, t.s_collector,
           t.s_market, t.day, i.closed_on - t.day, count(*)
    FROM team_reminders t JOIN console.invoices i ON i.invoice_id = ANY(t.invoice_ids)
    WHERE i.status = 'settled' AND i.closed_on IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
END
$$;

DO $$ BEGIN PERFORM console.team_rebuild(); END $$;
