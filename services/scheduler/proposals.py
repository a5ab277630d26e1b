"""Proposals: steps that wait for a collector's decision (semi-automatic mode).

Three doors lead here, each reading, asking :mod:`services.scheduler.domain.proposals`, and
writing in the caller's transaction:

- the tick: a step to confirm falls due; instead of its ``dunning.reminder.due`` the tick
  stores a proposal, pauses its invoices (``proposal``) at the step, and emits a
  ``dunning.proposal.raised`` carrying the reminder as it would go (:func:`raised`,
  :func:`write_raised`);
- collectors' commands (:class:`services.scheduler.commands.CommandDesk`): approve, edit,
  postpone, skip, each citing the version it saw, on the proposal's row locked after its
  customer's (:func:`approve`, :func:`edit`, :func:`postpone`, :func:`skip`);
- the timeout loop (:class:`Timeouts`): a proposal nobody decided by its deadline follows
  its step's ``on_timeout``: ``send`` approves it, ``skip`` skips it, ``hold`` leaves it
  waiting for a decision (its invoices stay paused). A ``send`` refused because the customer
  is held or its company suspended is *deferred* (``send_deferred``): the loop approves it
  once the hold has ended and no suspension covers the company, through the same checks.

Every end is announced as a ``dunning.proposal.decided``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from contracts.dunning import (
    DunningStateChanged,
    Proposal,
    ProposalAttachment,
    ProposalClosed,
    ProposalDecided,
    ProposalDecision,
    ProposalRaised,
    ProposalVersion,
    Reminder,
    ReminderDue,
)
from contracts.envelope import Event
from contracts.topics import DUNNING_ACTIONS
from services.runtime.clock import Clock
from services.runtime.database import Connection, Pool
from services.runtime.outbox import OutgoingRecord, enqueue
from services.scheduler import metrics, queries
from services.scheduler.domain import proposals as decide
from services.scheduler.domain.contact_rule import Reminding, sending_instant
from services.scheduler.domain.scenario import Step
from services.scheduler.domain.state import Customer, InvoiceState, Policy, heading_for
from services.scheduler.errors import CommandRejected
from services.scheduler.outgoing import SOURCE
from services.scheduler.suspensions import holding
from services.scheduler.tracking import save

SERVICE = "scheduler"

Move = tuple[InvoiceState, InvoiceState]
EMAIL_CHANNELS = frozenset({"email", "interactive_email"})
"""The channels a proposal's extra files can go with."""


@dataclass(frozen=True)
class Raised:
    """A proposal the tick raises: its row, its event, its invoices waiting at the step."""

    proposal: Proposal
    scenario_id: str
    step_name: str
    steps: dict[str, str]  # invoice: the identity of the step it waits at
    moves: tuple[Move, ...]
    raised_at: datetime

    @property
    def record(self) -> OutgoingRecord:
        event = ProposalRaised(
            event_id=uuid.uuid5(self.proposal.proposal_id, "v1"),
            occurred_at=self.raised_at,
            source=SOURCE,
            payload=self.proposal,
        )
        return OutgoingRecord.of(DUNNING_ACTIONS, event)


def raised(
    policy: Policy,
    customer: Customer,
    reminding: Reminding,
    reminder_record: OutgoingRecord,
    confirmation: decide.Confirmation,
    now: datetime,
) -> Raised:
    """The proposal of ``reminding`` (whose reminder-due record the tick wrote, unsent)."""
    reminder = Reminder.model_validate(json.loads(reminder_record.value)["payload"])
    due = decide.deadline(customer, policy.window, now, confirmation.timeout_business_days)
    proposal = Proposal(
        proposal_id=decide.proposal_id_of(reminding.reminder_id, now),
        version=1,
        customer_id=customer.customer_id,
        reminder=reminder,
        confirm_role=confirmation.role,
        deadline=due.at,
        remind_owner_at=due.remind_at,
        on_timeout=confirmation.on_timeout,
    )
    scenario = policy.library.scenarios[reminding.scenario_id]
    moves = []
    steps: dict[str, str] = {}
    for before, sent in reminding.moves:
        # the step taken (earlier ones were passed over), by the name the moved state records
        position = next(i for i, s in enumerate(scenario.steps) if s.name == sent.last_step_name)
        steps[before.invoice_id] = scenario.steps[position].id
        moves.append((before, decide.proposed(policy, before, position)))
    return Raised(proposal, reminding.scenario_id, reminding.step.name, steps, tuple(moves), now)


