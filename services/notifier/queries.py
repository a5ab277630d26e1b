"""Every SQL statement of the notifier (schema ``notifier``, parameterised)."""

from __future__ import annotations

UPSERT_CUSTOMER = """
INSERT INTO customers (customer_id, version, name, language, contacts, company_code, country,
                       time_zone, customer_type)
VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9)
ON CONFLICT (customer_id) DO UPDATE
SET version = EXCLUDED.version, name = EXCLUDED.name, language = EXCLUDED.language,
    contacts = EXCLUDED.contacts, company_code = EXCLUDED.company_code,
    country = EXCLUDED.country, time_zone = EXCLUDED.time_zone,
    customer_type = EXCLUDED.customer_type
WHERE customers.version < EXCLUDED.version
"""

# A batch's ledger events, set-based (services.notifier.ledger_batch): one row per invoice.
CLOSE_INVOICES = """
INSERT INTO closed_invoices (invoice_id, customer_id, status)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
ON CONFLICT (invoice_id) DO UPDATE SET status = EXCLUDED.status
"""

REOPEN_INVOICES = "DELETE FROM closed_invoices WHERE invoice_id = ANY($1::text[])"

OPEN_DISPUTE = """
INSERT INTO open_disputes (dispute_id, customer_id, invoice_ids, whole_account, opened_on)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (dispute_id) DO UPDATE
SET invoice_ids = EXCLUDED.invoice_ids, whole_account = EXCLUDED.whole_account,
    opened_on = coalesce(open_disputes.opened_on, EXCLUDED.opened_on)
"""

CLOSE_DISPUTE = "DELETE FROM open_disputes WHERE dispute_id = $1"

# The channel on which a new delivery is announced (at the commit of the transaction that
# recorded it): the dispatcher's idle lanes claim it at once instead of after their interval.
# Cut as PostgreSQL cuts an identifier (63 bytes), the same on both sides.
DELIVERY_CHANNEL_PREFIX = "relance_deliveries_"
CHANNEL_BYTES = 63

RECORD_DELIVERY = f"""
WITH recorded AS (
    INSERT INTO deliveries (reminder_id, channel, delivery_id, customer_id, reminder, status,
                            next_attempt_at, invoice_ids, created_at, updated_at, company_code)
    VALUES ($1, $2, $3, $4, $5::jsonb, 'pending', $6, $7, $8, $8, $9)
    ON CONFLICT (reminder_id, channel) DO NOTHING
    RETURNING 1
)
SELECT pg_notify(left('{DELIVERY_CHANNEL_PREFIX}' || current_schema(), {CHANNEL_BYTES}), '')
FROM recorded
"""

# A suspension of the delivery's company (or of every company) holds it: not claimed, no
# attempt consumed, until the suspension is lifted.
NOT_SUSPENDED = """NOT EXISTS (
    SELECT 1 FROM suspensions s
    WHERE s.lifted_at IS NULL AND (s.company_code IS NULL OR s.company_code = {company}))"""

# A delivery the claim may take at $1: due, or its sending lease ended, and not suspended.
DUE_DELIVERY = f"""
FROM deliveries d
WHERE ((d.status = 'pending' AND d.next_attempt_at <= $1)
       OR (d.status = 'sending' AND d.lease_until <= $1))
  AND {NOT_SUSPENDED.format(company="d.company_code")}"""

# With the customer's invoices held by a collector at $1 (a hold whose date has passed no
# longer counts): set-based, in the claim's own round trip.
CLAIM_DUE = f"""
SELECT d.reminder_id, d.channel, d.delivery_id, d.reminder::text AS reminder, d.attempts,
       ARRAY(SELECT h.invoice_id FROM invoice_holds h
             WHERE h.customer_id = d.customer_id AND h.held
               AND (h.held_until IS NULL OR h.held_until > $1)) AS held{DUE_DELIVERY}
ORDER BY d.next_attempt_at
LIMIT 1
FOR UPDATE OF d SKIP LOCKED
"""

