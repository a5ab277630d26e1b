"""Every SQL statement of the scheduler, parameterised; tables live in schema ``scheduler``."""

from __future__ import annotations

UPSERT_CUSTOMER = """
INSERT INTO customer (customer_id, company_code, country, time_zone, language, segment, version)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (customer_id) DO UPDATE SET
    company_code = EXCLUDED.company_code, country = EXCLUDED.country,
    time_zone = EXCLUDED.time_zone, language = EXCLUDED.language,
    segment = EXCLUDED.segment, version = EXCLUDED.version
WHERE customer.version <= EXCLUDED.version
RETURNING customer_id
"""

CUSTOMER = "SELECT * FROM customer WHERE customer_id = $1"

INVOICE_FOR_UPDATE = "SELECT * FROM dunning_invoice WHERE invoice_id = $1 FOR UPDATE"

NOT_STARTED_INVOICES = """
SELECT * FROM dunning_invoice
WHERE customer_id = $1 AND last_step_name IS NULL AND status IN ('active', 'unassigned')
ORDER BY invoice_id
FOR UPDATE
"""

CUSTOMER_INVOICES = """
SELECT * FROM dunning_invoice
WHERE customer_id = $1 AND status IN ('active', 'unassigned')
ORDER BY invoice_id
FOR UPDATE
"""

# What the customer owes on the invoices the scheduler follows, all currencies added up
# (the assignment rules' ``min_outstanding`` is a rough size criterion).
OUTSTANDING = """
SELECT currency, sum(open_amount) AS total FROM dunning_invoice
WHERE customer_id = $1 AND status IN ('active', 'unassigned')
GROUP BY currency
"""

INSERT_INVOICE = """
INSERT INTO dunning_invoice (invoice_id, customer_id, company_code, invoice_number, due_date,
                             currency, amount, open_amount)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (invoice_id) DO NOTHING
"""

SAVE_INVOICE = """
UPDATE dunning_invoice SET
    due_date = $2, amount = $3, open_amount = $4, scenario_id = $5, position = $6, status = $7,
    pause_reason = $8, resumed = $9, last_step_name = $10, last_level = $11,
    last_action_at = $12, next_action_at = $13
WHERE invoice_id = $1
"""

# The same as SAVE_INVOICE for many invoices in one statement: one array per column.
SAVE_INVOICES = """
UPDATE dunning_invoice AS d SET
    due_date = v.due_date, amount = v.amount, open_amount = v.open_amount,
    scenario_id = v.scenario_id, position = v.position, status = v.status,
    pause_reason = v.pause_reason, resumed = v.resumed, last_step_name = v.last_step_name,
    last_level = v.last_level, last_action_at = v.last_action_at,
    next_action_at = v.next_action_at
FROM unnest($1::text[], $2::date[], $3::numeric[], $4::numeric[], $5::text[], $6::int[],
            $7::text[], $8::text[], $9::boolean[], $10::text[], $11::text[],
            $12::timestamptz[], $13::timestamptz[])
    AS v (invoice_id, due_date, amount, open_amount, scenario_id, position, status,
          pause_reason, resumed, last_step_name, last_level, last_action_at, next_action_at)
WHERE d.invoice_id = v.invoice_id
"""

SUSPENDED = "SELECT suspended FROM global_suspension"

SET_SUSPENDED = "UPDATE global_suspension SET suspended = $1, changed_at = $2"

# A tick claims customers (not invoices) so that one customer's due invoices are grouped by
# exactly one replica; the inner query walks the partial index on next_action_at only.
CLAIM_DUE_CUSTOMERS = """
SELECT c.* FROM customer c
WHERE c.customer_id IN (
    SELECT customer_id FROM dunning_invoice
    WHERE next_action_at IS NOT NULL AND next_action_at <= $1
    ORDER BY next_action_at
    LIMIT $2
)
ORDER BY c.customer_id
FOR UPDATE OF c SKIP LOCKED
"""

DUE_INVOICES = """
SELECT * FROM dunning_invoice
WHERE customer_id = ANY($1::text[]) AND next_action_at IS NOT NULL AND next_action_at <= $2
ORDER BY customer_id, invoice_id
FOR UPDATE
"""

SET_LAST_CONTACT = "UPDATE customer SET last_contact_at = $2 WHERE customer_id = $1"

RECORD_SKIPPED = """
INSERT INTO skipped_step (invoice_id, scenario_id, step_name, skipped_at)
VALUES ($1, $2, $3, $4)
ON CONFLICT DO NOTHING
"""

# Campaigns: the customers of some companies (all when none is given), locked for the run.
CAMPAIGN_CUSTOMERS = """
SELECT * FROM customer
WHERE cardinality($1::text[]) = 0 OR company_code = ANY($1::text[])
ORDER BY customer_id
FOR UPDATE
"""

OPEN_INVOICES_OF = """
SELECT * FROM dunning_invoice
WHERE customer_id = ANY($1::text[]) AND status IN ('active', 'unassigned')
"""

CAMPAIGN_REACHED = "SELECT customer_id FROM campaign_contact WHERE campaign_id = $1"

RECORD_CAMPAIGN_CONTACT = """
INSERT INTO campaign_contact
    (campaign_id, customer_id, reminder_id, invoice_ids, scheduled_for, reached_at)
VALUES ($1, $2, $3, $4, $5, $6)
"""

RECORD_REMINDER = """
INSERT INTO sent_reminder (reminder_id, customer_id, payload, fallback_of, created_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (reminder_id) DO NOTHING
RETURNING reminder_id
"""

SENT_REMINDER = "SELECT payload FROM sent_reminder WHERE reminder_id = $1"

STILL_FOLLOWED = """
SELECT invoice_id FROM dunning_invoice
WHERE invoice_id = ANY($1::text[]) AND status IN ('active', 'unassigned')
  AND pause_reason IS NULL
"""

UNDER_WAY_INVOICES = """
SELECT * FROM dunning_invoice
WHERE customer_id = $1 AND last_step_name IS NOT NULL AND status = 'active'
ORDER BY invoice_id
FOR UPDATE
"""

# The whole open account of the customers of a tick batch, for the reminders' statements.
OPEN_ACCOUNTS = """
SELECT customer_id, currency, sum(open_amount) AS total, count(*) AS invoices
FROM dunning_invoice
WHERE customer_id = ANY($1::text[]) AND status <> 'closed' AND open_amount > 0
GROUP BY customer_id, currency
ORDER BY customer_id, currency
"""
