"""Every SQL statement of the disputes service, parameterised; tables live in ``disputes``."""

from __future__ import annotations

# The ledger, as far as the service needs it ----------------------------------------------

CUSTOMER_TIME_ZONE = "SELECT time_zone FROM customer WHERE customer_id = $1"

# The companies a customer has invoices with (an invoice id is <company_code>/<number>).
CUSTOMER_COMPANIES = """
SELECT DISTINCT split_part(invoice_id, '/', 1) AS company_code FROM invoice WHERE customer_id = $1
"""

INVOICES = "SELECT * FROM invoice WHERE invoice_id = ANY($1::text[])"

OPEN_INVOICES_OF_CUSTOMER = """
SELECT invoice_id FROM invoice WHERE customer_id = $1 AND status = 'open' ORDER BY invoice_id
"""

# Disputes ----------------------------------------------------------------------------------

DISPUTE = "SELECT * FROM dispute WHERE dispute_id = $1"

DISPUTE_FOR_UPDATE = "SELECT * FROM dispute WHERE dispute_id = $1 FOR UPDATE"

# Invoices held by a dispute still pausing them (open, or justified awaiting its correction).
DISPUTED_INVOICES = """
SELECT dispute_id, invoice_ids, whole_account FROM dispute
WHERE customer_id = $1 AND status IN ('open', 'awaiting_correction') AND dispute_id <> $2
"""

INSERT_DISPUTE = """
INSERT INTO dispute (dispute_id, customer_id, invoice_ids, whole_account, category, text,
                     raised_by, owner_role, owner, due_date, status, next_reminder_at,
                     opened_at, updated_at, attachments)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11, $12, $12, $13)
"""

RESOLVE_DISPUTE = """
UPDATE dispute SET status = $2, outcome = $3, awaiting = $4, next_reminder_at = NULL,
                   version = version + 1, updated_at = $5
WHERE dispute_id = $1
RETURNING version
"""

REOPEN_DISPUTE = """
UPDATE dispute SET status = 'open', outcome = NULL, awaiting = '{}', owner_role = $2, owner = $3,
                   due_date = $4, opening = opening + 1, reminders_sent = 0,
                   next_reminder_at = $5, version = version + 1, updated_at = $6
WHERE dispute_id = $1
RETURNING version
"""

RECORD_TRANSITION = """
INSERT INTO dispute_transition (dispute_id, version, action, actor, at, detail)
VALUES ($1, $2, $3, $4, $5, $6)
"""

TRANSITIONS = """
SELECT version, action, actor, at, detail FROM dispute_transition
WHERE dispute_id = $1 ORDER BY id
"""

LIST_DISPUTES = """
SELECT * FROM dispute
WHERE ($1::text IS NULL OR customer_id = $1) AND ($2::text IS NULL OR status = $2)
ORDER BY opened_at DESC, dispute_id
LIMIT $3
"""

DUE_OWNER_REMINDERS = """
SELECT * FROM dispute
WHERE status = 'open' AND next_reminder_at IS NOT NULL AND next_reminder_at <= $1
ORDER BY next_reminder_at
LIMIT $2
FOR UPDATE SKIP LOCKED
"""

OWNER_REMINDED = """
UPDATE dispute SET reminders_sent = $2, next_reminder_at = $3 WHERE dispute_id = $1
"""

# Promises ----------------------------------------------------------------------------------

PROMISE = "SELECT * FROM promise WHERE promise_id = $1"

PROMISE_FOR_UPDATE = "SELECT * FROM promise WHERE promise_id = $1 FOR UPDATE"

OPEN_PROMISED_INVOICES = """
SELECT promise_id, invoice_ids FROM promise WHERE customer_id = $1 AND status = 'open'
"""

INSERT_PROMISE = """
INSERT INTO promise (promise_id, customer_id, invoice_ids, promised_date, amount, currency,
                     channel, recorded_by, made_at, deadline_at, status, kind)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11)
"""

CLOSE_PROMISE = "UPDATE promise SET status = $2, closed_on = $3 WHERE promise_id = $1"

