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
    due_date = $2, amount = $3, open_amount = $4, scenario_id = $5, next_step = $6, status = $7,
    pause_reason = $8, resumed = $9, last_step_name = $10, last_level = $11,
    last_action_at = $12, next_action_at = $13, formal_notice_at = $14,
    scenario_version = $15, awaiting_delivery = $16
WHERE invoice_id = $1
"""

# What a tick changes of the invoices it holds: their place in the scenario and their timer
# (nothing else: amounts, scenario and pauses are the tracker's). One JSON array of
# [invoice_id, next_step, status, resumed, last_step_name, last_level, last_action_at,
# next_action_at, scenario_version, awaiting_delivery] rows: a single text parameter costs
# far less to send than ten arrays.
SAVE_PROGRESS = """
UPDATE dunning_invoice AS d SET
    next_step = v ->> 1, status = v ->> 2, resumed = (v ->> 3)::boolean,
    last_step_name = v ->> 4, last_level = v ->> 5,
    last_action_at = (v ->> 6)::timestamptz, next_action_at = (v ->> 7)::timestamptz,
    scenario_version = (v ->> 8)::int, awaiting_delivery = v ->> 9
FROM jsonb_array_elements($1::text::jsonb) AS v
WHERE d.invoice_id = v ->> 0
"""

# Suspensions: one company's (company_code) or every company's (NULL), with their history.
SUSPEND = """
INSERT INTO sending_suspension (suspension_id, company_code, suspended_by, reason, suspended_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (coalesce(company_code, '*')) WHERE resumed_at IS NULL DO NOTHING
RETURNING suspension_id
"""

RESUME = """
UPDATE sending_suspension SET resumed_by = $2, resumed_at = $3
WHERE resumed_at IS NULL AND company_code IS NOT DISTINCT FROM $1
RETURNING suspension_id
"""

# The suspensions that hold now, oldest first.
HOLDING_SUSPENSIONS = """
SELECT * FROM sending_suspension WHERE resumed_at IS NULL ORDER BY suspended_at, suspension_id
"""

SUSPENSION_HISTORY = "SELECT * FROM sending_suspension ORDER BY suspended_at, suspension_id"

# A tick claims customers (not invoices) so that one customer's due invoices are grouped by
# exactly one replica. It walks the partial index on next_action_at in order and locks each
# due invoice's customer; customers another tick holds are skipped before the LIMIT counts,
# so that concurrent ticks (replicas, or one replica's pipelined ticks) take the next ones
# instead of coming back empty. A customer with several due invoices comes back once per
# invoice. A held customer or invoice (a collector's hold, until its date) is not claimed either.
# No customer of a suspended company (or of any, when every company is suspended) is
# claimed: their timers wait, and fire in the first tick after the resumption.
CLAIM_DUE_CUSTOMERS = """
SELECT c.* FROM dunning_invoice d JOIN customer c ON c.customer_id = d.customer_id
WHERE d.next_action_at IS NOT NULL AND d.next_action_at <= $1
  AND NOT EXISTS (
      SELECT 1 FROM sending_suspension s
      WHERE s.resumed_at IS NULL AND (s.company_code IS NULL OR s.company_code = c.company_code)
  )
  AND (c.held_until IS NULL OR c.held_until <= $1)
  AND (d.held_until IS NULL OR d.held_until <= $1)
ORDER BY d.next_action_at
LIMIT $2
FOR UPDATE OF c SKIP LOCKED
"""

DUE_INVOICES = """
SELECT * FROM dunning_invoice
WHERE customer_id = ANY($1::text[]) AND next_action_at IS NOT NULL AND next_action_at <= $2
  AND (held_until IS NULL OR held_until <= $2)
ORDER BY customer_id, invoice_id
FOR UPDATE
"""

SET_LAST_CONTACT = "UPDATE customer SET last_contact_at = $2 WHERE customer_id = $1"

# Each customer's last contact: the instant its reminder is scheduled for.
SET_LAST_CONTACTS = """
UPDATE customer AS c SET last_contact_at = v.at
FROM unnest($1::text[], $2::timestamptz[]) AS v (customer_id, at)
WHERE c.customer_id = v.customer_id
"""

RECORD_SKIPPED = """
INSERT INTO skipped_step (invoice_id, scenario_id, step_name, skipped_at)
SELECT i, s, n, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS v (i, s, n)
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

# A tick's reminders: their ids, customers and payloads (each the text of its JSON object, cut
# out of the event serialised once for the outbox) as three arrays; sent_reminder keeps each
# payload as RECORD_REMINDER stores it. The payload column is `json`: the text is checked and
# kept, not parsed into `jsonb` (migration 0013).
RECORD_REMINDERS = """
INSERT INTO sent_reminder (reminder_id, customer_id, payload, fallback_of, created_at)
SELECT r, c, p::json, NULL, $4
FROM unnest($1::uuid[], $2::text[], $3::text[]) AS v (r, c, p)
ON CONFLICT (reminder_id) DO NOTHING
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

# The invoices a formal notice was about, still followed, to record its delivery.
NOTICED_INVOICES = """
SELECT * FROM dunning_invoice
WHERE invoice_id = ANY($1::text[]) AND status = 'active'
ORDER BY invoice_id
FOR UPDATE
"""

# An escalating step's letter came back: the invoice holds its level.
RETURNED = "UPDATE dunning_invoice SET delivery_returned_at = $2 WHERE invoice_id = $1"

# One more call not answered; the number of calls tried so far (the first one included).
CALL_NOT_ANSWERED = """
INSERT INTO call_attempt (root_reminder_id, attempts, last_outcome, updated_at)
VALUES ($1, 1, $2, $3)
ON CONFLICT (root_reminder_id) DO UPDATE SET
    attempts = call_attempt.attempts + 1, last_outcome = $2, updated_at = $3
RETURNING attempts
"""

SENT_REMINDER_ROW = "SELECT payload, fallback_of FROM sent_reminder WHERE reminder_id = $1"

# Collectors' commands ---------------------------------------------------------------------

RECORD_COMMAND = """
INSERT INTO executed_command
    (command_id, command, customer_id, actor_subject, requested_at, executed_at, audit)
VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb)
ON CONFLICT (command_id) DO NOTHING
RETURNING command_id
"""

CUSTOMER_FOR_UPDATE = "SELECT * FROM customer WHERE customer_id = $1 FOR UPDATE"

HOLD_CUSTOMER = "UPDATE customer SET held_until = $2, hold_reason = $3 WHERE customer_id = $1"

HOLD_INVOICES = """
UPDATE dunning_invoice SET held_until = $2, hold_reason = $3
WHERE invoice_id = ANY($1::text[])
"""

# An invoice opened while its customer is held is held with it.
HOLD_LIKE_CUSTOMER = """
UPDATE dunning_invoice AS d SET held_until = c.held_until, hold_reason = c.hold_reason
FROM customer AS c
WHERE d.invoice_id = $1 AND c.customer_id = d.customer_id
"""

SET_SCENARIO_OVERRIDE = "UPDATE customer SET scenario_override = $2 WHERE customer_id = $1"

ADD_NOTE = """
INSERT INTO customer_note (command_id, customer_id, invoice_id, text, written_by, written_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (command_id) DO NOTHING
"""

NOTES = "SELECT * FROM customer_note WHERE customer_id = $1 ORDER BY written_at, command_id"

EXECUTED_COMMANDS = """
SELECT * FROM executed_command WHERE customer_id = $1 ORDER BY executed_at, command_id
"""

# Proposals (semi-automatic mode) ---------------------------------------------------------

INSERT_PROPOSAL = """
INSERT INTO proposal (proposal_id, customer_id, company_code, scenario_id, step_name,
    steps, payload, confirm_role, on_timeout, deadline, remind_owner_at, raised_at)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9, $10, $11, $12)
