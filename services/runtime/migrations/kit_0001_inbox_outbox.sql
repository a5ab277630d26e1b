-- The runtime kit's tables, created in each service's own schema.

-- Idempotent inbox: the event ids a service applied, written in the same transaction as
-- the state change. A dead-lettered record is stored under a deterministic id derived from
-- its topic, partition and offset, so that a replay does not dead-letter it twice.
CREATE TABLE inbox (
    event_id    uuid PRIMARY KEY,
    topic       text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inbox_applied_at ON inbox (applied_at);

-- Transactional outbox: events to publish, written in the same transaction as the state
-- change, published in id order by the relay, deleted once the broker acknowledged them.
CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    topic       text NOT NULL,
    key         bytea,
    value       bytea NOT NULL,
    headers     jsonb NOT NULL DEFAULT '[]',
    event_id    uuid,
    created_at  timestamptz NOT NULL DEFAULT now()
);