DUE_PROMISES = """
SELECT * FROM promise
WHERE status = 'open' AND deadline_at <= $1
ORDER BY deadline_at
LIMIT $2
FOR UPDATE SKIP LOCKED
"""

LIST_PROMISES = """
SELECT * FROM promise
WHERE ($1::text IS NULL OR customer_id = $1) AND ($2::text IS NULL OR status = $2)
ORDER BY made_at DESC, promise_id
LIMIT $3
"""

PROMISE_MADE = """
INSERT INTO customer_promise_record (customer_id, made) VALUES ($1, 1)
ON CONFLICT (customer_id) DO UPDATE SET made = customer_promise_record.made + 1
"""

PROMISE_DECIDED = """
UPDATE customer_promise_record SET kept = kept + $2, broken = broken + $3
WHERE customer_id = $1
RETURNING kept, broken
"""

PROMISE_RECORD = "SELECT * FROM customer_promise_record WHERE customer_id = $1"

# Payment plans -----------------------------------------------------------------------------

PLAN = "SELECT * FROM payment_plan WHERE plan_id = $1"

ACTIVE_PLANNED_INVOICES = """
SELECT plan_id, invoice_ids FROM payment_plan WHERE customer_id = $1 AND status = 'active'
"""

INSERT_PLAN = """
INSERT INTO payment_plan (plan_id, customer_id, invoice_ids, agreed_on, agreed_by, instalments,
                          currency, made_at, status, next_check_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9)
"""

UPDATE_PLAN = """
UPDATE payment_plan SET received = $2, status = $3, next_check_at = $4, closed_on = $5
WHERE plan_id = $1
"""

DUE_PLANS = """
SELECT * FROM payment_plan
WHERE status = 'active' AND next_check_at IS NOT NULL AND next_check_at <= $1
ORDER BY next_check_at
LIMIT $2
FOR UPDATE SKIP LOCKED
"""

LIST_PLANS = """
SELECT * FROM payment_plan
WHERE ($1::text IS NULL OR customer_id = $1) AND ($2::text IS NULL OR status = $2)
ORDER BY made_at DESC, plan_id
LIMIT $3
"""

# Call-back requests --------------------------------------------------------------------------

INSERT_CALLBACK = """
INSERT INTO callback_request (request_id, customer_id, company_code, phone, on_day, slot,
                              invoice_ids, requested_by, requested_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (request_id) DO NOTHING
RETURNING request_id
"""

CALLBACK = "SELECT * FROM callback_request WHERE request_id = $1"

LIST_CALLBACKS = """
SELECT * FROM callback_request
WHERE ($1::text IS NULL OR customer_id = $1) AND ($2::text IS NULL OR status = $2)
ORDER BY on_day, slot, requested_at
LIMIT $3
"""

# Payment plans proposed by customers -------------------------------------------------------

PROPOSAL = "SELECT * FROM plan_proposal WHERE proposal_id = $1"

PROPOSAL_FOR_DECISION = "SELECT * FROM plan_proposal WHERE proposal_id = $1 FOR UPDATE"

PENDING_PROPOSED_INVOICES = """
SELECT proposal_id, invoice_ids FROM plan_proposal WHERE customer_id = $1 AND status = 'pending'
"""

INSERT_PROPOSAL = """
INSERT INTO plan_proposal (proposal_id, customer_id, company_code, invoice_ids, proposed_on,
                           proposed_by, instalments, currency, proposed_at, answer_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
"""

DECIDE_PROPOSAL = """
UPDATE plan_proposal
SET status = $2, decided_by = $3, decided_role = $4, decided_at = $5, reason = $6
WHERE proposal_id = $1 AND status = 'pending'
"""

DUE_PROPOSALS = """
SELECT * FROM plan_proposal
WHERE status = 'pending' AND answer_by <= $1
ORDER BY answer_by
LIMIT $2
FOR UPDATE SKIP LOCKED
"""

