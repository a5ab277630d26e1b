-- Bank transfers (GoCardless Instant Bank Pay, docs/portal.md "Paying by bank transfer")
-- share the direct debits' table and states: a billing request with a payment request only,
-- no mandate. `kind` says which one the customer chose.
ALTER TABLE direct_debits
    ADD COLUMN kind text NOT NULL DEFAULT 'debit' CHECK (kind IN ('debit', 'transfer'));
