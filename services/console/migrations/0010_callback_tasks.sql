-- Customers' requests to be called back (callback.requested, from the portal through the
-- disputes service): call tasks on My day until a collector logs the call (log_call), which
-- closes the task here in the same transaction as the command.
CREATE TABLE callback_tasks (
    request_id    uuid PRIMARY KEY,
    customer_id   text NOT NULL,
    phone         text NOT NULL,
    on_day        date NOT NULL,
    slot          text NOT NULL,
    invoice_ids   text[] NOT NULL DEFAULT '{}',
    requested_by  text NOT NULL,
    requested_at  timestamptz NOT NULL,
    closed_at     timestamptz,
    closed_by     text,
    command_id    uuid
);
CREATE INDEX callback_tasks_open ON callback_tasks (on_day, slot) WHERE closed_at IS NULL;
CREATE INDEX callback_tasks_customer ON callback_tasks (customer_id);
