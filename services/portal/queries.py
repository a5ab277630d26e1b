"""Every SQL statement of the portal, named and parameterised.

Connections have ``search_path`` set to the ``portal`` schema.
"""

# projection: ledger ---------------------------------------------------------------------
UPSERT_CUSTOMER = """
INSERT INTO customers (customer_id, company_code, version, name, language, country)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (customer_id) DO UPDATE SET
    company_code = EXCLUDED.company_code, version = EXCLUDED.version, name = EXCLUDED.name,
    language = EXCLUDED.language, country = EXCLUDED.country
WHERE customers.version <= EXCLUDED.version
"""
OPEN_INVOICE = """
INSERT INTO invoices (invoice_id, customer_id, company_code, invoice_number, issue_date,
                      due_date, amount, open_amount, currency, changed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (invoice_id) DO NOTHING
"""
CHANGE_OPEN_AMOUNT = """
INSERT INTO invoices (invoice_id, customer_id, company_code, invoice_number, issue_date,
                      due_date, amount, open_amount, currency, changed_at)
VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9)
ON CONFLICT (invoice_id) DO UPDATE SET
    due_date = EXCLUDED.due_date, amount = EXCLUDED.amount,
    open_amount = EXCLUDED.open_amount, closed = false, changed_at = EXCLUDED.changed_at
"""
CLOSE_INVOICE = """
UPDATE invoices SET closed = true, open_amount = 0, changed_at = $2 WHERE invoice_id = $1
"""
RECORD_RECEIPT = """
INSERT INTO receipts (event_id, customer_id, company_code, invoice_id, invoice_number, cause,
                      amount, currency, received_on)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (event_id) DO NOTHING
"""

# projection: disputes, promises, plans --------------------------------------------------
START_PAUSE = """
INSERT INTO pauses (kind, pause_id, customer_id, invoice_ids, whole_account, until)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (kind, pause_id) DO UPDATE SET
    invoice_ids = EXCLUDED.invoice_ids, whole_account = EXCLUDED.whole_account,
    until = EXCLUDED.until
"""
END_PAUSE = "DELETE FROM pauses WHERE kind = $1 AND pause_id = $2"

# pages ------------------------------------------------------------------------------------
CUSTOMER = """
SELECT customer_id, company_code, name, language, country
FROM customers WHERE customer_id = $1 AND company_code = $2
"""
OPEN_INVOICES = """
SELECT invoice_id, invoice_number, issue_date, due_date, amount, open_amount, currency
FROM invoices
WHERE customer_id = $1 AND company_code = $2 AND NOT closed AND open_amount > 0
ORDER BY currency, due_date, invoice_number
"""
RECEIPTS_SINCE = """
SELECT invoice_number, cause, amount, currency, received_on
FROM receipts
WHERE customer_id = $1 AND company_code = $2 AND received_on >= $3
ORDER BY received_on DESC, invoice_number
LIMIT 50
"""
PAUSES = """
SELECT kind, invoice_ids, whole_account, until FROM pauses WHERE customer_id = $1
"""
REVOKED_SINCE = """
SELECT revoked_at FROM revoked_links WHERE customer_id = $1 AND company_code = $2
"""
REVOKE = """
INSERT INTO revoked_links (customer_id, company_code, revoked_at, reason)
VALUES ($1, $2, $3, $4)
ON CONFLICT (customer_id, company_code) DO UPDATE SET
    revoked_at = EXCLUDED.revoked_at, reason = EXCLUDED.reason
"""

# projection: ERP invoices' copies --------------------------------------------------------
UPSERT_DOCUMENT = """
INSERT INTO invoice_documents (invoice_id, customer_id, company_code, invoice_number, version,
                               reference, media_type, sha256)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (invoice_id) DO UPDATE SET
    customer_id = EXCLUDED.customer_id, company_code = EXCLUDED.company_code,
    invoice_number = EXCLUDED.invoice_number, version = EXCLUDED.version,
    reference = EXCLUDED.reference, media_type = EXCLUDED.media_type, sha256 = EXCLUDED.sha256
WHERE invoice_documents.version <= EXCLUDED.version
"""
DOCUMENTED_INVOICES = """
SELECT invoice_id FROM invoice_documents
WHERE customer_id = $1 AND company_code = $2 AND reference IS NOT NULL
"""
# the copy of one invoice, only if it is this link's customer's and company's
DOCUMENT_OF = """
SELECT invoice_number, reference, media_type, sha256 FROM invoice_documents
WHERE invoice_id = $1 AND customer_id = $2 AND company_code = $3 AND reference IS NOT NULL
"""

