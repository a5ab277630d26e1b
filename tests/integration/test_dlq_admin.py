"""``relance dlq`` on a real Kafka: a record dead-lettered by the runtime kit, then listed,
shown and replayed to its topic with the operator's name."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import asyncpg
import pytest

from contracts.envelope import Event
from contracts.topics import ERP_INVOICES, Topic
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import BatchProcessor, UnitOfWork
from services.runtime.database import create_pool
from services.runtime.dead_letter import IncomingRecord
from services.runtime.dlq_admin import (
    REPLAYED_BY,
    REPLAYED_FROM,
    DeadLetterRecord,
    count,
    read_dead_letters,
    replay,
)
from services.runtime.errors import DlqError
from services.runtime.outbox import KafkaRecordSender, OutboxRelay, OutgoingRecord
from services.runtime.settings import DatabaseSettings, KafkaSettings
from tests.integration.test_runtime_kit import invoice_event
from tests.kafka_tools import consume, create_topics, unique

pytestmark = pytest.mark.integration

SCHEMA = "dlq_test"
CLOCK = SimulatedClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    await migrations.apply_async(database_url, SCHEMA, None)
    pool = await create_pool(DatabaseSettings(url=database_url), SCHEMA)
    yield pool
    await pool.close()


async def apply_nothing(work: UnitOfWork, events: Sequence[Event]) -> None:
    assert not events, "the only record is invalid"


async def test_dead_letter_is_listed_shown_and_replayed_with_the_operators_name(
    pool: asyncpg.Pool, kafka_bootstrap: str
) -> None:
    topic: Topic = dataclasses.replace(ERP_INVOICES, name=unique(ERP_INVOICES.name))
    await create_topics(kafka_bootstrap, [topic.name, topic.dead_letter], partitions=1)
    options = KafkaSettings(bootstrap_servers=kafka_bootstrap).client_options()

    # An ERP sends an invoice in a currency that is no ISO 4217 code.
    event = invoice_event(7)
    bad_value = topic.value(event).replace(b'"EUR"', b'"EURO"')
    key = topic.key(event)
    producer_headers = [
        ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-01"),
        ("bin", b"\xff\x00"),
    ]
    sender = KafkaRecordSender(options, "dlq-test")
    await sender.start()
    try:
        await sender.send_all([OutgoingRecord(topic.name, key, bad_value, tuple(producer_headers))])
        (original,) = await consume(kafka_bootstrap, topic.name, expected=1)

        # The runtime kit dead-letters it, and its relay publishes the dead letter.
        processor = BatchProcessor("ingestion", [topic], apply_nothing, pool, CLOCK)
        outcome = await processor.process([IncomingRecord.of(original)])
        assert outcome.dead_lettered == 1
        relay = OutboxRelay("ingestion", pool, sender, poll_interval_s=0.2)
        async with pool.acquire() as connection:
            assert await relay.relay_once(connection) == 1
    finally:
        await sender.stop()

    # list: counted by original topic and reason
    records = await read_dead_letters(options, [topic.dead_letter])
    assert count(records) == {(topic.name, "unknown_currency"): 1}
    (dead,) = records

    # show: the exact original bytes and every header
    (shown,) = await read_dead_letters(
        options, [topic.dead_letter], {(topic.dead_letter, dead.partition, dead.offset)}
    )
    view = shown.as_dict()
    assert base64.b64decode(view["value_base64"]) == bad_value
    assert view["value"] == bad_value.decode()
    assert base64.b64decode(view["key_base64"]) == key
    headers = {h["name"]: h for h in view["headers"]}
    assert headers["dlq.reason"]["value"] == "unknown_currency"
    assert headers["dlq.topic"]["value"] == topic.name
    assert headers["dlq.offset"]["value"] == str(original.offset)
    assert headers["bin"]["value"] == "\\xff\x00"  # escaped, not decoded lossily
    assert base64.b64decode(headers["bin"]["base64"]) == b"\xff\x00"
    assert view["original_topic"] == topic.name

    # replay: back to the original topic, same key and bytes, original headers + operator
    sent = await replay(options, [shown], "alice@ops", known_topics=[topic.name])
    assert [(r.position, p) for r, p, _ in sent] == [(shown.position, 0)]
    both = await consume(kafka_bootstrap, topic.name, expected=2)
    assert len(both) == 2
    replayed = both[1]
    assert replayed.offset == sent[0][2]
    assert replayed.key == key
    assert replayed.value == bad_value
    replayed_headers = dict(replayed.headers)
    assert replayed_headers[REPLAYED_BY] == b"alice@ops"
    assert replayed_headers[REPLAYED_FROM] == shown.position.encode()
    assert replayed_headers["traceparent"] == producer_headers[0][1]
    assert replayed_headers["bin"] == b"\xff\x00"
    assert not any(
        name.startswith("dlq.") and name not in (REPLAYED_BY, REPLAYED_FROM, "dlq.replayed_at")
        for name in replayed_headers
    )
    # The dead letter stays where it was, for the record.
    assert count(await read_dead_letters(options, [topic.dead_letter])) == {
        (topic.name, "unknown_currency"): 1
    }


async def test_replay_refuses_a_topic_outside_the_registry(kafka_bootstrap: str) -> None:
    forged = DeadLetterRecord(
        topic="erp.invoices.v1.dlq",
        partition=0,
        offset=0,
        timestamp_ms=0,
        key=None,
        value=b"{}",
        headers=(("dlq.topic", b"__consumer_offsets"),),
    )
    options = KafkaSettings(bootstrap_servers=kafka_bootstrap).client_options()
    with pytest.raises(DlqError, match="__consumer_offsets"):
        await replay(options, [forged], "alice")
