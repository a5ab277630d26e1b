"""The transactional outbox and its relay to Kafka.

A service that changes its state and emits events writes both in one PostgreSQL
transaction: the events go to its ``outbox`` table (:func:`enqueue`). The
:class:`OutboxRelay` publishes the rows in id order with an idempotent producer, then
deletes them. There are no dual writes: an event exists if and only if its state change
committed. The relay is pipelined: while Kafka acknowledges one batch it reads the next
(and deletes the batch before, acknowledged already) in one statement; a batch's rows are
never deleted before Kafka acknowledged them, and one batch is in flight at a time.

Publishing is at least once. If the relay dies after Kafka acknowledged a batch and before
the rows were deleted, the next relay publishes them again; consumers drop the copies by
``event_id`` (see :mod:`services.runtime.inbox`).

Per-key order: one relay per schema is active at a time (a PostgreSQL advisory lock; other
replicas' relays wait for it in PostgreSQL's queue), rows are sent in id order, and the
idempotent producer keeps the order of each partition. The relays take turns: after
``turn_s`` the active one lets go of the lock when another waits, once Kafka acknowledged
what it sent and its rows are deleted; the next reads the outbox from its oldest row, so a
key's records leave in order whichever replica sends them. A row committed after the rows
around its id were read (its transaction took the id earlier) is read with the next batch,
as an unpipelined relay would.

A row is one record, or a **chunk**: records one after the other in a single ``bytea``
(:func:`frames`), up to :data:`CHUNK_BYTES`, which a service emitting thousands of records
per transaction writes (``enqueue(..., chunks=True)``: ingestion's batches). The relay
reads both kinds; a chunk's records keep their order, and its row is deleted like any once
Kafka acknowledged all of them. A chunk is written **packed** (:func:`packed_chunks`): the
frames of up to :data:`PACKED_FRAMES_BYTES` compressed with LZ4, behind
:data:`PACKED_MARK`; the relay unpacks it (:func:`unpacked`) and reads a chunk written
before packing as it is. A relay batch is about ``batch_size`` records whatever the
rows hold: the rows read next are ``batch_size`` times the rows per record of the batch
before (:meth:`OutboxRelay._note_read`).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import functools
import json
import struct
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias
from uuid import UUID

import lz4.block

from services.runtime import metrics, sql
from services.runtime.database import TRANSIENT_ERRORS, Connection, Pool, holds_session_state
from services.runtime.errors import TransientError
from services.runtime.logs import get_logger
from services.runtime.loops import pause

# The record is a value of its own module (no driver); re-exported for the shells.
from services.runtime.records import Headers as Headers
from services.runtime.records import OutgoingRecord as OutgoingRecord

log = get_logger(__name__)


@functools.lru_cache(maxsize=1024)
def _encode_headers(headers: Headers) -> str:
    """Headers as a JSON list of ``[name, base64 value]`` (values may be binary).

    Cached: almost every record carries one of a few ``event_type`` headers, and encoding
    them again for each of thousands of records per batch was a visible cost.
    """
    return json.dumps([[name, base64.b64encode(value).decode()] for name, value in headers])


@functools.lru_cache(maxsize=1024)
def _decode_headers(text: str) -> tuple[tuple[str, bytes], ...]:
    """The headers stored by :func:`_encode_headers` (read as text; cached likewise)."""
    return tuple((name, base64.b64decode(value)) for name, value in json.loads(text))


# An outbox row: topic, key, value, headers (as stored), event_id (a UUID or its text).
EnqueuedRow: TypeAlias = tuple[str, bytes | None, bytes, str, UUID | str | None]

# A chunk's frame: the lengths of the key (-1: none), the value and the record's "kind" (its
# topic and stored headers, NUL between them: a few distinct ones per service, encoded and
# decoded once each through a cache), then those bytes: kind, key, value. Hand-written
# (struct): the layout is the relay's own, read back by the same module, and no
# serialisation library is cheaper for three byte strings.
_FRAME_HEAD = struct.Struct(">iII")
# A chunk's records up to this many bytes (a record larger than that is a chunk of its own):
# with the row's header, under the 8,160 bytes of the outbox's toast_tuple_target, so that a
# chunk stays in its heap row (kit_0004_outbox_chunks.sql).
CHUNK_BYTES = 8000
# A packed chunk: this mark, then the LZ4 block (its size stored) of a chunk's frames. Read
# as a frame's head the mark is a key of 2,135,710,260 bytes, which no chunk of frames can
# start with, so a chunk written before packing is told apart and read as it is.
PACKED_MARK = b"\x7fLZ4"
# A packed chunk's frames up to this many bytes: ingestion's ledger events (JSON) pack about
# 3.6 to 1, so that the packed chunk, about 6,700 bytes, stays in its heap row as a chunk
# did. Packing costs the writer 0.6 µs per record and the relay 0.5 to unpack, and saves
# more in the sockets and the server: the outbox's round trip of a batch's ledger events
# (COPY, read back in id order, unframed, deleted) cost 3.3-3.8 µs of the client's CPU and
# 0.9-1.2 of the backend's per ledger event packed, against 3.9-4.4 and 3.4-4.2 in chunks
# of 8,000 bytes (hand-measured; docs/ingestion.md, eighteenth round). LZ4 rather than
# zstandard: 5.4 to 1 at level 1, but 1.2 µs per record to compress.
PACKED_FRAMES_BYTES = 24_000


@functools.lru_cache(maxsize=1024)
def _kind(topic: str, headers: str) -> bytes:
    return topic.encode() + b"\x00" + headers.encode()


@functools.lru_cache(maxsize=1024)
def _unkind(kind: bytes) -> tuple[str, tuple[tuple[str, bytes], ...]]:
    # the last NUL: stored headers are JSON, whose text escapes every control character
    topic, _, headers = kind.rpartition(b"\x00")
    return topic.decode(), _decode_headers(headers.decode())


def frames(rows: Iterable[EnqueuedRow], limit: int = CHUNK_BYTES) -> list[bytes]:
    """The chunks of ``rows`` (in order), each at most ``limit`` bytes but for a row larger
    than that alone. A row's event id is not kept (its value carries it)."""
    chunks: list[bytes] = []
    parts: list[bytes] = []
    size = 0
    pack = _FRAME_HEAD.pack
    head = _FRAME_HEAD.size
    for topic, key, value, headers, _ in rows:
        kind = _kind(topic, headers)
        framed: tuple[bytes, ...]
        if key is None:
            length = head + len(kind) + len(value)
            framed = (pack(-1, len(value), len(kind)), kind, value)
        else:
            length = head + len(kind) + len(key) + len(value)
            framed = (pack(len(key), len(value), len(kind)), kind, key, value)
        if parts and size + length > limit:
            chunks.append(b"".join(parts))
            parts = []
            size = 0
        parts.extend(framed)
        size += length
    if parts:
        chunks.append(b"".join(parts))
    return chunks


