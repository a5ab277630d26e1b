"""Every SQL statement of the reporting service, named and parameterised.

Connections have ``search_path`` set to the ``reporting`` schema.
"""

# parameters
SET_REPORTING_CURRENCY = "UPDATE report_parameters SET reporting_currency = $1"
DELETE_BUCKETS = "DELETE FROM aging_buckets"
# the maintained aged balance is recomputed at the next roll (buckets may have changed)
RESET_AGING = "UPDATE report_parameters SET aging_day = NULL"
ROLL_AGED_BALANCE = "SELECT roll_aged_balance($1)"
# Tables of a few rows are below autovacuum's thresholds: without statistics the planner
# expects thousands of rows in each, and JIT-compiles every BI query for nothing.
ANALYZE_SMALL_TABLES = "ANALYZE report_parameters, aging_buckets, fx_rates"
INSERT_BUCKETS = """
INSERT INTO aging_buckets (bucket_order, label, min_days, max_days)
SELECT * FROM unnest($1::int[], $2::text[], $3::int[], $4::int[])
"""

# customers
UPSERT_CUSTOMER = """
INSERT INTO customers (customer_id, company_code, version, name, country, customer_type,
                       market, risk_rating, payer_profile, collector)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (customer_id) DO UPDATE SET
    company_code = EXCLUDED.company_code, version = EXCLUDED.version, name = EXCLUDED.name,
    country = EXCLUDED.country, customer_type = EXCLUDED.customer_type,
    market = EXCLUDED.market, risk_rating = EXCLUDED.risk_rating,
    payer_profile = EXCLUDED.payer_profile, collector = EXCLUDED.collector
WHERE customers.version <= EXCLUDED.version
"""

# invoices
UPSERT_OPENED_INVOICE = """
INSERT INTO invoices (invoice_id, company_code, customer_id, invoice_number, issue_date,
                      due_date, currency, amount, open_amount, status, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10)
ON CONFLICT (invoice_id) DO UPDATE SET
    due_date = EXCLUDED.due_date, amount = EXCLUDED.amount,
    open_amount = EXCLUDED.open_amount, status = 'open', settled_on = NULL,
    settlement_cause = NULL, cancelled_at = NULL, updated_at = EXCLUDED.updated_at
"""
CHANGE_OPEN_AMOUNT = """
UPDATE invoices SET open_amount = $2, due_date = $3, amount = $4, status = 'open',
    settled_on = NULL, settlement_cause = NULL, cancelled_at = NULL, updated_at = $5
WHERE invoice_id = $1
"""
SETTLE_INVOICE = """
UPDATE invoices SET open_amount = 0, status = 'settled', settled_on = $2,
    settlement_cause = $3, amount = $4, due_date = $5, updated_at = $6
WHERE invoice_id = $1
"""
CANCEL_INVOICE = """
UPDATE invoices SET open_amount = 0, status = 'cancelled', cancelled_at = $2, updated_at = $2
WHERE invoice_id = $1
"""
# A change takes effect on its value date, never before the invoice's issue date (a
# payment received before the invoice was issued pays it from the day it exists).
RECORD_OPEN_AMOUNT = """
INSERT INTO invoice_open_amounts (invoice_id, event_id, effective_on, occurred_at,
                                  open_amount, due_date, cause, delta)
VALUES ($1, $2, greatest($3::date, (SELECT issue_date FROM invoices WHERE invoice_id = $1)),
        $4, $5, $6, $7, $8)
ON CONFLICT DO NOTHING
"""
RECORD_CANCELLATION = """
INSERT INTO invoice_open_amounts (invoice_id, event_id, effective_on, occurred_at,
                                  open_amount, due_date, cause, delta)
SELECT invoice_id, $2, greatest($3::date, issue_date), $4, 0, due_date, 'cancelled', -$5::numeric
FROM invoices WHERE invoice_id = $1
ON CONFLICT DO NOTHING
"""

# dunning
# One executed collector's command, without personal data (see 0003_audit.sql).
RECORD_AUDIT_EVENT = """
INSERT INTO audit_event (command_id, command, customer_id, company_code, invoice_id, actor_role,
                         requested_at, executed_at, invoices, held_until, scenario_id,
                         template, step_name, steps_moved, call_outcome)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
ON CONFLICT (command_id) DO NOTHING
"""

RECORD_LIBRARY_AUDIT_EVENT = """
INSERT INTO library_audit_event (revision, revision_before, changed_at, scenarios_added,
                                 scenarios_changed, scenarios_removed, versions_after,
                                 assignment_changed, templates_changed, invoices_moved,
                                 invoices_reassigned)
VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8, $9, $10, $11)
ON CONFLICT (revision) DO NOTHING
"""

