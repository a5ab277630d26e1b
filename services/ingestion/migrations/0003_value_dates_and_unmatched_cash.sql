-- The latest value date of the money in each credit balance: an invoice paid from credit
-- is paid on that day (or on its issue date if later), not on its issue date.
ALTER TABLE credit_balances ADD COLUMN value_date date;

-- When a document was parked (its ERP event's instant), for the unmatched-cash metrics.
ALTER TABLE parked_documents ADD COLUMN parked_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX parked_documents_waiting ON parked_documents (parked_at)
    WHERE status = 'parked' AND kind <> 'cancellation';
