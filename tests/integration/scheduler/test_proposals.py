"""Steps to confirm, on a real PostgreSQL through the consumer plumbing and its dead letters,
on a simulated clock: a step to confirm waits as a proposal; approving sends it once; an edit
makes a new version (the old one is stale); skip, postpone; two collectors deciding at once;
the timeout policies; who may decide."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from contracts import commands, dunning
from contracts.envelope import Event
from contracts.topics import DUNNING_COMMANDS
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import BatchProcessor
from services.runtime.database import create_pool
from services.runtime.dead_letter import IncomingRecord
from services.runtime.settings import DatabaseSettings
from services.scheduler import suspensions
from services.scheduler.app import DEFINITION, policy_of
from services.scheduler.commands import CommandDesk, handler
from services.scheduler.domain.library import DEFAULT_LIBRARY
from services.scheduler.proposals import Timeouts
from services.scheduler.settings import SchedulerSettings
from services.scheduler.tick import Ticker
from services.scheduler.tracking import Tracker
from tests.integration.scheduler.fixtures import SCHEMA, Scheduler, customer, opened, settled

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "scheduler" / "migrations"
PARIS = ZoneInfo("Europe/Paris")
DUE = date(2026, 12, 1)  # a Tuesday; negligent: courtesy -5, friendly +3 (Friday the 4th)

COLLECTOR = commands.CommandActor(
    subject="local:marie", roles=("collector",), company_codes=("FR01",)
)
OTHER_COLLECTOR = commands.CommandActor(
    subject="local:paul", roles=("collector",), company_codes=("FR01",)
)
OUTSIDE = commands.CommandActor(subject="local:jan", roles=("collector",), company_codes=("BE01",))
VIEWER = commands.CommandActor(subject="local:vera", roles=("viewer",), company_codes=("FR01",))
CREDIT_MANAGER = commands.CommandActor(
    subject="local:claire", roles=("credit_manager",), company_codes=("FR01",)
)


def paris(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS).astimezone(UTC)


def library(tmp_path: Path, **confirm: Any) -> Path:
    """The repository's library with its negligent ``friendly`` step to confirm."""
    folder = tmp_path / "scenarios"
    shutil.copytree(DEFAULT_LIBRARY, folder)
    fields = ", ".join(f"{k}: {v}" for k, v in {"confirm": "true", **confirm}.items())
    path = folder / "negligent.yaml"
    text = path.read_text()
    assert "template: reminder_friendly}" in text
    path.write_text(
        text.replace("template: reminder_friendly}", f"template: reminder_friendly, {fields}}}")
    )
    return folder


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    await migrations.apply_async(database_url, SCHEMA, MIGRATIONS)
    pool = await create_pool(DatabaseSettings(url=database_url), SCHEMA)
    yield pool
    await pool.close()


class Desk:
    """The scheduler on a library with steps to confirm, commands through dead-lettering."""

    def __init__(self, pool: asyncpg.Pool, folder: Path, start: datetime) -> None:
        clock = SimulatedClock(start)
        policy = policy_of(SchedulerSettings(scenarios_path=folder))
        self.scheduler = Scheduler(pool, clock, Tracker(policy), Ticker(pool, clock, policy))
        self.timeouts = Timeouts(pool, clock, policy)
        self.pool = pool
        self.offset = 0
        self.policy = policy

    def processor(self) -> BatchProcessor:
        desk = CommandDesk(self.policy)
        return BatchProcessor(
            "scheduler",
            DEFINITION.consumes,
            handler(self.scheduler.tracker.apply, desk),
            self.pool,
            self.clock,
        )

    @property
    def clock(self) -> SimulatedClock:
        return self.scheduler.clock

    def record(self, event: Event) -> IncomingRecord:
        self.offset += 1
        return IncomingRecord(
            DUNNING_COMMANDS.name,
            0,
            self.offset,
            DUNNING_COMMANDS.key(event),
            DUNNING_COMMANDS.value(event),
        )

    async def command(self, event: Event, at: datetime | None = None) -> None:
        if at is not None:
            self.clock.set(at)
        await self.processor().process([self.record(event)])

    async def tick(self, at: datetime) -> None:
        self.clock.set(at)
        await self.scheduler.ticker.run_until_idle()

    async def emitted(self, kind: type[Event]) -> list[Any]:
        return [e.payload for e in await self.scheduler.emitted() if isinstance(e, kind)]

    async def proposals(self) -> list[dunning.Proposal]:
        return await self.emitted(dunning.ProposalRaised)

    async def reminders(self) -> list[dunning.Reminder]:
        return await self.emitted(dunning.ReminderDue)

    async def dead_letters(self) -> list[str]:
        rows = await self.pool.fetch(
            "SELECT headers FROM outbox WHERE topic = $1 ORDER BY id", DUNNING_COMMANDS.dead_letter
        )
        reasons = []
        for row in rows:
            headers = {n: base64.b64decode(v).decode() for n, v in json.loads(row["headers"])}
            reasons.append(headers["dlq.reason"])
        return reasons

    async def invoice(self, invoice_id: str) -> asyncpg.Record:
        row = await self.pool.fetchrow(
            "SELECT * FROM dunning_invoice WHERE invoice_id = $1", invoice_id
        )
        assert row is not None
        return row


