"""Every SQL statement of the console, named and parameterised, in one place.

The first half keeps the read model (the projection's statements), the second half reads
it for the pages. Each statement runs with the service's schema first in ``search_path``.
"""

from __future__ import annotations

# --- the projection -------------------------------------------------------------------

UPSERT_CUSTOMER = """
INSERT INTO customers (customer_id, company_code, version, name, country, language,
                       customer_type, market, risk_rating, payer_profile, collector_code,
                       contacts)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (customer_id) DO UPDATE SET
    company_code = EXCLUDED.company_code, version = EXCLUDED.version, name = EXCLUDED.name,
    country = EXCLUDED.country, language = EXCLUDED.language,
    customer_type = EXCLUDED.customer_type, market = EXCLUDED.market,
    risk_rating = EXCLUDED.risk_rating, payer_profile = EXCLUDED.payer_profile,
    collector_code = EXCLUDED.collector_code, contacts = EXCLUDED.contacts
WHERE customers.version <= EXCLUDED.version
"""

OPEN_INVOICE = """
INSERT INTO invoices (invoice_id, customer_id, company_code, invoice_number, issue_date,
                      due_date, currency, amount, open_amount, status)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open')
ON CONFLICT (invoice_id) DO UPDATE SET
    due_date = EXCLUDED.due_date, amount = EXCLUDED.amount,
    open_amount = EXCLUDED.open_amount, status = 'open'
"""

CHANGE_OPEN_AMOUNT = """
UPDATE invoices SET open_amount = $2, due_date = $3, amount = $4, status = 'open'
WHERE invoice_id = $1
"""

CLOSE_INVOICE = "UPDATE invoices SET open_amount = 0, status = $2 WHERE invoice_id = $1"

DUNNING_STATE = """
UPDATE invoices SET scenario_id = $2, step_name = $3, level = $4, paused = $5,
                    pause_reason = $6, next_action_at = $7
WHERE invoice_id = $1
"""

RECORD_REMINDER = """
INSERT INTO reminders (reminder_id, customer_id, company_code, channel, level, step_name,
                       scheduled_for, invoice_ids)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (reminder_id) DO NOTHING
"""

CLOSE_CALL_TASK = "UPDATE reminders SET call_outcome = $2, closed_at = $3 WHERE reminder_id = $1"

RECORD_DELIVERY = """
INSERT INTO deliveries (delivery_id, reminder_id, customer_id, channel, outcome, reason,
                        invoice_ids, at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (delivery_id) DO UPDATE SET
    outcome = EXCLUDED.outcome, reason = EXCLUDED.reason, at = EXCLUDED.at
WHERE deliveries.at <= EXCLUDED.at
"""

OPEN_DISPUTE = """
INSERT INTO disputes (dispute_id, customer_id, invoice_ids, whole_account, category,
                      owner_role, owner, due_date, state, opened_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9)
ON CONFLICT (dispute_id) DO NOTHING
"""

RESOLVE_DISPUTE = "UPDATE disputes SET state = 'resolved' WHERE dispute_id = $1"

REOPEN_DISPUTE = """
UPDATE disputes SET state = 'open', owner_role = $2, owner = $3, due_date = $4,
                    invoice_ids = $5
WHERE dispute_id = $1
"""

MAKE_PROMISE = """
INSERT INTO promises (promise_id, customer_id, invoice_ids, promised_date, currency, amount,
                      state)
VALUES ($1, $2, $3, $4, $5, $6, 'made')
ON CONFLICT (promise_id) DO NOTHING
"""

CLOSE_PROMISE = "UPDATE promises SET state = $2, closed_at = $3 WHERE promise_id = $1"

AGREE_PLAN = """
INSERT INTO plans (plan_id, customer_id, invoice_ids, state) VALUES ($1, $2, $3, 'agreed')
ON CONFLICT (plan_id) DO NOTHING
"""

MISS_INSTALMENT = "UPDATE plans SET missed = missed + 1 WHERE plan_id = $1"

CLOSE_PLAN = "UPDATE plans SET state = $2 WHERE plan_id = $1"

ADD_TIMELINE_ENTRY = """
INSERT INTO timeline (event_id, customer_id, at, kind, facts) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (event_id) DO NOTHING
"""

# --- the pages --------------------------------------------------------------------------

# The portfolio filter every listing shares: $1 unrestricted, $2 company codes,
# $3 collector codes, $4 segments (markets).
_IN_PORTFOLIO = """(
    $1::boolean OR c.company_code = ANY($2::text[]) OR c.collector_code = ANY($3::text[])
    OR c.market = ANY($4::text[]))"""

CUSTOMER = "SELECT * FROM customers WHERE customer_id = $1"

OPEN_ITEMS = """
SELECT i.invoice_id, i.invoice_number, i.issue_date, i.due_date, i.currency, i.amount,
       i.open_amount, i.scenario_id, i.step_name, i.level, i.paused, i.pause_reason,
       i.next_action_at,
       EXISTS (SELECT 1 FROM disputes d WHERE d.customer_id = i.customer_id
               AND d.state = 'open' AND (d.whole_account OR i.invoice_id = ANY(d.invoice_ids)))
           AS disputed,
       EXISTS (SELECT 1 FROM plans p WHERE p.customer_id = i.customer_id
               AND p.state = 'agreed' AND i.invoice_id = ANY(p.invoice_ids)) AS in_plan,
       EXISTS (SELECT 1 FROM promises m WHERE m.customer_id = i.customer_id
               AND m.state = 'made' AND i.invoice_id = ANY(m.invoice_ids)) AS promised
FROM invoices i
WHERE i.customer_id = $1 AND i.status = 'open'
ORDER BY i.currency, i.due_date, i.invoice_number
"""