UPSERT_DUNNING_STATE = """
INSERT INTO invoice_dunning (invoice_id, customer_id, scenario_id, step_name, dunning_level,
                             paused, pause_reason, last_action_at, next_action_at, changed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (invoice_id) DO UPDATE SET
    customer_id = EXCLUDED.customer_id, scenario_id = EXCLUDED.scenario_id,
    step_name = EXCLUDED.step_name, dunning_level = EXCLUDED.dunning_level,
    paused = EXCLUDED.paused, pause_reason = EXCLUDED.pause_reason,
    last_action_at = EXCLUDED.last_action_at, next_action_at = EXCLUDED.next_action_at,
    changed_at = EXCLUDED.changed_at
WHERE invoice_dunning.changed_at <= EXCLUDED.changed_at
"""

# disputes
OPEN_DISPUTE = """
INSERT INTO disputes (dispute_id, customer_id, whole_account, category, raised_by,
                      owner_role, due_date, status, opened_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8)
ON CONFLICT (dispute_id) DO NOTHING
"""
ADD_DISPUTE_INVOICES = """
INSERT INTO dispute_invoices (dispute_id, invoice_id)
SELECT $1, unnest($2::text[])
ON CONFLICT DO NOTHING
"""
RESOLVE_DISPUTE = """
UPDATE disputes SET status = 'resolved', outcome = $2, resolved_at = $3 WHERE dispute_id = $1
"""
REOPEN_DISPUTE = """
UPDATE disputes SET status = 'open', outcome = NULL, resolved_at = NULL, owner_role = $2,
    due_date = $3
WHERE dispute_id = $1
"""

# credit balances
UPSERT_CREDIT_BALANCE = """
INSERT INTO credit_balances (customer_id, currency, company_code, balance)
VALUES ($1, $2, $3, $4)
ON CONFLICT (customer_id, currency) DO UPDATE SET
    company_code = EXCLUDED.company_code, balance = EXCLUDED.balance
"""

# unmatched cash (ledger.unmatched_cash.recorded / .cleared), whichever arrives first
RECORD_UNMATCHED_CASH = """
INSERT INTO unmatched_cash_documents (company_code, kind, document_id, customer_id, currency,
                                      amount, value_date, awaiting, recorded_at, status)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'unmatched')
ON CONFLICT (company_code, kind, document_id) DO UPDATE SET
    customer_id = EXCLUDED.customer_id, currency = EXCLUDED.currency,
    amount = EXCLUDED.amount, value_date = EXCLUDED.value_date,
    awaiting = EXCLUDED.awaiting, recorded_at = EXCLUDED.recorded_at
"""
CLEAR_UNMATCHED_CASH = """
INSERT INTO unmatched_cash_documents (company_code, kind, document_id, customer_id, status,
                                      reason, cleared_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (company_code, kind, document_id) DO UPDATE SET
    status = EXCLUDED.status, reason = EXCLUDED.reason, cleared_at = EXCLUDED.cleared_at
"""
SET_UNMATCHED_ALERT_DAYS = "UPDATE report_parameters SET unmatched_alert_days = $1"

# fx rates
UPSERT_FX_RATE = """
INSERT INTO fx_rates (base_currency, quote_currency, valid_on, rate)
VALUES ($1, $2, $3, $4)
ON CONFLICT (base_currency, quote_currency, valid_on) DO UPDATE SET rate = EXCLUDED.rate
"""

