"""A reminder the notifier could not deliver goes again on the fallback channel."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from contracts import dunning, notifications
from contracts.envelope import Event
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.database import create_pool
from services.runtime.settings import DatabaseSettings
from tests.integration.scheduler.fixtures import SCHEMA, Scheduler, customer, opened, settled

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "scheduler" / "migrations"
DUE = date(2026, 12, 1)  # a Tuesday


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    await migrations.apply_async(database_url, SCHEMA, MIGRATIONS)
    pool = await create_pool(DatabaseSettings(url=database_url), SCHEMA)
    yield pool
    await pool.close()


def failed(reminder: dunning.Reminder, at: datetime) -> Event:
    return notifications.DeliveryFailed(
        event_id=uuid.uuid4(),
        occurred_at=at,
        source="notifier",
        payload=notifications.Failure(
            delivery_id=uuid.uuid4(),
            reminder_id=reminder.reminder_id,
            customer_id=reminder.customer_id,
            invoice_ids=tuple(i.invoice_id for i in reminder.invoices),
            channel=reminder.channel,
            at=at,
            reason="no email contact with role billing",
            retryable=False,
        ),
    )


def bounced(reminder: dunning.Reminder, at: datetime, kind: str) -> Event:
    return notifications.DeliveryBounced(
        event_id=uuid.uuid4(),
        occurred_at=at,
        source="notifier",
        payload=notifications.Bounce(
            delivery_id=uuid.uuid4(),
            reminder_id=reminder.reminder_id,
            customer_id=reminder.customer_id,
            invoice_ids=tuple(i.invoice_id for i in reminder.invoices),
            channel=reminder.channel,
            at=at,
            provider="smtp",
            provider_tracking_id="<x@relance.invalid>",
            kind=kind,
            reason="5.1.1 unknown user",
        ),
    )


async def first_email(pool: asyncpg.Pool) -> tuple[Scheduler, dunning.Reminder]:
    """A negligent customer's first email, ticked every morning until it goes out."""
    scheduler = Scheduler.of(pool, SimulatedClock(datetime(2026, 11, 2, 9, 30, tzinfo=UTC)))
    await scheduler.feed(
        [customer("C1"), opened("C1", "F1", DUE), opened("C1", "F2", DUE, "300.00")]
    )
    for offset in range(60):
        scheduler.clock.set(datetime(2026, 11, 2, 9, 30, tzinfo=UTC) + timedelta(days=offset))
        await scheduler.ticker.run_until_idle()
        emails = [r for r in await scheduler.reminders() if r.channel == "email"]
        if emails:
            return scheduler, emails[0]
    raise AssertionError("no email within 60 days")


async def test_a_failed_email_goes_again_as_a_postal_letter_once(pool: asyncpg.Pool) -> None:
    scheduler, email = await first_email(pool)
    now = scheduler.clock.now()
    event = failed(email, now)
    await scheduler.feed([event])
    await scheduler.feed([failed(email, now)])  # the notifier said it twice
    letters = [r for r in await scheduler.reminders() if r.channel == "postal_letter"]
    assert len(letters) == 1
    letter = letters[0]
    assert (letter.step_name, letter.level, letter.template) == (
        email.step_name,
        email.level,
        email.template,
    )
    assert letter.reminder_id != email.reminder_id
    assert [i.invoice_id for i in letter.invoices] == [i.invoice_id for i in email.invoices]
    assert letter.scheduled_for >= now

    before = len(await scheduler.reminders())
    await scheduler.feed([failed(letter, now)])  # a letter has no fallback
    assert len(await scheduler.reminders()) == before


async def test_only_hard_bounces_fall_back_and_settled_invoices_are_left_out(
    pool: asyncpg.Pool,
) -> None:
    scheduler, email = await first_email(pool)
    now = scheduler.clock.now()
    await scheduler.feed([bounced(email, now, "soft")])
    assert [r.channel for r in await scheduler.reminders()].count("postal_letter") == 0
    await scheduler.feed([settled("C1", "F2", DUE, "300.00"), bounced(email, now, "hard")])
    (letter,) = [r for r in await scheduler.reminders() if r.channel == "postal_letter"]
    assert [i.invoice_number for i in letter.invoices] == ["F1"]
