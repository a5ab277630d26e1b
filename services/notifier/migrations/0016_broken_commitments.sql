-- The last broken promise or missed instalment of each invoice, so that the reminder that
-- follows recalls it (the date and amount promised). A new promise or plan on the invoice
-- supersedes it; the invoice's closing forgets it.
CREATE TABLE broken_commitments (
    invoice_id         text PRIMARY KEY,
    customer_id        text NOT NULL,
    kind               text NOT NULL CHECK (kind IN ('promise', 'instalment')),
    made_on            date,
    due_on             date NOT NULL,
    amount             numeric NOT NULL CHECK (amount > 0),
    currency           text NOT NULL,
    instalment_number  integer CHECK (instalment_number >= 1)
);
CREATE INDEX broken_commitments_customer ON broken_commitments (customer_id);