async def write_raised(connection: Connection, raised_now: Sequence[Raised]) -> None:
    """Store the tick's proposals and pause their invoices (the records go with the tick's)."""
    for one in raised_now:
        proposal = one.proposal
        await connection.execute(
            queries.INSERT_PROPOSAL,
            proposal.proposal_id,
            proposal.reminder.customer_id,
            proposal.reminder.company_code,
            one.scenario_id,
            one.step_name,
            json.dumps(one.steps),
            proposal.model_dump_json(),
            proposal.confirm_role,
            proposal.on_timeout,
            proposal.deadline,
            proposal.remind_owner_at,
            one.raised_at,
        )
        for _, after in one.moves:
            await save(connection, after)
    metrics.PROPOSALS.labels(SERVICE, "raised").inc(len(raised_now))


# -- decisions ---------------------------------------------------------------------------


@dataclass
class Outcome:
    """What a decision changed: the invoices' moves, and the events beside their states."""

    moves: list[Move] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    detail: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Stored:
    """A proposal's row, as read under its lock."""

    proposal: Proposal
    status: str
    scenario_id: str
    step_name: str
    steps: dict[str, str]  # invoice: the identity of the step it waits at
    timed_out: bool

    @classmethod
    def of(cls, row: Any) -> Stored:
        return cls(
            Proposal.model_validate_json(row["payload"]),
            row["status"],
            row["scenario_id"],
            row["step_name"],
            json.loads(row["steps"]),
            row["timed_out_at"] is not None,
        )

    @property
    def version(self) -> int:
        return self.proposal.version


async def locked(connection: Connection, customer: Customer, proposal_id: uuid.UUID) -> Stored:
    """The proposal, locked (after its customer), refused if unknown or another customer's."""
    row = await connection.fetchrow(queries.PROPOSAL_FOR_UPDATE, proposal_id)
    if row is None or row["customer_id"] != customer.customer_id:
        raise CommandRejected(
            "unknown_proposal", f"no proposal {proposal_id} of customer {customer.customer_id}"
        )
    return Stored.of(row)


async def _invoices(connection: Connection, stored: Stored) -> list[InvoiceState]:
    rows = await connection.fetch(queries.INVOICES_FOR_UPDATE, sorted(stored.steps))
    return [InvoiceState.of(r) for r in rows]


def _closed(
    stored: Stored,
    customer: Customer,
    decision: ProposalDecision,
    by: str,
    now: datetime,
    **fields: Any,
) -> ProposalClosed:
    return ProposalClosed(
        event_id=uuid.uuid4(),
        occurred_at=now,
        source=SOURCE,
        payload=ProposalDecided(
            proposal_id=stored.proposal.proposal_id,
            version=stored.version,
            customer_id=customer.customer_id,
            company_code=customer.company_code,
            decision=decision,
            by=by,
            at=now,
            **fields,
        ),
    )


async def _end(
    connection: Connection,
    stored: Stored,
    decision: ProposalDecision,
    by: str,
    now: datetime,
    reason: str | None = None,
) -> None:
    await connection.execute(
        queries.END_PROPOSAL, stored.proposal.proposal_id, decision, now, by, reason
    )
    metrics.PROPOSALS.labels(SERVICE, decision).inc()


def _step(policy: Policy, stored: Stored) -> Step | None:
    """The proposed step, while the library still has it."""
    scenario = policy.library.scenarios.get(stored.scenario_id)
    if scenario is None:
        return None
    ids = set(stored.steps.values())  # by identity: the step may be renamed meanwhile
    return next((s for s in scenario.steps if s.id in ids), None)


