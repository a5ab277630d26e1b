"""Controls that hold whatever path a reminder takes, on a real PostgreSQL: suspension (one
company or all), the sending window after a restart at night or a resumption, no litigation
without a delivered formal notice (whatever the outage), a colleague's step never reaching the
customer, and the follow-up of a call's outcome."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from contracts import dunning, notifications
from contracts.envelope import Event
from contracts.erp import Segment
from services.runtime import migrations
from services.runtime.business_days import is_business_day
from services.runtime.clock import SimulatedClock
from services.runtime.database import create_pool
from services.runtime.settings import DatabaseSettings
from services.scheduler import suspensions
from services.scheduler.campaigns import run_campaign
from services.scheduler.domain.campaign import Campaign
from services.scheduler.errors import CampaignRefused
from tests.integration.scheduler.fixtures import (
    SCHEMA,
    Scheduler,
    customer,
    deliver_formal_notices,
    delivered,
    opened,
)

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "scheduler" / "migrations"
PARIS = ZoneInfo("Europe/Paris")
DUE = date(2026, 12, 1)  # a Tuesday


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    await migrations.apply_async(database_url, SCHEMA, MIGRATIONS)
    pool = await create_pool(DatabaseSettings(url=database_url), SCHEMA)
    yield pool
    await pool.close()


def paris(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS).astimezone(UTC)


def in_window(at: datetime) -> bool:
    local = at.astimezone(PARIS)
    return is_business_day(local.date(), "FR") and 9 <= local.hour < 18


def of_company(event: Event, company: str) -> Event:
    """A builder's event for another company's customer or invoice."""
    payload = event.payload
    update: dict[str, object] = {"company_code": company}
    if hasattr(payload, "invoice_id"):
        update["invoice_id"] = payload.invoice_id.replace("FR01/", f"{company}/")
    return event.model_copy(update={"payload": payload.model_copy(update=update)})


async def suspend(pool: asyncpg.Pool, at: datetime, company: str | None = None) -> None:
    async with pool.acquire() as connection, connection.transaction():
        await suspensions.suspend(
            connection, company_code=company, by="alice", reason="ERP migration", now=at
        )


async def resume(pool: asyncpg.Pool, at: datetime, company: str | None = None) -> None:
    async with pool.acquire() as connection, connection.transaction():
        await suspensions.resume(connection, company_code=company, by="alice", now=at)


async def tick_at(scheduler: Scheduler, at: datetime) -> None:
    scheduler.clock.set(at)
    await scheduler.ticker.run_until_idle()


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
            reason="no email contact with role sales",
            retryable=False,
        ),
    )


def call_closed(reminder: dunning.Reminder, at: datetime, outcome: str) -> Event:
    return notifications.CallTaskClosed(
        event_id=uuid.uuid4(),
        occurred_at=at,
        source="notifier",
        payload=notifications.ClosedCallTask(
            task_id=uuid.uuid4(),
            reminder_id=reminder.reminder_id,
            customer_id=reminder.customer_id,
            invoice_ids=tuple(i.invoice_id for i in reminder.invoices),
            outcome=outcome,
            closed_by="collector@example.com",
        ),
    )


# -- 1. suspension -------------------------------------------------------------------------


async def test_a_suspended_company_gets_nothing_and_resumes_without_a_burst(
    pool: asyncpg.Pool,
) -> None:
    start = paris(date(2026, 11, 20), 10)
    scheduler = Scheduler.of(pool, SimulatedClock(start))
    events = [customer("C1"), of_company(customer("C2"), "BE01")]
    for n in range(1, 4):  # three invoices each, due a few days apart
        events.append(opened("C1", f"F{n}", DUE + timedelta(days=2 * n)))
        events.append(of_company(opened("C2", f"G{n}", DUE + timedelta(days=2 * n)), "BE01"))
    await scheduler.feed(events)
    await suspend(pool, start, "FR01")

    campaign = Campaign.model_validate(
        {
            "id": "year-end",
            "step": {"name": "y", "level": "level_1", "channel": "email", "template": "x"},
            "select": {"company_codes": ["FR01"]},
        }
    )
    with pytest.raises(CampaignRefused, match="suspended"):
        await run_campaign(pool, scheduler.clock, scheduler.ticker.policy, campaign)

    day = start.astimezone(PARIS).date()
    while day < date(2027, 1, 4):  # a 45-day suspension
        await tick_at(scheduler, paris(day, 10))
        day += timedelta(days=1)
    reminders = await scheduler.reminders()
    assert {r.customer_id for r in reminders} == {"C2"}, "nothing for the suspended company"

    resumed_at = paris(date(2027, 1, 4), 8)  # a Monday, 08:00 in Paris
    await resume(pool, resumed_at, "FR01")
    for hour in (8, 9, 12, 17, 23):
        await tick_at(scheduler, paris(date(2027, 1, 4), hour))
    c1 = [r for r in await scheduler.reminders() if r.customer_id == "C1"]
    assert len(c1) == 1, "one reminder per customer, not a burst"
    (first,) = c1
    assert first.scheduled_for == paris(date(2027, 1, 4), 9), "in the window, not at 08:00"
    # F3's firm step falls due at 09:00 on Monday 4 Jan (1 Jan is a holiday), the instant
    # the reminder goes: the tick at 08:00 judges what is due at 09:00, so it joins the group
    # instead of waiting a gap for a second reminder
    assert {i.invoice_number for i in first.invoices} == {"F1", "F2", "F3"}
    assert first.level == "level_2"  # the latest step due; the earlier ones skipped
    skipped = await pool.fetchval(
        "SELECT count(*) FROM skipped_step WHERE invoice_id LIKE 'FR01/%'"
    )
    assert skipped > 0

    day = date(2027, 1, 5)
    served: set[uuid.UUID] = set()
    while day < date(2027, 2, 1):
        for hour in (3, 10, 15):
            await tick_at(scheduler, paris(day, hour))
        await deliver_formal_notices(scheduler, served)  # and the registered letters
        day += timedelta(days=1)
    c1 = [r for r in await scheduler.reminders() if r.customer_id == "C1"]
    instants = sorted(r.scheduled_for for r in c1)
    assert all(in_window(at) for at in instants)
    gap = scheduler.ticker.policy.min_gap
    assert all(b - a >= gap for a, b in pairwise(instants))
    assert any(r.level == "formal_notice" for r in c1), "the formal notice is not skipped"


async def test_a_suspension_of_every_company_holds_them_all(pool: asyncpg.Pool) -> None:
    start = paris(date(2026, 11, 30), 10)
    scheduler = Scheduler.of(pool, SimulatedClock(start))
    await scheduler.feed(
        [
            customer("C1"),
            of_company(customer("C2"), "BE01"),
            opened("C1", "F1", DUE),
            of_company(opened("C2", "G1", DUE), "BE01"),
        ]
    )
    await suspend(pool, start)
    await suspend(pool, start, "BE01")  # a company's own suspension beside the global one
    for days in range(10):
        await tick_at(scheduler, start + timedelta(days=days))
    assert await scheduler.reminders() == []
    await resume(pool, start + timedelta(days=10))
    await tick_at(scheduler, start + timedelta(days=11))
    assert {r.customer_id for r in await scheduler.reminders()} == {"C1"}  # BE01 still held


# -- 2. the sending window -----------------------------------------------------------------


async def test_a_restart_at_night_schedules_the_reminder_in_the_next_window(
    pool: asyncpg.Pool,
) -> None:
    scheduler = Scheduler.of(pool, SimulatedClock(paris(date(2026, 11, 20), 10)))
    await scheduler.feed([customer("C1"), opened("C1", "F1", DUE)])
    # the scheduler was down all week; it restarts on Friday at 23:00 in Paris
    night = paris(date(2026, 12, 4), 23)
    await tick_at(scheduler, night)
    (reminder,) = await scheduler.reminders()
    assert reminder.scheduled_for == paris(date(2026, 12, 7), 9)  # Monday 09:00, not "now"
    last = await pool.fetchval("SELECT last_contact_at FROM customer WHERE customer_id = 'C1'")
    assert last == reminder.scheduled_for


# -- 6. no litigation without a formal notice ----------------------------------------------


async def test_an_invoice_first_seen_past_the_end_gets_its_formal_notice_first(
    pool: asyncpg.Pool,
) -> None:
    now = paris(date(2026, 12, 1), 10)
    scheduler = Scheduler.of(pool, SimulatedClock(now))
    await scheduler.feed([customer("C1"), opened("C1", "OLD", date(2026, 6, 1))])
    await tick_at(scheduler, now)
    (notice,) = await scheduler.reminders()
    assert notice.level == "formal_notice"
    assert await scheduler.escalations() == []
    for days in range(1, 30):  # never delivered: no exit
        await tick_at(scheduler, now + timedelta(days=days))
    assert await scheduler.escalations() == []

    served = now + timedelta(days=30)
    await scheduler.feed([delivered(notice, served)])
    await tick_at(scheduler, served + timedelta(days=7))
    assert await scheduler.escalations() == [], "8 days after the delivery, not 7"
    await tick_at(scheduler, served + timedelta(days=9))
    (escalation,) = await scheduler.escalations()
    assert escalation.action == "litigation"


@pytest.mark.parametrize("outage_days", [0, 20, 47, 90, 160])
async def test_after_any_outage_the_exit_follows_a_delivered_formal_notice(
    pool: asyncpg.Pool, outage_days: int
) -> None:
    """The scheduler is down ``outage_days`` from D+20; formal notices are delivered two days
    after they are sent."""
    start = paris(date(2026, 11, 20), 10)
    scheduler = Scheduler.of(pool, SimulatedClock(start))
    await scheduler.feed([customer("C1"), opened("C1", "F1", DUE)])
    delivered_at: datetime | None = None
    served: set[uuid.UUID] = set()
    day = start.astimezone(PARIS).date()
    down = {DUE + timedelta(days=20 + n) for n in range(outage_days)}
    while day < DUE + timedelta(days=300):
        if day not in down:
            await tick_at(scheduler, paris(day, 11))
            for letter in await scheduler.reminders():  # escalating steps wait for them
                if letter.escalating and letter.reminder_id not in served:
                    served.add(letter.reminder_id)
                    at = letter.scheduled_for + timedelta(days=2)
                    await scheduler.feed([delivered(letter, at)])
                    if letter.level == "formal_notice":
                        delivered_at = at
        day += timedelta(days=1)
    assert delivered_at is not None, "the catch-up sends the formal notice"
    (raised,) = [e for e in await scheduler.emitted() if isinstance(e, dunning.EscalationRaised)]
    assert raised.payload.action == "litigation"
    assert raised.occurred_at >= delivered_at + timedelta(days=8)


# -- 7. a colleague's step never reaches the customer --------------------------------------


async def test_an_internal_step_never_falls_back_to_a_customer_letter(pool: asyncpg.Pool) -> None:
    start = paris(date(2026, 11, 20), 10)
    scheduler = Scheduler.of(pool, SimulatedClock(start))
    await scheduler.feed(
        [
            customer("C1", Segment(market="export", payer_profile="negligent")),
            opened("C1", "F1", DUE),
        ]
    )
    ask_sales = None
    for days in range(40):
        await tick_at(scheduler, start + timedelta(days=days))
        asks = [r for r in await scheduler.reminders() if r.step_name == "ask_sales"]
        if asks:
            ask_sales = asks[0]
            break
    assert ask_sales is not None
    assert (ask_sales.recipient_role, ask_sales.channel) == ("sales", "email")
    before = len(await scheduler.reminders())
    await scheduler.feed([failed(ask_sales, scheduler.clock.now())])
    assert len(await scheduler.reminders()) == before, "no letter to the customer"


# -- 8. call outcomes ----------------------------------------------------------------------


async def first_call(pool: asyncpg.Pool) -> tuple[Scheduler, dunning.Reminder]:
    start = paris(date(2026, 11, 20), 10)
    scheduler = Scheduler.of(pool, SimulatedClock(start))
    await scheduler.feed([customer("C1"), opened("C1", "F1", DUE)])
    for days in range(30):
        await tick_at(scheduler, start + timedelta(days=days))
        calls = [r for r in await scheduler.reminders() if r.channel == "phone_call"]
        if calls:
            return scheduler, calls[0]
    raise AssertionError("no call within 30 days")


async def test_unanswered_calls_are_tried_again_then_the_written_channel(
    pool: asyncpg.Pool,
) -> None:
    scheduler, call = await first_call(pool)
    policy = scheduler.ticker.policy
    assert (policy.call_attempts, policy.call_retry_business_days) == (3, 2)
    closed_at = paris(call.scheduled_for.astimezone(PARIS).date() + timedelta(days=1), 16)
    calls = [call]
    for _ in range(2):
        scheduler.clock.set(closed_at)
        await scheduler.feed([call_closed(calls[-1], closed_at, "no_answer")])
        calls = [r for r in await scheduler.reminders() if r.channel == "phone_call"]
        again = calls[-1]
        assert again.step_name == call.step_name
        assert again.scheduled_for.astimezone(PARIS).date() > closed_at.astimezone(
            PARIS
        ).date() + timedelta(days=1)
        assert in_window(again.scheduled_for)
        closed_at = again.scheduled_for + timedelta(hours=2)
    assert len(calls) == 3
    assert not [
        r for r in await scheduler.reminders() if r.channel == "email" and r.step_name == "call"
    ]
    scheduler.clock.set(closed_at)
    await scheduler.feed([call_closed(calls[-1], closed_at, "no_answer")])
    (written,) = [
        r for r in await scheduler.reminders() if r.step_name == "call" and r.channel == "email"
    ]
    assert written.recipient_role == call.recipient_role
    assert len([r for r in await scheduler.reminders() if r.channel == "phone_call"]) == 3


async def test_a_wrong_contact_asks_the_account_owner_and_writes_meanwhile(
    pool: asyncpg.Pool,
) -> None:
    scheduler, call = await first_call(pool)
    await scheduler.feed(
        [call_closed(call, call.scheduled_for + timedelta(hours=1), "wrong_contact")]
    )
    after = [r for r in await scheduler.reminders() if r.step_name in ("call", "fix_contact")]
    fix = [r for r in after if r.step_name == "fix_contact"]
    assert [(r.recipient_role, r.channel) for r in fix] == [("collector", "email")]
    written = [r for r in after if r.step_name == "call" and r.channel == "email"]
    assert len(written) == 1
    assert written[0].recipient_role == call.recipient_role
    # the internal notice never falls back to the customer
    before = len(await scheduler.reminders())
    await scheduler.feed([failed(fix[0], scheduler.clock.now())])
    assert len(await scheduler.reminders()) == before


# -- property: any suspension, any resumption hour -------------------------------------------

TABLES = (
    "dunning_invoice",
    "customer",
    "sent_reminder",
    "skipped_step",
    "sending_suspension",
    "call_attempt",
    "outbox",
)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a failing case is reported as is
)
@given(
    start=st.integers(-10, 70),  # days from the due date
    length=st.integers(1, 90),
    resume_hour=st.integers(0, 23),
    scope=st.sampled_from(["FR01", None]),
)
async def test_any_suspension_holds_and_resumes_without_a_burst(
    pool: asyncpg.Pool, start: int, length: int, resume_hour: int, scope: str | None
) -> None:
    """Whatever the suspension's start, length, scope and the hour it ends: nothing for a
    suspended customer meanwhile; afterwards at most one reminder a day, the minimum gap, the
    window, and litigation only after a delivered formal notice and its delay."""
    await pool.execute(f"TRUNCATE {', '.join(TABLES)}")
    first = DUE - timedelta(days=15)
    scheduler = Scheduler.of(pool, SimulatedClock(paris(first, 6)))
    await scheduler.feed(
        [customer("C1")] + [opened("C1", f"F{n}", DUE + timedelta(days=3 * n)) for n in range(3)]
    )
    suspended_from = DUE + timedelta(days=start)
    resumed_on = suspended_from + timedelta(days=length)
    served: dict[uuid.UUID, datetime] = {}
    day = first
    while day < DUE + timedelta(days=175):
        if day == suspended_from:
            await suspend(pool, paris(day, 7), scope)
        if day == resumed_on:
            await resume(pool, paris(day, resume_hour), scope)
        for hour in (7, 16) if day != resumed_on else (resume_hour, 23):
            await tick_at(scheduler, paris(day, hour))
        for r in await scheduler.reminders():
            if r.escalating and r.reminder_id not in served:  # formal notices included
                served[r.reminder_id] = r.scheduled_for + timedelta(days=1)
                await scheduler.feed([delivered(r, served[r.reminder_id])])
        day += timedelta(days=1)

    events = await scheduler.emitted()
    reminders = [e for e in events if isinstance(e, dunning.ReminderDue)]
    held_from, held_until = paris(suspended_from, 7), paris(resumed_on, resume_hour)
    assert not [e for e in reminders if held_from <= e.occurred_at < held_until]
    instants = sorted(e.payload.scheduled_for for e in reminders)
    assert all(in_window(at) for at in instants)
    assert all(b - a >= scheduler.ticker.policy.min_gap for a, b in pairwise(instants))
    assert len({at.astimezone(PARIS).date() for at in instants}) == len(instants)
    escalations = [e for e in events if isinstance(e, dunning.EscalationRaised)]
    assert escalations, "every invoice leaves the amicable phase in the end"
    first_served = min(served.values())
    assert all(e.occurred_at >= first_served + timedelta(days=8) for e in escalations)
    assert all(e.occurred_at >= held_until or e.occurred_at < held_from for e in escalations)


async def test_a_formal_notice_sent_where_no_report_follows_is_deemed_delivered(
    pool: asyncpg.Pool,
) -> None:
    """A registered letter from the in-house print room (file drop) never reports its
    delivery: it is served when sent; one sent through Maileva waits for its report."""
    now = paris(date(2026, 12, 1), 10)
    scheduler = Scheduler.of(pool, SimulatedClock(now))
    await scheduler.feed(
        [customer("C1"), opened("C1", "A", date(2026, 6, 1)), opened("C1", "B", date(2026, 6, 2))]
    )
    await tick_at(scheduler, now)
    (notice,) = await scheduler.reminders()
    assert notice.level == "formal_notice"

    def sent(provider: str, invoice_id: str) -> Event:
        return notifications.DeliverySent(
            event_id=uuid.uuid4(),
            occurred_at=now,
            source="notifier",
            payload=notifications.ProviderDelivery(
                delivery_id=uuid.uuid4(),
                reminder_id=notice.reminder_id,
                customer_id="C1",
                invoice_ids=(invoice_id,),
                channel="registered_letter",
                at=now,
                provider=provider,
            ),
        )

    await scheduler.feed([sent("maileva", "FR01/A")])  # a report will follow: not yet served
    assert await pool.fetchval("SELECT count(formal_notice_at) FROM dunning_invoice") == 0
    await scheduler.feed([sent("file_drop", "FR01/A")])
    served = await pool.fetch("SELECT formal_notice_at FROM dunning_invoice")
    assert [r["formal_notice_at"] for r in served] == [now, now]  # every invoice it was about
    await tick_at(scheduler, now + timedelta(days=9))
    (escalation,) = await scheduler.escalations()
    assert {i.invoice_number for i in escalation.invoices} == {"A", "B"}
