-- Collectors' commands (dunning.commands.v1).

-- A hold: nothing is decided for the invoice (or, on the customer row, for any of the
-- customer's invoices, later ones included) before held_until; then the first tick takes it
-- as after an outage. A customer's hold is also written on each of its open invoices.
ALTER TABLE customer ADD COLUMN held_until timestamptz;
ALTER TABLE customer ADD COLUMN hold_reason text;
-- The scenario a collector chose (change_scenario): it wins over the assignment rules.
ALTER TABLE customer ADD COLUMN scenario_override text;
ALTER TABLE dunning_invoice ADD COLUMN held_until timestamptz;
ALTER TABLE dunning_invoice ADD COLUMN hold_reason text;

-- Every executed command, by its id: a command delivered twice is applied once.
CREATE TABLE executed_command (
    command_id     uuid PRIMARY KEY,
    command        text NOT NULL,
    customer_id    text NOT NULL,
    actor_subject  text NOT NULL,
    requested_at   timestamptz NOT NULL,
    executed_at    timestamptz NOT NULL,
    audit          jsonb NOT NULL
);
CREATE INDEX executed_command_customer ON executed_command (customer_id, executed_at);

-- Notes on a customer (or one of its invoices).
CREATE TABLE customer_note (
    command_id   uuid PRIMARY KEY,
    customer_id  text NOT NULL,
    invoice_id   text,
    text         text NOT NULL,
    written_by   text NOT NULL,
    written_at   timestamptz NOT NULL
);
CREATE INDEX customer_note_customer ON customer_note (customer_id, written_at);