"""

PROPOSAL_FOR_UPDATE = "SELECT * FROM proposal WHERE proposal_id = $1 FOR UPDATE"

PROPOSAL_CUSTOMER = "SELECT customer_id FROM proposal WHERE proposal_id = $1"

INVOICES_FOR_UPDATE = """
SELECT * FROM dunning_invoice WHERE invoice_id = ANY($1::text[]) ORDER BY invoice_id FOR UPDATE
"""

END_PROPOSAL = """
UPDATE proposal SET status = $2, decided_at = $3, decided_by = $4, decision_reason = $5
WHERE proposal_id = $1
"""

EDIT_PROPOSAL = "UPDATE proposal SET version = $2, payload = $3::jsonb WHERE proposal_id = $1"

# Proposals past their deadline whose policy has not applied yet; the caller then locks the
# customer and the proposal in that order, as commands do.
PROPOSALS_PAST_DEADLINE = """
SELECT proposal_id, customer_id FROM proposal
WHERE status = 'pending' AND timed_out_at IS NULL AND deadline <= $1
ORDER BY deadline, proposal_id
LIMIT $2
"""

TIMED_OUT = "UPDATE proposal SET timed_out_at = $2, send_deferred = $3 WHERE proposal_id = $1"

# Proposals whose timed-out ``send`` waits for a hold's end or a suspension's lifting, whose
# customer is no longer held and whose company no suspension covers: the loop sends them.
PROPOSALS_TO_SEND_NOW_FREE = """
SELECT p.proposal_id, p.customer_id FROM proposal p JOIN customer c USING (customer_id)
WHERE p.status = 'pending' AND p.send_deferred IS NOT NULL
  AND (c.held_until IS NULL OR c.held_until <= $1)
  AND NOT EXISTS (
      SELECT 1 FROM sending_suspension s
      WHERE s.resumed_at IS NULL AND (s.company_code IS NULL OR s.company_code = c.company_code)
  )
