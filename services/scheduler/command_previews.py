"""What a collector's command would send, before it is given: a dry run of the real code.

Two commands make something go out: ``send_now`` (a template now, or each invoice's next
step at the next tick) and ``change_scenario`` (an invoice whose place in the new scenario
is already due is reminded at the next tick). :func:`rehearse` executes the command as the
commands desk would (:meth:`CommandDesk.rehearse`: the same role and portfolio checks,
holds, closed invoices, unknown template, suspensions), then, for what waits for the tick,
asks the tick's rule (:func:`services.scheduler.domain.contact_rule.decide`, the tick's own
writer deciding between a reminder and a proposal) what the customer's due invoices get at
this instant: the reminder (step, level, channel, template, invoices, when), a proposal when
the step asks for a confirmation, the groups the minimum gap between two contacts postpones,
the invoices leaving the amicable phase. Everything runs in one transaction that is rolled
back: nothing is written, recorded or emitted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.commands import CommandBase, SendNow
from contracts.dunning import Reminder, ReminderDue
from contracts.envelope import Event
from services.runtime.clock import Clock
from services.runtime.consumer import UnitOfWork
from services.runtime.database import Connection
from services.scheduler import queries
from services.scheduler.commands import CommandDesk
from services.scheduler.domain.contact_rule import decide
from services.scheduler.domain.state import Customer, InvoiceState
from services.scheduler.errors import CommandRejected
from services.scheduler.suspensions import holding
from services.scheduler.tick import _Writes as TickWrites  # the tick's own writer, reused

SENDING_COMMANDS = ("send_now", "change_scenario")
"""The commands whose dry run says what would be sent."""


@dataclass(frozen=True)
class Outgoing:
    """A reminder the command would make go out; ``to_confirm``: the step asks for a
    collector's confirmation, so it is proposed (My day) instead of sent."""

    reminder: Reminder
    to_confirm: bool = False


@dataclass(frozen=True)
class CommandPreview:
    """What the command would do now: refused (``reason``, ``detail``), or what goes out."""

    refused: tuple[str, str] | None = None
    outgoing: tuple[Outgoing, ...] = ()
    at_next_tick: bool = False  # sent by the tick (the next step), not by the command
    suspended: bool = False  # sending is suspended for the customer's company: not yet
    held: bool = False  # the customer is held: nothing before the hold ends
    postponed: tuple[tuple[str, datetime], ...] = ()  # invoice number, until (minimum gap)
    escalated: tuple[tuple[str, str], ...] = ()  # invoice number, exit action
    left_out: tuple[tuple[str, str], ...] = ()  # invoice number, why

    def answer(self) -> dict[str, Any]:
        """As the operators' API answers it."""
        return {
            "refused": None
            if self.refused is None
            else {"reason": self.refused[0], "detail": self.refused[1]},
            "at_next_tick": self.at_next_tick,
            "suspended": self.suspended,
            "held": self.held,
            "outgoing": [
                {"to_confirm": o.to_confirm, "reminder": o.reminder.model_dump(mode="json")}
                for o in self.outgoing
            ],
            "postponed": [
                {"invoice_number": number, "until": until.isoformat()}
                for number, until in self.postponed
            ],
            "escalated": [
                {"invoice_number": number, "exit_action": action}
                for number, action in self.escalated
            ],
            "left_out": [{"invoice_number": number, "why": why} for number, why in self.left_out],
        }


def left_out_of(states: list[InvoiceState], invoice_id: str | None) -> tuple[tuple[str, str], ...]:
    """The customer's invoices a next-step send passes over, and why (a promise, a dispute,
    a plan, a hold...), as the desk does (it sends only active invoices without a pause)."""
    return tuple(
        (s.invoice_number, s.pause_reason or s.status)
        for s in states
        if (invoice_id is None or s.invoice_id == invoice_id)
        and (s.pause_reason is not None or s.status != "active")
    )


async def rehearse(
    connection: Connection, desk: CommandDesk, clock: Clock, event: Event
) -> CommandPreview:
    """The dry run of ``event`` (a ``send_now`` or ``change_scenario`` command)."""
    transaction = connection.transaction()
    await transaction.start()
    try:  # rolled back in any case: a dry run writes nothing, and releases its locks
        return await _rehearse(connection, desk, clock, event)
    finally:
        await transaction.rollback()


async def _rehearse(
    connection: Connection, desk: CommandDesk, clock: Clock, event: Event
) -> CommandPreview:
    payload: CommandBase = event.payload
    now = clock.now()
    # the customer first, as the desk and the tick lock it, then its invoices as they stand
    await connection.fetchrow(queries.CUSTOMER_FOR_UPDATE, payload.customer_id)
    before = [
        InvoiceState.of(r)
        for r in await connection.fetch(queries.CUSTOMER_INVOICES, payload.customer_id)
    ]
    try:
        emitted = await desk.rehearse(UnitOfWork(connection, clock), event)
    except CommandRejected as exc:
        return CommandPreview(refused=(exc.reason, exc.detail))
    sent = tuple(Outgoing(e.payload) for e in emitted if isinstance(e, ReminderDue))
    if sent:  # a template sent by the command itself
        return CommandPreview(outgoing=sent)
    # the rest waits for the tick: what it would decide for this customer now
    customer = Customer.of(
        await connection.fetchrow(queries.CUSTOMER_FOR_UPDATE, payload.customer_id)
    )
    suspended = any(s.covers(customer.company_code) for s in await holding(connection))
    left_out: tuple[tuple[str, str], ...] = ()
    if isinstance(payload, SendNow):  # a next step: the invoices it passes over
        left_out = left_out_of(before, payload.invoice_id)
    due = [
        InvoiceState.of(r)
        for r in await connection.fetch(queries.DUE_INVOICES, [customer.customer_id], now)
    ]
    if not due or customer.held_at(now):
        return CommandPreview(
            at_next_tick=True,
            suspended=suspended,
            held=customer.held_at(now),
            left_out=left_out,
        )
    account = [
        (r["currency"], r["total"], r["invoices"])
        for r in await connection.fetch(queries.OPEN_ACCOUNTS, [customer.customer_id])
    ]
    decision = decide(desk.policy, customer, due, now)
    writes = TickWrites()
    writes.add(decision, now, account, desk.policy)
    outgoing = [Outgoing(_reminder_of(r.value)) for r in writes.reminders]
    outgoing += [Outgoing(p.proposal.reminder, to_confirm=True) for p in writes.proposed]
    return CommandPreview(
        outgoing=tuple(outgoing),
        at_next_tick=True,
        suspended=suspended,
        postponed=tuple((m.before.invoice_number, _until(m.after)) for m in decision.postponed),
        escalated=tuple(
            (s.invoice_number, e.scenario.exit_action or "")
            for e in decision.escalations
            for s in e.invoices
        ),
        left_out=left_out,
    )


def _reminder_of(value: bytes) -> Reminder:
    return Reminder.model_validate(json.loads(value)["payload"])


def _until(state: InvoiceState) -> datetime:
    assert state.next_action_at is not None
    return state.next_action_at
