"""The runtime kit on a real Kafka and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY

from contracts import erp
from contracts.envelope import Event
from contracts.money import PositiveMoney
from contracts.topics import ERP_INVOICES, Topic
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import BatchProcessor, UnitOfWork
from services.runtime.database import create_pool, holds_session_state
from services.runtime.dead_letter import IncomingRecord
from services.runtime.outbox import (
    COPY_FROM_ROWS,
    MAX_BATCH_BYTES,
    KafkaRecordSender,
    OutboxRelay,
    OutgoingRecord,
    _decode_headers,
    enqueue,
)
from services.runtime.service import Supervisor, make_broker, subscribe
from services.runtime.settings import DatabaseSettings, KafkaSettings, ServiceSettings
from tests.kafka_tools import consume, create_topics, eventually, produce, unique

pytestmark = pytest.mark.integration

SCHEMA = "kit_test"
CLOCK = SimulatedClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))


def invoice_event(number: int, amount: str = "120.00") -> erp.InvoiceIssued:
    return erp.InvoiceIssued(
        event_id=uuid.uuid4(),
        occurred_at=datetime(2026, 1, 5, 9, 30, tzinfo=UTC),
        source="test-erp",
        payload=erp.InvoicePayload(
            company_code="FR01",
            customer_id=f"C{number % 7}",
            invoice_number=f"F{number:05d}",
            version=1,
            issue_date=date(2026, 1, 5),
            due_date=date(2026, 2, 4),
            amount=PositiveMoney(amount=Decimal(amount), currency="EUR"),
        ),
    )


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    await migrations.apply_async(database_url, SCHEMA, None)
    pool = await create_pool(DatabaseSettings(url=database_url), SCHEMA)
    await pool.execute(
        "CREATE TABLE seen (event_id uuid PRIMARY KEY, invoice_number text NOT NULL)"
    )
    yield pool
    await pool.close()


@pytest.fixture
def topic() -> Topic:
    return dataclasses.replace(ERP_INVOICES, name=unique(ERP_INVOICES.name))


async def record_seen(work: UnitOfWork, events: Sequence[Event]) -> None:
    rows = []
    for event in events:
        assert isinstance(event, erp.InvoiceIssued)
        if event.payload.invoice_number.endswith("13"):
            work.reject(event, "conflict", "invoice 13 conflicts, by construction")
            continue
        rows.append((event.event_id, event.payload.invoice_number))
    await work.connection.executemany("INSERT INTO seen VALUES ($1, $2)", rows)


def incoming(topic: Topic, events: Sequence[bytes], first_offset: int = 0) -> list[IncomingRecord]:
    return [
        IncomingRecord(topic.name, 0, first_offset + i, b"k", value)
        for i, value in enumerate(events)
    ]


async def test_inbox_ignores_a_replayed_batch(pool: asyncpg.Pool, topic: Topic) -> None:
    processor = BatchProcessor("kit", [topic], record_seen, pool, CLOCK)
    records = incoming(topic, [topic.value(invoice_event(n)) for n in range(1, 21)])

    first = await processor.process(records)
    replay = await processor.process(records)

    assert (first.applied, first.duplicates, first.dead_lettered) == (19, 0, 1)
    assert (replay.applied, replay.duplicates, replay.dead_lettered) == (0, 20, 0)
    assert await pool.fetchval("SELECT count(*) FROM seen") == 19
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 1


async def test_dedupe_by_offsets_skips_what_the_kept_offsets_cover(
    pool: asyncpg.Pool, topic: Topic
) -> None:
    processor = BatchProcessor("kit", [topic], record_seen, pool, CLOCK, dedupe_by_offsets=True)
    values = [topic.value(invoice_event(n)) for n in range(1, 21)] + [b"{bad"]
    records = incoming(topic, values)

    first = await processor.process(records[:15])
    # redelivered from an older position: the first 15 again, then the rest
    replay = await processor.process(records[10:])
    again = await processor.process(records)

    assert (first.applied, first.duplicates, first.dead_lettered) == (14, 0, 1)
    assert (replay.applied, replay.duplicates, replay.dead_lettered) == (5, 5, 1)
    assert (again.applied, again.duplicates, again.dead_lettered) == (0, 21, 0)
    assert await pool.fetchval("SELECT count(*) FROM seen") == 19
    assert await pool.fetchval("SELECT count(*) FROM inbox") == 0  # no row per event
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 2  # each dead letter once
    assert await pool.fetchval(
        "SELECT next_offset FROM consumed_offsets WHERE topic = $1 AND partition = 0",
        topic.name,
    ) == len(values)

    # a rolled-back batch does not move the offsets: a bug's batch is applied when retried
    async def buggy(work: UnitOfWork, events: Sequence[Event]) -> None:
        await record_seen(work, events)
        raise RuntimeError("bug")

    later = incoming(topic, [topic.value(invoice_event(n)) for n in range(30, 33)], len(values))
    failing = BatchProcessor("kit", [topic], buggy, pool, CLOCK, dedupe_by_offsets=True)
    with pytest.raises(RuntimeError, match="bug"):
        await failing.process(later)
    assert (await processor.process(later)).applied == 3
    assert await pool.fetchval("SELECT count(*) FROM seen") == 22


async def test_same_event_twice_in_one_batch_is_applied_once(
    pool: asyncpg.Pool, topic: Topic
) -> None:
    processor = BatchProcessor("kit", [topic], record_seen, pool, CLOCK)
    value = topic.value(invoice_event(1))
    outcome = await processor.process(incoming(topic, [value, value]))
    assert (outcome.applied, outcome.duplicates) == (1, 1)
    assert await pool.fetchval("SELECT count(*) FROM seen") == 1


async def test_with_partition_locks_a_batch_waits_for_the_old_owner_of_its_partition(
    pool: asyncpg.Pool, topic: Topic
) -> None:
    # a rebalance: another replica still holds partition 0 in an open batch transaction
    old_owner = await pool.acquire()
    transaction = old_owner.transaction()
    await transaction.start()
    await old_owner.execute(
        "SELECT pg_advisory_xact_lock(hashtext('relance.partition.' || $1), 0)", "kit"
    )
    processor = BatchProcessor("kit", [topic], record_seen, pool, CLOCK, partition_locks=True)
    other = BatchProcessor("kit", [topic], record_seen, pool, CLOCK, partition_locks=True)
    records = incoming(topic, [topic.value(invoice_event(n)) for n in range(1, 4)])
    elsewhere = [
        r._replace(partition=5)
        for r in incoming(topic, [topic.value(invoice_event(n)) for n in range(4, 6)])
    ]
    try:
        waiting = asyncio.ensure_future(processor.process(records))
        # another partition number is not held up
        assert (await asyncio.wait_for(other.process(elsewhere), 10)).applied == 2
        await asyncio.sleep(0.5)
        assert not waiting.done()
        assert await pool.fetchval("SELECT count(*) FROM seen") == 2
    finally:
        await transaction.commit()
        await pool.release(old_owner)
    assert (await asyncio.wait_for(waiting, 10)).applied == 3
    assert await pool.fetchval("SELECT count(*) FROM seen") == 5


async def test_handler_bug_rolls_back_everything(pool: asyncpg.Pool, topic: Topic) -> None:
    async def buggy(work: UnitOfWork, events: Sequence[Event]) -> None:
        await record_seen(work, events)
        raise RuntimeError("bug")

    processor = BatchProcessor("kit", [topic], buggy, pool, CLOCK)
    records = incoming(topic, [topic.value(invoice_event(n)) for n in range(3)] + [b"{bad"])
    with pytest.raises(RuntimeError, match="bug"):
        await processor.process(records)
    assert await pool.fetchval("SELECT count(*) FROM seen") == 0
    assert await pool.fetchval("SELECT count(*) FROM inbox") == 0
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0


async def test_round_trip_with_dead_letters_counts_every_record(
    pool: asyncpg.Pool, topic: Topic, kafka_bootstrap: str
) -> None:
    """Valid events applied once, bad records dead-lettered with reasons, nothing lost."""
    await create_topics(kafka_bootstrap, [topic.name, topic.dead_letter])
    valid = [invoice_event(n) for n in range(1, 101)]
    good_bytes = [(topic.key(e), topic.value(e)) for e in valid]
    not_json = (b"C1", b"{not json")
    wrong_currency = (b"C2", topic.value(valid[0]).replace(b'"EUR"', b'"EURO"'))
    naive_date = (
        b"C3",
        topic.value(valid[1]).replace(b"Z", b"").replace(valid[1].event_id.hex.encode(), b""),
    )
    redelivered = good_bytes[:10]  # the ERP connector sent these twice
    await produce(
        kafka_bootstrap,
        topic.name,
        [*good_bytes, not_json, wrong_currency, naive_date, *redelivered],
    )

    settings = ServiceSettings(kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap))
    processor = BatchProcessor("kit", [topic], record_seen, pool, CLOCK)
    supervisor = Supervisor("kit")
    broker = make_broker(settings.kafka, "kit-test", graceful_timeout=5)
    subscribe(
        broker, processor, group_id=unique("group"), settings=settings, on_fatal=supervisor.fail
    )
    sender = KafkaRecordSender(settings.kafka.client_options(), "kit-test")
    await sender.start()
    relay = OutboxRelay("kit", pool, sender, poll_interval_s=0.2)
    supervisor.start("outbox-relay", relay.run)
    await broker.start()
    try:
        await eventually(lambda: _count(pool, "SELECT count(*) = 99 FROM seen"))
        dead = await consume(kafka_bootstrap, topic.dead_letter, expected=4)
    finally:
        await broker.stop()
        await supervisor.shutdown(grace_s=5)
        await sender.stop()

    assert supervisor.failure is None
    reasons = sorted(dict(r.headers)["dlq.reason"].decode() for r in dead)
    assert reasons == ["conflict", "malformed_json", "schema_invalid", "unknown_currency"]
    assert {bytes(r.value) for r in dead} >= {not_json[1], wrong_currency[1]}
    for record in dead:
        headers = dict(record.headers)
        assert headers["dlq.topic"].decode() == topic.name
        assert int(headers["dlq.offset"]) >= 0
    currency_error = next(r for r in dead if r.value == wrong_currency[1])
    assert b"payload.amount.currency" in dict(currency_error.headers)["dlq.detail"]
    assert b"EURO" not in dict(currency_error.headers)["dlq.detail"]  # no input quoted
    applied = await pool.fetchval("SELECT count(*) FROM seen")
    distinct_sent = len(valid) + 3
    assert applied + len(dead) == distinct_sent


async def _count(pool: asyncpg.Pool, query: str) -> bool:
    return bool(await pool.fetchval(query))


async def test_relay_killed_between_publish_and_mark_publishes_again_and_inbox_dedupes(
    pool: asyncpg.Pool, topic: Topic, kafka_bootstrap: str, database_url: str
) -> None:
    await create_topics(kafka_bootstrap, [topic.name])
    events = [invoice_event(n) for n in range(1, 51)]
    async with pool.acquire() as connection, connection.transaction():
        await enqueue(connection, [OutgoingRecord.of(topic, e) for e in events])

    class KilledError(Exception):
        pass

    async def die(_: Sequence[OutgoingRecord]) -> None:
        raise KilledError

    sender = KafkaRecordSender({"bootstrap_servers": kafka_bootstrap}, "kit-relay")
    await sender.start()
    try:
        dying = OutboxRelay("kit", pool, sender, after_publish=die)
        async with pool.acquire() as connection:
            with pytest.raises(KilledError):
                await dying.relay_once(connection)
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 50  # not marked

        healthy = OutboxRelay("kit", pool, sender)
        async with pool.acquire() as connection:
            assert await healthy.relay_once(connection) == 50
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
    finally:
        await sender.stop()

    published = await consume(kafka_bootstrap, topic.name, expected=100)
    assert len(published) == 100  # every row twice: at-least-once
    ids = [topic.parse(r.value).event_id for r in published]
    assert len(set(ids)) == 50
    # per-key order is kept: within a partition, the first copies come in outbox order
    by_partition: dict[int, list[uuid.UUID]] = {}
    for record in published:
        by_partition.setdefault(record.partition, []).append(topic.parse(record.value).event_id)
    order = {e.event_id: i for i, e in enumerate(events)}
    for partition_ids in by_partition.values():
        half = partition_ids[: len(partition_ids) // 2]
        assert half == sorted(half, key=order.__getitem__)

    downstream = f"{SCHEMA}_downstream"
    await migrations.apply_async(database_url, downstream, None)
    downstream_pool = await create_pool(DatabaseSettings(url=database_url), downstream)
    try:
        await downstream_pool.execute(
            "CREATE TABLE seen (event_id uuid PRIMARY KEY, invoice_number text NOT NULL)"
        )
        processor = BatchProcessor("downstream", [topic], record_seen, downstream_pool, CLOCK)
        outcome = await processor.process([IncomingRecord.of(r) for r in published])
        assert outcome.duplicates == 50
        assert await downstream_pool.fetchval("SELECT count(*) FROM seen") == 49
        assert outcome.applied + outcome.dead_lettered == 50
    finally:
        await downstream_pool.close()


@pytest.mark.parametrize("count", [3, COPY_FROM_ROWS])
async def test_enqueued_rows_are_kept_as_given_whether_inserted_or_copied(
    pool: asyncpg.Pool, topic: Topic, count: int
) -> None:
    headers = (("event_type", b"x"), ("n", bytes([0, 255])))
    records = [
        OutgoingRecord.of(topic, invoice_event(n))._replace(headers=headers) for n in range(count)
    ]
    statements: list[str] = []
    async with pool.acquire() as connection, connection.transaction():
        connection.add_query_logger(lambda logged: statements.append(logged.query))
        assert await enqueue(connection, records) == count
    # a few rows go through the prepared INSERT, a batch of COPY_FROM_ROWS or more by COPY
    # (which asyncpg's query logger does not see)
    inserted = [q for q in statements if "INSERT INTO outbox" in q]
    assert len(inserted) == (1 if count < COPY_FROM_ROWS else 0)
    rows = await pool.fetch("SELECT topic, key, value, headers, event_id FROM outbox ORDER BY id")
    kept = [
        OutgoingRecord(
            r["topic"], r["key"], r["value"], _decode_headers(r["headers"]), r["event_id"]
        )
        for r in rows
    ]
    assert kept == records


async def test_a_busy_relay_counts_its_backlog_at_most_once_per_interval(
    pool: asyncpg.Pool, topic: Topic, kafka_bootstrap: str
) -> None:
    await create_topics(kafka_bootstrap, [topic.name])
    async with pool.acquire() as connection, connection.transaction():
        await enqueue(connection, [OutgoingRecord.of(topic, invoice_event(n)) for n in range(25)])
    service = f"kit-{uuid.uuid4().hex[:6]}"

    def backlog() -> float | None:
        return REGISTRY.get_sample_value("relance_outbox_backlog", {"service": service})

    sender = KafkaRecordSender({"bootstrap_servers": kafka_bootstrap}, "kit-relay")
    await sender.start()
    try:
        relay = OutboxRelay(service, pool, sender, batch_size=10, backlog_interval_s=3600)
        async with pool.acquire() as connection:
            assert await relay.relay_once(connection) == 10
            assert backlog() == 15  # counted after the first full batch
            async with connection.transaction():
                await enqueue(connection, [OutgoingRecord.of(topic, invoice_event(99))])
            assert await relay.relay_once(connection) == 10
            assert backlog() == 15  # not counted again within the interval
            assert await relay.relay_once(connection) == 6
            assert backlog() == 0  # a batch that was not full emptied the outbox
    finally:
        await sender.stop()
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0


async def test_a_busy_relays_backlog_is_estimated_from_the_ids(
    pool: asyncpg.Pool, topic: Topic, kafka_bootstrap: str
) -> None:
    """Rows waiting after the last published id, up to the newest; a rolled-back
    transaction's ids count too (the estimate's known excess), rows already gone do not."""
    await create_topics(kafka_bootstrap, [topic.name])
    async with pool.acquire() as connection:
        async with connection.transaction():
            await enqueue(
                connection, [OutgoingRecord.of(topic, invoice_event(n)) for n in range(12)]
            )
        rolled_back = connection.transaction()
        await rolled_back.start()
        await enqueue(connection, [OutgoingRecord.of(topic, invoice_event(n)) for n in range(3)])
        await rolled_back.rollback()  # its three ids stay unused
        async with connection.transaction():
            await enqueue(
                connection, [OutgoingRecord.of(topic, invoice_event(n)) for n in range(5)]
            )
    service = f"kit-{uuid.uuid4().hex[:6]}"
    sender = KafkaRecordSender({"bootstrap_servers": kafka_bootstrap}, "kit-relay")
    await sender.start()
    try:
        relay = OutboxRelay(service, pool, sender, batch_size=10, backlog_interval_s=0)
        async with pool.acquire() as connection:
            assert await relay.relay_once(connection) == 10
            waiting = await connection.fetchval("SELECT count(*) FROM outbox")
            assert waiting == 7
            backlog = REGISTRY.get_sample_value("relance_outbox_backlog", {"service": service})
            assert backlog == waiting + 3
            assert await relay.relay_once(connection) == 7
    finally:
        await sender.stop()
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0


async def test_dead_letter_limit_stops_the_consumer(pool: asyncpg.Pool, topic: Topic) -> None:
    processor = BatchProcessor(
        "kit", [topic], record_seen, pool, CLOCK, dead_letter_max_ratio=0.5, dead_letter_window=200
    )
    good = incoming(topic, [topic.value(invoice_event(n)) for n in range(1, 60)])
    await processor.process(good)
    garbage = incoming(topic, [b"garbage"] * 120, first_offset=1000)
    with pytest.raises(Exception, match="dead-lettered"):
        await processor.process(garbage)
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE topic LIKE '%.dlq'") == 1


async def test_relay_is_single_active_per_schema(pool: asyncpg.Pool, kafka_bootstrap: str) -> None:
    sender = KafkaRecordSender({"bootstrap_servers": kafka_bootstrap}, "kit-relay")
    await sender.start()
    stop = asyncio.Event()
    # turns as short as the polls: idle relays still keep their roles (turns share work)
    first = OutboxRelay("kit", pool, sender, poll_interval_s=0.1, standby_retry_s=0.1, turn_s=0.1)
    second = OutboxRelay("kit", pool, sender, poll_interval_s=0.1, standby_retry_s=0.1, turn_s=0.1)
    tasks = [asyncio.create_task(first.run(stop)), asyncio.create_task(second.run(stop))]
    try:
        await eventually(lambda: _truthy(first.active or second.active))
        await asyncio.sleep(0.5)
        assert first.active != second.active
        assert first.turns + second.turns == 1
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await sender.stop()


async def _truthy(value: bool) -> bool:
    return value


async def test_sender_keeps_partitioning_order_and_headers_of_plain_sends(
    kafka_bootstrap: str,
) -> None:
    """Batched sends land where one-by-one sends would, in order, headers and all."""
    batched, plain = unique("sender.batched"), unique("sender.plain")
    await create_topics(kafka_bootstrap, [batched, plain], partitions=6)
    records = [
        OutgoingRecord(
            batched,
            f"C{n % 13}".encode(),
            f"{n:06d}".encode() + b"." * 300,
            (("event_type", b"ledger.invoice.opened"), ("n", str(n).encode())),
        )
        for n in range(3000)
    ]
    # no key: spread over partitions; larger than a whole record batch (and smaller than
    # the broker's largest message, 1,048,588 bytes by default): sent on its own
    records.append(OutgoingRecord(batched, None, b"keyless"))
    records.append(OutgoingRecord(batched, b"C1", b"L" * (MAX_BATCH_BYTES + 10_000)))
    records.append(OutgoingRecord(batched, b"C1", b"after-the-large-one"))
    sender = KafkaRecordSender({"bootstrap_servers": kafka_bootstrap}, "test-sender")
    await sender.start()
    try:
        for start in range(0, len(records), 700):
            await sender.send_all(records[start : start + 700])
    finally:
        await sender.stop()
    await produce(kafka_bootstrap, plain, [(f"C{k}".encode(), b"x") for k in range(13)])

    got = await consume(kafka_bootstrap, batched, len(records))
    reference = await consume(kafka_bootstrap, plain, 13)
    assert len(got) == len(records)
    partition_of_key = {r.key: r.partition for r in reference}
    by_key: dict[bytes | None, list[Any]] = {}
    for record in sorted(got, key=lambda r: (r.partition, r.offset)):
        by_key.setdefault(record.key, []).append(record)
        if record.key is not None:
            assert record.partition == partition_of_key[record.key]
    for key, same_key in by_key.items():
        if key is None:
            continue
        values = [r.value for r in same_key]
        expected = [r.value for r in records if r.key == key]
        assert values == expected  # per-key order kept, the large record included
    first = next(r for r in got if r.value.startswith(b"000007."))
    assert list(first.headers) == [("event_type", b"ledger.invoice.opened"), ("n", b"7")]
    assert [r.value for r in by_key[None]] == [b"keyless"]


async def test_an_idle_consumer_takes_each_record_at_once_and_stops_promptly(
    pool: asyncpg.Pool, topic: Topic, kafka_bootstrap: str
) -> None:
    """The wait for records costs no latency: a record reaching an idle consumer starts its
    batch at once, and stopping does not wait for the wait. (FastStream's own batch
    subscriber sleeps as long as the wait after an empty poll: the second record, sent
    2.6 s after the first was applied, 0.6 s into that sleep, waited 1.4 s more.)"""
    await create_topics(kafka_bootstrap, [topic.name, topic.dead_letter])
    settings = ServiceSettings(
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap), batch_timeout_ms=2_000
    )
    processor = BatchProcessor("kit", [topic], record_seen, pool, CLOCK)
    supervisor = Supervisor("kit")
    broker = make_broker(settings.kafka, "kit-test", graceful_timeout=5)
    subscriber = subscribe(
        broker, processor, group_id=unique("group"), settings=settings, on_fatal=supervisor.fail
    )
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    await broker.start()
    try:
        await eventually(lambda: _assigned(subscriber))
        for number, idle_s in ((1, 0.0), (2, 2.6)):
            await asyncio.sleep(idle_s)
            event = invoice_event(number)
            await produce(kafka_bootstrap, topic.name, [(topic.key(event), topic.value(event))])
            produced = loop.time()
            query = f"SELECT count(*) = {number} FROM seen"
            await eventually(lambda q=query: _count(pool, q), interval_s=0.01)
            latencies.append(loop.time() - produced)
    finally:
        stopping = loop.time()
        await broker.stop()
        stopped_after = loop.time() - stopping
    assert supervisor.failure is None
    assert latencies[1] < 0.7, latencies
    assert stopped_after < 5.0, stopped_after


async def test_a_replica_started_after_another_gets_its_share_within_a_heartbeat_or_two(
    pool: asyncpg.Pool, topic: Topic, kafka_bootstrap: str
) -> None:
    """A second replica joining the group (a scale-out, a restart, two replicas started a
    moment apart) is assigned its partitions once the first has noticed the rebalance at
    its next heartbeat and rejoined: about half a second with the kit's heartbeat (500 ms),
    2.8 s here with aiokafka's default of 3 s, for which a replica of ingestion's million
    started a moment after the other sat idle 3 s (docs/ingestion.md, eighteenth round)."""
    await create_topics(kafka_bootstrap, [topic.name, topic.dead_letter], partitions=4)
    settings = ServiceSettings(kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap))
    group = unique("group")
    supervisor = Supervisor("kit")
    brokers = [make_broker(settings.kafka, f"kit-test-{n}", graceful_timeout=5) for n in (0, 1)]
    subscribers = [
        subscribe(
            broker,
            BatchProcessor("kit", [topic], record_seen, pool, CLOCK),
            group_id=group,
            settings=settings,
            on_fatal=supervisor.fail,
        )
        for broker in brokers
    ]
    loop = asyncio.get_running_loop()
    await brokers[0].start()
    try:
        await eventually(lambda: _assigned(subscribers[0]))
        await asyncio.sleep(0.2)  # the first replica settled, between two heartbeats
        joining = loop.time()
        await brokers[1].start()

        async def shared() -> bool:
            first, second = (s.consumer.assignment() for s in subscribers)
            return bool(first) and bool(second) and not first & second

        await eventually(shared, interval_s=0.02)
        joined_after = loop.time() - joining
        assignments = [s.consumer.assignment() for s in subscribers]
    finally:
        for broker in reversed(brokers):
            await broker.stop()
    assert supervisor.failure is None
    assert {tp.partition for a in assignments for tp in a} == {0, 1, 2, 3}
    assert joined_after < 1.5, joined_after


async def _assigned(subscriber: Any) -> bool:
    consumer = getattr(subscriber, "consumer", None)
    return consumer is not None and bool(consumer.assignment())


async def test_a_released_connection_is_reset_in_full_only_when_it_took_session_state(
    database_url: str,
) -> None:
    pool = await create_pool(DatabaseSettings(url=database_url), SCHEMA, min_size=1, max_size=1)
    statements: list[str] = []

    async def advisory_locks(connection: Any) -> int:
        return int(
            await connection.fetchval(
                "SELECT count(*) FROM pg_locks"
                " WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
            )
        )

    try:
        async with pool.acquire() as connection:
            pid = connection.get_server_pid()
            connection.add_query_logger(lambda logged: statements.append(logged.query))
            await connection.execute("SELECT 1")
        # no session state taken: no reset round trip on release
        assert not [s for s in statements if "pg_advisory_unlock_all" in s]
        async with pool.acquire() as connection:
            assert connection.get_server_pid() == pid  # the same connection, one in the pool
            holds_session_state(connection)
            assert await connection.fetchval("SELECT pg_try_advisory_lock(4242)")
            assert await advisory_locks(connection) == 1
        assert len([s for s in statements if "pg_advisory_unlock_all" in s]) == 1
        async with pool.acquire() as connection:
            assert connection.get_server_pid() == pid
            assert await advisory_locks(connection) == 0  # released by the full reset
            # a transaction left open is rolled back on release whatever the marking
            transaction = connection.transaction()
            await transaction.start()
            await connection.execute("SELECT pg_advisory_xact_lock(4243)")
        async with pool.acquire() as connection:
            assert not connection.is_in_transaction()
            assert await advisory_locks(connection) == 0
        # only the marked release sent the reset query
        assert len([s for s in statements if "pg_advisory_unlock_all" in s]) == 1
    finally:
        await pool.close()
