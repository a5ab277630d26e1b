-- The customers' open invoices as the ledger shows them, for the statement of account printed
-- with each reminder (the scheduler sends the totals, the lines are drawn here at send time).
CREATE TABLE open_items (
    invoice_id      text PRIMARY KEY,
    customer_id     text NOT NULL,
    invoice_number  text NOT NULL,
    due_date        date NOT NULL,
    currency        char(3) NOT NULL,
    amount          numeric(18, 4) NOT NULL,
    open_amount     numeric(18, 4) NOT NULL
);
CREATE INDEX open_items_customer ON open_items (customer_id);
