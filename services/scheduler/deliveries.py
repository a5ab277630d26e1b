"""What the notifier's reports change besides fallbacks: a formal notice or an escalating
letter delivered (or returned), a call's outcome.

- A formal notice [mise en demeure] counts as served on its ``delivery.delivered`` (a letter's
  or an electronic registered letter's acknowledgement, a refused or unclaimed registered
  letter too: the notifier reports those as delivered). Where no delivery report ever comes
  (``Policy.notice_sent_channels``: email, a call; ``Policy.notice_sent_providers``: the
  in-house print room's file drop), its ``delivery.sent`` counts. Each invoice it was about
  records the instant (``formal_notice_at``, the first one), and its exit is planned
  ``Policy.notice_delay`` after it (:mod:`services.scheduler.domain.progress`).
- An escalating step (``escalating: true``: a registered letter with acknowledgement) is
  served by the same reports: its invoices wait (``awaiting_delivery``) until then, and move
  on after it. A returned letter (``delivery.bounced``) holds the level and sends the account
  owner a task (:func:`letter_returned`).
- A call's outcome follows :mod:`services.scheduler.domain.calls`: the call again, the written
  channel (:func:`services.scheduler.fallback.fall_back`), an internal notice to the account
  owner.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime

from contracts import notifications
from contracts.dunning import DunnedInvoice, Reminder, ReminderDue
from contracts.topics import DUNNING_ACTIONS
from services.runtime.consumer import UnitOfWork
from services.scheduler import queries
from services.scheduler.domain.calls import (
    ACCOUNT_OWNER,
    FIX_CONTACT_STEP,
    FIX_CONTACT_TEMPLATE,
    follow_up,
)
from services.scheduler.domain.contact_rule import sending_instant
from services.scheduler.domain.progress import FORMAL_NOTICE
from services.scheduler.domain.state import Customer, InvoiceState, Policy, rescheduled
from services.scheduler.fallback import fall_back
from services.scheduler.outgoing import SOURCE

Store = Callable[[UnitOfWork, InvoiceState | None, InvoiceState, datetime], Awaitable[None]]
CALL_NAMESPACE = uuid.UUID("0b7c4d1e-6f2a-4e8b-9c3d-5a1f7e2b8c64")


def serves_notice(policy: Policy, event: object) -> notifications.Delivery | None:
    """The delivery that may serve a formal notice: delivered, or sent where no delivery
    report follows (a channel or a provider without one)."""
    match event:
        case notifications.DeliveryDelivered(payload=delivered):
            return delivered
        case notifications.DeliverySent(payload=sent) if (
            sent.channel in policy.notice_sent_channels
            or sent.provider in policy.notice_sent_providers
        ):
            return sent
    return None


async def _sent(work: UnitOfWork, reminder_id: uuid.UUID) -> tuple[Reminder, uuid.UUID] | None:
    """A reminder this scheduler emitted, and the first reminder of its chain."""
    row = await work.connection.fetchrow(queries.SENT_REMINDER_ROW, reminder_id)
    if row is None:
        return None  # an owner reminder, a notice, a campaign: not a step of a scenario
    return Reminder.model_validate(row["payload"]), row["fallback_of"] or reminder_id


async def _customer(work: UnitOfWork, customer_id: str) -> Customer | None:
    row = await work.connection.fetchrow(queries.CUSTOMER, customer_id)
    return None if row is None else Customer.of(row)


async def notice_served(
    work: UnitOfWork, policy: Policy, delivery: notifications.Delivery, store: Store
) -> None:
    """Record a formal notice's delivery on its invoices and plan their exit after it; an
    escalating step's delivery lets its invoices move on (the same rule: delivered, or deemed
    delivered where no report follows)."""
    sent = await _sent(work, delivery.reminder_id)
    if sent is None or not (sent[0].level == FORMAL_NOTICE or sent[0].escalating):
        return
    reminder = sent[0]
    customer = await _customer(work, reminder.customer_id)
    now = work.clock.now()
    ids = [i.invoice_id for i in reminder.invoices]
    for row in await work.connection.fetch(queries.NOTICED_INVOICES, ids):
        before = InvoiceState.of(row)
        after = before
        if reminder.level == FORMAL_NOTICE and before.formal_notice_at is None:
            after = replace(after, formal_notice_at=delivery.at)
        if reminder.escalating and before.awaiting_delivery == reminder.step_name:
            after = replace(after, awaiting_delivery=None)
        if after == before:
            continue  # served already (a copy of the report, another channel's)
        not_before = max(now, delivery.at)
        await store(work, before, rescheduled(policy, after, customer, not_before), now)


def returned_letter(event: object) -> notifications.Bounce | None:
    """A letter (or any reminder) that came back: a bounce, hard or soft."""
    match event:
        case notifications.DeliveryBounced(payload=bounce):
            return bounce
    return None


RETURNED_STEP = "returned_letter"
"""The step name of the task a returned escalating letter opens for the account owner."""


async def letter_returned(
    work: UnitOfWork, policy: Policy, bounce: notifications.Bounce
) -> Reminder | None:
    """An escalating step's letter came back: its invoices hold their level (they keep
    waiting for a delivery, no further step) and the account owner gets a task, an internal
    notice to find a way to serve it. A fallback channel, if any, still gets its chance."""
    sent = await _sent(work, bounce.reminder_id)
    if sent is None or not sent[0].escalating:
        return None
    reminder, root = sent
    customer = await _customer(work, reminder.customer_id)
    if customer is None:
        return None
    now = work.clock.now()
    ids = [i.invoice_id for i in reminder.invoices]
    for row in await work.connection.fetch(queries.NOTICED_INVOICES, ids):
        before = InvoiceState.of(row)
        if before.awaiting_delivery != reminder.step_name:
            continue
        await work.connection.execute(queries.RETURNED, before.invoice_id, bounce.at)
    invoices = await _still_followed(work, reminder)
    if not invoices:
        return None
    task = reminder.model_copy(
        update={
            "reminder_id": uuid.uuid5(CALL_NAMESPACE, f"{bounce.reminder_id}/{RETURNED_STEP}"),
            "step_name": RETURNED_STEP,
            "channel": "email",
            "recipient_role": ACCOUNT_OWNER,
            "template": FIX_CONTACT_TEMPLATE,
            "include_penalties": False,
            "escalating": False,
            "scheduled_for": sending_instant(policy, customer, now),
            "invoices": invoices,
        }
    )
    return await _emit(work, task, root, now)


async def call_closed(
    work: UnitOfWork, policy: Policy, closed: notifications.ClosedCallTask
) -> None:
    """Act on a collector's call outcome."""
    sent = await _sent(work, closed.reminder_id)
    if sent is None:
        return
    call, root = sent
    customer = await _customer(work, call.customer_id)
    if customer is None:
        return
    now = work.clock.now()
    attempts = 0
    if closed.outcome == "no_answer":
        attempts = await work.connection.fetchval(
            queries.CALL_NOT_ANSWERED, root, closed.outcome, now
        )
    decided = follow_up(policy, customer, closed.outcome, attempts, now)
    if decided.kind == "call_again":
        assert decided.at is not None
        await _call_again(work, call, root, attempts + 1, decided.at, now)
    elif decided.kind == "written":
        await fall_back(work, policy, closed.reminder_id, now)
    elif decided.kind == "fix_contact_and_written":
        await _fix_contact(work, policy, customer, call, root, now)
        await fall_back(work, policy, closed.reminder_id, now)


