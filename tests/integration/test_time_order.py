"""A backlog read in time order across topics, from a real broker (services.runtime.time_order).

Two topics hold the same stretch of producer time: one a record a second (3,000 records,
"invoices"), the other a record every six seconds (500, "payments"). Read with small fetches
as aiokafka hands them over, each partition advances by the same number of records per
fetch, so that the sparse topic runs far ahead of the dense one in time; read with
:class:`TimeOrder`, neither gets further ahead of the other than the skew and what a batch
takes of a partition.
"""

from __future__ import annotations

import time

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from services.runtime.time_order import TimeOrder
from tests.kafka_tools import create_topics, unique

pytestmark = pytest.mark.integration

SKEW_MS = 10_000
BASE_MS = int(time.time() * 1000) - 10_000_000


async def fill(bootstrap: str, dense: str, sparse: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [
            await producer.send(dense, value=b"i" * 80, timestamp_ms=BASE_MS + n * 1_000)
            for n in range(3_000)
        ]
        futures += [
            await producer.send(sparse, value=b"p" * 80, timestamp_ms=BASE_MS + n * 6_000)
            for n in range(500)
        ]
        for future in futures:
            await future
    finally:
        await producer.stop()


async def read_all(
    bootstrap: str, topics: tuple[str, str], order: TimeOrder | None
) -> tuple[int, int, dict[str, list[int]]]:
    """The largest lead in producer time of one topic over the other while both still had
    records to read, counted once both were started and counted from the start (a topic
    none of whose records was read yet standing at its first, ``BASE_MS``: the first
    fetches may bring one topic alone, as far as the whole of it), and each topic's
    timestamps in the order read."""
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=unique("time-order"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4_096,  # ~180 records a fetch, as 1 MiB is ~2,200 events
    )
    await consumer.start()
    read: dict[str, list[int]] = {t: [] for t in topics}
    lead = lead_from_start = 0
    try:
        deadline = time.monotonic() + 60
        while sum(map(len, read.values())) < 3_500 and time.monotonic() < deadline:
            partitions = () if order is None else await order.partitions(consumer)
            batch = await consumer.getmany(*partitions, timeout_ms=1_000, max_records=50)
            if order is not None:
                order.taken(batch)
            for partition, records in batch.items():
                read[partition.topic] += [r.timestamp for r in records]
            dense, sparse = (read[t] for t in topics)
            if len(dense) < 3_000 and len(sparse) < 500:
                dense_at = dense[-1] if dense else BASE_MS
                sparse_at = sparse[-1] if sparse else BASE_MS
                lead_from_start = max(lead_from_start, abs(dense_at - sparse_at))
                if dense and sparse:
                    lead = max(lead, abs(dense_at - sparse_at))
    finally:
        await consumer.stop()
    return lead, lead_from_start, read


async def test_a_backlog_is_read_in_the_order_it_was_produced(kafka_bootstrap: str) -> None:
    dense, sparse = unique("invoices"), unique("payments")
    await create_topics(kafka_bootstrap, [dense, sparse], partitions=1)
    await fill(kafka_bootstrap, dense, sparse)

    _, as_fetched, read = await read_all(kafka_bootstrap, (dense, sparse), None)
    assert len(read[dense]) == 3_000
    assert len(read[sparse]) == 500
    # one topic runs far ahead of the other: most often the sparse one, the whole of it
    # read while the dense one is a few hundred records in (or not started yet)
    assert as_fetched > 1_000_000

    in_order, from_start, read = await read_all(
        kafka_bootstrap, (dense, sparse), TimeOrder(SKEW_MS)
    )
    assert read[dense] == [BASE_MS + n * 1_000 for n in range(3_000)]  # all, in order
    assert read[sparse] == [BASE_MS + n * 6_000 for n in range(500)]
    # ahead by the skew and what one batch of the sparse topic spans (50 records, 300 s),
    # never by the whole backlog
    assert from_start < SKEW_MS + 50 * 6_000 + 50 * 1_000
    assert in_order < as_fetched / 4


async def test_partitions_of_one_topic_are_kept_in_step_too(kafka_bootstrap: str) -> None:
    topic = unique("customers")
    await create_topics(kafka_bootstrap, [topic], partitions=2)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [
            await producer.send(
                topic, value=b"c" * 80, partition=0, timestamp_ms=BASE_MS + n * 1_000
            )
            for n in range(2_000)
        ] + [
            await producer.send(
                topic, value=b"c" * 80, partition=1, timestamp_ms=BASE_MS + n * 10_000
            )
            for n in range(200)
        ]
        for future in futures:
            await future
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=unique("time-order"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4_096,
    )
    order = TimeOrder(SKEW_MS)
    await consumer.start()
    last: dict[int, int] = {}
    counts = {0: 0, 1: 0}
    lead = 0
    try:
        deadline = time.monotonic() + 60
        while sum(counts.values()) < 2_200 and time.monotonic() < deadline:
            batch = await consumer.getmany(
                *await order.partitions(consumer), timeout_ms=1_000, max_records=50
            )
            order.taken(batch)
            for partition, records in batch.items():
                assert isinstance(partition, TopicPartition)
                counts[partition.partition] += len(records)
                if records:
                    last[partition.partition] = records[-1].timestamp
            if len(last) == 2 and counts[0] < 2_000 and counts[1] < 200:
                lead = max(lead, abs(last[0] - last[1]))
    finally:
        await consumer.stop()
    assert counts == {0: 2_000, 1: 200}
    assert lead < SKEW_MS + 50 * 10_000 + 50 * 1_000  # what a batch of each spans