# reads
AGED_BALANCE_AS_OF = """
SELECT company_code, customer_id, currency, bucket, bucket_order, invoice_count,
       open_amount, reporting_currency, open_amount_reporting
FROM aged_balance_as_of($1)
ORDER BY company_code, customer_id, currency, bucket_order
"""
PAYMENT_DELAY_AS_OF = """
SELECT customer_id, company_code, invoices_paid, average_delay_days
FROM payment_delay_as_of($1) ORDER BY customer_id
"""
COMPANIES = "SELECT DISTINCT company_code FROM invoices ORDER BY company_code"
RECEIVABLES_AS_OF = """
SELECT sum(round(o.open_amount * fx_rate(o.currency, p.reporting_currency, $2), 2))
FROM open_items_as_of($2) AS o CROSS JOIN report_parameters AS p
WHERE o.company_code = $1
"""
MONTHLY_SALES = """
SELECT date_trunc('month', i.issue_date)::date AS month,
       sum(round(i.amount * fx_rate(i.currency, p.reporting_currency, i.issue_date), 2))
FROM invoices i CROSS JOIN report_parameters p
WHERE i.company_code = $1 AND i.status <> 'cancelled'
  AND i.issue_date >= $2 AND i.issue_date <= $3
GROUP BY 1
"""
REPORTING_CURRENCY = "SELECT reporting_currency FROM report_parameters"
UPSERT_DSO = """
INSERT INTO dso_monthly (company_code, month, reporting_currency, receivables, dso_days)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (company_code, month) DO UPDATE SET
    reporting_currency = EXCLUDED.reporting_currency, receivables = EXCLUDED.receivables,
    dso_days = EXCLUDED.dso_days
"""
SNAPSHOT_AGED_BALANCE = """
INSERT INTO aged_balance_snapshots
SELECT as_of_date, company_code, customer_id, currency, bucket, bucket_order, invoice_count,
       open_amount, reporting_currency, open_amount_reporting
FROM aged_balance_as_of($1)
ON CONFLICT (snapshot_date, company_code, customer_id, currency, bucket) DO UPDATE SET
    invoice_count = EXCLUDED.invoice_count, open_amount = EXCLUDED.open_amount,
    reporting_currency = EXCLUDED.reporting_currency,
    open_amount_reporting = EXCLUDED.open_amount_reporting
"""
DELETE_SNAPSHOT = "DELETE FROM aged_balance_snapshots WHERE snapshot_date = $1"

# promises, payment plans, escalations
MAKE_PROMISE = """
INSERT INTO promises (promise_id, customer_id, invoice_count, promised_date, currency, amount,
                      channel, status, made_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8)
ON CONFLICT (promise_id) DO NOTHING
"""
CLOSE_PROMISE = """
UPDATE promises SET status = $2, closed_on = $3, received = $4 WHERE promise_id = $1
"""
AGREE_PLAN = """
INSERT INTO payment_plans (plan_id, customer_id, invoice_count, agreed_on, currency,
                           total_amount, instalments, status)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'on_track')
ON CONFLICT (plan_id) DO NOTHING
"""
MISS_INSTALMENT = """
UPDATE payment_plans SET instalments_missed = instalments_missed + 1 WHERE plan_id = $1
"""
CLOSE_PLAN = "UPDATE payment_plans SET status = $2, closed_on = $3 WHERE plan_id = $1"
RECORD_ESCALATION = """
INSERT INTO escalations (event_id, customer_id, company_code, scenario_id, action, currency,
                         total_open, invoice_count, raised_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT DO NOTHING
"""
ADD_PROMISE_INVOICES = """
INSERT INTO promise_invoices (promise_id, invoice_id)
SELECT $1, unnest($2::text[])
ON CONFLICT DO NOTHING
"""
RECORD_REMINDER_INVOICES = """
INSERT INTO reminder_invoices (reminder_id, invoice_id, customer_id, company_code, scenario_id,
                               step_name, dunning_level, channel, scheduled_for)
SELECT $1, unnest($2::text[]), $3, $4, $5, $6, $7, $8, $9
ON CONFLICT DO NOTHING
"""

# deliveries (notifier.deliveries.v1)
RECORD_DELIVERY = """
INSERT INTO deliveries (delivery_id, reminder_id, customer_id, channel, invoice_count, status,
                        status_at, sent_at, delivered_at, bounce_kind, suppression_reason,
                        failures)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (delivery_id) DO UPDATE SET
    status = CASE WHEN (EXCLUDED.status_at, delivery_status_rank(EXCLUDED.status))
                       >= (deliveries.status_at, delivery_status_rank(deliveries.status))
                  THEN EXCLUDED.status ELSE deliveries.status END,
    status_at = greatest(deliveries.status_at, EXCLUDED.status_at),
    sent_at = least(deliveries.sent_at, EXCLUDED.sent_at),
    delivered_at = least(deliveries.delivered_at, EXCLUDED.delivered_at),
    bounce_kind = coalesce(EXCLUDED.bounce_kind, deliveries.bounce_kind),
    suppression_reason = coalesce(EXCLUDED.suppression_reason, deliveries.suppression_reason),
    failures = deliveries.failures + EXCLUDED.failures
"""
RECORD_SENT_INVOICES = """
INSERT INTO sent_invoices (reminder_id, invoice_id, sent_at)
SELECT $1, unnest($2::text[]), $3
ON CONFLICT (reminder_id, invoice_id) DO UPDATE SET
    sent_at = least(sent_invoices.sent_at, EXCLUDED.sent_at)
"""
RECORD_CALL_OUTCOME = """
INSERT INTO call_outcomes (task_id, reminder_id, customer_id, outcome, invoice_count, closed_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (task_id) DO NOTHING
"""

