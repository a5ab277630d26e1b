"""Calls logged by collectors (the ``log_call`` command), executed by the command desk.

The call is kept in ``logged_call`` (its note there, where it can be corrected or erased,
never in the audit event); when it answers a call reminder of the customer (a call task),
the reminder's follow-up applies as for a call task closed in the notifier (call again, the
written channel, a notice to correct the contact:
:func:`~services.scheduler.deliveries.call_closed`);
a promise to pay or a dispute raised is forwarded to the disputes service as its command on
``disputes.commands.v1``, which records it (and the notifier confirms the promise to the
customer in writing). Everything runs in the command's savepoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from contracts import notifications
from contracts.commands import LogCall
from contracts.dunning import Reminder
from contracts.envelope import Event
from services.runtime.consumer import UnitOfWork
from services.scheduler import queries
from services.scheduler.deliveries import call_closed
from services.scheduler.domain.calls import (
    FOLLOWED_UP,
    agreement_of,
    call_detail,
    discussed_invoices,
)
from services.scheduler.domain.state import Customer, Policy
from services.scheduler.errors import CommandRejected


@dataclass
class Logged:
    detail: dict[str, str]
    forwarded: list[Event] = field(default_factory=list)


async def _call_reminder(work: UnitOfWork, customer: Customer, call: LogCall) -> Reminder | None:
    if call.reminder_id is None:
        return None
    row = await work.connection.fetchrow(queries.SENT_REMINDER_ROW, call.reminder_id)
    reminder = None if row is None else Reminder.model_validate(row["payload"])
    if (
        reminder is None
        or reminder.customer_id != customer.customer_id
        or reminder.channel != "phone_call"
    ):
        raise CommandRejected(
            "unknown_reminder",
            f"{call.reminder_id} is not a call reminder of customer {customer.customer_id}",
        )
    return reminder


async def log_call(
    work: UnitOfWork,
    policy: Policy,
    customer: Customer,
    call: LogCall,
    open_invoices: Sequence[tuple[str, str, str | None]],
    now: datetime,
) -> Logged:
    """Keep the call, follow up its reminder, forward its agreement; the audit's detail.
    ``open_invoices``: the customer's, as (invoice id, currency, pause reason)."""
    invoice_ids = discussed_invoices(call, open_invoices)
    agreement = agreement_of(call, invoice_ids, call.actor.subject, now) if invoice_ids else None
    if call.outcome in ("promise_to_pay", "dispute_raised") and agreement is None:
        raise CommandRejected("invoice_closed", f"{customer.customer_id} has no open invoice")
    reminder = await _call_reminder(work, customer, call)
    await work.connection.execute(
        queries.RECORD_LOGGED_CALL,
        call.command_id,
        customer.customer_id,
        invoice_ids,
        call.outcome,
        call.reminder_id,
        call.note,
        call.actor.subject,
        now,
    )
    if reminder is not None and call.outcome in FOLLOWED_UP:
        closed = notifications.ClosedCallTask(
            task_id=call.command_id,
            reminder_id=reminder.reminder_id,
            customer_id=customer.customer_id,
            invoice_ids=tuple(i.invoice_id for i in reminder.invoices),
            outcome=call.outcome,  # one of FOLLOWED_UP
            closed_by=call.actor.subject,
        )
        await call_closed(work, policy, closed)
    return Logged(call_detail(call, len(invoice_ids)), [agreement] if agreement is not None else [])
