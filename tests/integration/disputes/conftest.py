from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import asyncpg
import pytest

from services.disputes.app import DEFINITION as DISPUTES
from services.disputes.settings import DisputesSettings
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.database import create_pool
from services.runtime.settings import DatabaseSettings
from services.scheduler.app import DEFINITION as SCHEDULER
from tests.integration.disputes.harness import Disputes, Timeline, morning
from tests.integration.scheduler.fixtures import Scheduler


@pytest.fixture
async def disputes_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    await migrations.apply_async(database_url, DISPUTES.schema, DISPUTES.migrations)
    pool = await create_pool(DatabaseSettings(url=database_url), DISPUTES.schema)
    yield pool
    await pool.close()


@pytest.fixture
async def scheduler_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    await migrations.apply_async(database_url, SCHEDULER.schema, SCHEDULER.migrations)
    pool = await create_pool(DatabaseSettings(url=database_url), SCHEDULER.schema)
    yield pool
    await pool.close()


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(morning(date(2026, 11, 15)))


@pytest.fixture
def disputes(disputes_pool: asyncpg.Pool, clock: SimulatedClock) -> Disputes:
    return Disputes(disputes_pool, clock, DisputesSettings(promise_grace_days=1))


@pytest.fixture
def timeline(disputes: Disputes, scheduler_pool: asyncpg.Pool, clock: SimulatedClock) -> Timeline:
    return Timeline(disputes, Scheduler.of(scheduler_pool, clock), clock)


@pytest.fixture
def database_schemas() -> tuple[str, ...]:
    """The disputes' and the scheduler's schemas, migrated, in each test's fresh database."""
    return ("disputes", "scheduler")