# Whether the claim would find a delivery at $1, without a transaction or a lock: an idle
# lane asks this first (one round trip, not the claim's BEGIN, SELECT and COMMIT). A
# delivery another claim holds counts here and is skipped by the claim: it only costs the
# claim's round trips, as before.
ANY_DUE = f"SELECT EXISTS (SELECT 1{DUE_DELIVERY})"

# In one round trip: which of the reminder's invoices ($2) are closed, and what handles the
# customer's invoices elsewhere (open disputes, active promises and plans).
SILENCE_FACTS = """
SELECT 'closed' AS kind, array_agg(invoice_id) AS invoice_ids, false AS whole_account,
       NULL::date AS since, NULL::date AS until
FROM closed_invoices WHERE invoice_id = ANY($2::text[])
HAVING count(*) > 0
UNION ALL
SELECT 'dispute', invoice_ids, whole_account, opened_on, NULL::date
FROM open_disputes WHERE customer_id = $1
UNION ALL
SELECT kind, invoice_ids, false, since, until FROM commitments WHERE customer_id = $1
"""

# The final check, right before the provider call, after the rate limit's wait: one
# statement, no transaction. Anything true sends the delivery back to the claim; so does a
# claim ($6, its attempt $7) no longer this dispatcher's or whose lease ends before $8.
FINAL_CHECK = f"""
SELECT
    NOT {NOT_SUSPENDED.format(company="$1")} AS suspended,
    EXISTS (SELECT 1 FROM closed_invoices WHERE invoice_id = ANY($3::text[])) AS closed,
    EXISTS (SELECT 1 FROM open_disputes
            WHERE customer_id = $2 AND (whole_account OR invoice_ids && $3::text[])) AS disputed,
    EXISTS (SELECT 1 FROM commitments
            WHERE customer_id = $2 AND invoice_ids && $3::text[]) AS paused,
    EXISTS (SELECT 1 FROM invoice_holds
            WHERE invoice_id = ANY($3::text[]) AND held
              AND (held_until IS NULL OR held_until > $5))
        AS held,
    EXISTS (SELECT 1 FROM opt_outs WHERE address = ANY($4::text[])) AS opted_out,
    NOT EXISTS (SELECT 1 FROM deliveries
                WHERE delivery_id = $6 AND status = 'sending' AND attempts = $7
                  AND lease_until > $8) AS lease_ending
"""

# Back to the claim: the attempt started is taken back (not consumed); only by the claim
# that started it ($4), never by one that claimed the delivery again after its lease.
UNCLAIM = """
UPDATE deliveries
SET status = 'pending', lease_until = NULL, next_attempt_at = $2, attempts = attempts - 1,
    updated_at = $3
WHERE delivery_id = $1 AND status = 'sending' AND attempts = $4
RETURNING delivery_id
"""

DROP_ATTEMPT = "DELETE FROM delivery_attempts WHERE delivery_id = $1 AND attempt = $2"

# Claimed outside the customer's sending window: waits for the next window instant.
PUSH_TO_WINDOW = """
UPDATE deliveries
SET status = 'pending', lease_until = NULL, next_attempt_at = $2, updated_at = $3
WHERE delivery_id = $1
"""

# Suspensions ---------------------------------------------------------------------------

RECORD_SUSPENSION = """
INSERT INTO suspensions (suspension_id, company_code, suspended_by, reason, suspended_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (suspension_id) DO NOTHING
RETURNING suspension_id
"""

COUNT_IN_SCOPE = """
SELECT count(*) FROM deliveries
WHERE status IN ('pending', 'sending') AND ($1::text IS NULL OR company_code = $1)
"""

LIFT_SUSPENSION = """
UPDATE suspensions SET lifted_by = $2, lifted_at = $3
WHERE suspension_id = $1 AND lifted_at IS NULL
RETURNING company_code, suspended_by, reason, suspended_at
"""

