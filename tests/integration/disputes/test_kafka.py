"""Through real Kafka: commands and call outcomes in, events out to the scheduler, bad ones
dead-lettered with their reason."""

from __future__ import annotations

import base64
import dataclasses
import uuid
from datetime import UTC, date, datetime

import asyncpg
import pytest

from contracts import notifications
from contracts.disputes import PromiseMade
from contracts.topics import (
    DISPUTE_COMMANDS,
    DISPUTE_EVENTS,
    LEDGER_EVENTS,
    NOTIFIER_DELIVERIES,
    Topic,
)
from services.disputes.app import DEFINITION
from services.disputes.handler import from_call_id
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import BatchProcessor
from services.runtime.dead_letter import IncomingRecord
from services.runtime.outbox import KafkaRecordSender, OutboxRelay
from services.runtime.settings import KafkaSettings
from services.scheduler.app import DEFINITION as SCHEDULER
from tests.integration.disputes.harness import Disputes, eur, open_dispute
from tests.integration.scheduler.fixtures import Scheduler, customer, opened
from tests.kafka_tools import consume, create_topics, produce, unique

pytestmark = pytest.mark.integration

DUE = date(2026, 12, 1)


def _fresh(topic: Topic) -> Topic:
    return dataclasses.replace(topic, name=unique(topic.name))


def test_the_definition_consumes_commands_the_ledger_and_call_outcomes() -> None:
    assert DEFINITION.schema == "disputes"
    assert DEFINITION.consumes == (DISPUTE_COMMANDS, LEDGER_EVENTS, NOTIFIER_DELIVERIES)
    assert DEFINITION.migrations is not None
    assert sorted(p.name for p in DEFINITION.migrations.glob("*.sql")) == [
        "0001_disputes.sql",
        "0002_announced_payments_callbacks_attachments.sql",
        "0004_plan_proposals.sql",
        "0005_callbacks_closed.sql",
    ]


async def test_migrations_give_the_declared_tables(disputes_pool: asyncpg.Pool) -> None:
    tables = await disputes_pool.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'disputes'"
    )
    assert {r["table_name"] for r in tables} >= {
        "customer",
        "invoice",
        "payment",
        "dispute",
        "dispute_transition",
        "promise",
        "payment_plan",
        "plan_proposal",
        "customer_promise_record",
        "inbox",
        "outbox",
    }


async def test_commands_and_a_call_outcome_through_kafka_pause_the_scheduler(
    disputes: Disputes, scheduler_pool: asyncpg.Pool, clock: SimulatedClock, kafka_bootstrap: str
) -> None:
    commands, ledger, deliveries, events = (
        _fresh(DISPUTE_COMMANDS),
        _fresh(LEDGER_EVENTS),
        _fresh(NOTIFIER_DELIVERIES),
        _fresh(DISPUTE_EVENTS),
    )
    await create_topics(kafka_bootstrap, [commands.name, ledger.name, deliveries.name, events.name])
    facts = [customer("C1"), opened("C1", "F1", DUE), opened("C1", "F2", DUE)]
    await produce(kafka_bootstrap, ledger.name, [(ledger.key(e), ledger.value(e)) for e in facts])
    dispute_id, good = open_dispute("C1", ["F1"], category="delivery")
    _, settled_already = open_dispute("C1", ["F3"])
    await produce(
        kafka_bootstrap,
        commands.name,
        [
            (commands.key(good), commands.value(good)),
            (commands.key(settled_already), commands.value(settled_already)),
            (b"C1", b'{"event_type": "dispute.open", "payload": {}}'),
        ],
    )
    task_id = uuid.uuid4()
    call = notifications.CallTaskClosed(
        event_id=uuid.uuid4(),
        occurred_at=datetime(2026, 11, 15, 10, tzinfo=UTC),
        source="notifier",
        payload=notifications.ClosedCallTask(
            task_id=task_id,
            reminder_id=uuid.uuid4(),
            customer_id="C1",
            invoice_ids=("FR01/F2",),
            outcome="promise_to_pay",
            promised_date=date(2026, 11, 27),
            promised_amount=eur("1200.00"),
            closed_by="anna@creditor.example",
        ),
    )
    await produce(
        kafka_bootstrap, deliveries.name, [(deliveries.key(call), deliveries.value(call))]
    )

    processor = BatchProcessor(
        "disputes", [commands, ledger, deliveries], disputes.handler.handle, disputes.pool, clock
    )
    for topic, expected in ((ledger, 3), (commands, 3), (deliveries, 1)):
        records = await consume(kafka_bootstrap, topic.name, expected=expected)
        await processor.process([IncomingRecord.of(r) for r in records])

    dead = await disputes.pool.fetch(
        "SELECT headers::jsonb AS headers FROM outbox WHERE topic = $1 ORDER BY id",
        commands.dead_letter,
    )
    reasons = sorted(base64.b64decode(dict(row["headers"])["dlq.reason"]).decode() for row in dead)
    assert reasons == ["schema_invalid", "unknown_invoice"]

    published = await disputes.events()
    assert [e.event_type for e in published] == ["dispute.opened", "promise.made"]
    made = published[1]
    assert isinstance(made, PromiseMade)
    assert made.payload.promise_id == from_call_id(task_id, "promise")
    assert (made.payload.channel, made.payload.recorded_by) == (
        "phone_call",
        "anna@creditor.example",
    )

    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    sender = KafkaRecordSender(kafka.client_options(), "disputes-test")
    await sender.start()
    try:
        async with disputes.pool.acquire() as connection:
            await connection.execute(
                "UPDATE outbox SET topic = $1 WHERE topic = $2", events.name, DISPUTE_EVENTS.name
            )
            assert await OutboxRelay("disputes", disputes.pool, sender).relay_once(connection) == 4
    finally:
        await sender.stop()

    scheduler = Scheduler.of(scheduler_pool, clock)
    await scheduler.feed(facts)
    to_scheduler = BatchProcessor(
        SCHEDULER.name, [events], scheduler.tracker.handle, scheduler_pool, clock
    )
    records = await consume(kafka_bootstrap, events.name, expected=2)
    await to_scheduler.process([IncomingRecord.of(r) for r in records])
    paused = await scheduler_pool.fetch(
        "SELECT invoice_id, pause_reason FROM dunning_invoice ORDER BY invoice_id"
    )
    assert [(r["invoice_id"], r["pause_reason"]) for r in paused] == [
        ("FR01/F1", "dispute"),
        ("FR01/F2", "promise_to_pay"),
    ]
    assert dispute_id == published[0].payload.dispute_id
