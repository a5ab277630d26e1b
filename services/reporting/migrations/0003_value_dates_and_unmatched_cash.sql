-- Past balances from value dates, and the money ingestion could not match yet.

-- The open-amount history becomes a history of changes: each row carries what it moved
-- (`delta`) and the ledger's order (`seq`, the order reporting applied the invoice's events,
-- which is the order ingestion published them on the customer's partition). The open amount
-- at the end of a day is the sum of the changes effective on or before it, so a payment
-- published after its value date counts from its value date even when later changes were
-- published before it; the due date is that of the latest change effective by then, ties
-- broken by `seq` (never by a random event id).
ALTER TABLE invoice_open_amounts ADD COLUMN delta numeric(20, 4);
ALTER TABLE invoice_open_amounts ADD COLUMN seq bigserial;
-- Rows written before this migration recorded amounts only: their changes are the
-- differences between consecutive amounts in the old order (replaying the ledger from the
-- beginning gives the exact history).
UPDATE invoice_open_amounts AS a SET delta = d.delta
FROM (
    SELECT invoice_id, event_id,
           open_amount - coalesce(lag(open_amount) OVER (
               PARTITION BY invoice_id ORDER BY effective_on, occurred_at, event_id), 0) AS delta
    FROM invoice_open_amounts
) AS d
WHERE a.invoice_id = d.invoice_id AND a.event_id = d.event_id;
ALTER TABLE invoice_open_amounts ALTER COLUMN delta SET NOT NULL;

CREATE OR REPLACE FUNCTION open_items_as_of(as_of date)
RETURNS TABLE (invoice_id text, company_code text, customer_id text, currency char(3),
               due_date date, open_amount numeric)
LANGUAGE sql STABLE AS $$
    SELECT i.invoice_id, i.company_code, i.customer_id, i.currency, h.due_date, h.open_amount
    FROM reporting.invoices i
    JOIN LATERAL (
        SELECT (array_agg(a.due_date ORDER BY a.effective_on DESC, a.seq DESC))[1] AS due_date,
               sum(a.delta) AS open_amount
        FROM reporting.invoice_open_amounts a
        WHERE a.invoice_id = i.invoice_id AND a.effective_on <= as_of
    ) AS h ON true
    WHERE h.open_amount > 0
$$;

-- Days after which unmatched cash is flagged for attention (the unmatched_cash view).
ALTER TABLE report_parameters ADD COLUMN unmatched_alert_days integer NOT NULL DEFAULT 7
    CHECK (unmatched_alert_days > 0);

-- Payments and credit notes ingestion parked because an invoice they name had not
-- arrived (ledger.unmatched_cash.recorded), and what became of them (.cleared).
CREATE TABLE unmatched_cash_documents (
    company_code  text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('payment', 'credit_note')),
    document_id   text NOT NULL,
    customer_id   text NOT NULL,
    currency      char(3),
    amount        numeric(20, 4),
    value_date    date,
    awaiting      text[],
    recorded_at   timestamptz,
    status        text NOT NULL
                  CHECK (status IN ('unmatched', 'matched', 'released', 'dead_lettered')),
    reason        text,
    cleared_at    timestamptz,
    PRIMARY KEY (company_code, kind, document_id)
);

-- Unmatched cash at the end of a day: recorded on or before it, not cleared by then.
CREATE FUNCTION unmatched_cash_as_of(as_of date)
RETURNS TABLE (company_code text, customer_id text, kind text, document_id text,
               currency char(3), amount numeric, value_date date, awaiting text[],
               recorded_at timestamptz, age_days integer, over_alert_age boolean)
LANGUAGE sql STABLE AS $$
    SELECT u.company_code, u.customer_id, u.kind, u.document_id, u.currency, u.amount,
           u.value_date, u.awaiting, u.recorded_at,
           as_of - (u.recorded_at AT TIME ZONE 'UTC')::date,
           as_of - (u.recorded_at AT TIME ZONE 'UTC')::date >= p.unmatched_alert_days
    FROM reporting.unmatched_cash_documents u CROSS JOIN reporting.report_parameters p
    WHERE u.recorded_at IS NOT NULL AND (u.recorded_at AT TIME ZONE 'UTC')::date <= as_of
      AND (u.cleared_at IS NULL OR (u.cleared_at AT TIME ZONE 'UTC')::date > as_of)
$$;

CREATE VIEW unmatched_cash AS SELECT * FROM unmatched_cash_as_of(current_date);
