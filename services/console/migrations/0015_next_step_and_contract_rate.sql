-- The step each invoice's next action takes (dunning.state.changed version 2): its name,
-- level and channel, shown beside the next action's date in the customer's open items.
-- NULL: no next action, the scenario's exit, or a version 1 event (which did not say).
ALTER TABLE invoices
    ADD COLUMN next_step_name text,
    ADD COLUMN next_level text,
    ADD COLUMN next_channel text;

-- The late-payment interest rate an invoice's contract states (ledger.invoice.opened
-- version 3), percent a year: the interest to date is computed at it instead of the
-- statutory rate. NULL: none stated.
ALTER TABLE invoices ADD COLUMN late_interest_rate numeric(9, 4);