async def approve(
    connection: Connection,
    policy: Policy,
    customer: Customer,
    stored: Stored,
    by: str,
    now: datetime,
) -> Outcome:
    """Send the proposal's reminder as proposed (the version approved), at the next sending
    instant; its invoices move past the step as the tick moves reminded ones."""
    if customer.held_at(now):
        raise CommandRejected("held", f"a hold stands for {customer.customer_id}")
    for suspension in await holding(connection):
        if suspension.covers(customer.company_code):
            raise CommandRejected("suspended", f"sending is suspended for {customer.company_code}")
    step = _step(policy, stored)
    outcome = Outcome()
    at = sending_instant(policy, customer, now)
    sending: list[InvoiceState] = []
    for state in await _invoices(connection, stored):
        if (
            step is not None
            and decide.waiting(state, stored.scenario_id, stored.steps[state.invoice_id])
            and state.pauses == (decide.PAUSE,)
            and not state.held_at(now)
        ):
            sending.append(state)
            outcome.moves.append((state, decide.approved(policy, state, customer, step, at)))
        elif decide.PAUSE in state.pauses:
            outcome.moves.append((state, decide.released(policy, state, customer, now)))
    if not sending:
        raise CommandRejected(
            "invoice_closed",
            f"no invoice of proposal {stored.proposal.proposal_id} still waits at its step",
        )
    kept = {s.invoice_id for s in sending}
    proposed = stored.proposal.reminder
    reminder = proposed.model_copy(
        update={
            "scheduled_for": at,
            "invoices": tuple(i for i in proposed.invoices if i.invoice_id in kept),
            "proposal": ProposalVersion(
                proposal_id=stored.proposal.proposal_id, version=stored.version
            ),
        }
    )
    reminder = Reminder.model_validate(reminder.model_dump())  # checked as a contract
    await connection.execute(
        queries.RECORD_REMINDER,
        reminder.reminder_id,
        customer.customer_id,
        reminder.model_dump(mode="json"),
        None,
        now,
    )
    await connection.execute(queries.SET_LAST_CONTACT, customer.customer_id, at)
    await _end(connection, stored, "approved", by, now)
    outcome.events.append(
        ReminderDue(event_id=reminder.reminder_id, occurred_at=now, source=SOURCE, payload=reminder)
    )
    outcome.events.append(
        _closed(stored, customer, "approved", by, now, reminder_id=reminder.reminder_id)
    )
    outcome.detail = {
        "proposal_id": str(stored.proposal.proposal_id),
        "version": str(stored.version),
        "reminder_id": str(reminder.reminder_id),
    }
    return outcome


async def skip(
    connection: Connection,
    policy: Policy,
    customer: Customer,
    stored: Stored,
    by: str,
    reason: str,
    now: datetime,
) -> Outcome:
    """Do not send it: the invoices waiting at the step move past it."""
    outcome = Outcome()
    passed = []
    for state in await _invoices(connection, stored):
        if decide.waiting(state, stored.scenario_id, stored.steps[state.invoice_id]):
            passed.append(state.invoice_id)
            outcome.moves.append((state, decide.skipped(policy, state, customer, now)))
        elif decide.PAUSE in state.pauses:
            outcome.moves.append((state, decide.released(policy, state, customer, now)))
    if passed:
        await connection.execute(
            queries.RECORD_SKIPPED,
            passed,
            [stored.scenario_id] * len(passed),
            [stored.step_name] * len(passed),
            now,
        )
    await _end(connection, stored, "skipped", by, now, reason)
    outcome.events.append(_closed(stored, customer, "skipped", by, now, reason=reason))
    outcome.detail = {
        "proposal_id": str(stored.proposal.proposal_id),
        "version": str(stored.version),
        "reason": reason,
    }
    return outcome


async def postpone(
    connection: Connection,
    policy: Policy,
    customer: Customer,
    stored: Stored,
    by: str,
    until: Any,
    now: datetime,
) -> Outcome:
    """The step is proposed again on ``until`` (a day); the invoices wait until then."""
    at = decide.postpone_instant(customer, policy.window, until, now)
    outcome = Outcome()
    for state in await _invoices(connection, stored):
        if decide.waiting(state, stored.scenario_id, stored.steps[state.invoice_id]):
            outcome.moves.append((state, decide.postponed(policy, state, customer, at)))
        elif decide.PAUSE in state.pauses:
            outcome.moves.append((state, decide.released(policy, state, customer, now)))
    await _end(connection, stored, "postponed", by, now)
    outcome.events.append(_closed(stored, customer, "postponed", by, now, postponed_until=until))
    outcome.detail = {
        "proposal_id": str(stored.proposal.proposal_id),
        "version": str(stored.version),
        "until": until.isoformat(),
    }
    return outcome


