"""Each reminder carries the customer's full open statement: totals per currency."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.database import create_pool
from services.runtime.settings import DatabaseSettings
from tests.integration.scheduler.fixtures import SCHEMA, Scheduler, customer, opened, settled

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "scheduler" / "migrations"
START = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    await migrations.apply_async(database_url, SCHEMA, MIGRATIONS)
    pool = await create_pool(DatabaseSettings(url=database_url), SCHEMA)
    yield pool
    await pool.close()


async def test_the_reminder_states_every_open_invoice_in_its_totals(pool: asyncpg.Pool) -> None:
    scheduler = Scheduler.of(pool, SimulatedClock(START))
    await scheduler.feed(
        [
            customer("C1"),
            opened("C1", "F1", date(2026, 12, 1), "1200.00"),
            opened("C1", "F2", date(2027, 2, 1), "300.50"),  # not due for a while
            opened("C1", "F3", date(2026, 12, 1), "99.50"),
            settled("C1", "F3", date(2026, 12, 1), "99.50"),
        ]
    )
    for offset in range(20):
        scheduler.clock.set(START + timedelta(days=offset))
        await scheduler.ticker.run_until_idle()
        if await scheduler.reminders():
            break
    first = (await scheduler.reminders())[0]
    assert [i.invoice_number for i in first.invoices] == ["F1"]
    assert first.statement is not None
    assert first.statement.open_invoices == 2  # F1 and F2; F3 is settled
    assert [(t.currency, t.amount) for t in first.statement.totals] == [("EUR", Decimal("1500.50"))]
