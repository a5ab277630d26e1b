-- Commands received through the HTTP commands API (services/scheduler/api.py), written to the
-- outbox in the same transaction. The body's digest tells a retry (same id, same body:
-- accepted again, sent once) from a clash (same id, another body: 409).
CREATE TABLE submitted_command (
    command_id     uuid PRIMARY KEY,
    command        text NOT NULL,
    customer_id    text NOT NULL,
    actor_subject  text NOT NULL,
    body_digest    text NOT NULL,
    submitted_at   timestamptz NOT NULL
);

-- Commands the scheduler refused (dead-lettered with this reason), whoever produced them:
-- what GET /v1/commands/{id} answers besides executed_command. A later execution of the
-- same id (a retry after the cause was removed) wins.
CREATE TABLE refused_command (
    command_id     uuid PRIMARY KEY,
    command        text NOT NULL,
    customer_id    text NOT NULL,
    reason         text NOT NULL,
    detail         text NOT NULL,
    refused_at     timestamptz NOT NULL
);

-- Calls logged by collectors (log_call); the note stays here, out of the audit event.
CREATE TABLE logged_call (
    command_id     uuid PRIMARY KEY,
    customer_id    text NOT NULL,
    invoice_ids    text[] NOT NULL,
    outcome        text NOT NULL,
    reminder_id    uuid,
    note           text,
    called_by      text NOT NULL,
    logged_at      timestamptz NOT NULL
);
CREATE INDEX logged_call_customer ON logged_call (customer_id, logged_at);
