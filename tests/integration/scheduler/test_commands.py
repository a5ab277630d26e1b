"""Collectors' commands executed by the scheduler on a real PostgreSQL (and Kafka for the
operator's CLI), through the consumer plumbing with its dead letters, on a simulated clock:
holds and their end in the sending window, send now, a change of scenario mid-way, a skipped
step, the portfolio check, and a command delivered twice."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from prometheus_client import REGISTRY

from contracts import commands, dunning
from contracts.dunning import ActorRole
from contracts.envelope import Event
from contracts.erp import Segment
from contracts.topics import DUNNING_COMMANDS
from services.runtime import migrations
from services.runtime.business_days import is_business_day
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import BatchProcessor
from services.runtime.database import create_pool
from services.runtime.dead_letter import IncomingRecord
from services.runtime.settings import DatabaseSettings
from services.scheduler.app import DEFINITION
from services.scheduler.cli import command_event, operator, publish_command
from services.scheduler.commands import CommandDesk, handler
from tests.integration.scheduler.fixtures import SCHEMA, Scheduler, customer, opened
from tests.kafka_tools import consume, create_topics, unique

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "scheduler" / "migrations"
PARIS = ZoneInfo("Europe/Paris")
DUE = date(2026, 12, 1)  # a Tuesday; negligent: courtesy -5, friendly +3, call +12, firm +25


def paris(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS).astimezone(UTC)


def in_window(at: datetime) -> bool:
    local = at.astimezone(PARIS)
    return is_business_day(local.date(), "FR") and 9 <= local.hour < 18


COLLECTOR_FR = commands.CommandActor(
    subject="local:marie", roles=("collector",), company_codes=("FR01",)
)
COLLECTOR_BE = commands.CommandActor(
    subject="local:jan", roles=("collector",), company_codes=("BE01",)
)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    await migrations.apply_async(database_url, SCHEMA, MIGRATIONS)
    pool = await create_pool(DatabaseSettings(url=database_url), SCHEMA)
    yield pool
    await pool.close()


class Desk:
    """The scheduler with its consumer plumbing: commands go through dead-lettering."""

    def __init__(self, pool: asyncpg.Pool, start: datetime) -> None:
        self.scheduler = Scheduler.of(pool, SimulatedClock(start))
        self.processor = BatchProcessor(
            "scheduler",
            DEFINITION.consumes,
            handler(self.scheduler.tracker.apply, CommandDesk(self.scheduler.tracker.policy)),
            pool,
            self.scheduler.clock,
        )
        self.pool = pool
        self.offset = 0

    @property
    def clock(self) -> SimulatedClock:
        return self.scheduler.clock

    async def command(self, event: Event, at: datetime | None = None) -> None:
        if at is not None:
            self.clock.set(at)
        self.offset += 1
        record = IncomingRecord(
            DUNNING_COMMANDS.name,
            0,
            self.offset,
            DUNNING_COMMANDS.key(event),
            DUNNING_COMMANDS.value(event),
        )
        await self.processor.process([record])

    async def tick(self, at: datetime) -> None:
        self.clock.set(at)
        await self.scheduler.ticker.run_until_idle()

    async def reminders(self) -> list[dunning.Reminder]:
        return await self.scheduler.reminders()

    async def audits(self) -> list[dunning.ExecutedCommand]:
        return [
            e.payload
            for e in await self.scheduler.emitted()
            if isinstance(e, dunning.CommandExecuted)
        ]

    async def states(self, invoice_id: str) -> list[dunning.InvoiceDunningState]:
        return [
            e.payload
            for e in await self.scheduler.emitted()
            if isinstance(e, dunning.DunningStateChanged) and e.payload.invoice_id == invoice_id
        ]

    async def dead_letters(self) -> list[tuple[str, dict[str, str]]]:
        rows = await self.pool.fetch(
            "SELECT value, headers FROM outbox WHERE topic = $1 ORDER BY id",
            DUNNING_COMMANDS.dead_letter,
        )
        found = []
        for row in rows:
            headers = {
                name: base64.b64decode(value).decode() for name, value in json.loads(row["headers"])
            }
            found.append((json.loads(row["value"])["event_type"], headers))
        return found


def command(
    kind: Callable[..., Event],
    payload_kind: type[commands.CommandBase],
    customer_id: str,
    actor: commands.CommandActor = COLLECTOR_FR,
    command_id: uuid.UUID | None = None,
    **fields: Any,
) -> Event:
    at = datetime(2026, 11, 1, tzinfo=UTC)
    payload = payload_kind(
        command_id=command_id or uuid.uuid4(),
        customer_id=customer_id,
        actor=actor,
        requested_at=at,
        **fields,
    )
    return kind(event_id=uuid.uuid4(), occurred_at=at, source="console", payload=payload)


def hold(customer_id: str, until: date, **fields: Any) -> Event:
    return command(
        commands.HoldCommand,
        commands.Hold,
        customer_id,
        until=until,
        reason="credit note being issued",
        **fields,
    )


async def started(pool: asyncpg.Pool, customer_id: str, number: str) -> Desk:
    """A customer whose invoice got its courtesy reminder (next: friendly, due + 3)."""
    desk = Desk(pool, paris(date(2026, 11, 20), 10))
    await desk.scheduler.feed([customer(customer_id), opened(customer_id, number, DUE)])
    await desk.tick(paris(date(2026, 11, 26), 10))
    (courtesy,) = await desk.reminders()
    assert courtesy.step_name == "courtesy"
    return desk


async def test_a_held_customer_gets_nothing_until_the_day_then_the_next_step_in_the_window(
    pool: asyncpg.Pool,
) -> None:
    desk = await started(pool, "C1", "F1")
    await desk.command(hold("C1", date(2026, 12, 10)), paris(date(2026, 11, 27), 11))
    until = datetime(2026, 12, 10, tzinfo=PARIS)

    (held,) = [s for s in await desk.states("FR01/F1") if s.paused]
    assert (held.pause_reason, held.paused_until, held.next_action_at) == ("hold", until, None)
    (audit,) = await desk.audits()
    assert (audit.command, audit.actor_subject, audit.actor_role) == (
        "hold",
        "local:marie",
        "collector",
    )
    assert audit.before[0].held_until is None
    assert audit.after[0].held_until == until
    assert audit.after[0].next_step == "friendly"

    # an invoice opened during the customer's hold is held with it
    desk.clock.set(paris(date(2026, 11, 30), 10))
    await desk.scheduler.feed([opened("C1", "F1b", DUE)])
    (later,) = await desk.states("FR01/F1b")
    assert (later.pause_reason, later.paused_until) == ("hold", until)

    for day in (date(2026, 12, 4), date(2026, 12, 7), date(2026, 12, 9)):
        await desk.tick(paris(day, 17, 59))
    assert len(await desk.reminders()) == 1  # friendly fell due on the 4th: held

    await desk.tick(until.astimezone(UTC) + timedelta(minutes=5))
    reminders = await desk.reminders()
    assert [r.step_name for r in reminders] == ["courtesy", "friendly"]  # one, no burst
    assert {i.invoice_id for i in reminders[1].invoices} == {"FR01/F1", "FR01/F1b"}
    assert reminders[1].scheduled_for == paris(date(2026, 12, 10), 9)
    assert in_window(reminders[1].scheduled_for)


async def test_a_released_invoice_resumes_at_its_next_step_in_the_window(
    pool: asyncpg.Pool,
) -> None:
    desk = await started(pool, "C1", "F1")
    friendly_step = dunning.NextStep(
        step_name="friendly", level="level_1", channel="interactive_email"
    )
    opened_state, after_courtesy = await desk.states("FR01/F1")  # the ledger's, the tick's
    assert opened_state.next_step == dunning.NextStep(
        step_name="courtesy", level="preventive", channel="email"
    )
    assert after_courtesy.next_step == friendly_step
    await desk.command(
        hold("C1", date(2026, 12, 31), invoice_id="FR01/F1"), paris(date(2026, 11, 27), 11)
    )
    assert (await desk.states("FR01/F1"))[-1].next_step is None  # held: no timer, no step
    await desk.tick(paris(date(2026, 12, 4), 12))
    assert len(await desk.reminders()) == 1

    release = command(commands.ReleaseCommand, commands.Release, "C1", invoice_id="FR01/F1")
    await desk.command(release, paris(date(2026, 12, 7), 7))  # a Monday, before the window
    released = (await desk.states("FR01/F1"))[-1]
    assert not released.paused
    assert released.next_step == friendly_step
    await desk.tick(paris(date(2026, 12, 7), 7))
    friendly = (await desk.reminders())[-1]
    assert friendly.step_name == "friendly"
    assert friendly.scheduled_for == paris(date(2026, 12, 7), 9)
    assert (await desk.states("FR01/F1"))[-1].next_step == dunning.NextStep(
        step_name="call", level="level_1", channel="phone_call"
    )

    again = command(commands.ReleaseCommand, commands.Release, "C1", invoice_id="FR01/F1")
    await desk.command(again, paris(date(2026, 12, 7), 8))
    assert (await desk.dead_letters())[-1][1]["dlq.reason"] == "not_held"


async def test_send_now_sends_the_next_step_at_the_next_window_instant(
    pool: asyncpg.Pool,
) -> None:
    desk = Desk(pool, paris(date(2026, 11, 20), 10))
    await desk.scheduler.feed([customer("C2"), opened("C2", "F2", DUE)])
    send = command(commands.SendNowCommand, commands.SendNow, "C2")
    await desk.command(send, paris(date(2026, 11, 23), 19))  # a Monday evening
    await desk.tick(paris(date(2026, 11, 23), 19))
    (courtesy,) = await desk.reminders()
    assert courtesy.step_name == "courtesy"  # due on the 26th, sent now
    assert courtesy.scheduled_for == paris(date(2026, 11, 24), 9)

    statement = command(commands.SendNowCommand, commands.SendNow, "C2", template="reminder_letter")
    await desk.command(statement, paris(date(2026, 11, 25), 12))
    sent = (await desk.reminders())[-1]
    assert (sent.template, sent.step_name, sent.scheduled_for) == (
        "reminder_letter",
        "send_now",
        paris(date(2026, 11, 25), 12),
    )
    assert sent.statement is not None
    assert sent.statement.open_invoices == 1
    await desk.tick(paris(date(2026, 12, 4), 10))  # the scenario goes on: friendly, due + 3
    assert [r.step_name for r in await desk.reminders()] == ["courtesy", "send_now", "friendly"]

    unknown = command(commands.SendNowCommand, commands.SendNow, "C2", template="no_such")
    await desk.command(unknown, paris(date(2026, 12, 4), 13))
    await desk.command(hold("C2", date(2026, 12, 20)))
    held = command(commands.SendNowCommand, commands.SendNow, "C2")
    await desk.command(held)
    release_invoice = command(commands.ReleaseCommand, commands.Release, "C2", invoice_id="FR01/F2")
    await desk.command(release_invoice)  # the customer's hold holds it
    reasons = [h["dlq.reason"] for _, h in await desk.dead_letters()]
    assert reasons == ["unknown_template", "held", "held"]


async def test_a_scenario_change_keeps_each_invoice_at_its_step_by_name(
    pool: asyncpg.Pool,
) -> None:
    desk = await started(pool, "C3", "F3")
    change = command(
        commands.ChangeScenarioCommand,
        commands.ChangeScenario,
        "C3",
        actor=replace_roles(COLLECTOR_FR, ("credit_manager",)),
        scenario_id="bad_payer",
    )
    await desk.command(change, paris(date(2026, 11, 27), 10))
    (audit,) = await desk.audits()
    # "friendly" is not in bad_payer: the first step at level_1 or firmer, "firm" (due + 1)
    assert (audit.before[0].next_step, audit.after[0].next_step) == ("friendly", "firm")
    assert audit.after[0].scenario_id == "bad_payer"

    # the customer's master data changing does not undo the collector's choice
    await desk.scheduler.feed([customer("C3", Segment(payer_profile="negligent"), version=2)])
    await desk.tick(paris(date(2026, 12, 2), 10))
    firm = (await desk.reminders())[-1]
    assert (firm.scenario_id, firm.step_name) == ("bad_payer", "firm")

    collector = command(
        commands.ChangeScenarioCommand, commands.ChangeScenario, "C3", scenario_id="consumer"
    )
    unknown = command(
        commands.ChangeScenarioCommand,
        commands.ChangeScenario,
        "C3",
        actor=replace_roles(COLLECTOR_FR, ("credit_manager",)),
        scenario_id="no_such",
    )
    await desk.command(collector)
    await desk.command(unknown)
    reasons = [h["dlq.reason"] for _, h in await desk.dead_letters()]
    assert reasons == ["forbidden", "unknown_scenario"]


def replace_roles(
    actor: commands.CommandActor, roles: tuple[ActorRole, ...]
) -> commands.CommandActor:
    return actor.model_copy(update={"roles": roles})


async def test_a_skipped_step_is_not_sent_and_the_invoice_moves_on(pool: asyncpg.Pool) -> None:
    desk = await started(pool, "C4", "F4")
    skip = command(
        commands.SkipStepCommand,
        commands.SkipStep,
        "C4",
        invoice_id="FR01/F4",
        step_name="friendly",
    )
    await desk.command(skip, paris(date(2026, 11, 27), 10))
    # the skip announces the step that now comes next
    assert (await desk.states("FR01/F4"))[-1].next_step == dunning.NextStep(
        step_name="call", level="level_1", channel="phone_call"
    )
    await desk.tick(paris(date(2026, 12, 11), 10))
    assert len(await desk.reminders()) == 1  # no friendly
    skipped = await pool.fetch("SELECT step_name FROM skipped_step WHERE invoice_id = 'FR01/F4'")
    assert [r["step_name"] for r in skipped] == ["friendly"]
    await desk.tick(paris(date(2026, 12, 14), 10))
    assert (await desk.reminders())[-1].step_name == "call"

    stale = command(
        commands.SkipStepCommand,
        commands.SkipStep,
        "C4",
        invoice_id="FR01/F4",
        step_name="friendly",
    )
    await desk.command(stale)
    assert [h["dlq.reason"] for _, h in await desk.dead_letters()] == ["unknown_step"]


async def test_a_command_outside_the_portfolio_is_dead_lettered_and_counted(
    pool: asyncpg.Pool,
) -> None:
    desk = await started(pool, "C5", "F5")

    def refusals() -> float:
        value = REGISTRY.get_sample_value(
            "relance_authorization_refusals_total",
            {"service": "scheduler", "route": DUNNING_COMMANDS.name, "reason": "forbidden"},
        )
        return value or 0.0

    before = refusals()
    viewer = replace_roles(COLLECTOR_FR, ("viewer",))
    await desk.command(hold("C5", date(2026, 12, 20), actor=COLLECTOR_BE))
    await desk.command(hold("C5", date(2026, 12, 20), actor=viewer))
    await desk.command(hold("C5", date(2026, 11, 20)))  # in the past
    await desk.command(hold("C-none", date(2026, 12, 20)))
    await desk.command(hold("C5", date(2026, 12, 20), invoice_id="FR01/other"))
    letters = await desk.dead_letters()
    assert [h["dlq.reason"] for _, h in letters] == [
        "forbidden",
        "forbidden",
        "hold_date_past",
        "unknown_customer",
        "unknown_invoice",
    ]
    assert "outside local:jan's portfolio" in letters[0][1]["dlq.detail"]
    assert refusals() - before == 2
    assert await desk.audits() == []
    await desk.tick(paris(date(2026, 12, 4), 10))
    assert [r.step_name for r in await desk.reminders()] == ["courtesy", "friendly"]


async def test_a_command_delivered_twice_is_executed_once(pool: asyncpg.Pool) -> None:
    desk = await started(pool, "C6", "F6")
    command_id = uuid.uuid4()
    for _ in range(2):  # the producer retried: same command, another record and event id
        note = command(
            commands.AddNoteCommand,
            commands.AddNote,
            "C6",
            command_id=command_id,
            text="Called the accountant; cheque sent Friday.",
        )
        await desk.command(note)
    notes = await pool.fetch("SELECT text, written_by FROM customer_note")
    assert [(r["text"], r["written_by"]) for r in notes] == [
        ("Called the accountant; cheque sent Friday.", "local:marie")
    ]
    (audit,) = await desk.audits()
    assert (audit.command, audit.detail) == ("add_note", {"note_length": "42"})

    skip_id = uuid.uuid4()
    for _ in range(2):
        skip = command(
            commands.SkipStepCommand,
            commands.SkipStep,
            "C6",
            command_id=skip_id,
            invoice_id="FR01/F6",
        )
        await desk.command(skip)
    next_step = await pool.fetchval(
        "SELECT next_step FROM dunning_invoice WHERE invoice_id = $1", "FR01/F6"
    )
    assert next_step == "call"  # courtesy taken, friendly skipped once: next is the call
    assert await desk.dead_letters() == []


async def test_the_operators_command_travels_on_kafka_with_an_administrator_identity(
    pool: asyncpg.Pool, kafka_bootstrap: str
) -> None:
    desk = await started(pool, "C7", "F7")
    topic = replace(DUNNING_COMMANDS, name=unique("dunning.commands.v1"))
    await create_topics(kafka_bootstrap, [topic.name])
    event = command_event(
        commands.HoldCommand,
        commands.Hold,
        customer_id="C7",
        actor=operator("alice"),
        until=date(2026, 12, 20),
        reason="ERP migration",
    )
    await publish_command({"bootstrap_servers": kafka_bootstrap}, event, topic)
    (record,) = await consume(kafka_bootstrap, topic.name, 1)
    assert record.key == b"C7"
    desk.clock.set(paris(date(2026, 11, 27), 10))
    await desk.processor.process(
        [
            IncomingRecord(
                DUNNING_COMMANDS.name, record.partition, record.offset, record.key, record.value
            )
        ]
    )
    (audit,) = await desk.audits()
    assert (audit.actor_subject, audit.actor_role, audit.detail["reason"]) == (
        "operator:alice",
        "administrator",
        "ERP migration",
    )
    await desk.tick(paris(date(2026, 12, 4), 10))
    assert len(await desk.reminders()) == 1