def packed_chunks(rows: Iterable[EnqueuedRow]) -> list[bytes]:
    """The chunks of ``rows`` (in order) packed: each the frames of up to
    :data:`PACKED_FRAMES_BYTES` compressed with LZ4, behind :data:`PACKED_MARK`."""
    compress = lz4.block.compress
    return [
        PACKED_MARK + compress(chunk, store_size=True)
        for chunk in frames(rows, PACKED_FRAMES_BYTES)
    ]


def unpacked(chunk: bytes) -> bytes:
    """The frames of a chunk read from the outbox: unpacked if :func:`packed_chunks` packed
    it, as it is if it was written before packing."""
    if not chunk.startswith(PACKED_MARK):
        return chunk
    try:
        frames_: bytes = lz4.block.decompress(memoryview(chunk)[len(PACKED_MARK) :])
    except lz4.block.LZ4BlockError as exc:
        raise ValueError(f"a packed chunk of the outbox does not unpack: {exc}") from exc
    return frames_


def unframe(chunk: bytes) -> list[OutgoingRecord]:
    """The records of a chunk made by :func:`frames`, in order."""
    records: list[OutgoingRecord] = []
    append = records.append
    unpack = _FRAME_HEAD.unpack_from
    head = _FRAME_HEAD.size
    new = tuple.__new__  # OutgoingRecord's fields as they are, without its __new__
    at = 0
    end = len(chunk)
    while at < end:
        if at + head > end:
            raise ValueError(f"a chunk of the outbox ends inside a frame ({at} of {end} bytes)")
        key_length, value_length, kind_length = unpack(chunk, at)
        kind_at = at + head
        key_at = kind_at + kind_length
        value_at = key_at + key_length if key_length > 0 else key_at
        at = value_at + value_length
        if at > end:
            raise ValueError(f"a chunk of the outbox ends inside a frame ({at} of {end} bytes)")
        topic, headers = _unkind(chunk[kind_at:key_at])
        key = chunk[key_at:value_at] if key_length >= 0 else None
        append(new(OutgoingRecord, (topic, key, chunk[value_at:at], headers, None)))
    return records