CLOSE_CALLBACK = """
UPDATE callback_request SET status = 'done', closed_at = coalesce(closed_at, $3),
                            closed_by = coalesce(closed_by, $4)
WHERE request_id = $1 AND customer_id = $2
RETURNING request_id
"""

LIST_PROPOSALS = """
SELECT * FROM plan_proposal
WHERE ($1::text IS NULL OR customer_id = $1) AND ($2::text IS NULL OR status = $2)
ORDER BY proposed_at DESC, proposal_id
LIMIT $3
"""

# An answer (a message, documents) to a dispute: a new version, its history records it.
ANSWER_DISPUTE = """
UPDATE dispute SET version = version + 1, updated_at = $2 WHERE dispute_id = $1
RETURNING version
"""
ANSWERED = """
SELECT 1 FROM dispute_transition
WHERE dispute_id = $1 AND action = 'answered' AND detail->>'answer_id' = $2
"""

# A run of ledger events (services.disputes.ledger_run): read up front, written set-based ----

# The rows of many keys are read by joining their array (``= ANY($1)`` on a parameter
# compares every row of a sequential scan with every key: its cost grew with the table).
RUN_CUSTOMERS = """
SELECT c.customer_id, c.time_zone, c.version
FROM unnest($1::text[]) AS wanted(customer_id) JOIN customer c USING (customer_id)
"""

# The open promises and active plans on the run's invoices, locked (which of them an event
# reaches, by its instant, is decided in memory).
RUN_OPEN_PROMISES = """
SELECT * FROM promise WHERE status = 'open' AND invoice_ids && $1::text[]
ORDER BY promise_id
FOR UPDATE
"""

RUN_ACTIVE_PLANS = """
SELECT * FROM payment_plan WHERE status = 'active' AND invoice_ids && $1::text[]
ORDER BY plan_id
FOR UPDATE
"""

# The open whole-account disputes of the customers the run opens invoices for, and the
# justified disputes awaiting a correction on one of the run's invoices.
RUN_DISPUTES = """
SELECT * FROM dispute
WHERE (whole_account AND status = 'open' AND customer_id = ANY($1::text[]))
   OR (status = 'awaiting_correction' AND awaiting && $2::text[])
ORDER BY dispute_id
FOR UPDATE
"""

RUN_INVOICES = """
SELECT i.invoice_id, i.customer_id, i.currency, i.open_amount, i.status
FROM unnest($1::text[]) AS wanted(invoice_id) JOIN invoice i USING (invoice_id)
"""

RUN_PROMISE_RECORDS = """
SELECT customer_id, kept, broken FROM customer_promise_record
WHERE customer_id = ANY($1::text[])
ORDER BY customer_id
FOR UPDATE
"""

# Customers as the ledger describes them (one row each, the run's last version): an older
# version changes nothing.
WRITE_CUSTOMERS = """
INSERT INTO customer (customer_id, time_zone, version)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
ON CONFLICT (customer_id) DO UPDATE SET time_zone = EXCLUDED.time_zone, version = EXCLUDED.version
WHERE customer.version <= EXCLUDED.version
"""

# The invoices' rows as the run left them (one row each); an existing row keeps its customer
# and currency.
WRITE_INVOICES = """
INSERT INTO invoice (invoice_id, customer_id, currency, open_amount, status)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::text[])
ON CONFLICT (invoice_id) DO UPDATE SET open_amount = EXCLUDED.open_amount, status = EXCLUDED.status
"""

# Payments the ledger showed (a reversal is negative), in the order given.
RECORD_PAYMENTS = """
INSERT INTO payment (invoice_id, customer_id, amount, received_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::numeric[], $4::timestamptz[])
"""

SAVE_PROMISE = """
UPDATE promise SET received = $2, status = $3, closed_on = $4 WHERE promise_id = $1
"""

SAVE_DISPUTE = """
UPDATE dispute SET invoice_ids = $2, awaiting = $3, status = $4, version = $5, updated_at = $6
WHERE dispute_id = $1
"""

ADD_PROMISES_DECIDED = """
UPDATE customer_promise_record SET kept = kept + $2, broken = broken + $3 WHERE customer_id = $1
"""
