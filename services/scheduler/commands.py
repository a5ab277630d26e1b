"""Executing collectors' commands (``dunning.commands.v1``) in the consumer's transaction.

Each command runs in a savepoint: it locks its customer, is skipped if its ``command_id``
was executed before, checks the actor's role and portfolio (the scheduler, which executes,
decides; a refusal is dead-lettered as ``forbidden`` and counted in
``relance_authorization_refusals_total``), reads the invoices, asks
:mod:`services.scheduler.domain.commands` what changes, writes it, and records the command
with its audit (``executed_command``). What it emits (the invoices' ``dunning.state.changed``,
a reminder sent now, and the ``dunning.command.executed`` audit event) goes out only when
the savepoint holds: a rejected command changes nothing and is dead-lettered with its reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from contracts import commands
from contracts.dunning import (
    DUNNING_LEVELS,
    CommandExecuted,
    ExecutedCommand,
    Reminder,
    ReminderDue,
)
from contracts.envelope import Event
from contracts.topics import DISPUTE_COMMANDS, DUNNING_ACTIONS, DUNNING_COMMANDS
from services.runtime.auth import REFUSALS
from services.runtime.business_days import send_instant
from services.runtime.consumer import UnitOfWork
from services.runtime.database import Connection
from services.runtime.identity import (
    Identity,
    Portfolio,
    Refused,
    require_role,
)
from services.runtime.logs import get_logger
from services.scheduler import metrics, proposals, queries
from services.scheduler.calls import log_call
from services.scheduler.domain import commands as decide
from services.scheduler.domain import proposals as decide_proposal
from services.scheduler.domain.portfolio import authorize_customer, scope_of
from services.scheduler.domain.reminders import (
    account_of,
    dunned_invoice,
    open_statement,
    reminder_id,
)
from services.scheduler.domain.state import (
    Customer,
    InvoiceState,
    Policy,
    heading_for,
    rescheduled,
)
from services.scheduler.errors import CommandRejected
from services.scheduler.operations import OperatorDesk, is_operator_command
from services.scheduler.outgoing import SOURCE
from services.scheduler.suspensions import holding
from services.scheduler.tracking import Tracker, save, state_changed

SERVICE = "scheduler"
log = get_logger(__name__)

NAMES: dict[type[Event], str] = {
    commands.HoldCommand: "hold",
    commands.ReleaseCommand: "release",
    commands.SendNowCommand: "send_now",
    commands.ChangeScenarioCommand: "change_scenario",
    commands.SkipStepCommand: "skip_step",
    commands.AddNoteCommand: "add_note",
    commands.LogCallCommand: "log_call",
    commands.ApproveProposalCommand: "approve_proposal",
    commands.EditProposalCommand: "edit_proposal",
    commands.PostponeProposalCommand: "postpone_proposal",
    commands.SkipProposalCommand: "skip_proposal",
}
BULK_APPROVAL = "approve_proposals"

SEND_NOW_STEP = "send_now"
"""The step name of a template sent now (a statement, say), outside the scenario's steps."""


def identity_of(actor: commands.CommandActor) -> Identity:
    """The authenticated identity a command carries, as the runtime kit checks it."""
    portfolio = Portfolio(
        frozenset(actor.company_codes),
        frozenset(actor.collector_codes),
        frozenset(actor.segments),
        everything=actor.everything,
    )
    return Identity(
        subject=actor.subject,
        name=actor.subject,
        roles=frozenset(actor.roles),
        portfolio=portfolio,
        kind=actor.kind,
    )


