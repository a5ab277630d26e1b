"""The pipelined outbox relay on a real Kafka and a real PostgreSQL: while Kafka acknowledges
one batch the relay reads the next, and deletes a batch's rows only after Kafka acknowledged
it. Kafka fails halfway through a batch; a row committed late, with an id among rows already
published, still comes before the later rows of its key."""

from __future__ import annotations

import asyncio
import statistics
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError
from prometheus_client import REGISTRY

from services.runtime import migrations
from services.runtime.database import create_pool
from services.runtime.outbox import (
    PACKED_MARK,
    KafkaRecordSender,
    OutboxRelay,
    OutgoingRecord,
    enqueue,
    enqueued_row,
    frames,
)
from services.runtime.settings import DatabaseSettings
from tests.kafka_tools import consume, create_topics, eventually, unique

pytestmark = pytest.mark.integration

SCHEMA = "kit_pipeline"
KEYS = ("K0", "K1", "K2", "K3")
LATE = "KL"  # a key written only by the transaction that commits late, then once more


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    await migrations.apply_async(database_url, SCHEMA, None)
    pool = await create_pool(DatabaseSettings(url=database_url), SCHEMA)
    yield pool
    await pool.close()


def record(topic: str, key: str, n: int) -> OutgoingRecord:
    return OutgoingRecord(topic, key.encode(), f"{key}:{n}".encode(), (), uuid.uuid4())