ORDER BY p.deadline, p.proposal_id
LIMIT $2
"""

SEND_DEFERRED = "UPDATE proposal SET send_deferred = $2 WHERE proposal_id = $1"
RECORD_REFUSAL = """
INSERT INTO refused_command (command_id, command, customer_id, reason, detail, refused_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (command_id) DO UPDATE SET
    reason = EXCLUDED.reason, detail = EXCLUDED.detail, refused_at = EXCLUDED.refused_at
"""

RECORD_LOGGED_CALL = """
INSERT INTO logged_call
    (command_id, customer_id, invoice_ids, outcome, reminder_id, note, called_by, logged_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (command_id) DO NOTHING
"""

LOGGED_CALLS = "SELECT * FROM logged_call WHERE customer_id = $1 ORDER BY logged_at, command_id"

# The commands API ----------------------------------------------------------------------------

SUBMIT_COMMAND = """
INSERT INTO submitted_command
    (command_id, command, customer_id, actor_subject, body_digest, submitted_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (command_id) DO NOTHING
RETURNING command_id
"""

SUBMITTED_COMMAND = "SELECT * FROM submitted_command WHERE command_id = $1"

CUSTOMER_SCOPE = "SELECT company_code, segment FROM customer WHERE customer_id = $1"

# What became of a command: executed (with its audit), refused (with its reason), or only
# submitted here and not yet executed.
COMMAND_OUTCOME = """
SELECT s.command_id AS submitted_id, s.command AS submitted_command,
       s.customer_id AS submitted_customer, s.actor_subject AS submitted_by, s.submitted_at,
       e.command_id AS executed_id, e.audit, e.executed_at,
       r.command_id AS refused_id, r.command AS refused_command,
       r.customer_id AS refused_customer, r.reason, r.detail, r.refused_at,
       o.command_id AS operator_id, o.command AS operator_command,
       o.actor_subject AS operator_actor, o.executed_at AS operator_executed_at,
       o.detail AS operator_detail
FROM (SELECT $1::uuid AS command_id) AS asked
LEFT JOIN submitted_command AS s ON s.command_id = asked.command_id
LEFT JOIN executed_command AS e ON e.command_id = asked.command_id
LEFT JOIN refused_command AS r ON r.command_id = asked.command_id
LEFT JOIN executed_operator_command AS o ON o.command_id = asked.command_id
"""

# -- operators' commands (services.scheduler.operations) ---------------------------------------

OPERATOR_COMMAND_SEEN = "SELECT 1 FROM executed_operator_command WHERE command_id = $1"

RECORD_OPERATOR_COMMAND = """
INSERT INTO executed_operator_command
    (command_id, command, company_codes, actor_subject, actor_role, requested_at, executed_at,
     detail)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb)
ON CONFLICT (command_id) DO NOTHING
"""

# -- a run of the tracker's ledger events (services.scheduler.ledger_run) ----------------------

RUN_CUSTOMERS = "SELECT * FROM customer WHERE customer_id = ANY($1::text[])"

# The run's invoices, and every followed invoice of the customers it upserts (their
# assignment is decided again), locked in invoice order.
RUN_INVOICES = """
SELECT * FROM dunning_invoice
WHERE invoice_id = ANY($1::text[])
   OR (customer_id = ANY($2::text[]) AND status IN ('active', 'unassigned'))
ORDER BY invoice_id
FOR UPDATE
"""

# OUTSTANDING for several customers, with the number of invoices behind each total.
RUN_OUTSTANDING = """
SELECT customer_id, currency, sum(open_amount) AS total, count(*) AS invoices
FROM dunning_invoice
WHERE customer_id = ANY($1::text[]) AND status IN ('active', 'unassigned')
GROUP BY customer_id, currency
"""

# The invoices a run changed, as one JSON array of rows: a new invoice is inserted whole, an
# existing one gets the columns SAVE_INVOICE writes and its hold (HOLD_LIKE_CUSTOMER).
# Amounts travel as strings (numeric keeps their scale), instants with their offset.
WRITE_INVOICES = """
INSERT INTO dunning_invoice AS d (
    invoice_id, customer_id, company_code, invoice_number, due_date, currency, amount,
    open_amount, scenario_id, next_step, status, pause_reason, resumed, last_step_name,
    last_level, last_action_at, next_action_at, formal_notice_at, scenario_version,
    awaiting_delivery, held_until, hold_reason)
SELECT v ->> 0, v ->> 1, v ->> 2, v ->> 3, (v ->> 4)::date, v ->> 5, (v ->> 6)::numeric,
       (v ->> 7)::numeric, v ->> 8, v ->> 9, v ->> 10, v ->> 11, (v ->> 12)::boolean,
       v ->> 13, v ->> 14, (v ->> 15)::timestamptz, (v ->> 16)::timestamptz,
       (v ->> 17)::timestamptz, (v ->> 18)::int, v ->> 19, (v ->> 20)::timestamptz, v ->> 21
FROM jsonb_array_elements($1::text::jsonb) AS v
ON CONFLICT (invoice_id) DO UPDATE SET
    due_date = EXCLUDED.due_date, amount = EXCLUDED.amount,
    open_amount = EXCLUDED.open_amount, scenario_id = EXCLUDED.scenario_id,
    next_step = EXCLUDED.next_step, status = EXCLUDED.status,
    pause_reason = EXCLUDED.pause_reason, resumed = EXCLUDED.resumed,
    last_step_name = EXCLUDED.last_step_name, last_level = EXCLUDED.last_level,
    last_action_at = EXCLUDED.last_action_at, next_action_at = EXCLUDED.next_action_at,
    formal_notice_at = EXCLUDED.formal_notice_at,
    scenario_version = EXCLUDED.scenario_version,
    awaiting_delivery = EXCLUDED.awaiting_delivery, held_until = EXCLUDED.held_until,
    hold_reason = EXCLUDED.hold_reason
"""

# UPSERT_CUSTOMER for the customers a run upserted (each with its last version applied), as
# one JSON array of [customer_id, company_code, country, time_zone, language, segment,
# version] rows.
UPSERT_CUSTOMERS = """
INSERT INTO customer (customer_id, company_code, country, time_zone, language, segment, version)
SELECT v ->> 0, v ->> 1, v ->> 2, v ->> 3, v ->> 4, v -> 5, (v ->> 6)::bigint
FROM jsonb_array_elements($1::text::jsonb) AS v
ON CONFLICT (customer_id) DO UPDATE SET
    company_code = EXCLUDED.company_code, country = EXCLUDED.country,
    time_zone = EXCLUDED.time_zone, language = EXCLUDED.language,
    segment = EXCLUDED.segment, version = EXCLUDED.version
WHERE customer.version <= EXCLUDED.version
"""