def enqueued_row(record: OutgoingRecord) -> EnqueuedRow:
    """The outbox row of ``record`` (topic, key, value, headers, event_id), for a service
    writing it within a statement of its own (that statement also calls
    ``pg_notify(channel_name(schema), '')`` to wake the relay, as :func:`enqueue` does) or
    through :func:`enqueue_rows`."""
    return (
        record.topic,
        record.key,
        record.value,
        _encode_headers(tuple(record.headers)),
        record.event_id,
    )


def channel_name(schema: str) -> str:
    return f"relance_outbox_{schema}"


_ENQUEUED_COLUMNS = ("topic", "key", "value", "headers", "event_id")
COPY_FROM_ROWS = 200  # batches of at least this many rows are written with COPY


async def enqueue(
    connection: Connection, records: Iterable[OutgoingRecord], *, chunks: bool = False
) -> int:
    """Write records to the outbox; call inside the transaction that changes the state.
    ``chunks``: a batch of :data:`COPY_FROM_ROWS` records or more goes in chunks."""
    rows = [
        (r.topic, r.key, r.value, _encode_headers(tuple(r.headers)), r.event_id) for r in records
    ]
    return await enqueue_rows(connection, rows, chunks=chunks)


async def enqueue_rows(
    connection: Connection, rows: Sequence[EnqueuedRow], *, chunks: bool = False
) -> int:
    """:func:`enqueue` for rows already made by :func:`enqueued_row` (in another process,
    for instance, where a row of plain values travels more cheaply than a record)."""
    if not rows:
        return 0
    if chunks and len(rows) >= COPY_FROM_ROWS:
        # about a dozen ledger events per chunk: measured against a row each, 5 µs less CPU
        # per record on both sides (docs/ingestion.md, thirteenth round); packed, about
        # forty a row, 3.5 µs less again (eighteenth round: PACKED_FRAMES_BYTES)
        await connection.copy_records_to_table(
            "outbox", columns=("records",), records=[(chunk,) for chunk in packed_chunks(rows)]
        )
    elif len(rows) >= COPY_FROM_ROWS:
        # COPY rather than INSERT ... SELECT FROM unnest: measured on 7,000 rows of ledger
        # events, half the server time and a third of the client's CPU per row (asyncpg
        # encodes COPY rows column by column, without the per-element checks of array
        # parameters). A COPY statement is not prepared, though: the few rows of a tick or
        # a delivery go through the prepared INSERT.
        await connection.copy_records_to_table("outbox", columns=_ENQUEUED_COLUMNS, records=rows)
    else:
        await connection.execute(sql.ENQUEUE, *(list(column) for column in zip(*rows, strict=True)))
    await connection.execute(sql.NOTIFY_OWN_SCHEMA)  # channel_name(current_schema())
    return len(rows)


