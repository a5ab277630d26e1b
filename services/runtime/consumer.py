"""Consumer plumbing: Kafka batches in, one PostgreSQL transaction per batch, offsets after.

The business step is a plain async function of a :class:`UnitOfWork` and the batch's new
events (a *handler*). Everything else lives here, once for every service:

1. each record is parsed with its topic's union; a record that does not parse is
   dead-lettered with a reason saying why (``malformed_json``, ``unknown_currency``,
   ``schema_invalid``...; see :func:`services.runtime.dead_letter.reason_of`);
2. in one transaction: the batch's event ids are claimed in the inbox (duplicates are
   skipped), the handler applies the new events, and what it emitted or rejected is
   written to the outbox;
3. only after that transaction committed are the Kafka offsets committed.

Three kinds of failure, three treatments: transient database errors are retried with
backoff (:mod:`tenacity`); bad input is dead-lettered with its reason and counted; any
other exception is a bug: the batch is rewound (not committed) and the service stops,
loudly, so that its supervisor restarts it. If more than ``dead_letter_max_ratio`` of the
recent records are dead-lettered, the consumer stops rather than drain a topic into its
dead-letter topic.

A consumer that keeps state per key across batches (the ledger's customers) relies on one
replica owning a key at a time. A rebalance breaks that for a moment: the replica that lost
a partition may still be applying a batch of it while the new owner reads the same rows.
With ``partition_locks`` the batch's transaction first takes a transaction-level advisory
lock per partition number of its records (sorted, so two batches cannot deadlock), before
the inbox claim: the new owner waits until the old owner's batch committed and then reads
what it wrote. Partition numbers, not topic partitions: topics keyed alike with the same
number of partitions put a key in the same partition number of each.

For the ERP's topics (``erp.*``) the processor also keeps the ``occurred_at`` of the newest
event it applied, per topic, and exports its age as ``relance_ledger_freshness_seconds``
(computed against the service's clock when scraped, so it grows while nothing arrives):
how far behind the ERP the ledger is. The ingestion service is the one that consumes them.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from contracts.envelope import Event
from contracts.topics import Topic
from services.runtime import gc_tuning, inbox, metrics, outbox, sql
from services.runtime.clock import Clock
from services.runtime.database import TRANSIENT_ERRORS, Connection, Pool
from services.runtime.dead_letter import (
    DeadLetter,
    IncomingRecord,
    describe_validation_error,
    reason_of,
)
from services.runtime.errors import DeadLetterLimitExceeded as DeadLetterLimitExceeded
from services.runtime.logs import get_logger

log = get_logger(__name__)

FRESHNESS_TOPIC_PREFIX = "erp."  # the ERP's topics: their freshness is the ledger's


class UnitOfWork:
    """What a handler may do within its batch's transaction."""

    def __init__(self, connection: Connection, clock: Clock) -> None:
        self.connection = connection
        self.clock = clock
        self._emitted: list[outbox.OutgoingRecord] = []
        self._rejected: dict[UUID, tuple[str, str]] = {}
        self._held_back: list[tuple[IncomingRecord, UUID, str, str]] = []

    def emit(self, topic: Topic, event: Event) -> None:
        """Publish ``event`` on ``topic`` if and only if the transaction commits."""
        self._emitted.append(outbox.OutgoingRecord.of(topic, event))

    def emit_records(self, records: Iterable[outbox.OutgoingRecord]) -> None:
        """Publish records serialised by the handler itself, if the transaction commits.

        For services that write their frequent events straight as JSON (see
        :mod:`services.runtime.json_text`); each record must carry its ``event_id``.
        """
        self._emitted.extend(records)

    def reject(self, event: Event, reason: str, detail: str) -> None:
        """Dead-letter ``event``: it is valid but cannot be applied (a conflict, say).

        The handler must not have changed any state for it.
        """
        self._rejected[event.event_id] = (reason, detail)

    def dead_letter_held(
        self, record: IncomingRecord, event_id: UUID, reason: str, detail: str
    ) -> None:
        """Dead-letter an event of an *earlier* batch that the service held back (parked).

        Parking counts as handling the record; when its target arrives and the event turns
        out inapplicable after all, it goes to its dead-letter topic now, with ``record``
        rebuilt from what was kept (position -1 when the original one is unknown).
        """
        self._held_back.append((record, event_id, reason, detail))

    @property
    def held_back(self) -> Sequence[tuple[IncomingRecord, UUID, str, str]]:
        return self._held_back

    @property
    def emitted(self) -> Sequence[outbox.OutgoingRecord]:
        return self._emitted

    @property
    def rejected(self) -> dict[UUID, tuple[str, str]]:
        return self._rejected


