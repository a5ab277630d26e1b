-- Collectors' holds: an invoice held (``dunning.state.changed`` with pause reason ``hold``,
-- for the invoice or for its whole customer) is never reminded about before ``held_until``
-- (NULL: until a later state of the invoice lifts it). A hold whose date has passed no longer
-- counts; the send-time check compares it with the clock. ``stated_at`` is the instant of
-- the last state of the invoice, so an older state replayed late cannot undo a newer one; a
-- lifted hold keeps its row (``held`` false) for that reason.
CREATE TABLE invoice_holds (
    invoice_id  text PRIMARY KEY,
    customer_id text NOT NULL,
    held        boolean NOT NULL,
    held_until  timestamptz,
    stated_at   timestamptz NOT NULL
);
-- The claim looks up the customer's invoices held (a lifted hold's row is not indexed).
CREATE INDEX invoice_holds_customer ON invoice_holds (customer_id) WHERE held;
