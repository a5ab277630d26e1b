-- Reminders on the phone_call channel: tasks for the collectors, closed with an outcome.
CREATE TABLE call_tasks (
    task_id uuid PRIMARY KEY,
    delivery_id uuid NOT NULL UNIQUE,
    reminder_id uuid NOT NULL,
    customer_id text NOT NULL,
    customer_name text NOT NULL,
    invoice_ids text[] NOT NULL,
    contacts jsonb NOT NULL,
    script text NOT NULL,
    status text NOT NULL CHECK (status IN ('open', 'closed')),
    created_at timestamptz NOT NULL,
    closed_at timestamptz,
    outcome jsonb
);
CREATE INDEX call_tasks_open ON call_tasks (customer_id) WHERE status = 'open';