async def edit(
    connection: Connection,
    policy: Policy,
    stored: Stored,
    by: str,
    *,
    paragraphs: dict[str, str],
    channel: str | None,
    recipient_role: str | None,
    attachments: tuple[ProposalAttachment, ...] | None = None,
    now: datetime,
) -> Outcome:
    """A new version: the paragraphs rewritten, the channel or recipient changed; the notifier
    renders it again, and the collectors decide on that version."""
    step = _step(policy, stored)
    if step is not None:
        decide.checked_channel(step, channel)
    proposal = stored.proposal
    reminder = proposal.reminder
    changes: dict[str, Any] = {}
    if channel is not None and channel != reminder.channel:
        changes["channel"] = channel
    if recipient_role is not None and recipient_role != reminder.recipient_role:
        changes["recipient_role"] = recipient_role
    merged = {**proposal.paragraphs, **paragraphs}
    files = proposal.attachments if attachments is None else attachments
    if not changes and merged == proposal.paragraphs and files == proposal.attachments:
        raise CommandRejected("invalid_edit", "the edit changes nothing")
    if files and (changes.get("channel") or reminder.channel) not in EMAIL_CHANNELS:
        raise CommandRejected("invalid_edit", "files are attached to an email only")
    edited = Proposal.model_validate(
        {
            **proposal.model_dump(),
            "version": proposal.version + 1,
            "reminder": {**reminder.model_dump(), **changes},
            "paragraphs": merged,
            "attachments": [a.model_dump() for a in files],
            "edited_by": by,
        }
    )
    await connection.execute(
        queries.EDIT_PROPOSAL, proposal.proposal_id, edited.version, edited.model_dump_json()
    )
    metrics.PROPOSALS.labels(SERVICE, "edited").inc()
    event = ProposalRaised(
        event_id=uuid.uuid5(proposal.proposal_id, f"v{edited.version}"),
        occurred_at=now,
        source=SOURCE,
        payload=edited,
    )
    detail = {
        "proposal_id": str(proposal.proposal_id),
        "version": str(edited.version),
        **{f"changed.{name}": str(value) for name, value in changes.items()},
    }
    if paragraphs:
        detail["paragraphs"] = ",".join(sorted(paragraphs))  # their names, not their text
    if attachments is not None:
        detail["attachments"] = str(len(files))
    return Outcome(events=[event], detail=detail)


# -- timeouts ----------------------------------------------------------------------------


def _state_events(
    policy: Policy, customer: Customer, moves: Sequence[Move], now: datetime
) -> list[Event]:
    events: list[Event] = []
    for before, after in moves:
        if (before.snapshot(now), before.next_step) == (after.snapshot(now), after.next_step):
            continue
        snapshot = after.snapshot(now, heading_for(policy.library, after, customer))
        if snapshot is not None:
            events.append(
                DunningStateChanged(
                    event_id=uuid.uuid4(), occurred_at=now, source=SOURCE, payload=snapshot
                )
            )
    return events