SET_RELEASED = "UPDATE suspensions SET released = $2 WHERE suspension_id = $1"

# Deliveries of the lifted scope that fell due while held, and are not held by another
# suspension still active; with where each customer is and when they were last contacted.
HELD_DUE = f"""
SELECT d.delivery_id, d.customer_id, d.next_attempt_at,
       c.country, c.time_zone,
       (SELECT max(x.updated_at) FROM deliveries x
        WHERE x.customer_id = d.customer_id AND x.status = 'sent') AS last_contact
FROM deliveries d
LEFT JOIN customers c ON c.customer_id = d.customer_id
WHERE ((d.status = 'pending' AND d.next_attempt_at <= $2)
       OR (d.status = 'sending' AND d.lease_until <= $2))
  AND ($1::text IS NULL OR d.company_code = $1)
  AND {NOT_SUSPENDED.format(company="d.company_code")}
FOR UPDATE OF d
"""

RELEASE_AT = """
UPDATE deliveries AS d
SET status = 'pending', lease_until = NULL, next_attempt_at = r.at, updated_at = $3
FROM unnest($1::uuid[], $2::timestamptz[]) AS r(delivery_id, at)
WHERE d.delivery_id = r.delivery_id
"""

# Promises to pay and payment plans --------------------------------------------------------

RECORD_COMMITMENT = """
INSERT INTO commitments (commitment_id, kind, customer_id, invoice_ids, since, until)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (commitment_id) DO NOTHING
"""

END_COMMITMENT = "DELETE FROM commitments WHERE commitment_id = $1"

# The last broken promise or missed instalment per invoice; the commitment's own row (still
# there: it is ended after) gives the day it was made. A later due day wins.
RECORD_BROKEN_COMMITMENT = """
INSERT INTO broken_commitments
    (invoice_id, customer_id, kind, made_on, due_on, amount, currency, instalment_number)
SELECT invoice_id, $2, $3, (SELECT since FROM commitments WHERE commitment_id = $1),
       $5, $6, $7, $8
FROM unnest($4::text[]) AS invoice_id
ON CONFLICT (invoice_id) DO UPDATE
SET customer_id = EXCLUDED.customer_id, kind = EXCLUDED.kind, made_on = EXCLUDED.made_on,
    due_on = EXCLUDED.due_on, amount = EXCLUDED.amount, currency = EXCLUDED.currency,
    instalment_number = EXCLUDED.instalment_number
WHERE broken_commitments.due_on <= EXCLUDED.due_on
"""

FORGET_BROKEN_COMMITMENTS = "DELETE FROM broken_commitments WHERE invoice_id = ANY($1::text[])"

BROKEN_COMMITMENTS_OF = """
SELECT invoice_id, kind, made_on, due_on, amount, currency, instalment_number
FROM broken_commitments WHERE customer_id = $1 ORDER BY due_on, invoice_id
"""

# Collectors' holds ----------------------------------------------------------------------------

# A newer state wins: a state replayed late does not undo what a later one said.
RECORD_HOLD = """
INSERT INTO invoice_holds (invoice_id, customer_id, held, held_until, stated_at)
VALUES ($1, $2, true, $3, $4)
ON CONFLICT (invoice_id) DO UPDATE
SET customer_id = EXCLUDED.customer_id, held = true, held_until = EXCLUDED.held_until,
    stated_at = EXCLUDED.stated_at
WHERE invoice_holds.stated_at <= EXCLUDED.stated_at
"""

# Only invoices once held have a row: a state of any other invoice changes nothing.
LIFT_HOLD = """
UPDATE invoice_holds SET held = false, held_until = NULL, stated_at = $2
WHERE invoice_id = $1 AND stated_at <= $2
"""

# Opt-outs ------------------------------------------------------------------------------------

RECORD_OPT_OUT = """
INSERT INTO opt_outs (address, source, recorded_at) VALUES ($1, $2, $3)
ON CONFLICT (address) DO NOTHING
"""

