"""Reading a backlog in the order its records were produced, across topics and partitions.

A consumer far behind (a month-end load, a restart after an outage, a new deployment
reading its topics from the start) gets its records from aiokafka a fetch at a time: up to
``max_partition_fetch_bytes`` of each partition, whatever the partition's rate. A topic
with fewer records per second (payments against invoices) is then read ahead of the others
in time: over a million-event backlog ingestion applied payments minutes of the ERP's time
before the invoices they pay, so that they became credit, the invoices were paid from that
credit when they opened, and the ledger carried a fifth more events than the same ERP
traffic applied as it came (``docs/ingestion.md``, twelfth round).

:class:`TimeOrder` chooses the partitions a batch is taken from: those whose last record
taken is at most ``skew_ms`` of record time (the records' Kafka timestamps: the
producer's time or the broker's append time) ahead of the partition furthest behind that
still has records waiting. A partition whose records have not been seen since it was
assigned counts as furthest behind; a partition the others wait for longer than
``max_hold_s`` (of wall time) is taken anyway, so that a producer with a clock far ahead
delays its partition by seconds at most. A consumer that keeps up takes from every
partition, as before: the order applies only while at least ``backlog`` records (a batch's
worth, for the services) wait, so that a live record is never held back behind the
others (a payment on its way to suppressing a reminder: ``bench.suppression``).

Kafka Streams orders its input the same way (the record with the smallest timestamp among
the partitions' heads, ``max.task.idle.ms``); aiokafka has no such option, and the choice
is a few lines on top of ``getmany(*partitions)``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from aiokafka import TopicPartition
from aiokafka.errors import IllegalStateError

POSITION_WAIT_S = 0.1


class _Consumer(Protocol):
    def assignment(self) -> set[TopicPartition]: ...

    def highwater(self, partition: TopicPartition) -> int | None: ...

    async def position(self, partition: TopicPartition) -> int: ...


class TimeOrder:
    """Which partitions a consumer's next batch is taken from (module docstring)."""

    def __init__(
        self,
        skew_ms: int,
        max_hold_s: float = 5.0,
        backlog: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.skew_ms = skew_ms
        self.max_hold_s = max_hold_s
        self.backlog = backlog
        self._clock = clock
        # the timestamp of the last record taken from each partition
        self._last: dict[TopicPartition, int] = {}
        # since when each partition held back has been waiting
        self._held_since: dict[TopicPartition, float] = {}
        self._restricted = False

    async def partitions(self, consumer: _Consumer) -> Sequence[TopicPartition]:
        """The partitions to take the next batch from; empty for all of them."""
        if self._restricted:
            # the last batch was taken from some partitions only and none of them had a
            # record: take from all this once (a position aiokafka has not resolved yet,
            # a high watermark out of date) rather than wait on them again
            self._restricted = False
            self._held_since.clear()
            return ()
        assigned = consumer.assignment()
        for gone in self._last.keys() - assigned:
            del self._last[gone]
        waiting: list[TopicPartition] = []
        behind = 0
        try:
            # aiokafka waits for a position being reset (up to its request timeout): never
            # hold a batch for it, take from every partition instead (one deadline for all:
            # a valid position is returned at once)
            async with asyncio.timeout(POSITION_WAIT_S):
                for partition in assigned:
                    highwater = consumer.highwater(partition)
                    if highwater is None:
                        continue  # never fetched: nothing known of it yet
                    position = await consumer.position(partition)
                    if position < highwater:
                        waiting.append(partition)
                        behind += highwater - position
        except (IllegalStateError, TimeoutError):  # unassigned meanwhile, or no position
            return ()
        if behind < self.backlog:
            self._held_since.clear()
            return ()
        unseen = [p for p in waiting if p not in self._last]
        floor = None if unseen else min(self._last[p] for p in waiting)
        now = self._clock()
        chosen: list[TopicPartition] = []
        held: dict[TopicPartition, float] = {}
        for partition in assigned:
            last = self._last.get(partition)
            # not seen yet (first while any waiting one is unseen), or within the skew
            if last is None or (floor is not None and last <= floor + self.skew_ms):
                chosen.append(partition)
                continue
            since = self._held_since.get(partition, now)
            if now - since >= self.max_hold_s:
                chosen.append(partition)
            else:
                held[partition] = since
        self._held_since = held
        if not held:
            return ()
        self._restricted = True
        return chosen

    def taken(self, batch: Mapping[TopicPartition, Sequence[Any]]) -> None:
        """Note the records a batch took (aiokafka's ``getmany`` result)."""
        if any(batch.values()):
            self._restricted = False
        for partition, records in batch.items():
            if records:
                timestamp = records[-1].timestamp
                if timestamp is not None:
                    self._last[partition] = timestamp
