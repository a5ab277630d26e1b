-- Emails that are not dunning reminders: the written confirmation of a promise made by
-- phone (to the customer) and the reminders to a dispute's internal owner. Recorded by the
-- consumer, sent by the `notices` loop outside any consumer transaction, kept as proof.
CREATE TABLE notices (
    notice_id        uuid PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('promise_confirmation', 'owner_reminder')),
    customer_id      text NOT NULL,
    payload          jsonb NOT NULL,
    status           text NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    created_at       timestamptz NOT NULL,
    sent_at          timestamptz,
    recipients       text[],
    subject          text,
    body             text,
    error            text
);
CREATE INDEX notices_due ON notices (next_attempt_at) WHERE status IN ('pending', 'sending');
