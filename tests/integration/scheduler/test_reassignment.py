"""A customer whose profile changes moves their invoices under way to the new scenario."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from contracts.erp import Segment
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.database import create_pool
from services.runtime.settings import DatabaseSettings
from tests.integration.scheduler.fixtures import SCHEMA, Scheduler, customer, opened

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "scheduler" / "migrations"
DUE = date(2026, 12, 1)  # a Tuesday
START = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    await migrations.apply_async(database_url, SCHEMA, MIGRATIONS)
    pool = await create_pool(DatabaseSettings(url=database_url), SCHEMA)
    yield pool
    await pool.close()


async def until_level_1(scheduler: Scheduler) -> None:
    for offset in range(40):
        scheduler.clock.set(START + timedelta(days=offset))
        await scheduler.ticker.run_until_idle()
        if any(r.level == "level_1" for r in await scheduler.reminders()):
            return
    raise AssertionError("no level 1 reminder")


async def invoice_row(pool: asyncpg.Pool) -> asyncpg.Record:
    row = await pool.fetchrow("SELECT * FROM dunning_invoice WHERE invoice_id = 'FR01/F1'")
    assert row is not None
    return row


async def test_a_customer_turned_bad_payer_continues_firmer_in_the_new_scenario(
    pool: asyncpg.Pool,
) -> None:
    scheduler = Scheduler.of(pool, SimulatedClock(START))
    await scheduler.feed([customer("C1"), opened("C1", "F1", DUE)])
    await until_level_1(scheduler)
    assert (await invoice_row(pool))["scenario_id"] == "negligent"

    await scheduler.feed([customer("C1", Segment(payer_profile="bad_payer"), version=2)])
    row = await invoice_row(pool)
    assert row["scenario_id"] == "bad_payer"
    assert row["next_step"] == "registered"  # bad_payer's first step firmer than level 1
    assert row["next_action_at"] is not None
    for _ in range(1, 30):
        scheduler.clock.set(scheduler.clock.now() + timedelta(days=1))
        await scheduler.ticker.run_until_idle()
    levels = [(r.scenario_id, r.level) for r in await scheduler.reminders()]
    after_move = levels[levels.index(("negligent", "level_1")) + 1 :]
    assert after_move[0] == ("bad_payer", "level_2")
    assert all(scenario == "bad_payer" for scenario, _ in after_move)


async def test_a_customer_turned_good_payer_is_no_longer_reminded(pool: asyncpg.Pool) -> None:
    scheduler = Scheduler.of(pool, SimulatedClock(START))
    await scheduler.feed([customer("C1"), opened("C1", "F1", DUE)])
    await until_level_1(scheduler)
    sent = len(await scheduler.reminders())
    await scheduler.feed([customer("C1", Segment(payer_profile="good_payer"), version=2)])
    row = await invoice_row(pool)
    assert (row["scenario_id"], row["status"], row["next_action_at"]) == (None, "unassigned", None)
    for _ in range(30):
        scheduler.clock.set(scheduler.clock.now() + timedelta(days=1))
        await scheduler.ticker.run_until_idle()
    assert len(await scheduler.reminders()) == sent
