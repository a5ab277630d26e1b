"""The scheduler's wiring: its definition, and its tick loop as the runtime runs it."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest

from contracts.topics import DISPUTE_EVENTS, LEDGER_EVENTS, NOTIFIER_DELIVERIES
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.database import create_pool
from services.runtime.outbox import KafkaRecordSender
from services.runtime.service import ServiceContext
from services.runtime.settings import DatabaseSettings
from services.scheduler.app import DEFINITION
from services.scheduler.cli import set_suspended
from services.scheduler.settings import SchedulerSettings
from tests.integration.scheduler.fixtures import Scheduler, customer, opened
from tests.kafka_tools import eventually

pytestmark = pytest.mark.integration


def test_the_definition_consumes_the_ledger_and_the_disputes() -> None:
    assert DEFINITION.schema == "scheduler"
    assert DEFINITION.consumes == (LEDGER_EVENTS, DISPUTE_EVENTS, NOTIFIER_DELIVERIES)
    assert DEFINITION.migrations is not None
    assert sorted(p.name for p in DEFINITION.migrations.glob("*.sql")) == [
        "0001_dunning_state.sql",
        "0003_campaigns.sql",
        "0004_sent_reminders.sql",
    ]


async def test_the_tick_loop_emits_what_is_due_and_stops(database_url: str) -> None:
    await migrations.apply_async(database_url, DEFINITION.schema, DEFINITION.migrations)
    pool = await create_pool(DatabaseSettings(url=database_url), DEFINITION.schema)
    try:
        clock = SimulatedClock(datetime(2026, 11, 26, 9, 30, tzinfo=UTC))
        settings = SchedulerSettings(tick_interval_s=0.01)
        parts = await DEFINITION.build(
            ServiceContext(
                "scheduler", settings, pool, clock, KafkaRecordSender.__new__(KafkaRecordSender)
            )
        )
        assert parts.handler is not None
        scheduler = Scheduler.of(pool, clock)
        await scheduler.feed([customer("C1"), opened("C1", "F1", date(2026, 12, 1))])

        stop = asyncio.Event()
        loop = asyncio.create_task(parts.loops["tick"](stop))
        (reminder,) = await eventually(scheduler.reminders, interval_s=0.01)
        stop.set()
        await asyncio.wait_for(loop, 5)

        assert reminder.step_name == "courtesy"
    finally:
        await pool.close()


async def test_suspend_and_resume_flip_the_global_suspension(database_url: str) -> None:
    await migrations.apply_async(database_url, DEFINITION.schema, DEFINITION.migrations)
    pool = await create_pool(DatabaseSettings(url=database_url), DEFINITION.schema)
    try:
        await set_suspended(database_url, True)
        assert await pool.fetchval("SELECT suspended FROM global_suspension") is True
        await set_suspended(database_url, False)
        assert await pool.fetchval("SELECT suspended FROM global_suspension") is False
    finally:
        await pool.close()
