-- The collectors' commands this console sent, until the scheduler announces them executed
-- (dunning.command.executed on dunning.actions.v1). A command the scheduler refuses stays
-- "sent" here: its refusal is on dunning.commands.v1.dlq, which the console does not read.
CREATE TABLE sent_command (
    command_id uuid PRIMARY KEY,
    customer_id text NOT NULL,
    command text NOT NULL,
    invoice_id text,
    facts jsonb NOT NULL,
    actor_subject text NOT NULL,
    requested_at timestamptz NOT NULL,
    executed_at timestamptz
);

CREATE INDEX sent_command_waiting ON sent_command (customer_id, requested_at)
    WHERE executed_at IS NULL;
