-- Every reminder the scheduler emitted, so that one the notifier could not deliver can be
-- sent again on the fallback channel; fallback_of links a fallback to the reminder it replaces.
CREATE TABLE sent_reminder (
    reminder_id  uuid PRIMARY KEY,
    customer_id  text NOT NULL,
    payload      jsonb NOT NULL,
    fallback_of  uuid,
    created_at   timestamptz NOT NULL
);