class KafkaFailingMidBatch:
    """The real producer, except that on its ``fail_at``-th batch Kafka goes away halfway:
    the first half is delivered, then the send fails as aiokafka's does when the broker is
    gone. Before each batch it runs ``check``; it remembers what Kafka acknowledged."""

    def __init__(
        self, real: KafkaRecordSender, fail_at: int, check: Callable[[int], Awaitable[None]]
    ) -> None:
        self.real = real
        self.fail_at = fail_at
        self.check = check
        self.calls = 0
        self.acknowledged: set[bytes] = set()
        self.failed: list[bytes] = []

    async def send_all(self, records: Sequence[OutgoingRecord]) -> None:
        self.calls += 1
        await self.check(self.calls)
        if self.calls == self.fail_at:
            self.failed = [r.value for r in records]
            await self.real.send_all(records[: len(records) // 2])
            raise KafkaConnectionError("the broker went away halfway through the batch")
        await self.real.send_all(records)
        self.acknowledged.update(r.value for r in records)

    async def reset(self) -> None:
        await self.real.reset()


async def test_a_pipelined_relay_deletes_only_what_kafka_acknowledged_and_keeps_key_order(
    pool: asyncpg.Pool, kafka_bootstrap: str
) -> None:
    topic = unique("pipeline.v1")
    await create_topics(kafka_bootstrap, [topic])
    enqueued: list[OutgoingRecord] = []  # committed, in commit order

    async def commit(records: list[OutgoingRecord]) -> None:
        async with pool.acquire() as connection, connection.transaction():
            await enqueue(connection, records)
        enqueued.extend(records)

    # ids 1-4 committed; id 5 taken by a transaction left open; 6-8 rolled back; 9-44
    # committed in transactions of four
    await commit([record(topic, KEYS[n % 4], n) for n in range(1, 5)])
    late = await pool.acquire()
    late_transaction = late.transaction()
    await late_transaction.start()
    late_record = record(topic, LATE, 5)
    await enqueue(late, [late_record])
    async with pool.acquire() as connection:
        rolled_back = connection.transaction()
        await rolled_back.start()
        await enqueue(connection, [record(topic, "K0", n) for n in range(6, 9)])
        await rolled_back.rollback()
    for first in range(9, 45, 4):
        await commit([record(topic, KEYS[n % 4], n) for n in range(first, first + 4)])
    service = f"kit-{uuid.uuid4().hex[:6]}"
    observed: dict[str, object] = {}

    async def check(call: int) -> None:
        """Every row gone from the outbox was acknowledged by Kafka."""
        present = {r["value"] for r in await pool.fetch("SELECT value FROM outbox")}
        gone = {r.value for r in enqueued} - present
        assert gone <= sender.acknowledged, gone - sender.acknowledged
        if call == 2:  # after the first batch (ids 1-14), counted with backlog_interval_s=0
            observed["backlog"] = REGISTRY.get_sample_value(
                "relance_outbox_backlog", {"service": service}
            )
            observed["waiting_after_14"] = await pool.fetchval(
                "SELECT count(*) FROM outbox WHERE id > 14"
            )
        if call == sender.fail_at + 1:  # the relay came back after Kafka failed
            observed["kafka_problem"] = relay.kafka_problem
            assert set(sender.failed) <= present  # nothing of the failed batch was deleted

    async def after_publish(records: Sequence[OutgoingRecord]) -> None:
        if "late_committed" not in observed:
            # the first batch is acknowledged: id 5 becomes visible behind ids up to 24
            # already read, and its key gets a later row
            await late_transaction.commit()
            enqueued.append(late_record)
            observed["late_committed"] = True
            await commit([record(topic, LATE, 45)])

    real = KafkaRecordSender({"bootstrap_servers": kafka_bootstrap}, "kit-pipeline")
    sender = KafkaFailingMidBatch(real, fail_at=3, check=check)
    relay = OutboxRelay(
        service,
        pool,
        sender,
        batch_size=10,
        poll_interval_s=0.1,
        standby_retry_s=0.1,
        after_publish=after_publish,
        backlog_interval_s=0,
    )
    try:
        await _relay_until_empty(pool, relay)
    finally:
        await pool.release(late)
        await real.stop()

    assert sender.calls > sender.fail_at
    assert observed["backlog"] == observed["waiting_after_14"] == 31
    assert str(observed["kafka_problem"]).startswith("cannot publish: KafkaConnectionError")
    assert relay.kafka_problem is None  # ready again
    assert REGISTRY.get_sample_value("relance_outbox_backlog", {"service": service}) == 0
    # the failed batch was ids 5 and 25-33 (the late row read in the gap of the first
    # batch's span); its first half was delivered twice
    assert sender.failed[0] == b"KL:5"
    published = await consume(kafka_bootstrap, topic, expected=len(enqueued) + 5)
    values = [bytes(r.value) for r in published]
    assert len(values) == len(enqueued) + 5
    assert set(values) == {r.value for r in enqueued}
    for key in (*KEYS, LATE):
        first_copies = list(dict.fromkeys(v for v in values if v.startswith(key.encode())))
        in_commit_order = [r.value for r in enqueued if r.key == key.encode()]
        assert first_copies == in_commit_order, key
    assert list(dict.fromkeys(v for v in values if v.startswith(b"KL"))) == [b"KL:5", b"KL:45"]


async def _relay_until_empty(pool: asyncpg.Pool, relay: OutboxRelay) -> None:
    """Run ``relay`` until it published something and the outbox is empty, then stop it;
    raise what ended it before that."""
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await eventually(lambda: _outbox_empty(pool, relay, task), timeout_s=20)
    finally:
        stop.set()
        (outcome,) = await asyncio.gather(task, return_exceptions=True)
    if isinstance(outcome, BaseException):
        raise outcome


async def _outbox_empty(pool: asyncpg.Pool, relay: OutboxRelay, task: asyncio.Task[None]) -> bool:
    if task.done():  # the relay crashed (a check failed): say why at once
        return True
    return relay.published > 0 and not await pool.fetchval("SELECT EXISTS (SELECT 1 FROM outbox)")


class CountingSender:
    """The real producer; remembers how many records each batch held."""

    def __init__(self, real: KafkaRecordSender) -> None:
        self.real = real
        self.batches: list[int] = []

    async def send_all(self, records: Sequence[OutgoingRecord]) -> None:
        await self.real.send_all(records)
        self.batches.append(len(records))


async def test_records_written_in_chunks_and_one_by_one_are_published_once_in_commit_order(
    pool: asyncpg.Pool, kafka_bootstrap: str
) -> None:
    topic = unique("chunks.v1")
    await create_topics(kafka_bootstrap, [topic])
    enqueued: list[OutgoingRecord] = []

    def made(key: str | None, n: int, size: int = 600) -> OutgoingRecord:
        value = f"{key}:{n}:".encode().ljust(size, b".")
        headers = (("event_type", b"ledger.x"), ("raw", bytes([n % 256, 0, 255])))
        return OutgoingRecord(topic, None if key is None else key.encode(), value, headers)

    async def commit(records: list[OutgoingRecord], chunks: bool) -> None:
        async with pool.acquire() as connection, connection.transaction():
            await enqueue(connection, records, chunks=chunks)
        enqueued.extend(records)

    # a batch in packed chunks (one record larger than a plain chunk among them, some
    # without a key), a chunk as written before packing, a few records one by one, then
    # packed chunks again
    first = [made(KEYS[n % 4] if n % 7 else None, n) for n in range(1500)]
    first[200] = made("K0", 200, size=30_000)
    await commit(first, chunks=True)
    before_packing = [made(KEYS[n % 4], n) for n in range(1500, 1510)]
    (plain,) = frames(enqueued_row(r) for r in before_packing)
    await pool.execute("INSERT INTO outbox (records) VALUES ($1)", plain)
    enqueued.extend(before_packing)
    await commit([made(KEYS[n % 4], n) for n in range(1510, 1513)], chunks=True)  # too few
    await commit([made(KEYS[n % 4], n) for n in range(1513, 3013)], chunks=True)
    rows = await pool.fetch("SELECT records FROM outbox ORDER BY id")
    chunks = [bytes(r["records"]) for r in rows if r["records"] is not None]
    packed = [c for c in chunks if c.startswith(PACKED_MARK)]
    assert 0 < chunks.index(plain) < len(chunks) - 1  # kept as written, amid packed ones
    assert len(packed) == len(chunks) - 1
    assert 60 < len(packed) < 100  # about forty records of 600 bytes to a packed chunk
    assert max(len(c) for c in packed) < 2_000  # records this alike pack tight
    assert len(rows) - len(chunks) == 3

    real = KafkaRecordSender({"bootstrap_servers": kafka_bootstrap}, "kit-chunks")
    sender = CountingSender(real)
    relay = OutboxRelay("kit-chunks", pool, sender, batch_size=40, poll_interval_s=0.1)
    try:
        await _relay_until_empty(pool, relay)
    finally:
        await real.stop()

    assert relay.published == len(enqueued) == 3013
    # the first read takes 40 rows, some 1,300 records; then about 40 records a batch: a
    # packed chunk (34 records here), a few after a read of small rows (the plain chunk,
    # the single records) made the rows per record look high
    assert sum(sender.batches) == 3013
    assert sender.batches[0] > 1_000, sender.batches
    assert max(sender.batches[1:]) <= 160, sender.batches
    assert statistics.median(sender.batches[1:]) <= 40, sender.batches
    published = await consume(kafka_bootstrap, topic, expected=len(enqueued))
    assert len(published) == len(enqueued)  # each once (and nothing after, read on 0.5 s)
    got = {bytes(r.value): r for r in published}
    for sent in enqueued:
        kafka_record = got[sent.value]
        assert kafka_record.key == sent.key
        assert tuple((name, bytes(value)) for name, value in kafka_record.headers) == sent.headers
    for key in KEYS:
        in_kafka = [bytes(r.value) for r in published if r.key == key.encode()]
        assert in_kafka == [r.value for r in enqueued if r.key == key.encode()], key


class TurnTakingSender:
    """A replica's own producer (a real one); notes what its relay published, and checks,
    before each batch, that no other replica's relay holds the lock at the same time."""

    def __init__(self, real: KafkaRecordSender, others: list[OutboxRelay]) -> None:
        self.real = real
        self.others = others
        self.values: list[bytes] = []

    async def send_all(self, records: Sequence[OutgoingRecord]) -> None:
        assert not any(other.active for other in self.others)
        await self.real.send_all(records)
        self.values.extend(r.value for r in records)


async def test_the_replicas_relays_take_turns_while_the_outbox_is_busy_each_key_in_order(
    pool: asyncpg.Pool, kafka_bootstrap: str
) -> None:
    """Two replicas' relays, each with its own producer, on one outbox written all along:
    they take turns (the active one lets go after ``turn_s`` when the other waits), one at a
    time; every record is published once (a relay lets go only after Kafka acknowledged
    what it sent and its rows are deleted), each key in commit order across the turns."""
    topic = unique("turns.v1")
    await create_topics(kafka_bootstrap, [topic])
    enqueued: list[OutgoingRecord] = []
    service = f"kit-turns-{uuid.uuid4().hex[:6]}"
    turns_before = REGISTRY.get_sample_value(
        "relance_outbox_relay_turns_total", {"service": service}
    )
    reals = [
        KafkaRecordSender({"bootstrap_servers": kafka_bootstrap}, f"kit-turns-{n}")
        for n in range(2)
    ]
    relays: list[OutboxRelay] = []
    senders = [TurnTakingSender(real, []) for real in reals]
    for sender in senders:
        relays.append(
            OutboxRelay(service, pool, sender, batch_size=10, poll_interval_s=0.05, turn_s=0.15)
        )
    senders[0].others.append(relays[1])
    senders[1].others.append(relays[0])
    stop = asyncio.Event()
    tasks = [asyncio.create_task(relay.run(stop)) for relay in relays]
    try:
        # about 2 s of transactions of 24 records, written faster than the relays' batches
        # of ten go: the outbox stays busy, a turn ends with a batch acknowledged and not
        # deleted yet (its rows are deleted before the lock is let go)
        for n in range(0, 3000, 24):
            records = [record(topic, KEYS[m % 4], m) for m in range(n, n + 24)]
            async with pool.acquire() as connection, connection.transaction():
                await enqueue(connection, records)
            enqueued.extend(records)
            await asyncio.sleep(0.01)
            assert not any(task.done() for task in tasks)
        await eventually(lambda: _outbox_empty(pool, relays[0], tasks[0]), timeout_s=20)
    finally:
        stop.set()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        for real in reals:
            await real.stop()
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes

    assert min(relay.turns for relay in relays) >= 3, [relay.turns for relay in relays]
    assert REGISTRY.get_sample_value(
        "relance_outbox_relay_turns_total", {"service": service}
    ) == sum(relay.turns for relay in relays) + (turns_before or 0)
    assert all(sender.values for sender in senders)
    assert sum(relay.published for relay in relays) == len(enqueued)
    published = await consume(kafka_bootstrap, topic, expected=len(enqueued))
    values = [bytes(r.value) for r in published]
    assert len(values) == len(enqueued)  # each once, whichever relay sent it
    for key in KEYS:
        in_kafka = [bytes(r.value) for r in published if r.key == key.encode()]
        assert in_kafka == [r.value for r in enqueued if r.key == key.encode()], key


async def test_a_relay_alone_keeps_the_lock_past_its_turn(
    pool: asyncpg.Pool, kafka_bootstrap: str
) -> None:
    """With no other relay waiting, the active one does not let go at the end of its turn."""
    topic = unique("alone.v1")
    await create_topics(kafka_bootstrap, [topic])
    real = KafkaRecordSender({"bootstrap_servers": kafka_bootstrap}, "kit-alone")
    sender = CountingSender(real)
    relay = OutboxRelay("kit-alone", pool, sender, batch_size=5, poll_interval_s=0.05, turn_s=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        for n in range(0, 200, 4):
            async with pool.acquire() as connection, connection.transaction():
                await enqueue(connection, [record(topic, KEYS[m % 4], m) for m in range(n, n + 4)])
            await asyncio.sleep(0.01)
        await eventually(lambda: _outbox_empty(pool, relay, task), timeout_s=20)
    finally:
        stop.set()
        await asyncio.gather(task, return_exceptions=True)
        await real.stop()
    assert relay.published == 200
    assert len(sender.batches) >= 10  # busy across many turns' lengths
    assert relay.turns == 1
