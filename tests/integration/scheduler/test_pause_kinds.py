"""Each kind of pause is lifted by its own events, and resumes its own way."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest

from contracts import disputes
from contracts.envelope import Event
from contracts.money import Money, PositiveMoney
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.database import create_pool
from services.runtime.settings import DatabaseSettings
from services.scheduler.app import DEFINITION
from tests.integration.scheduler.fixtures import (
    AT,
    Scheduler,
    customer,
    deliver_formal_notices,
    dispute_opened,
    dispute_resolved,
    opened,
)

pytestmark = pytest.mark.integration

DUE = date(2026, 12, 1)  # a Tuesday


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    await migrations.apply_async(database_url, DEFINITION.schema, DEFINITION.migrations)
    pool = await create_pool(DatabaseSettings(url=database_url), DEFINITION.schema)
    yield pool
    await pool.close()


def morning(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 30, tzinfo=UTC)


async def walk(scheduler: Scheduler, first: date, days: int) -> None:
    """Tick every morning; formal notices are reported delivered when sent."""
    served: set[uuid.UUID] = set()
    for offset in range(days):
        scheduler.clock.set(morning(first + timedelta(days=offset)))
        await scheduler.ticker.run_until_idle()
        await deliver_formal_notices(scheduler, served)


def promise_made(promise_id: uuid.UUID) -> Event:
    return disputes.PromiseMade(
        event_id=uuid.uuid4(),
        occurred_at=AT,
        source="disputes",
        payload=disputes.Promise(
            promise_id=promise_id,
            customer_id="C1",
            invoice_ids=("FR01/F1",),
            promised_date=date(2026, 12, 10),
            amount=PositiveMoney(amount=Decimal(100), currency="EUR"),
            channel="email",
            recorded_by="anna",
        ),
    )


def promise_broken(promise_id: uuid.UUID) -> Event:
    return disputes.PromiseBroken(
        event_id=uuid.uuid4(),
        occurred_at=AT,
        source="disputes",
        payload=disputes.BrokenPromise(
            promise_id=promise_id,
            customer_id="C1",
            invoice_ids=("FR01/F1",),
            promised_date=date(2026, 12, 10),
            amount=PositiveMoney(amount=Decimal(100), currency="EUR"),
            received=Money(amount=Decimal(0), currency="EUR"),
        ),
    )


async def pause_of(pool: asyncpg.Pool) -> str | None:
    reason: str | None = await pool.fetchval("SELECT pause_reason FROM dunning_invoice")
    return reason


async def test_a_broken_promise_does_not_lift_a_dispute(pool: asyncpg.Pool) -> None:
    scheduler = Scheduler.of(pool, SimulatedClock(morning(date(2026, 12, 7))))
    promise_id, dispute_id = uuid.uuid4(), uuid.uuid4()
    await scheduler.feed([customer("C1"), opened("C1", "F1", DUE), promise_made(promise_id)])
    await scheduler.feed([dispute_opened("C1", "F1", dispute_id)])
    await scheduler.feed([promise_broken(promise_id)])
    assert await pause_of(pool) == "dispute"
    await walk(scheduler, date(2026, 12, 8), 10)
    assert await scheduler.reminders() == []

    await scheduler.feed([dispute_resolved("C1", "F1", dispute_id)])
    assert await pause_of(pool) is None


async def test_a_rejected_dispute_does_not_lift_a_promise_still_running(
    pool: asyncpg.Pool,
) -> None:
    scheduler = Scheduler.of(pool, SimulatedClock(morning(date(2026, 12, 7))))
    promise_id, dispute_id = uuid.uuid4(), uuid.uuid4()
    await scheduler.feed([customer("C1"), opened("C1", "F1", DUE), promise_made(promise_id)])
    await scheduler.feed([dispute_opened("C1", "F1", dispute_id)])
    assert await pause_of(pool) == "dispute,promise_to_pay"
    await scheduler.feed([dispute_resolved("C1", "F1", dispute_id)])
    assert await pause_of(pool) == "promise_to_pay"  # the promise still holds it
    await walk(scheduler, date(2026, 12, 8), 5)
    assert await scheduler.reminders() == []
    await scheduler.feed([promise_broken(promise_id)])
    assert await pause_of(pool) is None


async def test_a_justified_dispute_keeps_the_invoice_paused(pool: asyncpg.Pool) -> None:
    scheduler = Scheduler.of(pool, SimulatedClock(morning(date(2026, 12, 7))))
    dispute_id = uuid.uuid4()
    await scheduler.feed([customer("C1"), opened("C1", "F1", DUE)])
    await scheduler.feed([dispute_opened("C1", "F1", dispute_id)])
    justified = dispute_resolved("C1", "F1", dispute_id)
    justified = justified.model_copy(
        update={"payload": justified.payload.model_copy(update={"outcome": "justified"})}
    )
    await scheduler.feed([justified])
    assert await pause_of(pool) == "dispute"

    corrected = disputes.DisputeCorrectionReceived(
        event_id=uuid.uuid4(),
        occurred_at=AT,
        source="disputes",
        payload=disputes.ReceivedCorrection(
            dispute_id=dispute_id, customer_id="C1", invoice_ids=("FR01/F1",), cause="correction"
        ),
    )
    await scheduler.feed([corrected])
    assert await pause_of(pool) is None
    row = await pool.fetchrow("SELECT resumed, next_step, next_action_at FROM dunning_invoice")
    assert row is not None
    assert (row["resumed"], row["next_step"]) == (True, "courtesy")  # nothing taken yet
    assert row["next_action_at"] is not None


async def test_a_broken_promise_after_the_last_step_leaves_only_the_exit(
    pool: asyncpg.Pool,
) -> None:
    scheduler = Scheduler.of(pool, SimulatedClock(morning(date(2026, 11, 15))))
    promise_id = uuid.uuid4()
    await scheduler.feed([customer("C1"), opened("C1", "F1", DUE)])
    await walk(scheduler, date(2026, 11, 16), 66)  # formal notice on 20 Jan
    await scheduler.feed([promise_made(promise_id)])
    await scheduler.feed([promise_broken(promise_id)])
    await walk(scheduler, date(2027, 1, 21), 30)

    steps = [r.step_name for r in await scheduler.reminders()]
    assert steps.count("formal_notice") == 1  # never sent twice
    (escalation,) = await scheduler.escalations()
    assert escalation.action == "litigation"