REMOVE_OPT_OUT = "DELETE FROM opt_outs WHERE address = $1"

# The customer, with the addresses of its contacts that opted out.
CUSTOMER = """
SELECT name, language, contacts::text AS contacts, country, time_zone, customer_type,
       ARRAY(SELECT o.address FROM opt_outs o, jsonb_array_elements(customers.contacts) c
             WHERE o.address IN (c->>'email', c->>'phone')) AS opted_out
FROM customers WHERE customer_id = $1
"""

START_SENDING = """
UPDATE deliveries
SET status = 'sending', attempts = attempts + 1, lease_until = $2, invoice_ids = $3,
    recipients = $4, message_id = $5, content = $6, content_sha256 = $7, provider = $8,
    updated_at = $9, opted_out_recipients = $10
WHERE delivery_id = $1
RETURNING attempts
"""

START_ATTEMPT = """
INSERT INTO delivery_attempts (delivery_id, attempt, started_at) VALUES ($1, $2, $3)
ON CONFLICT (delivery_id, attempt) DO NOTHING
"""

FINISH_ATTEMPT = """
UPDATE delivery_attempts SET finished_at = $3, outcome = $4, detail = $5
WHERE delivery_id = $1 AND attempt = $2
"""

MARK_SENT = """
UPDATE deliveries
SET status = 'sent', lease_until = NULL, provider_reply = $2, last_error = NULL, updated_at = $3,
    provider_tracking_id = $4
WHERE delivery_id = $1
"""

# A delivery its provider accepted, recorded in one statement, hence one round trip and its
# own transaction: the delivery sent, its attempt finished, its ``delivery.sent`` in the
# outbox (``$6``-``$10``: ``outbox.enqueued_row``) and the relay woken (``$11``:
# ``outbox.channel_name`` of the empty schema, completed by the current one). The duplicate
# window (from the provider's acceptance to this commit) is this statement alone, even while
# other deliveries are claimed and composed on the same event loop.
RECORD_SENT = """
WITH sent AS (
    UPDATE deliveries
    SET status = 'sent', lease_until = NULL, provider_reply = $2, last_error = NULL,
        updated_at = $3, provider_tracking_id = $4
    WHERE delivery_id = $1
), finished AS (
    UPDATE delivery_attempts SET finished_at = $3, outcome = 'sent', detail = $2
    WHERE delivery_id = $1 AND attempt = $5
), queued AS (
    INSERT INTO outbox (topic, key, value, headers, event_id) VALUES ($6, $7, $8, $9, $10)
)
SELECT pg_notify($11 || current_schema(), '')
"""

MARK_RETRY = """
UPDATE deliveries
SET status = 'pending', lease_until = NULL, next_attempt_at = $2, last_error = $3,
    updated_at = $4
WHERE delivery_id = $1
"""

MARK_FINAL = """
UPDATE deliveries
SET status = $2, lease_until = NULL, last_error = $3, invoice_ids = $4, updated_at = $5
WHERE delivery_id = $1
"""

DELIVERIES_OF_INVOICE = """
SELECT delivery_id, reminder_id, channel, status, attempts, recipients, provider,
       provider_tracking_id, provider_reply, content_sha256, invoice_ids, last_error,
       created_at, updated_at
FROM deliveries WHERE invoice_ids @> ARRAY[$1::text] ORDER BY created_at, delivery_id
"""

ATTEMPTS_OF = """
SELECT delivery_id, attempt, started_at, finished_at, outcome, detail
FROM delivery_attempts WHERE delivery_id = ANY($1::uuid[]) ORDER BY delivery_id, attempt
"""

REPORTS_OF = """
SELECT delivery_id, status, received_at FROM delivery_reports
WHERE delivery_id = ANY($1::uuid[]) ORDER BY received_at
"""

CONTENT_OF = """
SELECT channel, content, content_sha256 FROM deliveries WHERE delivery_id = $1
"""

INVOICES_OF_DELIVERY = "SELECT invoice_ids FROM deliveries WHERE delivery_id = $1"

