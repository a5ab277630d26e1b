-- The money in each credit balance by value date, oldest first, as a JSON list of
-- [value date, amount as a string]: an invoice paid from credit is paid from each part's
-- value date (or its issue date if later), not from its issue date. NULL for a balance
-- written before: one lot of unknown date.
ALTER TABLE credit_balances ADD COLUMN lots jsonb;

-- When a document was parked (its ERP event's instant), for the unmatched-cash metrics.
ALTER TABLE parked_documents ADD COLUMN parked_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX parked_documents_waiting ON parked_documents (parked_at)
    WHERE status = 'parked' AND kind <> 'cancellation';