def kafka_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means Kafka cannot be reached for now (wait and retry), rather than
    that it refused us (a certificate, a login, an ACL: stop and say so)."""
    from aiokafka.errors import (
        KafkaConnectionError,
        KafkaError,
        KafkaTimeoutError,
        OutOfOrderSequenceNumber,
    )

    # OutOfOrderSequenceNumber: the idempotent producer's sequence broke across an outage
    # (a batch expired, another got through); the relay starts a new producer.
    waited_out = (TransientError, KafkaConnectionError, KafkaTimeoutError, OutOfOrderSequenceNumber)
    if isinstance(exc, waited_out):
        return True
    return isinstance(exc, KafkaError) and bool(getattr(exc, "retriable", False))


class RecordSender(Protocol):
    """Publishes records in order; returns when the broker acknowledged all of them."""

    async def send_all(self, records: Sequence[OutgoingRecord]) -> None: ...


@functools.lru_cache(maxsize=65536)
def _partition_index(key: bytes, partitions: int) -> int:
    """Where aiokafka's (and the Java client's) default partitioner puts ``key``.

    The same arithmetic as ``aiokafka.partitioner.DefaultPartitioner``, cached: its murmur2
    is pure Python and a service publishes for the same customers over and over.
    """
    from aiokafka.partitioner import murmur2

    return int(murmur2(key) & 0x7FFFFFFF) % partitions


MAX_BATCH_BYTES = 1_000_000  # a record batch's largest size (KafkaRecordSender)


class KafkaRecordSender:
    """An idempotent aiokafka producer (acks=all), used by the relay and the dead letters.

    aiokafka is used directly rather than through FastStream's publisher so that a whole
    batch is in flight at once and awaited together. Records are packed into one record
    batch per partition with aiokafka's batch API (``create_batch``/``send_batch``) rather
    than sent one by one: ``send`` costs about 25 µs of Python per record here, which made
    the relay the slowest part of a high-volume service. Partitions are chosen by
    aiokafka's default partitioner (murmur2 of the key, as the Java client), so a key lands
    on the same partition either way; order within a partition is the order of
    ``records``.
    """

    def __init__(
        self,
        client_options: dict[str, Any],
        client_id: str,
        diagnose: Callable[[], Awaitable[Exception]] | None = None,
    ) -> None:
        self._options = dict(client_options)
        self._client_id = client_id
        # Says why a start failed: a configuration error, or a transient one.
        self._diagnose = diagnose
        self._producer: Any = None
        self._starting = asyncio.Lock()
        self._spread = 0

    @property
    def started(self) -> bool:
        return self._producer is not None

    def _new_producer(self) -> Any:
        from aiokafka import AIOKafkaProducer

        return AIOKafkaProducer(
            **self._options,
            client_id=self._client_id,
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            # A partition's share of a relay batch in one record batch: 5,000 ledger
            # events of about 600 bytes are 250 KB on each of 12 partitions, which at
            # 256 KiB often took a second record batch, and so a second produce request
            # after the first's response (one is in flight per broker), each step waiting
            # for a turn of an event loop shared with a busy consumer (docs/ingestion.md,
            # "eighth round"). Below the brokers' default message.max.bytes (1,048,588).
            max_batch_size=MAX_BATCH_BYTES,
            compression_type=None,
        )

    async def start(self) -> None:
        """Connect; raise the diagnosis (configuration or transient) when Kafka refuses.

        A producer whose start failed is dropped: the next start begins afresh.
        """
        from aiokafka.errors import KafkaConnectionError

        async with self._starting:
            if self._producer is not None:
                return
            producer = self._new_producer()
            try:
                await producer.start()
            except KafkaConnectionError as exc:
                with contextlib.suppress(Exception):
                    await producer.stop()
                if self._diagnose is None:
                    raise
                raise await self._diagnose() from exc
            self._producer = producer

    async def stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def reset(self) -> None:
        """Drop the producer after a failed send; the next send starts a new one.

        An idempotent producer whose batch failed may not carry on (its sequence numbers
        no longer match the broker's); a new one gets a new producer id. The old one is
        given a few seconds to flush what it still holds (at least once: copies are
        dropped by the consumers' inbox).
        """
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await asyncio.wait_for(producer.stop(), timeout=5)
            except Exception as exc:
                log.warning("producer_dropped", error=repr(exc))

    async def probe(self) -> None:
        """Ask any broker for the cluster's metadata; raise when none answers."""
        from aiokafka.errors import KafkaConnectionError

        if self._producer is None:
            raise KafkaConnectionError("the producer is not connected")
        await self._producer.client.fetch_all_metadata()

    async def send_all(self, records: Sequence[OutgoingRecord]) -> None:
        if self._producer is None:
            await self.start()
        by_partition: dict[tuple[str, int], list[OutgoingRecord]] = {}
        partitions: dict[str, list[int]] = {}
        for record in records:
            if record.topic not in partitions:
                partitions[record.topic] = sorted(await self._producer.partitions_for(record.topic))
            every = partitions[record.topic]
            if record.key is None:
                self._spread += 1
                partition = every[self._spread % len(every)]
            else:
                partition = every[_partition_index(record.key, len(every))]
            by_partition.setdefault((record.topic, partition), []).append(record)
        futures = []
        for (topic, partition), group in by_partition.items():
            batch = self._producer.create_batch()
            for record in group:
                headers = list(record.headers)
                if batch.append(
                    key=record.key, value=record.value, timestamp=None, headers=headers
                ):
                    continue
                if batch.record_count():
                    futures.append(
                        await self._producer.send_batch(batch, topic, partition=partition)
                    )
                    batch = self._producer.create_batch()
                if not batch.append(
                    key=record.key, value=record.value, timestamp=None, headers=headers
                ):
                    # larger than a whole batch: aiokafka gives it a batch of its own
                    futures.append(
                        await self._producer.send(
                            topic,
                            value=record.value,
                            key=record.key,
                            partition=partition,
                            headers=headers or None,
                        )
                    )
            if batch.record_count():
                futures.append(await self._producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*futures)


@dataclass
class OutboxRelay:
    """Publishes a schema's outbox to Kafka until ``stop`` is set."""

    service: str
    pool: Pool
    sender: RecordSender
    batch_size: int = 500
    poll_interval_s: float = 1.0
    standby_retry_s: float = 2.0
    # How long the active relay keeps the lock while another replica's relay waits for it:
    # the relays take turns, so that relaying (a tenth of the CPU of ingestion's active
    # replica) is shared between the replicas instead of slowing the one that relays, which
    # then finished its share of a backlog last, on one core (docs/ingestion.md,
    # "seventeenth round").
    turn_s: float = 2.0
    # A test hook: runs after Kafka acknowledged a batch and before its rows are deleted.
    after_publish: Callable[[Sequence[OutgoingRecord]], Awaitable[None]] | None = None
    backlog_interval_s: float = 5.0  # how often a busy relay counts its backlog
    kafka_retry_max_s: float = 30.0  # the longest wait between two attempts to reach Kafka
    # Why the last attempt to publish failed, until one succeeds (readiness shows it).
    kafka_problem: str | None = field(default=None, init=False)
    kafka_down_since: float | None = field(default=None, init=False)
    published: int = field(default=0, init=False)
    active: bool = field(default=False, init=False)
    turns: int = field(default=0, init=False)  # times this relay took the lock
    # rows per read: ``batch_size`` at first, then as many as make ``batch_size`` records at
    # the rows per record of the last batch (a chunk holds a dozen records or more)
    _rows_per_read: int = field(default=0, init=False)
    _backlog_counted_at: float = field(default=float("-inf"), init=False)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop``; wait out database and Kafka outages, crash on anything else.

        While Kafka cannot be reached the rows stay in the outbox (PostgreSQL buffers them)
        and the relay tries again after a backoff that doubles up to ``kafka_retry_max_s``;
        a configuration error (TLS, SASL, an ACL) is not waited out.
        """
        backoff = self.standby_retry_s
        while not stop.is_set():
            try:
                await self._hold_lock_and_relay(stop)
            except TRANSIENT_ERRORS as exc:
                log.warning("outbox_relay_retrying", service=self.service, error=repr(exc))
                await pause(stop, self.standby_retry_s)
            except Exception as exc:
                if not kafka_unavailable(exc):
                    raise
                if self.kafka_problem is None:
                    self.kafka_down_since = time.monotonic()
                self.kafka_problem = f"cannot publish: {exc!r}"
                metrics.KAFKA_UNAVAILABLE.labels(self.service, "producer").set(1)
                log.warning(
                    "outbox_relay_waiting_for_kafka",
                    service=self.service,
                    error=repr(exc),
                    retry_in_s=backoff,
                )
                reset = getattr(self.sender, "reset", None)
                if reset is not None:
                    await reset()
                await pause(stop, backoff)
                backoff = min(backoff * 2, self.kafka_retry_max_s)
            else:
                backoff = self.standby_retry_s

    async def _hold_lock_and_relay(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            async with self.pool.acquire() as connection:
                holds_session_state(connection)  # the lock and the LISTEN: reset on release
                if not await self._take_lock(connection, stop):
                    continue
                try:
                    self.active = True
                    self.turns += 1
                    metrics.OUTBOX_RELAY_TURNS.labels(self.service).inc()
                    if self.turns == 1:
                        log.info("outbox_relay_active", service=self.service)
                    await self._relay(connection, stop)
                finally:
                    self.active = False
                    if not connection.is_closed():
                        await connection.fetchval(sql.RELAY_UNLOCK)

    async def _take_lock(self, connection: Connection, stop: asyncio.Event) -> bool:
        """Take the relay's lock, waiting in PostgreSQL's queue for it (it is granted in
        turn, at once when the active relay lets go); False once ``stop`` is set first."""
        if await connection.fetchval(sql.TRY_RELAY_LOCK):
            return True
        waiting = asyncio.ensure_future(connection.fetchval(sql.RELAY_LOCK))
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait((waiting, stopping), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not waiting.done():
                # cancelled in PostgreSQL too; should the lock have been granted meanwhile,
                # the connection's reset on release lets it go
                waiting.cancel()
            await asyncio.gather(stopping, waiting, return_exceptions=True)
        if waiting.cancelled():
            return False
        waiting.result()  # a database error, raised
        return True

    async def _turn_over(self, connection: Connection, turn_ends: float) -> float | None:
        """When this relay's turn is over (``turn_s`` since it began or was renewed; looked
        at only while the relay has rows to send) and another replica's relay waits for the
        lock, None: let go of it (the pipeline ends, the lock is released, this relay queues
        again behind the other). Else when the turn ends."""
        now = time.monotonic()
        if now < turn_ends:
            return turn_ends
        if await connection.fetchval(sql.RELAY_LOCK_WAITED_FOR):
            return None
        return now + self.turn_s

    async def _relay(self, connection: Connection, stop: asyncio.Event) -> None:
        wake = asyncio.Event()
        schema = await connection.fetchval("SELECT current_schema()")

        def _notified(*_: object) -> None:
            wake.set()

        await connection.add_listener(channel_name(schema), _notified)
        try:
            await self._pipeline(connection, stop, wake)
        finally:
            if not connection.is_closed():
                await connection.remove_listener(channel_name(schema), _notified)

    async def _pipeline(
        self, connection: Connection, stop: asyncio.Event, wake: asyncio.Event
    ) -> None:
        """Publish batch after batch, reading the next one while Kafka acknowledges this one.

        One batch is in flight at a time, so the order of each partition is the order of the
        rows as before; the rows of a batch are deleted once Kafka acknowledged them, by the
        statement that reads the batch after next (or at once, when the outbox is empty).
        Each batch is thus one round trip to PostgreSQL, made while the previous batch is on
        its way to Kafka, instead of a read, a send and a delete one after the other: a relay
        sharing its event loop with a busy consumer waits for a turn of that loop at every
        step (docs/ingestion.md, "eighth round").
        """
        acknowledged: list[int] = []  # published and acknowledged, not deleted yet
        wake.clear()
        limit = self._read_size  # the read that gave ``rows`` took at most this many
        rows = await connection.fetch(sql.FETCH_BATCH, limit)
        turn_ends = time.monotonic() + self.turn_s
        while not stop.is_set():
            if rows:  # busy: an idle relay keeps the lock (turns share work, not waits)
                next_turn_ends = await self._turn_over(connection, turn_ends)
                if next_turn_ends is None:
                    # ``rows``, read and not sent, stay for the next relay, which reads the
                    # outbox from its oldest row once this one has let go of the lock
                    break
                turn_ends = next_turn_ends
            if not rows:
                if acknowledged:
                    await connection.execute(sql.DELETE_PUBLISHED, acknowledged)
                    acknowledged = []
                metrics.OUTBOX_BACKLOG.labels(self.service).set(0)
                await pause(stop, self.poll_interval_s, wake)
                wake.clear()
                limit = self._read_size
                rows = [] if stop.is_set() else await connection.fetch(sql.FETCH_BATCH, limit)
                continue
            records = _records(rows)
            ids = [row[4] for row in rows]
            self._note_read(len(rows), len(records))
            next_limit = self._read_size
            wake.clear()  # a row committed from now on is read next, or wakes the relay
            around = _around(acknowledged, ids, limit=2 * self.batch_size)
            if around is None:
                # ids too sparse to read around (a large rolled-back transaction among
                # them): one step at a time, as relay_once
                await self.sender.send_all(records)
                await self._acknowledged(records)
                await connection.execute(sql.DELETE_PUBLISHED, acknowledged + ids)
                acknowledged = []
                following = await connection.fetch(sql.FETCH_BATCH, next_limit)
            else:
                following = await self._send_and_read_next(
                    connection, records, acknowledged, around, next_limit
                )
                await self._acknowledged(records)
                acknowledged = ids  # deleted by the next read
            await self._count(connection, records, rows, limit)
            rows, limit = following, next_limit
        if acknowledged and not connection.is_closed():
            await connection.execute(sql.DELETE_PUBLISHED, acknowledged)

    async def _send_and_read_next(
        self,
        connection: Connection,
        records: Sequence[OutgoingRecord],
        acknowledged: list[int],
        around: _Around,
        limit: int,
    ) -> list[Any]:
        """Send ``records`` and, meanwhile, delete ``acknowledged`` and read the next batch
        (``limit`` rows at most); return it once Kafka acknowledged ``records``."""
        sending = asyncio.ensure_future(self.sender.send_all(records))
        try:
            following = await connection.fetch(
                sql.DELETE_PUBLISHED_FETCH_NEXT,
                acknowledged,
                around.low,
                around.high,
                around.gaps,
                limit,
            )
        except BaseException:
            # the rows stay in the outbox, to be published again (at least once)
            sending.cancel()
            await asyncio.gather(sending, return_exceptions=True)
            raise
        await sending
        return following

    async def relay_once(self, connection: Connection) -> int:
        """Publish one batch; return how many records were published."""
        limit = self._read_size
        rows = await connection.fetch(sql.FETCH_BATCH, limit)
        if not rows:
            metrics.OUTBOX_BACKLOG.labels(self.service).set(0)
            return 0
        records = _records(rows)
        self._note_read(len(rows), len(records))
        await self.sender.send_all(records)
        await self._acknowledged(records)
        await connection.execute(sql.DELETE_PUBLISHED, [row[4] for row in rows])
        await self._count(connection, records, rows, limit)
        return len(records)

    @property
    def _read_size(self) -> int:
        """How many rows the next read takes (see :meth:`_note_read`)."""
        return self._rows_per_read or self.batch_size

    def _note_read(self, rows: int, records: int) -> None:
        """A read gave ``rows`` holding ``records``: the next takes about ``batch_size``
        records at that many rows per record, at least one row and at most ``batch_size``."""
        if records:
            self._rows_per_read = max(1, min(self.batch_size, self.batch_size * rows // records))

    async def _acknowledged(self, records: Sequence[OutgoingRecord]) -> None:
        """Kafka acknowledged ``records``; their rows are not deleted yet."""
        if self.kafka_problem is not None:
            down_for = time.monotonic() - (self.kafka_down_since or time.monotonic())
            log.info("outbox_relay_reconnected", service=self.service, down_s=round(down_for, 1))
            self.kafka_problem = self.kafka_down_since = None
            metrics.KAFKA_UNAVAILABLE.labels(self.service, "producer").set(0)
        if self.after_publish is not None:
            await self.after_publish(records)

    async def _count(
        self,
        connection: Connection,
        records: Sequence[OutgoingRecord],
        rows: Sequence[Any],
        limit: int,
    ) -> None:
        """Count a published batch (``rows`` of a read of at most ``limit``) and, now and
        then, the backlog behind it."""
        self.published += len(records)
        for topic, count in collections.Counter(r.topic for r in records).items():
            metrics.OUTBOX_PUBLISHED.labels(self.service, topic).inc(count)
        now = time.monotonic()
        if len(rows) < limit:
            # the whole outbox fit in this batch: at most what arrived since is left
            metrics.OUTBOX_BACKLOG.labels(self.service).set(0)
        elif now - self._backlog_counted_at >= self.backlog_interval_s:
            # Estimated from the ids, not counted: the rows after the last one published up
            # to the newest (exact but for the ids of rolled-back transactions and of rows
            # not committed yet). Counting a large backlog after every batch cost as much as
            # a third of the relay's PostgreSQL time; counting it every few seconds still
            # cost the backend 0.2-0.4 µs of CPU per waiting row and count once a relay fell
            # behind (an index-only scan fetching every heap row: the outbox is never
            # all-visible), 5-10 µs per event over ingestion's million-event run, growing
            # with the backlog (docs/ingestion.md, "the million against the 200,000");
            # scrapes are seconds apart anyway.
            self._backlog_counted_at = now
            newest = await connection.fetchval(sql.NEWEST_ID)
            last = rows[-1][4]
            per_row = len(records) / len(rows)  # records per row: a chunk holds many
            backlog = max(0, (newest or last) - last) * per_row
            metrics.OUTBOX_BACKLOG.labels(self.service).set(round(backlog))


def _records(rows: Sequence[Any]) -> list[OutgoingRecord]:
    """The records of rows read by ``FETCH_BATCH`` (a record each, or a chunk's), in order."""
    records: list[OutgoingRecord] = []
    for row in rows:
        chunk = row[5]
        if chunk is None:
            records.append(OutgoingRecord(row[0], row[1], row[2], _decode_headers(row[3])))
        else:
            records.extend(unframe(unpacked(chunk)))
    return records


@dataclass(frozen=True)
class _Around:
    """What a pipelined read leaves out: the ids ``low`` to ``high`` but for ``gaps``."""

    low: int
    high: int
    gaps: list[int]


def _around(acknowledged: Sequence[int], in_flight: Sequence[int], limit: int) -> _Around | None:
    """The span of two batches' ids (each batch in id order) and the ids in it that neither
    holds, or None when there are more than ``limit`` of those.

    Usually there are none: a batch is the rows that follow the previous one. A gap is an
    id that a rolled-back transaction took, a row committed after the batches were read
    (read next, so that a key's rows keep the order in which they became visible), or a row
    already deleted (published in an earlier batch).
    """
    ends = [*acknowledged[:1], *acknowledged[-1:], *in_flight[:1], *in_flight[-1:]]
    low, high = min(ends), max(ends)
    missing = high - low + 1 - len(acknowledged) - len(in_flight)
    if missing > limit:
        return None
    if missing == 0:
        return _Around(low, high, [])
    held = set(acknowledged).union(in_flight)
    return _Around(low, high, [n for n in range(low, high + 1) if n not in held])