SET_ATTEMPTS = "UPDATE deliveries SET attempts = $2 WHERE delivery_id = $1"

DELIVERY_BY_TRACKING = """
SELECT delivery_id, reminder_id, customer_id, channel, invoice_ids
FROM deliveries WHERE provider = $1 AND provider_tracking_id = $2
"""

RECORD_REPORT = """
INSERT INTO delivery_reports (delivery_id, status, received_at, detail)
VALUES ($1, $2, $3, $4)
ON CONFLICT (delivery_id, status) DO NOTHING
RETURNING delivery_id
"""

CREATE_CALL_TASK = """
INSERT INTO call_tasks (task_id, delivery_id, reminder_id, customer_id, customer_name,
                        invoice_ids, contacts, script, status, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9)
ON CONFLICT (task_id) DO NOTHING
"""

CALL_TASKS = """
SELECT task_id, reminder_id, customer_id, customer_name, invoice_ids, contacts::text AS contacts,
       script, status, created_at, closed_at, outcome::text AS outcome
FROM call_tasks
WHERE status = $1 AND ($2::text IS NULL OR customer_id = $2)
ORDER BY created_at, task_id
LIMIT $3
"""

CALL_TASK_FOR_UPDATE = """
SELECT task_id, reminder_id, customer_id, invoice_ids, status, outcome::text AS outcome
FROM call_tasks WHERE task_id = $1 FOR UPDATE
"""

CLOSE_CALL_TASK = """
UPDATE call_tasks SET status = 'closed', closed_at = $2, outcome = $3 WHERE task_id = $1
"""

# Letters sent through a provider and not yet delivered or returned, followed for a while.
LETTERS_IN_TRANSIT = """
SELECT d.delivery_id, d.reminder_id, d.customer_id, d.channel, d.invoice_ids,
       d.provider_tracking_id,
       ARRAY(SELECT kind FROM delivery_documents g WHERE g.delivery_id = d.delivery_id)
           AS documents
FROM deliveries d
WHERE d.provider = $1 AND d.status = 'sent' AND d.updated_at >= $3
  AND NOT EXISTS (
      SELECT 1 FROM delivery_reports r
      WHERE r.delivery_id = d.delivery_id
        AND (r.status = ANY($2::text[])
             OR (d.channel <> 'registered_letter' AND r.status = 'D01')))
ORDER BY d.updated_at
"""

RECORD_DOCUMENT = """
INSERT INTO delivery_documents (delivery_id, kind, content, sha256, received_at, detail)
VALUES ($1, $2, $3, encode(sha256($3), 'hex'), $4, $5)
ON CONFLICT (delivery_id, kind) DO NOTHING
RETURNING delivery_id
"""

DOCUMENTS_OF = """
SELECT delivery_id, kind, sha256, received_at FROM delivery_documents
WHERE delivery_id = ANY($1::uuid[]) ORDER BY received_at
"""

DOCUMENT = """
SELECT content, sha256 FROM delivery_documents WHERE delivery_id = $1 AND kind = $2
"""

# Notices: written confirmations of phone promises and dispute owner reminders ------------

RECORD_NOTICE = """
INSERT INTO notices (notice_id, kind, customer_id, payload, status, next_attempt_at, created_at)
VALUES ($1, $2, $3, $4::jsonb, 'pending', $5, $5)
ON CONFLICT (notice_id) DO NOTHING
"""

# A notice to a customer (a promise's confirmation) is held while the customer's company is
# suspended; an owner reminder or a proposal's reminder goes to internal staff and is not.
DUE_NOTICE = f"""
FROM notices n
LEFT JOIN customers c ON c.customer_id = n.customer_id
WHERE n.status IN ('pending', 'sending') AND n.next_attempt_at <= $1
  AND (n.kind IN ('owner_reminder', 'owner_assignment', 'proposal_reminder')
       OR {NOT_SUSPENDED.format(company="c.company_code")})"""

