"""The SQL of a dispute owner's page: its answers and its resolution (migration 0007)."""

from __future__ import annotations

RECORD_ANSWER = """
INSERT INTO owner_answers (answer_id, dispute_id, answered_by, text, at)
SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM owner_disputes WHERE dispute_id = $2)
ON CONFLICT (answer_id) DO NOTHING
"""
# the owner's documents, numbered after those already there; a replay adds none twice
RECORD_ANSWER_ATTACHMENT = """
INSERT INTO dispute_attachments (dispute_id, number, reference, media_type, size, sha256,
                                 file_name, answer_id)
SELECT $1, (SELECT COALESCE(MAX(number), 0) + 1 FROM dispute_attachments WHERE dispute_id = $1),
       $2, $3, $4, $5, $6, $7
WHERE EXISTS (SELECT 1 FROM owner_disputes WHERE dispute_id = $1)
  AND NOT EXISTS (SELECT 1 FROM dispute_attachments WHERE dispute_id = $1 AND reference = $2)
"""
RESOLVED = """
UPDATE owner_disputes SET state = 'resolved', outcome = $2, resolution_note = $3,
    resolved_by = $4, correction_kind = $5, correction_reference = $6, correction_amount = $7,
    correction_currency = $8
WHERE dispute_id = $1
"""
REOPENED = """
UPDATE owner_disputes SET state = 'open', outcome = NULL, resolution_note = NULL,
    resolved_by = NULL, correction_kind = NULL, correction_reference = NULL,
    correction_amount = NULL, correction_currency = NULL
WHERE dispute_id = $1
"""
ANSWERS_OF = """
SELECT answer_id, answered_by, text, at FROM owner_answers WHERE dispute_id = $1 ORDER BY at
"""
ANSWER_ATTACHMENTS_OF = """
SELECT number, media_type, size, file_name, answer_id FROM dispute_attachments
WHERE dispute_id = $1 AND answer_id IS NOT NULL ORDER BY number
"""
CURRENCIES_OF = """
SELECT DISTINCT currency FROM invoices WHERE invoice_id = ANY($1::text[]) ORDER BY currency
"""
CUSTOMER_ATTACHMENTS_OF = """
SELECT number, media_type, size, file_name FROM dispute_attachments
WHERE dispute_id = $1 AND answer_id IS NULL ORDER BY number
"""