def decision(
    kind: Callable[..., Event],
    payload_kind: type[commands.ProposalCommand],
    proposal: dunning.Proposal,
    actor: commands.CommandActor = COLLECTOR,
    version: int | None = None,
    **fields: Any,
) -> Event:
    at = datetime(2026, 12, 4, tzinfo=UTC)
    payload = payload_kind(
        command_id=uuid.uuid4(),
        customer_id=proposal.customer_id,
        actor=actor,
        requested_at=at,
        proposal_id=proposal.proposal_id,
        version=version or proposal.version,
        **fields,
    )
    return kind(event_id=uuid.uuid4(), occurred_at=at, source="console", payload=payload)


def approval(proposal: dunning.Proposal, **fields: Any) -> Event:
    return decision(commands.ApproveProposalCommand, commands.ApproveProposal, proposal, **fields)


async def proposed_to(desk: Desk, *customers: str) -> list[dunning.Proposal]:
    """Each customer's invoice F<n> (C<n>) got its courtesy reminder, then its friendly step
    was proposed on Friday the 4th."""
    for customer_id in customers:
        number = customer_id.replace("C", "F")
        await desk.scheduler.feed([customer(customer_id), opened(customer_id, number, DUE)])
    await desk.tick(paris(date(2026, 11, 26), 10))
    await desk.tick(paris(date(2026, 12, 4), 10))
    found = {p.customer_id: p for p in await desk.proposals()}
    return [found[c] for c in customers]


async def proposed(desk: Desk) -> dunning.Proposal:
    (proposal,) = await proposed_to(desk, "C1")
    return proposal