CLAIM_NOTICE = f"""
SELECT n.notice_id, n.kind, n.customer_id, n.payload::text AS payload, n.attempts,
       c.country, c.time_zone{DUE_NOTICE}
ORDER BY n.next_attempt_at
LIMIT 1
FOR UPDATE OF n SKIP LOCKED
"""

# As ANY_DUE for the notices loop.
ANY_NOTICE_DUE = f"SELECT EXISTS (SELECT 1{DUE_NOTICE})"

NOTICE_WAIT = "UPDATE notices SET next_attempt_at = $2 WHERE notice_id = $1"

NOTICE_SENDING = """
UPDATE notices SET status = 'sending', attempts = attempts + 1, next_attempt_at = $2,
                   recipients = $3, subject = $4, body = $5
WHERE notice_id = $1
"""

NOTICE_SENT = "UPDATE notices SET status = 'sent', sent_at = $2, error = NULL WHERE notice_id = $1"

NOTICE_RETRY = """
UPDATE notices SET status = 'pending', next_attempt_at = $2, error = $3 WHERE notice_id = $1
"""

NOTICE_FAILED = "UPDATE notices SET status = 'failed', error = $2 WHERE notice_id = $1"

# What a dispute's owner is told about its invoices when it opens: their amounts as the
# notifier knows them (none yet for an invoice it has not seen); a whole account: every open
# item of the customer.
DISPUTED_ITEMS = """
SELECT o.invoice_id, o.currency, o.amount, o.open_amount
FROM open_items o
WHERE o.customer_id = $1 AND ($3 OR o.invoice_id = ANY($2::text[]))
ORDER BY o.due_date, o.invoice_number
"""

NOTICE_CUSTOMER = (
    "SELECT name, language, contacts::text AS contacts, company_code FROM customers"
    " WHERE customer_id = $1"
)

UPSERT_OPEN_ITEMS = """
INSERT INTO open_items (invoice_id, customer_id, invoice_number, due_date, currency, amount,
                        open_amount)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::text[],
                     $6::numeric[], $7::numeric[])
ON CONFLICT (invoice_id) DO UPDATE SET
    due_date = EXCLUDED.due_date, currency = EXCLUDED.currency, amount = EXCLUDED.amount,
    open_amount = EXCLUDED.open_amount
"""

# Each change appended in order, once: a redelivered change (the same value date, before and
# after) already in the item's history is not appended again.
RECORD_OPEN_AMOUNT_CHANGES = """
WITH change AS (
    SELECT c.invoice_id, c.n,
           jsonb_build_object('value_date', c.value_date, 'before', c.before,
                              'after', c.after) AS entry
    FROM unnest($1::text[], $2::date[], $3::numeric[], $4::numeric[])
         WITH ORDINALITY AS c(invoice_id, value_date, before, after, n)
), new AS (
    SELECT change.invoice_id, jsonb_agg(change.entry ORDER BY change.n) AS entries
    FROM change JOIN open_items o ON o.invoice_id = change.invoice_id
    WHERE NOT o.open_amount_changes @> jsonb_build_array(change.entry)
    GROUP BY change.invoice_id
)
UPDATE open_items SET open_amount_changes = open_amount_changes || new.entries
FROM new
WHERE open_items.invoice_id = new.invoice_id
"""

# The late-payment interest rate each opened invoice's contract states (NULL: none), as the
# ledger opened it; a change of the open amount does not state it and leaves it as it is.
RECORD_CONTRACT_RATES = """
UPDATE open_items o SET late_interest_rate = c.late_interest_rate
FROM unnest($1::text[], $2::numeric[]) AS c(invoice_id, late_interest_rate)
WHERE o.invoice_id = c.invoice_id
  AND o.late_interest_rate IS DISTINCT FROM c.late_interest_rate
"""

DELETE_OPEN_ITEMS = "DELETE FROM open_items WHERE invoice_id = ANY($1::text[])"