@dataclass
class Timeouts:
    """Applies the step's ``on_timeout`` to proposals past their deadline, and sends the
    timed-out ``send`` proposals that waited for a hold's end or a suspension's lifting."""

    pool: Pool
    clock: Clock
    policy: Policy
    batch_size: int = 100

    async def run_once(self) -> int:
        """Proposals past their deadline, then deferred sends now free, a batch each in one
        transaction; how many were handled (a deferred send still held back is not)."""
        now = self.clock.now()
        handled = 0
        async with self.pool.acquire() as connection, connection.transaction():
            due = await connection.fetch(queries.PROPOSALS_PAST_DEADLINE, now, self.batch_size)
            for row in due:
                stored, customer = await self._locked(connection, row)
                if stored is None or customer is None:
                    continue
                if stored.status != decide.PENDING or stored.timed_out:
                    continue
                events, deferred = await self._apply(connection, customer, stored, now)
                await connection.execute(
                    queries.TIMED_OUT, stored.proposal.proposal_id, now, deferred
                )
                await enqueue(connection, [OutgoingRecord.of(DUNNING_ACTIONS, e) for e in events])
                handled += 1
            free = await connection.fetch(queries.PROPOSALS_TO_SEND_NOW_FREE, now, self.batch_size)
            for row in free:
                stored, customer = await self._locked(connection, row)
                if stored is None or customer is None or stored.status != decide.PENDING:
                    continue
                events, deferred = await self._apply(connection, customer, stored, now)
                await connection.execute(
                    queries.SEND_DEFERRED, stored.proposal.proposal_id, deferred
                )
                await enqueue(connection, [OutgoingRecord.of(DUNNING_ACTIONS, e) for e in events])
                if deferred is None:  # sent or withdrawn; held back again, it is not handled
                    handled += 1
        return handled

    async def run_until_idle(self) -> int:
        total = 0
        while handled := await self.run_once():
            total += handled
        return total

    @staticmethod
    async def _locked(connection: Connection, row: Any) -> tuple[Stored | None, Customer | None]:
        # the customer first, then the proposal, as commands lock them
        customer_row = await connection.fetchrow(queries.CUSTOMER_FOR_UPDATE, row["customer_id"])
        proposal_row = await connection.fetchrow(queries.PROPOSAL_FOR_UPDATE, row["proposal_id"])
        return (
            Stored.of(proposal_row) if proposal_row is not None else None,
            Customer.of(customer_row) if customer_row is not None else None,
        )

    async def _apply(
        self, connection: Connection, customer: Customer, stored: Stored, now: datetime
    ) -> tuple[list[Event], str | None]:
        """The policy's events, and why a ``send`` waits (``held``, ``suspended``) if it does."""
        policy = stored.proposal.on_timeout
        if not stored.timed_out:
            metrics.PROPOSALS.labels(SERVICE, f"timeout_{policy}").inc()
        still = [
            s
            for s in await _invoices(connection, stored)
            if decide.waiting(s, stored.scenario_id, stored.steps[s.invoice_id])
        ]
        if not still:  # paid, cancelled or moved since: nothing left to decide
            return await self._withdraw(connection, customer, stored, now), None
        if policy == "hold":
            return [], None  # it waits for a decision; the invoices stay paused
        try:
            async with connection.transaction():
                if policy == "send":
                    outcome = await approve(
                        connection, self.policy, customer, stored, decide.TIMEOUT_ACTOR, now
                    )
                else:
                    outcome = await skip(
                        connection,
                        self.policy,
                        customer,
                        stored,
                        decide.TIMEOUT_ACTOR,
                        "not decided in time",
                        now,
                    )
                for _, after in outcome.moves:
                    await save(connection, after)
        except CommandRejected as exc:
            if exc.reason in ("held", "suspended"):
                # sent by this loop once the hold ends or the suspension is lifted; a
                # collector may still decide it meanwhile
                metrics.PROPOSALS.labels(SERVICE, "send_deferred").inc()
                return [], exc.reason
            if exc.reason != "invoice_closed":
                return [], None  # it keeps waiting, as under ``hold``
            return await self._withdraw(connection, customer, stored, now), None
        return [*_state_events(self.policy, customer, outcome.moves, now), *outcome.events], None

    async def _withdraw(
        self, connection: Connection, customer: Customer, stored: Stored, now: datetime
    ) -> list[Event]:
        moves = [
            (s, decide.released(self.policy, s, customer, now))
            for s in await _invoices(connection, stored)
            if decide.PAUSE in s.pauses
        ]
        for _, after in moves:
            await save(connection, after)
        reason = "no invoice waits at the step any more"
        await _end(connection, stored, "withdrawn", decide.TIMEOUT_ACTOR, now, reason)
        return [
            *_state_events(self.policy, customer, moves, now),
            _closed(stored, customer, "withdrawn", decide.TIMEOUT_ACTOR, now, reason=reason),
        ]


def outstanding_of(account: Sequence[tuple[str, Decimal, int]]) -> dict[str, Decimal]:
    """What the customer owes per currency, as the library's ``confirm`` segments match it."""
    return {currency: total for currency, total, _ in account}