# the HTML report (read only)
REPORT_AGED_BY_COMPANY = """
SELECT company_code, bucket, bucket_order, sum(invoice_count) AS invoice_count,
       CASE WHEN bool_and(open_amount_reporting IS NOT NULL)
            THEN sum(open_amount_reporting) END AS amount_reporting
FROM aged_balance_as_of($1)
GROUP BY company_code, bucket, bucket_order
ORDER BY company_code, bucket_order
"""
REPORT_AGED_UNCONVERTED = """
SELECT currency, sum(invoice_count) AS invoice_count, sum(open_amount) AS open_amount
FROM aged_balance_as_of($1) WHERE open_amount_reporting IS NULL
GROUP BY currency ORDER BY currency
"""
REPORT_BUCKETS = "SELECT bucket_order, label FROM aging_buckets ORDER BY bucket_order"
REPORT_SNAPSHOT_TREND = """
SELECT snapshot_date AS day, bucket_order,
       CASE WHEN bool_and(open_amount_reporting IS NOT NULL)
            THEN sum(open_amount_reporting) END AS amount_reporting
FROM aged_balance_snapshots
WHERE snapshot_date > $1 AND snapshot_date <= $2
GROUP BY snapshot_date, bucket_order
"""
REPORT_HISTORY_TREND = """
SELECT bucket_order,
       CASE WHEN bool_and(open_amount_reporting IS NOT NULL)
            THEN sum(open_amount_reporting) END AS amount_reporting
FROM aged_balance_as_of($1)
GROUP BY bucket_order
"""
REPORT_STEP_EFFECTIVENESS = """
SELECT scenario_id, step_name, reminders_due, reminders, invoices_reminded,
       paid_within_7_days, paid_within_14_days, paid_within_30_days,
       promises_within_30_days, disputes_within_30_days
FROM step_effectiveness ORDER BY scenario_id, step_name
"""
REPORT_OPEN_DISPUTES = """
SELECT category, owner_role, age_band, disputes, overdue_disputes, invoices,
       disputed_amount_reporting
FROM open_disputes_as_of($1)
ORDER BY category, owner_role, dispute_age_band_order(age_band)
"""
REPORT_DISPUTE_RESOLUTION = """
SELECT category, owner_role, outcome, resolved, average_days_to_resolve,
       median_days_to_resolve, resolved_late
FROM dispute_resolution ORDER BY category, owner_role, outcome
"""
REPORT_PROMISES = """
SELECT month, sum(promises) AS promises, sum(pending) AS pending, sum(kept) AS kept,
       sum(broken) AS broken
FROM promise_outcomes WHERE month <= $1
GROUP BY month ORDER BY month
"""
REPORT_BROKEN_PROMISES = """
SELECT customer_id, company_code, promises, kept, broken, broken_rate
FROM promise_rates WHERE broken > 0
ORDER BY broken_rate DESC, broken DESC, customer_id LIMIT $1
"""
REPORT_PLANS = """
SELECT company_code, status, plans, plans_with_missed_instalments, instalments_missed,
       total_amount_reporting
FROM payment_plan_summary ORDER BY company_code, status
"""
REPORT_ESCALATIONS = """
SELECT company_code, action, month, escalations, customers, invoices, total_open_reporting
FROM escalation_summary WHERE month <= $1 ORDER BY month, company_code, action
"""
REPORT_UNMATCHED_CASH = """
SELECT company_code, customer_id, kind, document_id, currency, amount, value_date,
       array_to_string(awaiting, ', ') AS awaiting, age_days, over_alert_age
FROM unmatched_cash_as_of($1) ORDER BY recorded_at, document_id LIMIT $2
"""
REPORT_WORKLIST = """
SELECT rank, company_code, customer_id, collector, risk_rating, overdue_invoices,
       overdue_amount_reporting, amount_at_risk, oldest_days_overdue
FROM collector_worklist_as_of($1) ORDER BY rank LIMIT $2
"""

RECORD_OPERATOR_ACTION = """
INSERT INTO operator_action (event_id, action, company_codes, actor_role, at, state_before,
                             state_after, suspension_id, campaign_id, template, level, channel,
                             customers, invoices)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT (event_id) DO NOTHING
"""
