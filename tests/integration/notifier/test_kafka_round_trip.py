"""Through real Kafka: reminders and ledger facts in, one email out, delivery events published."""

from __future__ import annotations

import dataclasses

import asyncpg
import pytest

from contracts.topics import DUNNING_ACTIONS, LEDGER_EVENTS, NOTIFIER_DELIVERIES, Topic
from services.notifier.channels.email.adapter import EmailAdapter
from services.notifier.channels.email.smtp import SmtpChannel
from services.notifier.composing.composer import EmailComposer
from services.notifier.dispatcher import Dispatcher
from services.notifier.handler import handle
from services.notifier.settings import NotifierSettings, SmtpSettings
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import BatchProcessor
from services.runtime.dead_letter import IncomingRecord
from services.runtime.outbox import KafkaRecordSender, OutboxRelay
from services.runtime.settings import KafkaSettings
from tests.integration.notifier.harness import Mailbox
from tests.kafka_tools import consume, create_topics, produce, unique
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration


def _fresh(topic: Topic) -> Topic:
    return dataclasses.replace(topic, name=unique(topic.name))


async def test_replayed_reminders_and_a_payment_give_one_email_and_two_events(
    pool: asyncpg.Pool, mailbox: tuple[Mailbox, int], kafka_bootstrap: str
) -> None:
    box, port = mailbox
    dunning, ledger, deliveries = (
        _fresh(DUNNING_ACTIONS),
        _fresh(LEDGER_EVENTS),
        _fresh(NOTIFIER_DELIVERIES),
    )
    await create_topics(kafka_bootstrap, [dunning.name, ledger.name, deliveries.name])
    to_send = samples.reminder("INV-1")
    paid_since = samples.reminder("INV-2")
    first = samples.reminder_due(to_send)
    decided_again = samples.reminder_due(to_send)  # same reminder id, new event id
    await produce(
        kafka_bootstrap,
        ledger.name,
        [
            (ledger.key(e), ledger.value(e))
            for e in (samples.customer_upserted(), samples.invoice_settled("INV-2"))
        ],
    )
    await produce(
        kafka_bootstrap,
        dunning.name,
        [
            (dunning.key(e), dunning.value(e))
            for e in (first, first, decided_again, samples.reminder_due(paid_since))
        ],
    )

    clock = SimulatedClock(samples.NOW)
    processor = BatchProcessor("notifier", [dunning, ledger], handle, pool, clock)
    for topic, expected in ((ledger, 2), (dunning, 4)):
        records = await consume(kafka_bootstrap, topic.name, expected=expected)
        outcome = await processor.process([IncomingRecord.of(r) for r in records])
        assert outcome.dead_lettered == 0
    settings = NotifierSettings(smtp=SmtpSettings(host="127.0.0.1", port=port, security="none"))
    composer = EmailComposer.load(settings)
    adapters = {"email": EmailAdapter(composer, SmtpChannel(settings))}
    dispatcher = Dispatcher(pool, clock, settings, adapters, composer, topic=deliveries)
    assert await dispatcher.dispatch_all() == 2
    assert len(box.received) == 1

    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    sender = KafkaRecordSender(kafka.client_options(), "notifier-test")
    await sender.start()
    try:
        async with pool.acquire() as connection:
            assert await OutboxRelay("notifier", pool, sender).relay_once(connection) == 2
    finally:
        await sender.stop()
    published = [
        deliveries.parse(r.value) for r in await consume(kafka_bootstrap, deliveries.name, 2)
    ]
    by_type = {e.event_type: e for e in published}
    assert sorted(by_type) == ["delivery.sent", "delivery.suppressed"]
    assert by_type["delivery.sent"].payload.reminder_id == to_send.reminder_id
    assert by_type["delivery.suppressed"].payload.reminder_id == paid_since.reminder_id
