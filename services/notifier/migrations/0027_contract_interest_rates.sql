-- The late-payment interest rate an invoice's contract states (ledger.invoice.opened
-- version 3), percent a year: statements, letters and formal notices claim interest on the
-- invoice at that rate instead of the statutory one. NULL: none stated (the statutory rate).
ALTER TABLE open_items ADD COLUMN late_interest_rate numeric(9, 4);