Handler = Callable[[UnitOfWork, Sequence[Event]], Awaitable[None]]


@dataclass(frozen=True)
class BatchOutcome:
    applied: int
    duplicates: int
    dead_lettered: int


@dataclass
class BatchProcessor:
    """Applies batches of records to a service's state, exactly once in effect."""

    service: str
    topics: Sequence[Topic]
    handler: Handler
    pool: Pool
    clock: Clock
    dead_letter_max_ratio: float = 0.5
    dead_letter_window: int = 1000
    retry_for_s: float = 120.0
    partition_locks: bool = False
    dedupe_by_offsets: bool = False
    # a batch's emitted records go to the outbox in chunks (outbox.enqueue's ``chunks``):
    # for a service that emits thousands per batch
    outbox_chunks: bool = False
    # each attempt at a batch runs with the cyclic collector paused (gc_tuning.paused):
    # what a batch parses and builds stays alive until it ends, so a collection in between
    # walks all of it and frees none of it
    gc_paused: bool = False
    _recent: collections.deque[bool] = field(init=False)
    _by_name: dict[str, Topic] = field(init=False)
    _fresh_topics: frozenset[str] = field(init=False)
    _newest: dict[str, datetime] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._recent = collections.deque(maxlen=self.dead_letter_window)
        self._by_name = {t.name: t for t in self.topics}
        self._fresh_topics = frozenset(
            t.name for t in self.topics if t.name.startswith(FRESHNESS_TOPIC_PREFIX)
        )

    def freshness_s(self, topic: str) -> float:
        """Seconds since the newest applied event of ``topic`` occurred (0 before any)."""
        newest = self._newest.get(topic)
        return 0.0 if newest is None else (self.clock.now() - newest).total_seconds()

    def _note_newest(self, applied: Iterable[tuple[str, Event]]) -> None:
        for topic, event in applied:
            if topic not in self._fresh_topics:
                continue
            known = self._newest.get(topic)
            if known is None:
                metrics.LEDGER_FRESHNESS.labels(self.service, topic).set_function(
                    functools.partial(self.freshness_s, topic)
                )
            if known is None or event.occurred_at > known:
                self._newest[topic] = event.occurred_at

    async def process(self, records: Sequence[IncomingRecord]) -> BatchOutcome:
        started = time.perf_counter()
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(TRANSIENT_ERRORS),
            wait=wait_exponential(multiplier=0.2, max=10),
            stop=stop_after_delay(self.retry_for_s),
            before_sleep=self._note_retry,
            reraise=True,
        )
        outcome = BatchOutcome(0, 0, 0)
        async for attempt in retrying:
            with attempt, gc_tuning.paused() if self.gc_paused else contextlib.nullcontext():
                # the attempt's objects are freed as it returns, before the collector runs
                outcome = await self._process_once(records)
        metrics.BATCH_SECONDS.labels(self.service).observe(time.perf_counter() - started)
        metrics.BATCH_RECORDS.labels(self.service).observe(len(records))
        return outcome

    def _note_retry(self, state: RetryCallState) -> None:
        # a batch about to be applied again: counted and logged, so that a database that
        # keeps failing, or replicas that keep conflicting, show before the retries run out
        error = state.outcome.exception() if state.outcome is not None else None
        name = type(error).__name__
        metrics.BATCH_RETRIES.labels(self.service, name).inc()
        log.warning(
            "batch_retried",
            error=name,
            detail=str(error),
            attempt=state.attempt_number,
            sleep_s=round(state.upcoming_sleep, 3),
        )

    def _parse(
        self, records: Sequence[IncomingRecord]
    ) -> tuple[list[tuple[IncomingRecord, Event]], list[DeadLetter]]:
        parsed: list[tuple[IncomingRecord, Event]] = []
        invalid: list[DeadLetter] = []
        for record in records:
            topic = self._by_name.get(record.topic)
            if topic is None:
                invalid.append(self._dead(record, "unknown_topic", f"not consumed: {record.topic}"))
                continue
            try:
                parsed.append((record, topic.parse(record.value)))
            except ValidationError as exc:
                invalid.append(self._dead(record, reason_of(exc), describe_validation_error(exc)))
        return parsed, invalid

    def _dead(
        self, record: IncomingRecord, reason: str, detail: str, event_id: UUID | None = None
    ) -> DeadLetter:
        return DeadLetter(record, reason, detail, self.service, event_id)

    async def _process_once(self, records: Sequence[IncomingRecord]) -> BatchOutcome:
        parsed, invalid = self._parse(records)
        async with self.pool.acquire() as connection, connection.transaction():
            if self.partition_locks:
                await connection.execute(
                    sql.LOCK_PARTITIONS,
                    self.service,
                    sorted({r.partition for r in records if r.partition >= 0}),
                )
            if self.dedupe_by_offsets:
                is_new = await self._new_by_offsets(connection, records)
            else:
                is_new = await self._new_by_inbox(connection, parsed, invalid)
            new_events: list[Event] = []
            records_of: dict[UUID, IncomingRecord] = {}
            duplicates: list[IncomingRecord] = []
            for record, event in parsed:
                if event.event_id not in records_of and is_new(record, event.event_id):
                    new_events.append(event)
                    records_of[event.event_id] = record
                else:
                    duplicates.append(record)
            new_invalid = [d for d in invalid if is_new(d.record, None)]
            work = UnitOfWork(connection, self.clock)
            if new_events:
                await self.handler(work, new_events)
            rejected = [
                self._dead(records_of[event_id], reason, detail, event_id)
                for event_id, (reason, detail) in work.rejected.items()
            ]
            held_back = [
                self._dead(record, reason, detail, event_id)
                for record, event_id, reason, detail in work.held_back
            ]
            dead_letters = new_invalid + rejected
            self._check_dead_letter_ratio(len(records), len(dead_letters))
            await outbox.enqueue(
                connection,
                [*work.emitted, *(d.outgoing() for d in [*dead_letters, *held_back])],
                chunks=self.outbox_chunks,
            )
            if self.dedupe_by_offsets:
                await inbox.advance(connection, _next_offsets(records))
        self._count(records_of, work.rejected, duplicates, [*dead_letters, *held_back])
        if self._fresh_topics:
            self._note_newest(
                (records_of[e.event_id].topic, e)
                for e in new_events
                if e.event_id not in work.rejected
            )
        return BatchOutcome(
            applied=len(new_events) - len(rejected),
            duplicates=len(duplicates) + len(invalid) - len(new_invalid),
            dead_lettered=len(dead_letters),
        )

    async def _new_by_inbox(
        self,
        connection: Connection,
        parsed: Sequence[tuple[IncomingRecord, Event]],
        invalid: Sequence[DeadLetter],
    ) -> Callable[[IncomingRecord, UUID | None], bool]:
        """Claim the batch in the inbox: events by their id, unreadable records by position."""
        claims: dict[UUID, str] = {}
        for record, event in parsed:
            claims.setdefault(event.event_id, record.topic)
        for dead in invalid:
            claims.setdefault(
                inbox.position_id(dead.record.topic, dead.record.partition, dead.record.offset),
                dead.record.topic,
            )
        fresh = await inbox.claim(connection, list(claims.items()))

        def is_new(record: IncomingRecord, event_id: UUID | None) -> bool:
            if event_id is None:
                event_id = inbox.position_id(record.topic, record.partition, record.offset)
            return event_id in fresh

        return is_new

    async def _new_by_offsets(
        self, connection: Connection, records: Sequence[IncomingRecord]
    ) -> Callable[[IncomingRecord, UUID | None], bool]:
        """New: at or past its partition's next offset kept in the database.

        Records without a position (partition or offset below 0) are always new; the
        handler's state must recognise a repeated event itself.
        """
        done = await inbox.consumed_offsets(
            connection,
            sorted({(r.topic, r.partition) for r in records if r.partition >= 0}),
        )

        def is_new(record: IncomingRecord, event_id: UUID | None) -> bool:
            return record.offset >= done.get((record.topic, record.partition), 0)

        return is_new

    def _check_dead_letter_ratio(self, total: int, dead: int) -> None:
        batch = [True] * dead + [False] * (total - dead)
        window = (list(self._recent) + batch)[-self.dead_letter_window :]
        dead_in_window = sum(window)
        if len(window) >= min(100, self.dead_letter_window) and (
            dead_in_window / len(window) > self.dead_letter_max_ratio
        ):
            raise DeadLetterLimitExceeded(
                f"{dead_in_window} of the last {len(window)} records would be dead-lettered "
                f"(limit {self.dead_letter_max_ratio:.0%}); stopping {self.service}"
            )
        self._recent.extend(batch)

    def _count(
        self,
        records_of: dict[UUID, IncomingRecord],
        rejected: dict[UUID, tuple[str, str]],
        duplicates: Sequence[IncomingRecord],
        dead_letters: Sequence[DeadLetter],
    ) -> None:
        # counted per topic first: a labels() look-up per record was a visible cost
        applied = collections.Counter(
            record.topic for event_id, record in records_of.items() if event_id not in rejected
        )
        for topic, count in applied.items():
            metrics.EVENTS_APPLIED.labels(self.service, topic).inc(count)
        for topic, count in collections.Counter(r.topic for r in duplicates).items():
            metrics.EVENTS_DUPLICATE.labels(self.service, topic).inc(count)
        for dead in dead_letters:
            metrics.EVENTS_DEAD_LETTERED.labels(self.service, dead.record.topic, dead.reason).inc()
            log.warning(
                "dead_lettered",
                topic=dead.record.topic,
                partition=dead.record.partition,
                offset=dead.record.offset,
                reason=dead.reason,
            )


def _next_offsets(records: Sequence[IncomingRecord]) -> dict[inbox.Partition, int]:
    """Each partition's offset after the batch's last record of it."""
    next_offsets: dict[inbox.Partition, int] = {}
    for record in records:
        if record.partition >= 0 and record.offset >= 0:
            key = (record.topic, record.partition)
            if record.offset >= next_offsets.get(key, 0):
                next_offsets[key] = record.offset + 1
    return next_offsets


def record_lag(service: str, consumer: Any, records: Sequence[IncomingRecord]) -> None:
    """Set the lag gauge of each partition in the batch from the consumer's high watermark."""
    last: dict[tuple[str, int], int] = {}
    for record in records:
        last[(record.topic, record.partition)] = record.offset
    try:
        from aiokafka import TopicPartition

        for (topic, partition), offset in last.items():
            highwater = consumer.highwater(TopicPartition(topic, partition))
            if highwater is not None:
                metrics.CONSUMER_LAG.labels(service, topic, str(partition)).set(
                    max(0, highwater - offset - 1)
                )
    except (AttributeError, TypeError, AssertionError):
        return  # the in-memory test broker has no high watermarks
