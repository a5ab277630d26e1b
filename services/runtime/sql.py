"""Every SQL statement of the runtime kit, named and parameterised.

The tables live in each service's schema; connections set ``search_path`` to it.
"""

# inbox
CLAIM_EVENT_IDS = """
INSERT INTO inbox (event_id, topic)
SELECT * FROM unnest($1::uuid[], $2::text[])
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""

# consumed positions (BatchProcessor.dedupe_by_offsets), read and locked, then advanced
CONSUMED_OFFSETS = """
SELECT o.topic, o.partition, o.next_offset
FROM consumed_offsets o
JOIN unnest($1::text[], $2::int[]) AS p(topic, partition) USING (topic, partition)
FOR UPDATE OF o
"""
ADVANCE_OFFSETS = """
INSERT INTO consumed_offsets (topic, partition, next_offset)
SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[])
ON CONFLICT (topic, partition) DO UPDATE
SET next_offset = GREATEST(consumed_offsets.next_offset, EXCLUDED.next_offset)
"""

# one batch at a time per partition number (BatchProcessor.partition_locks), in order
LOCK_PARTITIONS = """
SELECT count(pg_advisory_xact_lock(hashtext('relance.partition.' || $1), p))
FROM (SELECT unnest($2::int[]) AS p ORDER BY 1) AS partitions
"""

# outbox
ENQUEUE = """
INSERT INTO outbox (topic, key, value, headers, event_id)
SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::text[], $5::uuid[])
"""
NOTIFY = "SELECT pg_notify($1, '')"
# NOTIFY on the channel of the connection's own schema (outbox.channel_name), in one round trip
NOTIFY_OWN_SCHEMA = "SELECT pg_notify('relance_outbox_' || current_schema(), '')"
FETCH_BATCH = """
SELECT topic, key, value, headers, id, records FROM outbox ORDER BY id LIMIT $1
"""
DELETE_PUBLISHED = "DELETE FROM outbox WHERE id = ANY($1::bigint[])"
# A pipelined relay's next batch, read while Kafka acknowledges the current one: deletes the
# rows acknowledged before ($1) and reads the first rows in id order that are neither those
# nor the ones in flight. The select sees the rows as they were before the delete, so both
# sets are left out: they span the ids $2..$3, of which $4 are the ids not in either (gaps
# left by rolled-back transactions, or rows committed since), read by key. Each part is an
# ordered range of the primary key: the rows in flight and just published are skipped by
# the index's bounds, not filtered one by one.
DELETE_PUBLISHED_FETCH_NEXT = """
WITH published AS (DELETE FROM outbox WHERE id = ANY($1::bigint[]))
SELECT topic, key, value, headers, id, records FROM (
    (SELECT topic, key, value, headers, id, records FROM outbox WHERE id < $2 ORDER BY id
     LIMIT $5)
    UNION ALL
    (SELECT topic, key, value, headers, id, records FROM outbox WHERE id = ANY($4::bigint[]))
    UNION ALL
    (SELECT topic, key, value, headers, id, records FROM outbox WHERE id > $3 ORDER BY id
     LIMIT $5)
) AS waiting
ORDER BY id LIMIT $5
"""
# the newest row's id, one descent of the primary key from its right end: a busy relay's
# backlog is estimated from it (OutboxRelay.relay_once) rather than counted
NEWEST_ID = "SELECT max(id) FROM outbox"
_RELAY_KEY = "hashtext('relance.outbox.' || current_schema())"
TRY_RELAY_LOCK = f"SELECT pg_try_advisory_lock({_RELAY_KEY})"
# waits in PostgreSQL's queue for the lock: granted in turn, at once when its holder lets go
RELAY_LOCK = f"SELECT pg_advisory_lock({_RELAY_KEY})"
RELAY_UNLOCK = f"SELECT pg_advisory_unlock({_RELAY_KEY})"
# whether another session waits for the relay's lock (a standby replica's relay). A bigint
# advisory key is held in pg_locks as its high half (classid) and low half (objid), objsubid 1.
RELAY_LOCK_WAITED_FOR = f"""
SELECT EXISTS (
    SELECT 1 FROM pg_locks
    WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND (classid::bigint << 32 | objid::bigint) = {_RELAY_KEY}::bigint
)
"""

# schema
CREATE_SCHEMA = 'CREATE SCHEMA IF NOT EXISTS "{schema}"'
SCHEMA_EXISTS = "SELECT 1 FROM pg_namespace WHERE nspname = %s"