# direct debits (GoCardless) ---------------------------------------------------------------
LATEST_DEBIT = """
SELECT * FROM direct_debits WHERE choice = $1 ORDER BY attempt DESC LIMIT 1
"""
START_DEBIT = """
INSERT INTO direct_debits (debit_id, choice, attempt, customer_id, company_code, invoice_ids,
                           amount, currency, created_at, changed_at, kind)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10)
ON CONFLICT DO NOTHING
"""
# one choice's debits decided one request at a time (a double click: two requests at once)
LOCK_CHOICE = "SELECT pg_advisory_xact_lock(hashtextextended($1, 20))"
DEBIT_REQUESTED = """
UPDATE direct_debits SET billing_request_id = $2, changed_at = $3
WHERE debit_id = $1 AND billing_request_id IS NULL
"""
DEBIT_OF_EVENT = """
SELECT * FROM direct_debits
WHERE ($1::text IS NOT NULL AND payment_id = $1)
   OR ($2::text IS NOT NULL AND billing_request_id = $2)
   OR ($3::uuid IS NOT NULL AND debit_id = $3)
ORDER BY (payment_id = $1) DESC NULLS LAST
LIMIT 1
FOR UPDATE
"""
DEBIT_FULFILLED = """
UPDATE direct_debits
SET status = 'fulfilled', payment_id = coalesce(payment_id, $2), changed_at = $3
WHERE debit_id = $1 AND status = 'started'
"""
DEBIT_ANNOUNCED = """
UPDATE direct_debits
SET status = 'announced', payment_id = coalesce(payment_id, $2), changed_at = $3
WHERE debit_id = $1 AND status IN ('started', 'fulfilled')
"""
BEING_PAID = """
SELECT unnest(invoice_ids) AS invoice_id FROM direct_debits
WHERE customer_id = $1 AND company_code = $2 AND status IN ('fulfilled', 'announced')
UNION
SELECT unnest(invoice_ids) FROM pauses
WHERE customer_id = $1 AND kind = 'promise' AND until IS NULL
"""
DEBIT_FAILED = """
UPDATE direct_debits SET status = 'failed', reason = $2, changed_at = $3
WHERE debit_id = $1 AND status <> 'failed'
"""
# payment plans the customer proposed ------------------------------------------------------
RECORD_PROPOSAL = """
INSERT INTO plan_proposals (proposal_id, customer_id, company_code, invoice_ids, instalments,
                            proposed_on, answer_by)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (proposal_id) DO NOTHING
"""
PROPOSAL_DECIDED = """
UPDATE plan_proposals SET status = $2, reason = $3, decided_on = $4
WHERE proposal_id = $1 AND status = 'pending'
"""
PROPOSALS_SINCE = """
SELECT proposal_id, instalments, proposed_on, status, reason, decided_on FROM plan_proposals
WHERE customer_id = $1 AND company_code = $2 AND (status = 'pending' OR proposed_on >= $3)
ORDER BY proposed_on DESC, proposal_id
LIMIT 10
"""

# disputes' owners and the documents attached --------------------------------------------
UPSERT_OWNER_DISPUTE = """
INSERT INTO owner_disputes (dispute_id, customer_id, category, text, invoice_ids, whole_account,
                            owner_role, due_date, state)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open')
ON CONFLICT (dispute_id) DO UPDATE SET
    invoice_ids = EXCLUDED.invoice_ids, owner_role = EXCLUDED.owner_role,
    due_date = EXCLUDED.due_date, state = 'open'
"""
RECORD_ATTACHMENT = """
INSERT INTO dispute_attachments (dispute_id, number, reference, media_type, size, sha256,
                                 file_name)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (dispute_id, number) DO NOTHING
"""
OWNER_DISPUTE_STATE = "UPDATE owner_disputes SET state = $2 WHERE dispute_id = $1"
OWNER_DISPUTE = """
SELECT d.*, c.name AS customer_name, c.company_code, c.language FROM owner_disputes d
LEFT JOIN customers c ON c.customer_id = d.customer_id
WHERE d.dispute_id = $1
LIMIT 1
"""
ATTACHMENTS_OF = """
SELECT number, media_type, size, file_name FROM dispute_attachments
WHERE dispute_id = $1 ORDER BY number
"""
ATTACHMENT = """
SELECT reference, media_type, sha256, file_name FROM dispute_attachments
WHERE dispute_id = $1 AND number = $2
"""
INVOICE_NUMBERS = """
SELECT invoice_id, invoice_number FROM invoices WHERE invoice_id = ANY($1::text[])
"""
