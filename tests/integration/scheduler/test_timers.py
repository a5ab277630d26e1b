"""Durable timers on a real PostgreSQL: the right reminders on the right days, once."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from contracts.dunning import DunningStateChanged, ReminderDue
from contracts.erp import Segment
from contracts.topics import DUNNING_ACTIONS
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.database import create_pool
from services.runtime.outbox import COPY_FROM_ROWS, channel_name
from services.runtime.settings import DatabaseSettings
from services.scheduler import suspensions
from services.scheduler.settings import SchedulerSettings
from services.scheduler.tick import DecidingProcess
from tests.integration.scheduler.fixtures import (
    SCHEMA,
    Scheduler,
    amount_changed,
    cancelled,
    customer,
    deliver_formal_notices,
    dispute_opened,
    dispute_resolved,
    opened,
    settled,
)

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "scheduler" / "migrations"
DUE = date(2026, 12, 1)  # a Tuesday


@pytest.fixture(scope="module")
def deciding() -> Iterator[DecidingProcess]:
    process = DecidingProcess(SchedulerSettings().gc_gen0_threshold)
    yield process
    process.close()


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    await migrations.apply_async(database_url, SCHEMA, MIGRATIONS)
    pool = await create_pool(DatabaseSettings(url=database_url), SCHEMA)
    yield pool
    await pool.close()


def morning(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 30, tzinfo=UTC)  # 10:30 in Paris


async def walk(scheduler: Scheduler, first: date, days: int) -> dict[str, date]:
    """Tick every morning; the day each step was reminded, by step name. Formal notices are
    reported delivered when sent."""
    sent: dict[str, date] = {}
    served: set[uuid.UUID] = set()
    for offset in range(days):
        day = first + timedelta(days=offset)
        scheduler.clock.set(morning(day))
        await scheduler.ticker.run_until_idle()
        await deliver_formal_notices(scheduler, served)
        for reminder in await scheduler.reminders():
            sent.setdefault(reminder.step_name, reminder.scheduled_for.date())
    return sent


async def test_advancing_the_clock_sends_each_step_on_its_business_day(pool: asyncpg.Pool) -> None:
    scheduler = Scheduler.of(pool, SimulatedClock(morning(date(2026, 11, 15))))
    await scheduler.feed([customer("C1"), opened("C1", "F1", DUE)])

    sent = await walk(scheduler, date(2026, 11, 16), 100)

    assert sent == {
        "courtesy": date(2026, 11, 26),  # D-5, a Thursday
        "friendly": date(2026, 12, 4),  # D+3, a Friday
        "call": date(2026, 12, 14),  # D+12 is a Sunday: Monday
        "firm": date(2026, 12, 28),  # D+25 is a Saturday: Monday
        "registered": date(2027, 1, 5),  # D+35
        "formal_notice": date(2027, 1, 20),  # D+50
    }
    (escalation,) = await scheduler.escalations()
    assert escalation.action == "litigation"
    assert [i.invoice_id for i in escalation.invoices] == ["FR01/F1"]
    state = await pool.fetchrow("SELECT status, next_action_at FROM dunning_invoice")
    assert state is not None
    assert (state["status"], state["next_action_at"]) == ("escalated", None)
    assert len(await scheduler.reminders()) == 6


async def test_settled_and_cancelled_invoices_are_never_reminded(pool: asyncpg.Pool) -> None:
    scheduler = Scheduler.of(pool, SimulatedClock(morning(date(2026, 11, 15))))
    await scheduler.feed(
        [customer("C1"), opened("C1", "F1", DUE), opened("C1", "F2", DUE), opened("C1", "F3", DUE)]
    )
    await walk(scheduler, date(2026, 11, 16), 12)  # the courtesy step went out on 26 Nov
    await scheduler.feed([settled("C1", "F1", DUE), cancelled("C1", "F2")])

    await walk(scheduler, date(2026, 11, 28), 100)

    later = [r for r in await scheduler.reminders() if r.step_name != "courtesy"]
    assert later
    assert {i.invoice_id for r in later for i in r.invoices} == {"FR01/F3"}
    (escalation,) = await scheduler.escalations()
    assert [i.invoice_id for i in escalation.invoices] == ["FR01/F3"]


async def test_a_partial_payment_keeps_the_invoice_and_a_reversal_reopens_it(
    pool: asyncpg.Pool,
) -> None:
    scheduler = Scheduler.of(pool, SimulatedClock(morning(date(2026, 11, 15))))
    await scheduler.feed([customer("C1"), opened("C1", "F1", DUE)])
    await walk(scheduler, date(2026, 11, 16), 11)  # courtesy on 26 Nov
    await scheduler.feed([amount_changed("C1", "F1", DUE, "1200.00", "400.00")])
    await walk(scheduler, date(2026, 11, 27), 10)  # friendly on 4 Dec, with 400 open
    await scheduler.feed([settled("C1", "F1", DUE, "400.00")])
    await walk(scheduler, date(2026, 12, 7), 10)  # nothing: settled
    await scheduler.feed([amount_changed("C1", "F1", DUE, "0", "400.00")])  # bounced payment
    await walk(scheduler, date(2026, 12, 17), 2)

    reminders = await scheduler.reminders()
    assert [(r.step_name, r.scheduled_for.date()) for r in reminders] == [
        ("courtesy", date(2026, 11, 26)),
        ("friendly", date(2026, 12, 4)),
        ("call", date(2026, 12, 17)),  # due on 14 Dec; again once reopened, at the next tick
    ]
    assert reminders[1].invoices[0].open_amount.amount == Decimal("400.00")


async def test_due_invoices_of_a_customer_are_grouped_in_one_reminder(pool: asyncpg.Pool) -> None:
    scheduler = Scheduler.of(pool, SimulatedClock(morning(date(2026, 11, 15))))
    await scheduler.feed(
        [customer("C1"), opened("C1", "F1", DUE), opened("C1", "F2", DUE), opened("C2", "F3", DUE)]
    )
    await scheduler.feed([customer("C2")])  # the customer arrives after its invoice

    await walk(scheduler, date(2026, 11, 26), 1)

    reminders = await scheduler.reminders()
    by_customer = {r.customer_id: sorted(i.invoice_id for i in r.invoices) for r in reminders}
    assert by_customer == {"C1": ["FR01/F1", "FR01/F2"], "C2": ["FR01/F3"]}
    assert {r.step_name for r in reminders} == {"courtesy"}


async def test_good_payers_and_opted_out_customers_get_nothing(pool: asyncpg.Pool) -> None:
    scheduler = Scheduler.of(pool, SimulatedClock(morning(date(2026, 11, 15))))
    await scheduler.feed(
        [
            customer("C1", Segment(payer_profile="good_payer")),
            customer("C2", Segment(tags=("no-dunning",))),
            opened("C1", "F1", DUE),
            opened("C2", "F2", DUE),
        ]
    )
    await walk(scheduler, date(2026, 11, 16), 100)
    assert await scheduler.emitted() == []


async def test_after_an_outage_only_the_latest_step_goes_out(pool: asyncpg.Pool) -> None:
    scheduler = Scheduler.of(pool, SimulatedClock(morning(date(2026, 11, 15))))
    await scheduler.feed([customer("C1"), opened("C1", "F1", DUE)])

    await walk(scheduler, date(2026, 12, 30), 1)  # courtesy, friendly, call and firm are due

    (reminder,) = await scheduler.reminders()
    assert (reminder.step_name, reminder.level) == ("firm", "level_2")
    skipped = await pool.fetch("SELECT step_name FROM skipped_step ORDER BY skipped_at, step_name")
    assert sorted(r["step_name"] for r in skipped) == ["call", "courtesy", "friendly"]


async def test_a_disputed_invoice_pauses_and_resumes_where_it_stopped(pool: asyncpg.Pool) -> None:
    scheduler = Scheduler.of(pool, SimulatedClock(morning(date(2026, 11, 15))))
    dispute = uuid.uuid4()
    await scheduler.feed([customer("C1"), opened("C1", "F1", DUE)])
    await walk(scheduler, date(2026, 11, 16), 11)  # courtesy sent on 26 Nov
    await scheduler.feed([dispute_opened("C1", "F1", dispute)])

    await walk(scheduler, date(2026, 11, 27), 10)
    assert [r.step_name for r in await scheduler.reminders()] == ["courtesy"]

    await scheduler.feed([dispute_resolved("C1", "F1", dispute)])
    await walk(scheduler, date(2026, 12, 7), 1)
    assert [r.step_name for r in await scheduler.reminders()] == ["courtesy", "friendly"]


async def test_a_long_pause_resumes_at_the_stopped_step_after_the_gap(
    pool: asyncpg.Pool,
) -> None:
    scheduler = Scheduler.of(pool, SimulatedClock(morning(date(2026, 11, 15))))
    dispute = uuid.uuid4()
    await scheduler.feed([customer("C1"), opened("C1", "F1", DUE)])
    await walk(scheduler, date(2026, 11, 16), 11)  # courtesy sent on 26 Nov
    await scheduler.feed([dispute_opened("C1", "F1", dispute)])
    await walk(scheduler, date(2026, 11, 27), 25)  # friendly and call fall due meanwhile

    await scheduler.feed([dispute_resolved("C1", "F1", dispute)])  # on 21 Dec, 10:30
    await walk(scheduler, date(2026, 12, 21), 10)

    sent = [(r.step_name, r.scheduled_for.date()) for r in await scheduler.reminders()]
    assert sent == [
        ("courtesy", date(2026, 11, 26)),
        ("friendly", date(2026, 12, 22)),  # where it stopped, the minimum gap after resuming
        ("call", date(2026, 12, 23)),
        ("firm", date(2026, 12, 28)),
    ]
    assert await pool.fetchval("SELECT count(*) FROM skipped_step") == 0


async def test_a_global_suspension_stops_every_reminder_until_lifted(pool: asyncpg.Pool) -> None:
    scheduler = Scheduler.of(pool, SimulatedClock(morning(date(2026, 11, 15))))
    await scheduler.feed([customer("C1"), opened("C1", "F1", DUE)])
    async with pool.acquire() as connection, connection.transaction():
        await suspensions.suspend(
            connection, company_code=None, by="alice", reason="incident", now=scheduler.clock.now()
        )
    await walk(scheduler, date(2026, 11, 16), 20)
    assert await scheduler.reminders() == []

    async with pool.acquire() as connection, connection.transaction():
        await suspensions.resume(
            connection, company_code=None, by="alice", now=scheduler.clock.now()
        )
    await walk(scheduler, date(2026, 12, 7), 1)
    assert [r.step_name for r in await scheduler.reminders()] == ["friendly"]


async def test_two_concurrent_tickers_never_emit_a_step_twice(database_url: str) -> None:
    await migrations.apply_async(database_url, SCHEMA, MIGRATIONS)
    pools = [
        await create_pool(DatabaseSettings(url=database_url), SCHEMA, max_size=4) for _ in range(2)
    ]
    try:
        clock = SimulatedClock(morning(date(2026, 11, 15)))
        # each replica runs two ticks at once too: four claims race for the same customers
        replicas = [Scheduler.of(p, clock, batch_size=7, concurrency=2) for p in pools]
        events = []
        for n in range(60):
            events.append(customer(f"C{n}"))
            events.extend(opened(f"C{n}", f"F{n}-{k}", DUE) for k in range(3))
        await replicas[0].feed(events)

        for day in range(30):
            clock.set(morning(date(2026, 11, 20) + timedelta(days=day)))
            await asyncio.gather(*(r.ticker.run_until_idle() for r in replicas for _ in range(2)))

        reminders = await replicas[0].reminders()
        sent = Counter((i.invoice_id, r.step_name) for r in reminders for i in r.invoices)
        assert set(sent.values()) == {1}
        assert {step for _, step in sent} == {"courtesy", "friendly", "call"}
        assert len(sent) == 60 * 3 * 3
        assert len({r.reminder_id for r in reminders}) == len(reminders) == 60 * 3
    finally:
        for p in pools:
            await p.close()


async def test_ticks_deciding_in_slices_side_by_side_remind_each_customer_once(
    pool: asyncpg.Pool,
) -> None:
    # batches larger than a decision slice (50 customers): each tick yields to the other
    # while it decides, one tick deciding at a time
    scheduler = Scheduler.of(
        pool, SimulatedClock(morning(date(2026, 11, 15))), batch_size=60, concurrency=2
    )
    events = [customer(f"C{n}") for n in range(150)]
    events += [opened(f"C{n}", f"F{n}", DUE) for n in range(150)]
    await scheduler.feed(events)
    scheduler.clock.set(morning(date(2026, 11, 26)))  # every courtesy step is due

    outcomes = await scheduler.ticker.run_until_idle()

    assert sum(o.reminders for o in outcomes) == 150
    assert sorted(o.customers for o in outcomes if not o.empty) == [30, 60, 60]
    reached = Counter(r.customer_id for r in await scheduler.reminders())
    assert reached == {f"C{n}": 1 for n in range(150)}


async def test_a_tick_claims_past_the_customers_another_tick_holds(pool: asyncpg.Pool) -> None:
    scheduler = Scheduler.of(pool, SimulatedClock(morning(date(2026, 11, 15))), batch_size=1)
    events = [customer("C0"), customer("C1"), customer("C2")]
    events += [opened(f"C{n}", f"F{n}", DUE) for n in range(3)]
    await scheduler.feed(events)
    scheduler.clock.set(morning(date(2026, 11, 26)))  # every courtesy step is due
    first = await pool.fetchval(
        "SELECT customer_id FROM dunning_invoice ORDER BY next_action_at, invoice_id LIMIT 1"
    )
    async with pool.acquire() as other, other.transaction():
        # another replica (or another tick of this one) holds the first due customer
        await other.execute("SELECT 1 FROM customer WHERE customer_id = $1 FOR UPDATE", first)
        outcome = await scheduler.ticker.tick()
        assert (outcome.customers, outcome.reminders) == (1, 1)  # the next one, not nothing
        assert [r.customer_id for r in await scheduler.reminders()] != [first]
    await scheduler.ticker.run_until_idle()
    reached = Counter(r.customer_id for r in await scheduler.reminders())
    assert reached == {"C0": 1, "C1": 1, "C2": 1}


@pytest.mark.parametrize("in_process", [True, False], ids=["in-process", "deciding-process"])
async def test_a_state_the_contract_refuses_fails_the_tick_and_emits_nothing(
    pool: asyncpg.Pool, in_process: bool, request: pytest.FixtureRequest
) -> None:
    # deciding in the service's process, or in the deciding process (the error crosses back)
    deciding = None if in_process else request.getfixturevalue("deciding")
    scheduler = Scheduler.of(
        pool, SimulatedClock(morning(date(2026, 11, 15))), concurrency=2, deciding=deciding
    )
    await scheduler.feed([customer("C1"), opened("C1", "F1", DUE)])
    before = len(await scheduler.emitted())
    # an open amount above the invoice's: a reminder must not list it
    await pool.execute("UPDATE dunning_invoice SET amount = 1 WHERE invoice_id = 'FR01/F1'")
    scheduler.clock.set(morning(date(2026, 11, 26)))
    with pytest.raises(ValueError, match="not within the invoice amount"):
        await scheduler.ticker.run_until_idle()
    assert len(await scheduler.emitted()) == before  # the tick rolled back
    assert await pool.fetchval("SELECT count(*) FROM sent_reminder") == 0


@pytest.mark.parametrize("customers", [2, COPY_FROM_ROWS // 2 + 10], ids=["inserted", "copied"])
async def test_a_tick_writes_its_events_in_order_and_wakes_the_relay(
    pool: asyncpg.Pool, database_url: str, customers: int
) -> None:
    # a small tick's events go in the tick's statement, a large one's by COPY (two outbox
    # rows per customer); either way the relay is woken when the tick commits
    scheduler = Scheduler.of(pool, SimulatedClock(morning(date(2026, 11, 15))))
    await scheduler.feed(
        [e for n in range(customers) for e in (customer(f"C{n}"), opened(f"C{n}", f"F{n}", DUE))]
    )
    before = await pool.fetchval("SELECT coalesce(max(id), 0) FROM outbox")
    listener = await asyncpg.connect(database_url)
    woken = asyncio.Event()
    await listener.add_listener(channel_name(SCHEMA), lambda *_: woken.set())
    try:
        scheduler.clock.set(morning(date(2026, 11, 26)))  # the preventive step is due
        await scheduler.ticker.run_until_idle()
        await asyncio.wait_for(woken.wait(), 10)
    finally:
        await listener.close()
    rows = await pool.fetch("SELECT value FROM outbox WHERE id > $1 ORDER BY id", before)
    events = [DUNNING_ACTIONS.parse(r["value"]) for r in rows]
    assert len(events) == 2 * customers
    reminded = []
    for reminder, changed in zip(events[::2], events[1::2], strict=True):
        # each reminder, then its invoice's state change
        assert isinstance(reminder, ReminderDue)
        assert isinstance(changed, DunningStateChanged)
        assert changed.payload.customer_id == reminder.payload.customer_id
        assert changed.payload.step_name == reminder.payload.step_name
        reminded.append(reminder.payload.customer_id)
    assert sorted(reminded) == sorted(f"C{n}" for n in range(customers))


async def test_ids_with_quotes_and_accents_go_through_every_step(pool: asyncpg.Pool) -> None:
    # the tick writes its events and its invoices' progress as JSON text
    scheduler = Scheduler.of(pool, SimulatedClock(morning(date(2026, 11, 15))))
    await scheduler.feed([customer('C"é\\1'), opened('C"é\\1', 'F"ü\\1', DUE)])

    sent = await walk(scheduler, date(2026, 11, 16), 100)

    assert list(sent) == ["courtesy", "friendly", "call", "firm", "registered", "formal_notice"]
    reminders = await scheduler.reminders()
    assert {(r.customer_id, i.invoice_id) for r in reminders for i in r.invoices} == {
        ('C"é\\1', 'FR01/F"ü\\1')
    }
    assert [e.customer_id for e in await scheduler.escalations()] == ['C"é\\1']
    reminded = await pool.fetchval(
        "SELECT count(*) FROM sent_reminder WHERE customer_id = $1", 'C"é\\1'
    )
    assert reminded == 6
    # sent_reminder keeps each payload as the text the outbox's event carries, byte for byte
    # (a `json` column: not re-serialised as `jsonb` would), and reads it back as a mapping
    events = await pool.fetch(
        "SELECT event_id, value FROM outbox WHERE topic = $1", DUNNING_ACTIONS.name
    )
    carried = {e["event_id"]: json.loads(e["value"])["payload"] for e in events}
    kept = await pool.fetch("SELECT reminder_id, payload, payload::text AS text FROM sent_reminder")
    assert len(kept) == 6
    for row in kept:
        assert row["payload"] == carried[row["reminder_id"]]
        raw = next(e["value"] for e in events if e["event_id"] == row["reminder_id"]).decode()
        assert raw.endswith(f'"payload":{row["text"]}}}')


async def test_a_deciding_process_decides_as_the_tick_would(
    pool: asyncpg.Pool, deciding: DecidingProcess
) -> None:
    # every step to the escalation, decided in a process of its own, two ticks at once
    # sending it batches; the library replaced on the way reaches the process
    scheduler = Scheduler.of(
        pool, SimulatedClock(morning(date(2026, 11, 15))), batch_size=2, deciding=deciding
    )
    events = [customer('C"é\\1'), opened('C"é\\1', 'F"ü\\1', DUE)]
    events += [customer(f"C{n}") for n in range(5)]
    events += [opened(f"C{n}", f"F{n}", DUE) for n in range(5)]
    await scheduler.feed(events)

    sent = await walk(scheduler, date(2026, 11, 16), 20)
    policy = scheduler.ticker.policy
    policy.library = replace(policy.library)  # an equal library, as a reload gives
    sent.update(await walk(scheduler, date(2026, 12, 6), 80))
    assert deciding.library_sent is policy.library  # the new one went to the process

    assert list(sent) == ["courtesy", "friendly", "call", "firm", "registered", "formal_notice"]
    reached = Counter((r.customer_id, r.step_name) for r in await scheduler.reminders())
    assert set(reached.values()) == {1}
    assert len(reached) == 6 * 6
    assert sorted(e.customer_id for e in await scheduler.escalations()) == sorted(
        ['C"é\\1', *(f"C{n}" for n in range(5))]
    )
    # the reminders kept for fallbacks carry the events' payloads, as the tick's own do
    outbox = await pool.fetch(
        "SELECT event_id, value FROM outbox WHERE topic = $1", DUNNING_ACTIONS.name
    )
    carried = {e["event_id"]: json.loads(e["value"])["payload"] for e in outbox}
    kept = await pool.fetch("SELECT reminder_id, payload FROM sent_reminder")
    assert len(kept) == 36
    assert all(row["payload"] == carried[row["reminder_id"]] for row in kept)
