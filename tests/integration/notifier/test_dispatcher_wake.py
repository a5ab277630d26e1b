"""An idle dispatcher claims a new delivery when the consumer commits it (the NOTIFY of
``RECORD_DELIVERY``), not when its interval is up; the interval still finds the rest."""

from __future__ import annotations

import asyncio
import dataclasses

import asyncpg
import pytest

from contracts.topics import NOTIFIER_DELIVERIES
from services.notifier.channels.email.adapter import EmailAdapter
from services.notifier.channels.email.smtp import SmtpChannel
from services.notifier.composing.composer import SAMPLE_RATES, EmailComposer
from services.notifier.dispatcher import Dispatcher
from services.notifier.reference_rates import RateBook
from services.notifier.settings import NotifierSettings, SmtpSettings
from services.runtime.clock import SimulatedClock
from tests.integration.notifier.harness import Mailbox, Notifier
from tests.kafka_tools import eventually, unique
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration

INTERVAL_S = 60.0  # far longer than the test waits: only the wake can send in time


def _notifier(pool: asyncpg.Pool, port: int) -> Notifier:
    settings = NotifierSettings(
        smtp=SmtpSettings(host="127.0.0.1", port=port, security="none", timeout_s=5),
        dispatch_interval_s=INTERVAL_S,
    )
    clock = SimulatedClock(samples.NOW)
    topic = dataclasses.replace(NOTIFIER_DELIVERIES, name=unique(NOTIFIER_DELIVERIES.name))
    adapter = EmailAdapter(
        EmailComposer.load(settings, RateBook(SAMPLE_RATES)), SmtpChannel(settings)
    )
    dispatcher = Dispatcher(
        pool, clock, settings, {"email": adapter}, adapter.composer, topic=topic
    )
    return Notifier(pool, clock, dispatcher, topic.name)


async def _received(box: Mailbox, count: int, within_s: float = 15.0) -> None:
    async def arrived() -> bool:
        return len(box.received) >= count

    await eventually(arrived, timeout_s=within_s, interval_s=0.05)
    assert len(box.received) == count


async def _listening(pool: asyncpg.Pool) -> None:
    """Until the dispatcher's connection is listening (pg_stat_activity shows its LISTEN)."""

    async def listening() -> int:
        return int(
            await pool.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND query LIKE 'LISTEN %relance_deliveries_%'"
            )
        )

    await eventually(listening, timeout_s=10, interval_s=0.05)


async def test_an_idle_dispatcher_sends_a_new_reminder_at_once(
    pool: asyncpg.Pool, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    notifier = _notifier(pool, port)
    await notifier.consume(samples.customer_upserted())
    stop = asyncio.Event()
    running = asyncio.create_task(notifier.dispatcher.run(stop))
    try:
        await _listening(pool)
        await asyncio.sleep(0.3)  # every lane has claimed nothing and sleeps its 60 s
        assert box.received == []

        first = samples.reminder("INV-1")
        await notifier.consume(samples.reminder_due(first))  # committed: NOTIFY
        await _received(box, 1)
        assert (await notifier.delivery(first.reminder_id))["status"] == "sent"

        # the same reminder again records nothing, and a second one wakes the lanes again
        await notifier.consume(samples.reminder_due(first))
        second = samples.reminder("INV-2")
        await notifier.consume(samples.reminder_due(second))
        await _received(box, 2)
        assert (await notifier.delivery(second.reminder_id))["status"] == "sent"
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=15)


async def test_a_delivery_recorded_before_the_dispatcher_starts_is_sent_at_start(
    pool: asyncpg.Pool, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    notifier = _notifier(pool, port)
    due = samples.reminder("INV-1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    stop = asyncio.Event()
    running = asyncio.create_task(notifier.dispatcher.run(stop))
    try:
        await _received(box, 1)
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=15)