class _Run:
    """One command's reads and writes, and what it will emit if it holds."""

    def __init__(self, work: UnitOfWork, policy: Policy, now: datetime) -> None:
        self.work = work
        self.connection: Connection = work.connection
        self.policy = policy
        self.now = now
        self.emitted: list[Event] = []
        self.forwarded: list[Event] = []  # commands for the disputes service
        self.before: list[InvoiceState] = []
        self.after: list[InvoiceState] = []
        self.customer: Customer | None = None  # the command's, once read

    async def store(self, before: InvoiceState, after: InvoiceState, *, saved: bool = True) -> None:
        if saved:
            await save(self.connection, after)
        self.before.append(before)
        self.after.append(after)
        changed = state_changed(
            after, self.now, heading_for(self.policy.library, after, self.customer)
        )
        # announced when what consumers see changes, the step the timer leads to included
        if changed is not None and (before.snapshot(self.now), before.next_step) != (
            after.snapshot(self.now),
            after.next_step,
        ):
            self.emitted.append(changed)


class CommandDesk:
    """Executes collectors' commands for the scheduler's consumer."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.operators = OperatorDesk(policy)

    async def apply(self, work: UnitOfWork, event: Event) -> None:
        if is_operator_command(event):  # suspend, resume, launch a campaign
            await self.operators.apply(work, event, identity_of(event.payload.actor))
            return
        if isinstance(event, commands.ApproveProposalsCommand):
            await self._approve_all(work, event)
            return
        name = NAMES[type(event)]
        try:
            await self._attempt(work, event, name)
        except CommandRejected as exc:
            work.reject(event, exc.reason, exc.detail)

    async def _attempt(self, work: UnitOfWork, event: Event, name: str) -> None:
        """Execute one command in a savepoint; a refusal is counted and raised again."""
        now = work.clock.now()
        run = _Run(work, self.policy, now)
        try:
            async with work.connection.transaction():  # a savepoint in the batch's transaction
                executed = await self._execute(run, event, name)
        except CommandRejected as exc:
            await work.connection.execute(
                queries.RECORD_REFUSAL,
                event.payload.command_id,
                name,
                event.payload.customer_id,
                exc.reason,
                exc.detail,
                now,
            )
            metrics.COMMANDS.labels(SERVICE, name, exc.reason).inc()
            if exc.reason == "forbidden":
                REFUSALS.labels(SERVICE, DUNNING_COMMANDS.name, "forbidden").inc()
            raise
        if not executed:
            metrics.COMMANDS.labels(SERVICE, name, "duplicate").inc()
            return
        for out in run.emitted:
            work.emit(DUNNING_ACTIONS, out)
        for forwarded in run.forwarded:
            work.emit(DISPUTE_COMMANDS, forwarded)
        metrics.COMMANDS.labels(SERVICE, name, "executed").inc()

    async def rehearse(self, work: UnitOfWork, event: Event) -> list[Event]:
        """Execute one command as :meth:`apply` would (the same checks and decisions) and
        return what it would emit, raising :class:`CommandRejected` as it would refuse.

        For a dry run: the writes stay in ``work``'s transaction, which the caller rolls
        back; nothing is counted, recorded as refused or emitted.
        """
        run = _Run(work, self.policy, work.clock.now())
        await self._execute(run, event, NAMES[type(event)])
        return run.emitted

    async def _approve_all(self, work: UnitOfWork, event: commands.ApproveProposalsCommand) -> None:
        """Each proposal of a bulk approval is approved on its own, as a single approval
        (its own savepoint, audit and command id derived from the bulk's). The bulk command
        is dead-lettered only when none could be approved; the refusals of the others are
        counted and logged with the proposal and the reason."""
        bulk = event.payload
        refusals: list[str] = []
        for cited in bulk.proposals:
            customer_id = await work.connection.fetchval(
                queries.PROPOSAL_CUSTOMER, cited.proposal_id
            )
            if customer_id is None:
                metrics.COMMANDS.labels(SERVICE, "approve_proposal", "unknown_proposal").inc()
                refusals.append(f"{cited.proposal_id}: unknown_proposal")
                continue
            single = commands.ApproveProposalCommand(
                event_id=uuid.uuid5(event.event_id, str(cited.proposal_id)),
                occurred_at=event.occurred_at,
                source=event.source,
                payload=commands.ApproveProposal(
                    command_id=uuid.uuid5(bulk.command_id, str(cited.proposal_id)),
                    customer_id=customer_id,
                    actor=bulk.actor,
                    requested_at=bulk.requested_at,
                    proposal_id=cited.proposal_id,
                    version=cited.version,
                ),
            )
            try:
                await self._attempt(work, single, "approve_proposal")
            except CommandRejected as exc:
                refusals.append(f"{cited.proposal_id}: {exc.reason}")
        if len(refusals) == len(bulk.proposals):
            reason = refusals[0].rsplit(": ", 1)[1]
            work.reject(event, reason, "; ".join(refusals)[:2000])
        elif refusals:
            log.info("bulk_approval_refusals", command_id=str(bulk.command_id), refused=refusals)

    async def _execute(self, run: _Run, event: Event, name: str) -> bool:
        payload: commands.CommandBase = event.payload
        connection = run.connection
        row = await connection.fetchrow(queries.CUSTOMER_FOR_UPDATE, payload.customer_id)
        if row is None:
            raise CommandRejected("unknown_customer", f"no customer {payload.customer_id}")
        customer = Customer.of(row)
        run.customer = customer
        seen = await connection.fetchval(
            "SELECT 1 FROM executed_command WHERE command_id = $1", payload.command_id
        )
        if seen is not None:
            return False  # executed before: a command delivered twice is applied once
        identity = identity_of(payload.actor)
        try:
            require_role(identity, decide.COMMAND_ROLES[name])  # type: ignore[arg-type]
            authorize_customer(identity, scope_of(customer.company_code, customer.segment))
        except Refused as exc:
            raise CommandRejected("forbidden", exc.detail) from exc
        execute = self._executors()[name]
        detail = await execute(run, customer, payload)
        audit = ExecutedCommand(
            command_id=payload.command_id,
            command=name,
            customer_id=customer.customer_id,
            company_code=customer.company_code,
            actor_subject=identity.actor,
            actor_role=identity.role,
            requested_at=payload.requested_at,
            executed_at=run.now,
            invoice_id=getattr(payload, "invoice_id", None),
            detail=detail,
            before=tuple(decide.snapshot(self.policy, s) for s in run.before),
            after=tuple(decide.snapshot(self.policy, s) for s in run.after),
        )
        await connection.execute(
            queries.RECORD_COMMAND,
            payload.command_id,
            name,
            customer.customer_id,
            identity.actor,
            payload.requested_at,
            run.now,
            audit.model_dump_json(),
        )
        run.emitted.append(
            CommandExecuted(
                event_id=uuid.uuid4(), occurred_at=run.now, source=SOURCE, payload=audit
            )
        )
        return True

    def _executors(
        self,
    ) -> dict[str, Callable[[_Run, Customer, commands.CommandBase], Awaitable[dict[str, str]]]]:
        return {
            "hold": self._hold,  # type: ignore[dict-item]
            "release": self._release,  # type: ignore[dict-item]
            "send_now": self._send_now,  # type: ignore[dict-item]
            "change_scenario": self._change_scenario,  # type: ignore[dict-item]
            "skip_step": self._skip_step,  # type: ignore[dict-item]
            "add_note": self._add_note,  # type: ignore[dict-item]
            "log_call": self._log_call,  # type: ignore[dict-item]
            "approve_proposal": self._approve_proposal,  # type: ignore[dict-item]
            "edit_proposal": self._edit_proposal,  # type: ignore[dict-item]
            "postpone_proposal": self._postpone_proposal,  # type: ignore[dict-item]
            "skip_proposal": self._skip_proposal,  # type: ignore[dict-item]
        }

    # -- proposals (services.scheduler.proposals) --------------------------------------

    async def _decided(
        self, run: _Run, customer: Customer, command: commands.ProposalCommand
    ) -> proposals.Stored:
        """The proposal cited, locked, decidable by this actor at this version."""
        stored = await proposals.locked(run.connection, customer, command.proposal_id)
        try:
            require_role(identity_of(command.actor), stored.proposal.confirm_role)
        except Refused as exc:
            raise CommandRejected("forbidden", exc.detail) from exc
        decide_proposal.decidable(
            stored.status, stored.version, command.version, command.proposal_id
        )
        return stored

    async def _record(self, run: _Run, outcome: proposals.Outcome) -> dict[str, str]:
        for before, after in outcome.moves:
            await run.store(before, after)
        run.emitted.extend(outcome.events)
        return outcome.detail

    async def _approve_proposal(
        self, run: _Run, customer: Customer, command: commands.ApproveProposal
    ) -> dict[str, str]:
        stored = await self._decided(run, customer, command)
        outcome = await proposals.approve(
            run.connection, self.policy, customer, stored, command.actor.subject, run.now
        )
        return await self._record(run, outcome)

    async def _skip_proposal(
        self, run: _Run, customer: Customer, command: commands.SkipProposal
    ) -> dict[str, str]:
        stored = await self._decided(run, customer, command)
        outcome = await proposals.skip(
            run.connection,
            self.policy,
            customer,
            stored,
            command.actor.subject,
            command.reason,
            run.now,
        )
        return await self._record(run, outcome)

    async def _postpone_proposal(
        self, run: _Run, customer: Customer, command: commands.PostponeProposal
    ) -> dict[str, str]:
        stored = await self._decided(run, customer, command)
        outcome = await proposals.postpone(
            run.connection,
            self.policy,
            customer,
            stored,
            command.actor.subject,
            command.until,
            run.now,
        )
        return await self._record(run, outcome)

    async def _edit_proposal(
        self, run: _Run, customer: Customer, command: commands.EditProposal
    ) -> dict[str, str]:
        stored = await self._decided(run, customer, command)
        outcome = await proposals.edit(
            run.connection,
            self.policy,
            stored,
            command.actor.subject,
            paragraphs=dict(command.paragraphs),
            channel=command.channel,
            recipient_role=command.recipient_role,
            attachments=command.attachments,
            now=run.now,
        )
        return await self._record(run, outcome)

    async def _targets(
        self, run: _Run, customer: Customer, invoice_id: str | None
    ) -> list[InvoiceState]:
        """The invoice named (refused if unknown or closed), or the customer's open ones."""
        if invoice_id is None:
            rows = await run.connection.fetch(queries.CUSTOMER_INVOICES, customer.customer_id)
            return [InvoiceState.of(r) for r in rows]
        row = await run.connection.fetchrow(queries.INVOICE_FOR_UPDATE, invoice_id)
        if row is None or row["customer_id"] != customer.customer_id:
            raise CommandRejected(
                "unknown_invoice", f"no invoice {invoice_id} of customer {customer.customer_id}"
            )
        state = InvoiceState.of(row)
        decide.followed(state)
        return [state]

    async def _hold(self, run: _Run, customer: Customer, hold: commands.Hold) -> dict[str, str]:
        until = decide.hold_instant(customer, hold.until, run.now)
        targets = await self._targets(run, customer, hold.invoice_id)
        if hold.invoice_id is None:
            await run.connection.execute(
                queries.HOLD_CUSTOMER, customer.customer_id, until, hold.reason
            )
        await run.connection.execute(
            queries.HOLD_INVOICES, [s.invoice_id for s in targets], until, hold.reason
        )
        for before in targets:
            await run.store(before, replace(before, held_until=until), saved=False)
        return {"until": hold.until.isoformat(), "reason": hold.reason}

    async def _release(
        self, run: _Run, customer: Customer, release: commands.Release
    ) -> dict[str, str]:
        targets = await self._targets(run, customer, release.invoice_id)
        if release.invoice_id is None:
            if not customer.held_at(run.now):
                raise CommandRejected("not_held", f"customer {customer.customer_id} is not held")
            await run.connection.execute(queries.HOLD_CUSTOMER, customer.customer_id, None, None)
        elif customer.held_at(run.now):
            raise CommandRejected(
                "held", f"customer {customer.customer_id} is held: release the customer"
            )
        elif not targets[0].held_at(run.now):
            raise CommandRejected("not_held", f"invoice {release.invoice_id} is not held")
        held = [s for s in targets if s.held_until is not None]
        await run.connection.execute(
            queries.HOLD_INVOICES, [s.invoice_id for s in held], None, None
        )
        for before in held:
            await run.store(before, replace(before, held_until=None), saved=False)
        return {}

    async def _send_now(
        self, run: _Run, customer: Customer, send: commands.SendNow
    ) -> dict[str, str]:
        targets = await self._targets(run, customer, send.invoice_id)
        if customer.held_at(run.now) or any(s.held_at(run.now) for s in targets):
            raise CommandRejected("held", f"a hold stands for {customer.customer_id}")
        if send.template is not None:
            await self._send_template(run, customer, targets, send.template, send.command_id)
            return {"template": send.template}
        moved = 0
        for before in targets:
            if before.pause_reason is not None or before.status != "active":
                continue
            after = decide.next_step_now(self.policy, before, run.now)
            if after is not None:
                await run.store(before, after)
                moved += 1
        if not moved:
            raise CommandRejected("no_step_left", "no invoice has a next step to send")
        return {"step": "next"}

    async def _send_template(
        self,
        run: _Run,
        customer: Customer,
        targets: Sequence[InvoiceState],
        template: str,
        command_id: uuid.UUID,
    ) -> None:
        if template not in self.policy.library.templates:
            raise CommandRejected("unknown_template", f"no template {template!r} in the library")
        for suspension in await holding(run.connection):
            if suspension.covers(customer.company_code):
                raise CommandRejected(
                    "suspended", f"sending is suspended for {customer.company_code}"
                )
        invoices = [s for s in targets if s.open_amount > 0 and s.status != "closed"]
        if not invoices:
            raise CommandRejected("invoice_closed", f"{customer.customer_id} owes nothing")
        levels = [s.last_level for s in invoices if s.last_level is not None]
        level = max(levels, key=DUNNING_LEVELS.index) if levels else "preventive"
        at = send_instant(
            run.now.astimezone(ZoneInfo(customer.time_zone)).date(),
            country=customer.country,
            time_zone=customer.time_zone,
            window=self.policy.window,
            not_before=run.now,
        )
        ids = [s.invoice_id for s in invoices]
        scenario_id = invoices[0].scenario_id or SEND_NOW_STEP
        # one reminder per command (the same template for the same invoices may be asked for
        # again another day), the same one if the command is retried
        same = reminder_id(customer.customer_id, SEND_NOW_STEP, template, ids)
        reminder = Reminder(
            reminder_id=uuid.uuid5(same, str(command_id)),
            customer_id=customer.customer_id,
            company_code=customer.company_code,
            scenario_id=scenario_id,
            step_name=SEND_NOW_STEP,
            level=level,
            channel="email",
            recipient_role="billing",
            template=template,
            language=customer.language,
            include_penalties=False,
            escalating=False,
            scheduled_for=at,
            invoices=tuple(dunned_invoice(s, customer, run.now) for s in invoices),
            statement=open_statement(account_of(invoices)),
        )
        event = ReminderDue(
            event_id=reminder.reminder_id, occurred_at=run.now, source=SOURCE, payload=reminder
        )
        await run.connection.execute(
            queries.RECORD_REMINDER,
            reminder.reminder_id,
            customer.customer_id,
            reminder.model_dump(mode="json"),
            None,
            run.now,
        )
        await run.connection.execute(queries.SET_LAST_CONTACT, customer.customer_id, at)
        run.emitted.append(event)
        for state in invoices:
            run.before.append(state)
            run.after.append(state)

    async def _change_scenario(
        self, run: _Run, customer: Customer, change: commands.ChangeScenario
    ) -> dict[str, str]:
        if change.scenario_id not in self.policy.library.scenarios:
            raise CommandRejected("unknown_scenario", f"no scenario {change.scenario_id!r}")
        await run.connection.execute(
            queries.SET_SCENARIO_OVERRIDE, customer.customer_id, change.scenario_id
        )
        for before in await self._targets(run, customer, None):
            if before.scenario_id == change.scenario_id:
                continue
            after = decide.changed_scenario(self.policy, before, change.scenario_id, run.now)
            await run.store(before, rescheduled(self.policy, after, customer, run.now))
        return {"scenario_id": change.scenario_id}

    async def _skip_step(
        self, run: _Run, customer: Customer, skip: commands.SkipStep
    ) -> dict[str, str]:
        (before,) = await self._targets(run, customer, skip.invoice_id)
        after = decide.skipped(self.policy, before, skip.step_name)
        step = decide.snapshot(self.policy, before).next_step
        assert before.scenario_id is not None
        assert step is not None
        await run.connection.execute(
            queries.RECORD_SKIPPED, [before.invoice_id], [before.scenario_id], [step], run.now
        )
        await run.store(before, rescheduled(self.policy, after, customer, run.now))
        return {"step_name": step}

    async def _add_note(
        self, run: _Run, customer: Customer, note: commands.AddNote
    ) -> dict[str, str]:
        if note.invoice_id is not None:
            await self._targets(run, customer, note.invoice_id)
        await run.connection.execute(
            queries.ADD_NOTE,
            note.command_id,
            customer.customer_id,
            note.invoice_id,
            note.text,
            note.actor.subject,
            run.now,
        )
        # the text stays in customer_note (where it can be corrected or erased), out of the
        # audit event, which the topic keeps for ever
        return {"note_length": str(len(note.text))}

    async def _log_call(
        self, run: _Run, customer: Customer, call: commands.LogCall
    ) -> dict[str, str]:
        for invoice_id in call.invoice_ids:
            await self._targets(run, customer, invoice_id)
        open_invoices = [
            (s.invoice_id, s.currency, s.pause_reason)
            for s in await self._targets(run, customer, None)
        ]
        # last of the checks: a call reminder's follow-up emits as the tracker does, and
        # nothing after this refuses the command
        logged = await log_call(run.work, self.policy, customer, call, open_invoices, run.now)
        run.forwarded.extend(logged.forwarded)
        return logged.detail


def is_command(event: Event) -> bool:
    return (
        type(event) in NAMES
        or isinstance(event, commands.ApproveProposalsCommand)
        or is_operator_command(event)
    )


Handle = Callable[[UnitOfWork, Sequence[Event]], Awaitable[None]]


def handler(
    apply_event: Callable[[UnitOfWork, Event], Awaitable[None]], desk: CommandDesk
) -> Handle:
    """The scheduler's one handler: commands to the desk, every other event to the tracker.

    Given the tracker's ``apply``, the events between two commands go to the tracker
    together (its :meth:`~services.scheduler.tracking.Tracker.handle`, which applies a run
    of ledger events set-based); a command reads the tables, so it ends the run.
    """
    tracker = getattr(apply_event, "__self__", None)
    if isinstance(tracker, Tracker) and apply_event == tracker.apply:
        handle_events = tracker.handle
    else:

        async def handle_events(work: UnitOfWork, events: Sequence[Event]) -> None:
            for event in events:
                await apply_event(work, event)

    async def handle(work: UnitOfWork, events: Sequence[Event]) -> None:
        others: list[Event] = []
        for event in events:
            if is_command(event):
                if others:
                    await handle_events(work, others)
                    others = []
                await desk.apply(work, event)
            else:
                others.append(event)
        if others:
            await handle_events(work, others)

    return handle