async def test_a_step_to_confirm_waits_as_a_proposal_and_an_approval_sends_it_once(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    desk = Desk(pool, library(tmp_path), paris(date(2026, 11, 20), 10))
    proposal = await proposed(desk)
    assert [r.step_name for r in await desk.reminders()] == ["courtesy"]  # friendly waits
    assert (proposal.version, proposal.reminder.step_name, proposal.reminder.channel) == (
        1,
        "friendly",
        "interactive_email",
    )
    assert (proposal.confirm_role, proposal.on_timeout) == ("collector", "hold")
    # three whole business days (Mon 7, Tue 8, Wed 9), then the policy; reminded the day before
    assert proposal.deadline == paris(date(2026, 12, 10), 9)
    assert proposal.remind_owner_at == paris(date(2026, 12, 9), 9)
    waiting = (await desk.emitted(dunning.DunningStateChanged))[-1]
    assert (waiting.paused, waiting.pause_reason, waiting.next_action_at) == (
        True,
        "proposal",
        None,
    )
    await desk.tick(paris(date(2026, 12, 8), 10))  # nothing fires while it waits
    assert len(await desk.proposals()) == 1

    approve = approval(proposal)
    await desk.command(approve, paris(date(2026, 12, 8), 11))
    await desk.command(approve)  # the same command again: applied once
    await desk.command(approval(proposal, actor=OTHER_COLLECTOR))  # someone else, after
    sent = (await desk.reminders())[-1]
    assert sent.step_name == "friendly"
    assert sent.reminder_id == proposal.reminder.reminder_id
    assert sent.proposal == dunning.ProposalVersion(proposal_id=proposal.proposal_id, version=1)
    assert sent.scheduled_for == paris(date(2026, 12, 8), 11)
    assert len(await desk.reminders()) == 2
    assert await desk.dead_letters() == ["already_decided"]
    (closed,) = await desk.emitted(dunning.ProposalClosed)
    assert (closed.decision, closed.by, closed.reminder_id) == (
        "approved",
        "local:marie",
        sent.reminder_id,
    )
    audits = await desk.emitted(dunning.CommandExecuted)
    assert [(a.command, a.actor_subject) for a in audits] == [("approve_proposal", "local:marie")]
    assert (audits[0].before[0].next_step, audits[0].after[0].next_step) == ("friendly", "call")
    row = await desk.invoice("FR01/F1")
    assert (row["pause_reason"], row["last_step_name"]) == (None, "friendly")
    assert row["next_action_at"] == paris(date(2026, 12, 14), 9)  # the call, due + 12 (Sun)


async def test_an_edit_is_a_new_version_and_a_decision_on_the_old_one_is_stale(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    desk = Desk(pool, library(tmp_path), paris(date(2026, 11, 20), 10))
    proposal = await proposed(desk)
    edit = decision(
        commands.EditProposalCommand,
        commands.EditProposal,
        proposal,
        channel="email",
        recipient_role="accounting",
        paragraphs={"opening": "Further to our call this morning,"},
    )
    await desk.command(edit, paris(date(2026, 12, 7), 10))
    edited = (await desk.proposals())[-1]
    assert (edited.proposal_id, edited.version, edited.edited_by) == (
        proposal.proposal_id,
        2,
        "local:marie",
    )
    assert (edited.reminder.channel, edited.reminder.recipient_role) == ("email", "accounting")
    assert edited.paragraphs == {"opening": "Further to our call this morning,"}

    await desk.command(approval(proposal, actor=OTHER_COLLECTOR))  # saw version 1
    assert await desk.dead_letters() == ["stale_proposal"]
    await desk.command(approval(edited))
    sent = (await desk.reminders())[-1]
    assert (sent.channel, sent.recipient_role, sent.proposal) == (
        "email",
        "accounting",
        dunning.ProposalVersion(proposal_id=proposal.proposal_id, version=2),
    )
    same = decision(commands.EditProposalCommand, commands.EditProposal, edited, channel="email")
    await desk.command(same)
    assert await desk.dead_letters() == ["stale_proposal", "already_decided"]


async def test_two_collectors_deciding_at_once_one_wins_the_other_is_told(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    desk = Desk(pool, library(tmp_path), paris(date(2026, 11, 20), 10))
    proposal = await proposed(desk)
    desk.clock.set(paris(date(2026, 12, 7), 10))
    approve = approval(proposal)
    skip = decision(
        commands.SkipProposalCommand,
        commands.SkipProposal,
        proposal,
        actor=OTHER_COLLECTOR,
        reason="customer paid by phone",
    )
    await asyncio.gather(
        desk.processor().process([desk.record(approve)]),
        desk.processor().process([desk.record(skip)]),
    )
    (closed,) = await desk.emitted(dunning.ProposalClosed)
    assert await desk.dead_letters() == ["already_decided"]
    reminders = await desk.reminders()
    assert len(reminders) == (2 if closed.decision == "approved" else 1)


async def test_a_skipped_proposal_moves_on_and_a_postponed_one_comes_back_on_its_day(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    desk = Desk(pool, library(tmp_path), paris(date(2026, 11, 20), 10))
    first, second = await proposed_to(desk, "C1", "C2")
    skip = decision(
        commands.SkipProposalCommand, commands.SkipProposal, first, reason="promised on the phone"
    )
    await desk.command(skip, paris(date(2026, 12, 7), 10))
    row = await desk.invoice("FR01/F1")
    assert (row["pause_reason"], row["last_step_name"]) == (None, "courtesy")
    assert row["next_action_at"] == paris(date(2026, 12, 14), 9)  # the call, not friendly
    skipped = await pool.fetchval("SELECT step_name FROM skipped_step WHERE invoice_id = 'FR01/F1'")
    assert skipped == "friendly"

    postpone = decision(
        commands.PostponeProposalCommand,
        commands.PostponeProposal,
        second,
        until=date(2026, 12, 11),
    )
    await desk.command(postpone, paris(date(2026, 12, 7), 10))
    past = decision(
        commands.PostponeProposalCommand,
        commands.PostponeProposal,
        second,
        until=date(2026, 12, 7),
    )
    await desk.command(past)
    assert await desk.dead_letters() == ["already_decided"]
    await desk.tick(paris(date(2026, 12, 10), 17))
    assert len(await desk.proposals()) == 2
    await desk.tick(paris(date(2026, 12, 11), 9))
    again = (await desk.proposals())[-1]
    assert again.proposal_id != second.proposal_id
    assert (again.customer_id, again.reminder.step_name) == ("C2", "friendly")
    decided = [(c.customer_id, c.decision) for c in await desk.emitted(dunning.ProposalClosed)]
    assert decided == [("C1", "skipped"), ("C2", "postponed")]
    assert [r.step_name for r in await desk.reminders()] == ["courtesy", "courtesy"]


@pytest.mark.parametrize("policy", ["send", "skip", "hold"])
async def test_a_proposal_nobody_decided_follows_its_step_s_policy(
    pool: asyncpg.Pool, tmp_path: Path, policy: str
) -> None:
    folder = library(tmp_path, on_timeout=policy, timeout_business_days=1)
    desk = Desk(pool, folder, paris(date(2026, 11, 20), 10))
    proposal = await proposed(desk)
    assert proposal.deadline == paris(date(2026, 12, 8), 9)  # Monday 7th, then the policy
    desk.clock.set(paris(date(2026, 12, 8), 8, 59))
    assert await desk.timeouts.run_until_idle() == 0
    desk.clock.set(paris(date(2026, 12, 8), 9))
    assert await desk.timeouts.run_until_idle() == 1
    assert await desk.timeouts.run_until_idle() == 0  # once
    closed = await desk.emitted(dunning.ProposalClosed)
    steps = [r.step_name for r in await desk.reminders()]
    row = await desk.invoice("FR01/F1")
    if policy == "send":
        assert [(c.decision, c.by) for c in closed] == [("approved", "timeout")]
        assert steps == ["courtesy", "friendly"]
        assert row["pause_reason"] is None
    elif policy == "skip":
        assert [(c.decision, c.by) for c in closed] == [("skipped", "timeout")]
        assert steps == ["courtesy"]
        assert row["next_action_at"] == paris(date(2026, 12, 14), 9)
    else:
        assert closed == []
        assert steps == ["courtesy"]
        assert row["pause_reason"] == "proposal"  # still waits for someone to decide
        await desk.command(approval(proposal), paris(date(2026, 12, 9), 10))
        assert [r.step_name for r in await desk.reminders()] == ["courtesy", "friendly"]


def hold(proposal: dunning.Proposal, until: date) -> Event:
    at = datetime(2026, 12, 7, tzinfo=UTC)
    payload = commands.Hold(
        command_id=uuid.uuid4(),
        customer_id=proposal.customer_id,
        actor=COLLECTOR,
        requested_at=at,
        until=until,
        reason="credit note being issued",
    )
    return commands.HoldCommand(
        event_id=uuid.uuid4(), occurred_at=at, source="console", payload=payload
    )


async def proposal_row(pool: asyncpg.Pool, proposal: dunning.Proposal) -> asyncpg.Record:
    row = await pool.fetchrow("SELECT * FROM proposal WHERE proposal_id = $1", proposal.proposal_id)
    assert row is not None
    return row


@pytest.mark.parametrize("obstacle", ["held", "suspended"])
async def test_a_timed_out_send_under_a_hold_or_suspension_goes_once_it_is_lifted(
    pool: asyncpg.Pool, tmp_path: Path, obstacle: str
) -> None:
    folder = library(tmp_path, on_timeout="send", timeout_business_days=1)
    desk = Desk(pool, folder, paris(date(2026, 11, 20), 10))
    proposal = await proposed(desk)
    if obstacle == "held":  # held until Thursday the 10th, midnight in Paris
        await desk.command(hold(proposal, date(2026, 12, 10)), paris(date(2026, 12, 7), 10))
    else:
        async with pool.acquire() as connection, connection.transaction():
            await suspensions.suspend(
                connection,
                company_code="FR01",
                by="alice",
                reason="ERP migration",
                now=paris(date(2026, 12, 7), 10),
            )
    assert await desk.dead_letters() == []
    desk.clock.set(proposal.deadline)  # Tuesday 8th, 09:00: the policy applies, once
    assert await desk.timeouts.run_until_idle() == 1
    assert await desk.timeouts.run_until_idle() == 0
    row = await proposal_row(pool, proposal)
    assert (row["status"], row["send_deferred"]) == ("pending", obstacle)
    assert [r.step_name for r in await desk.reminders()] == ["courtesy"]
    assert (await desk.invoice("FR01/F1"))["pause_reason"] in ("proposal", "hold")
    desk.clock.set(paris(date(2026, 12, 9), 15))  # still held back the next day
    assert await desk.timeouts.run_until_idle() == 0
    assert await desk.emitted(dunning.ProposalClosed) == []

    if obstacle == "held":
        lifted = paris(date(2026, 12, 10), 0, 5)  # the hold's day has come
        desk.clock.set(lifted)
    else:
        lifted = paris(date(2026, 12, 9), 16)
        async with pool.acquire() as connection, connection.transaction():
            await suspensions.resume(connection, company_code="FR01", by="alice", now=lifted)
        desk.clock.set(lifted)
    assert await desk.timeouts.run_until_idle() == 1
    assert await desk.timeouts.run_until_idle() == 0  # sent once
    steps = [(r.step_name, r.proposal) for r in await desk.reminders()]
    assert steps == [
        ("courtesy", None),
        ("friendly", dunning.ProposalVersion(proposal_id=proposal.proposal_id, version=1)),
    ]
    friendly = (await desk.reminders())[-1]
    # at the next instant of the sending window: 09:00 after the hold's midnight, at once
    # when the resumption comes in the afternoon
    expected = paris(date(2026, 12, 10), 9) if obstacle == "held" else lifted
    assert friendly.scheduled_for == expected
    (closed,) = await desk.emitted(dunning.ProposalClosed)
    assert (closed.decision, closed.by) == ("approved", "timeout")
    row = await proposal_row(pool, proposal)
    assert (row["status"], row["send_deferred"]) == ("approved", None)
    invoice = await desk.invoice("FR01/F1")
    assert invoice["pause_reason"] is None
    assert invoice["last_step_name"] == "friendly"


async def test_a_deferred_send_decided_by_a_collector_meanwhile_is_not_sent_again(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    folder = library(tmp_path, on_timeout="send", timeout_business_days=1)
    desk = Desk(pool, folder, paris(date(2026, 11, 20), 10))
    proposal = await proposed(desk)
    await desk.command(hold(proposal, date(2026, 12, 10)), paris(date(2026, 12, 7), 10))
    desk.clock.set(proposal.deadline)
    assert await desk.timeouts.run_until_idle() == 1
    skipping = decision(
        commands.SkipProposalCommand, commands.SkipProposal, proposal, reason="paid by cheque"
    )
    await desk.command(skipping, paris(date(2026, 12, 9), 10))
    desk.clock.set(paris(date(2026, 12, 10), 10))
    assert await desk.timeouts.run_until_idle() == 0
    assert [r.step_name for r in await desk.reminders()] == ["courtesy"]
    (closed,) = await desk.emitted(dunning.ProposalClosed)
    assert (closed.decision, closed.by) == ("skipped", "local:marie")


@pytest.mark.parametrize("policy", ["send", "hold"])
async def test_a_proposal_whose_invoices_were_paid_is_withdrawn_at_its_deadline(
    pool: asyncpg.Pool, tmp_path: Path, policy: str
) -> None:
    desk = Desk(pool, library(tmp_path, on_timeout=policy), paris(date(2026, 11, 20), 10))
    proposal = await proposed(desk)
    await desk.scheduler.feed([settled("C1", "F1", DUE)])
    await desk.command(approval(proposal), paris(date(2026, 12, 7), 10))
    assert await desk.dead_letters() == ["invoice_closed"]
    desk.clock.set(proposal.deadline)
    assert await desk.timeouts.run_until_idle() == 1
    (closed,) = await desk.emitted(dunning.ProposalClosed)
    assert (closed.decision, closed.by) == ("withdrawn", "timeout")
    assert [r.step_name for r in await desk.reminders()] == ["courtesy"]


async def test_who_may_decide_a_proposal(pool: asyncpg.Pool, tmp_path: Path) -> None:
    folder = library(tmp_path, confirm_role="credit_manager")
    desk = Desk(pool, folder, paris(date(2026, 11, 20), 10))
    proposal = await proposed(desk)
    assert proposal.confirm_role == "credit_manager"
    desk.clock.set(paris(date(2026, 12, 7), 10))
    for actor in (VIEWER, OUTSIDE, COLLECTOR):
        await desk.command(approval(proposal, actor=actor))
    assert await desk.dead_letters() == ["forbidden", "forbidden", "forbidden"]
    assert len(await desk.reminders()) == 1
    await desk.command(approval(proposal, actor=CREDIT_MANAGER))
    assert len(await desk.reminders()) == 2


async def test_a_bulk_approval_decides_each_proposal_on_its_own(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    desk = Desk(pool, library(tmp_path), paris(date(2026, 11, 20), 10))
    first, second = await proposed_to(desk, "C1", "C2")
    await desk.command(approval(second), paris(date(2026, 12, 7), 10))

    def bulk(*cited: dunning.Proposal) -> Event:
        return commands.ApproveProposalsCommand(
            event_id=uuid.uuid4(),
            occurred_at=datetime(2026, 12, 7, tzinfo=UTC),
            source="console",
            payload=commands.ApproveProposals(
                command_id=uuid.uuid4(),
                actor=OTHER_COLLECTOR,
                requested_at=datetime(2026, 12, 7, tzinfo=UTC),
                proposals=tuple(
                    dunning.ProposalVersion(proposal_id=p.proposal_id, version=p.version)
                    for p in cited
                ),
            ),
        )

    await desk.command(bulk(first, second))  # the second was approved already
    assert await desk.dead_letters() == []
    sent = {r.customer_id for r in await desk.reminders() if r.step_name == "friendly"}
    assert sent == {"C1", "C2"}
    assert len(await desk.reminders()) == 4
    await desk.command(bulk(first, second))  # both decided now: refused as a whole
    assert await desk.dead_letters() == ["already_decided"]
    assert len(await desk.reminders()) == 4
    audits = [a for a in await desk.emitted(dunning.CommandExecuted)]
    assert [(a.customer_id, a.actor_subject) for a in audits] == [
        ("C2", "local:marie"),
        ("C1", "local:paul"),
    ]


async def test_the_tick_goes_on_by_itself_where_nothing_is_to_confirm(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    desk = Desk(pool, library(tmp_path, confirm="false"), paris(date(2026, 11, 20), 10))
    await desk.scheduler.feed([customer("C1"), opened("C1", "F1", DUE)])
    await desk.tick(paris(date(2026, 11, 26), 10))
    await desk.tick(paris(date(2026, 12, 4), 10))
    assert [r.step_name for r in await desk.reminders()] == ["courtesy", "friendly"]
    assert await desk.proposals() == []
    assert (await desk.reminders())[-1].proposal is None


async def test_files_are_added_to_an_email_proposal_only(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    desk = Desk(pool, library(tmp_path), paris(date(2026, 11, 20), 10))
    proposal = await proposed(desk)
    quote = dunning.ProposalAttachment(
        filename="devis.pdf", media_type="application/pdf", sha256="a" * 64
    )
    on_paper = decision(
        commands.EditProposalCommand,
        commands.EditProposal,
        proposal,
        channel="postal_letter",
        attachments=(quote,),
    )
    await desk.command(on_paper, paris(date(2026, 12, 7), 10))
    assert await desk.dead_letters() == ["invalid_edit"]
    by_email = decision(
        commands.EditProposalCommand, commands.EditProposal, proposal, attachments=(quote,)
    )
    await desk.command(by_email)
    edited = (await desk.proposals())[-1]
    assert (edited.version, edited.attachments) == (2, (quote,))
    (audit,) = await desk.emitted(dunning.CommandExecuted)
    assert audit.detail["attachments"] == "1"
