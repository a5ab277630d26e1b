"""Every SQL statement of the reporting service, named and parameterised.

Connections have ``search_path`` set to the ``reporting`` schema.
"""

# parameters
SET_REPORTING_CURRENCY = "UPDATE report_parameters SET reporting_currency = $1"
DELETE_BUCKETS = "DELETE FROM aging_buckets"
INSERT_BUCKETS = """
INSERT INTO aging_buckets (bucket_order, label, min_days, max_days)
SELECT * FROM unnest($1::int[], $2::text[], $3::int[], $4::int[])
"""

# customers
UPSERT_CUSTOMER = """
INSERT INTO customers (customer_id, company_code, version, name, country, customer_type,
                       market, risk_rating, payer_profile)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (customer_id) DO UPDATE SET
    company_code = EXCLUDED.company_code, version = EXCLUDED.version, name = EXCLUDED.name,
    country = EXCLUDED.country, customer_type = EXCLUDED.customer_type,
    market = EXCLUDED.market, risk_rating = EXCLUDED.risk_rating,
    payer_profile = EXCLUDED.payer_profile
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
RECORD_OPEN_AMOUNT = """
INSERT INTO invoice_open_amounts (invoice_id, event_id, effective_on, occurred_at,
                                  open_amount, due_date, cause)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT DO NOTHING
"""
RECORD_CANCELLATION = """
INSERT INTO invoice_open_amounts (invoice_id, event_id, effective_on, occurred_at,
                                  open_amount, due_date, cause)
SELECT invoice_id, $2, $3, $4, 0, due_date, 'cancelled' FROM invoices WHERE invoice_id = $1
ON CONFLICT DO NOTHING
"""

# dunning
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