TIMELINE = """
SELECT event_id, at, kind, facts FROM timeline
WHERE customer_id = $1 ORDER BY at DESC, event_id LIMIT $2
"""

# The worklist's sources. Each row: kind, customer, currency, money at risk (the open
# amount of the invoices concerned), since when, and a detail; $5 is today, $6 now,
# $7 a company code or null.
_AT_RISK = """(SELECT i.currency, coalesce(sum(i.open_amount), 0) AS at_risk FROM invoices i
   WHERE i.status = 'open' AND i.invoice_id = ANY({ids}) GROUP BY i.currency
   ORDER BY 2 DESC LIMIT 1)"""

WORKLIST = f"""
SELECT 'broken_promise' AS kind, c.customer_id, c.name, c.company_code,
       m.currency, m.amount AS at_risk, m.promised_date AS since, NULL AS detail
FROM promises m JOIN customers c USING (customer_id)
WHERE m.state = 'broken' AND {_IN_PORTFOLIO} AND ($7::text IS NULL OR c.company_code = $7)
  AND EXISTS (SELECT 1 FROM invoices i WHERE i.status = 'open'
              AND i.invoice_id = ANY(m.invoice_ids))
UNION ALL
SELECT 'overdue_dispute', c.customer_id, c.name, c.company_code,
       coalesce(r.currency, ''), coalesce(r.at_risk, 0), d.due_date, d.category
FROM disputes d JOIN customers c USING (customer_id)
LEFT JOIN LATERAL {_AT_RISK.format(ids="d.invoice_ids")} r ON true
WHERE d.state = 'open' AND d.due_date < $5 AND {_IN_PORTFOLIO}
  AND ($7::text IS NULL OR c.company_code = $7)
UNION ALL
SELECT 'delivery_trouble', c.customer_id, c.name, c.company_code,
       coalesce(r.currency, ''), coalesce(r.at_risk, 0), v.at::date, 'delivery.' || v.outcome
FROM deliveries v JOIN customers c USING (customer_id)
LEFT JOIN LATERAL {_AT_RISK.format(ids="v.invoice_ids")} r ON true
WHERE v.outcome IN ('failed', 'bounced') AND {_IN_PORTFOLIO}
  AND ($7::text IS NULL OR c.company_code = $7)
UNION ALL
SELECT 'call_due', c.customer_id, c.name, c.company_code,
       coalesce(r.currency, ''), coalesce(r.at_risk, 0), t.scheduled_for::date, t.level
FROM reminders t JOIN customers c USING (customer_id)
LEFT JOIN LATERAL {_AT_RISK.format(ids="t.invoice_ids")} r ON true
WHERE t.channel = 'phone_call' AND t.closed_at IS NULL AND t.scheduled_for <= $6
  AND {_IN_PORTFOLIO} AND ($7::text IS NULL OR c.company_code = $7)
"""

COMPANIES = f"""
SELECT DISTINCT c.company_code FROM customers c WHERE {_IN_PORTFOLIO} ORDER BY 1
"""

# Search: customers by name (trigram similarity) or number, and by invoice number.
# $5 the text, $6 the text as a LIKE pattern (wildcards escaped), $7 the limit. Each arm is
# its own query so that each can use its trigram index (one OR across them made the
# planner scan the whole table).
SEARCH_CUSTOMERS = f"""
WITH found AS (
    (SELECT customer_id, public.similarity(name, $5) AS score FROM customers
     WHERE name OPERATOR(public.%) $5 ORDER BY 2 DESC LIMIT $7)
    UNION ALL
    (SELECT customer_id, 1.0 FROM customers WHERE name ILIKE $6 LIMIT $7)
    UNION ALL
    (SELECT customer_id, 1.5 FROM customers WHERE customer_id ILIKE $6 LIMIT $7)
)
SELECT c.customer_id, c.name, c.company_code, NULL AS invoice_number, max(f.score) AS score
FROM found f JOIN customers c USING (customer_id)
WHERE {_IN_PORTFOLIO}
GROUP BY c.customer_id
UNION ALL
(SELECT c.customer_id, c.name, c.company_code, i.invoice_number,
        public.similarity(i.invoice_number, $5) + 0.5
 FROM invoices i JOIN customers c USING (customer_id)
 WHERE {_IN_PORTFOLIO} AND i.invoice_number ILIKE $6
 LIMIT $7)
ORDER BY score DESC, name LIMIT $7
"""

# Collectors' commands sent from the console: recorded in the transaction that puts them in
# the outbox (a retried form inserts nothing and sends nothing again), then marked
# executed when the scheduler's dunning.command.executed arrives.
RECORD_SENT_COMMAND = """
INSERT INTO sent_command
    (command_id, customer_id, command, invoice_id, facts, actor_subject, requested_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (command_id) DO NOTHING
RETURNING command_id
"""

COMMAND_EXECUTED = """
UPDATE sent_command SET executed_at = $2 WHERE command_id = $1 AND executed_at IS NULL
"""

WAITING_COMMANDS = """
SELECT command_id, command, invoice_id, facts, actor_subject, requested_at
FROM sent_command WHERE customer_id = $1 AND executed_at IS NULL
ORDER BY requested_at DESC LIMIT $2
"""