async def _still_followed(work: UnitOfWork, reminder: Reminder) -> tuple[DunnedInvoice, ...]:
    ids = [i.invoice_id for i in reminder.invoices]
    followed = {r["invoice_id"] for r in await work.connection.fetch(queries.STILL_FOLLOWED, ids)}
    return tuple(i for i in reminder.invoices if i.invoice_id in followed)


async def _emit(
    work: UnitOfWork, reminder: Reminder, root: uuid.UUID, now: datetime
) -> Reminder | None:
    recorded = await work.connection.fetchval(
        queries.RECORD_REMINDER,
        reminder.reminder_id,
        reminder.customer_id,
        reminder.model_dump(mode="json"),
        root,
        now,
    )
    if recorded is None:
        return None  # decided before (a copy of the outcome)
    work.emit(
        DUNNING_ACTIONS,
        ReminderDue(
            event_id=reminder.reminder_id, occurred_at=now, source=SOURCE, payload=reminder
        ),
    )
    return reminder


async def _call_again(
    work: UnitOfWork, call: Reminder, root: uuid.UUID, attempt: int, at: datetime, now: datetime
) -> Reminder | None:
    invoices = await _still_followed(work, call)
    if not invoices:
        return None  # paid, paused or closed meanwhile
    again = call.model_copy(
        update={
            "reminder_id": uuid.uuid5(CALL_NAMESPACE, f"{root}/call/{attempt}"),
            "scheduled_for": at,
            "invoices": invoices,
        }
    )
    return await _emit(work, again, root, now)


async def _fix_contact(
    work: UnitOfWork,
    policy: Policy,
    customer: Customer,
    call: Reminder,
    root: uuid.UUID,
    now: datetime,
) -> Reminder | None:
    """An internal notice to the account owner: the customer's contact is wrong."""
    invoices = await _still_followed(work, call)
    if not invoices:
        return None
    notice = call.model_copy(
        update={
            "reminder_id": uuid.uuid5(CALL_NAMESPACE, f"{root}/{FIX_CONTACT_STEP}"),
            "step_name": FIX_CONTACT_STEP,
            "channel": "email",
            "recipient_role": ACCOUNT_OWNER,
            "template": FIX_CONTACT_TEMPLATE,
            "include_penalties": False,
            "escalating": False,
            "scheduled_for": sending_instant(policy, customer, now),
            "invoices": invoices,
        }
    )
    return await _emit(work, notice, root, now)