OPEN_ITEMS_OF = """
SELECT o.invoice_id, o.invoice_number, o.due_date, o.currency, o.amount, o.open_amount,
       o.open_amount_changes::text AS open_amount_changes, r.service_code, r.commitment_number,
       o.late_interest_rate
FROM open_items o LEFT JOIN platform_references r ON r.invoice_id = o.invoice_id
WHERE o.customer_id = $1 ORDER BY o.due_date, o.invoice_number
"""

# A public body's references on the e-invoicing platform, as the ledger opened the invoice
# (an invoice opened again, e.g. redelivered, writes the same; the last one wins).
RECORD_PLATFORM_REFERENCES = """
INSERT INTO platform_references (invoice_id, service_code, commitment_number)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
ON CONFLICT (invoice_id) DO UPDATE SET
    service_code = EXCLUDED.service_code, commitment_number = EXCLUDED.commitment_number
"""

# Proposals' previews (services.notifier.previews) ------------------------------------------

RECORD_PREVIEW = """
INSERT INTO proposal_previews (proposal_id, version, customer_id, company_code, channel,
                               proposal, status, created_at)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, 'pending', $7)
ON CONFLICT (proposal_id, version) DO NOTHING
"""

CLAIM_PREVIEW = """
SELECT proposal_id, version, proposal::text AS proposal FROM proposal_previews
WHERE status = 'pending'
ORDER BY created_at
LIMIT 1
FOR UPDATE SKIP LOCKED
"""

# As ANY_DUE for the previews loop.
ANY_PREVIEW_PENDING = "SELECT EXISTS (SELECT 1 FROM proposal_previews WHERE status = 'pending')"

PREVIEW_RENDERED = """
UPDATE proposal_previews
SET status = 'rendered', rendered_at = $3, content = $4, content_sha256 = $5, media_type = $6,
    recipients = $7, tracking_id = $8, invoice_ids = $9
WHERE proposal_id = $1 AND version = $2
"""

PREVIEW_FAILED = """
UPDATE proposal_previews SET status = 'failed', reason = $3, rendered_at = $4
WHERE proposal_id = $1 AND version = $2
"""

PREVIEW = """
SELECT *, proposal::text AS proposal FROM proposal_previews
WHERE proposal_id = $1 AND version = $2
"""


# A notice due at a later instant (a proposal's reminder, a business day before its deadline).
RECORD_NOTICE_AT = """
INSERT INTO notices (notice_id, kind, customer_id, payload, status, next_attempt_at, created_at)
VALUES ($1, $2, $3, $4::jsonb, 'pending', $6, $5)
ON CONFLICT (notice_id) DO NOTHING
"""

# A proposal's reminder to the collectors describes its latest version: a new version
# (an edit) rewrites the reminder's facts while it has not gone yet, never with an older one.
RECORD_PROPOSAL_NOTICE = """
INSERT INTO notices (notice_id, kind, customer_id, payload, status, next_attempt_at, created_at)
VALUES ($1, $2, $3, $4::jsonb, 'pending', $6, $5)
ON CONFLICT (notice_id) DO UPDATE SET payload = EXCLUDED.payload
WHERE notices.status = 'pending'
  AND (notices.payload ->> 'version')::int < (EXCLUDED.payload ->> 'version')::int
"""

CANCEL_NOTICE = (
    "UPDATE notices SET status = 'cancelled' WHERE notice_id = $1 AND status = 'pending'"
)

PROPOSAL_COMPANY = "SELECT company_code FROM proposal_previews WHERE proposal_id = $1 LIMIT 1"

RECORD_ATTACHMENT = """
INSERT INTO proposal_attachments (proposal_id, sha256, company_code, media_type, content,
                                  uploaded_by, uploaded_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (proposal_id, sha256) DO NOTHING
"""

ATTACHMENTS_OF = """
SELECT sha256, content FROM proposal_attachments
WHERE proposal_id = $1 AND sha256 = ANY($2::text[])
"""
