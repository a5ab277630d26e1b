"""Steps to confirm (semi-automatic mode): when a step waits, and what each decision does.

A step waits for a collector's decision when the step says ``confirm: true``, or its
scenario does (and the step does not say ``confirm: false``), or the customer matches one of
the library's ``confirm`` segments (``assignment.yaml``). The tick then raises a *proposal*
instead of the reminder: the invoices wait at the step, paused ``proposal``, until a collector
approves (the reminder goes out as proposed), edits (a new version), postpones (the step is
proposed again on that day) or skips it (the invoices move past the step), or until the
step's ``on_timeout`` policy applies after ``timeout_business_days`` business days.

Pure: :mod:`services.scheduler.proposals` reads the proposal and its invoices, asks these
functions, and writes what they return. A refusal raises :class:`CommandRejected` with the
reason the command is dead-lettered with.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from contracts.dunning import ActorRole, OnTimeout
from services.runtime.business_days import SendingWindow, next_business_day, send_instant
from services.scheduler.domain.scenario import Scenario, Step
from services.scheduler.domain.state import (
    Customer,
    InvoiceState,
    Policy,
    at_position,
    position_of,
    rescheduled,
)
from services.scheduler.errors import CommandRejected

PAUSE = "proposal"
"""The pause reason of invoices whose step waits for a decision."""

PROPOSAL_NAMESPACE = uuid.UUID("3c0a55e2-7f4b-4e0f-9a1d-2b8f6c4d9e71")
TIMEOUT_ACTOR = "timeout"
"""Who decided when the step's on_timeout policy did."""

PENDING = "pending"


@dataclass(frozen=True)
class Confirmation:
    """Who may decide a step's proposal, and what happens when nobody does in time."""

    role: ActorRole
    on_timeout: OnTimeout
    timeout_business_days: int


def confirmation(
    policy: Policy,
    customer: Customer,
    scenario: Scenario,
    step: Step,
    outstanding: Mapping[str, Decimal],
) -> Confirmation | None:
    """How ``step`` of ``scenario`` is confirmed for ``customer``; None: it goes by itself."""
    confirm = step.confirm
    if confirm is None:
        confirm = scenario.confirm or any(
            match.holds(customer.segment, customer.country, outstanding)
            for match in policy.library.assignment.confirm
        )
    if not confirm:
        return None
    return Confirmation(
        role=step.confirm_role or scenario.confirm_role,
        on_timeout=step.on_timeout or scenario.on_timeout,
        timeout_business_days=step.timeout_business_days or scenario.timeout_business_days,
    )


def may_need_confirmation(policy: Policy, scenario: Scenario, step: Step) -> bool:
    """False when :func:`confirmation` is None whoever the customer and whatever they owe
    (the step, its scenario and the library's confirming segments say nothing to confirm):
    the tick then asks no more."""
    if step.confirm is not None:
        return bool(step.confirm)
    return bool(scenario.confirm) or bool(policy.library.assignment.confirm)


def proposal_id_of(reminder_id: uuid.UUID, raised_at: datetime) -> uuid.UUID:
    """A proposal of a reminder raised at an instant (a postponed step is proposed anew)."""
    return uuid.uuid5(PROPOSAL_NAMESPACE, f"{reminder_id}/{raised_at.isoformat()}")


def business_days_after(day: date, count: int, country: str) -> date:
    """The ``count``-th business day after ``day``."""
    for _ in range(count):
        day = next_business_day(day + timedelta(days=1), country)
    return day


@dataclass(frozen=True)
class Deadline:
    """When the policy applies, and when the collectors are reminded that it waits."""

    at: datetime
    remind_at: datetime


def deadline(
    customer: Customer, window: SendingWindow, raised_at: datetime, business_days: int
) -> Deadline:
    """Collectors have ``business_days`` whole business days of the customer's calendar after
    the day it was raised; the policy applies at the start of the sending window of the next
    one, and the reminder goes at the start of the last one (a business day before)."""
    today = raised_at.astimezone(ZoneInfo(customer.time_zone)).date()
    last = business_days_after(today, business_days, customer.country)
    after = business_days_after(last, 1, customer.country)

    def opening(day: date) -> datetime:
        return send_instant(
            day, country=customer.country, time_zone=customer.time_zone, window=window
        )

    return Deadline(at=opening(after), remind_at=max(opening(last), raised_at))


def decidable(status: str, current: int, cited: int, proposal_id: uuid.UUID) -> None:
    """Refuse a decision on a proposal decided before, or on a version edited since."""
    if status != PENDING:
        raise CommandRejected("already_decided", f"proposal {proposal_id} was {status} before")
    if cited != current:
        raise CommandRejected(
            "stale_proposal",
            f"proposal {proposal_id} is at version {current}; the command cites {cited}",
        )


def waiting(state: InvoiceState, scenario_id: str, step_id: str) -> bool:
    """Whether the invoice still waits at the proposed step (settled, moved or re-assigned
    invoices do not)."""
    return (
        state.status == "active"
        and state.scenario_id == scenario_id
        and state.next_step == step_id
        and PAUSE in state.pauses
    )


def proposed(policy: Policy, state: InvoiceState, position: int) -> InvoiceState:
    """The invoice waiting at the step at ``position`` for a decision: no timer meanwhile."""
    at_step = at_position(policy, state, position)
    return replace(at_step.paused_also(PAUSE), resumed=False, next_action_at=None)


def released(
    policy: Policy, state: InvoiceState, customer: Customer, now: datetime
) -> InvoiceState:
    """The ``proposal`` pause lifted from an invoice that no longer waits at the step."""
    return rescheduled(policy, state.lifted(PAUSE), customer, now)


def _past_step(policy: Policy, state: InvoiceState) -> InvoiceState:
    return at_position(policy, state.lifted(PAUSE), position_of(policy, state) + 1)


def approved(
    policy: Policy, state: InvoiceState, customer: Customer, step: Step, at: datetime
) -> InvoiceState:
    """The invoice past the step, sent at ``at``, as the tick moves a reminded invoice."""
    moved = replace(
        _past_step(policy, state),
        last_step_name=step.name,
        last_level=step.level,
        last_action_at=at,
        resumed=False,
    )
    return rescheduled(policy, moved, customer, at)


def skipped(policy: Policy, state: InvoiceState, customer: Customer, now: datetime) -> InvoiceState:
    """The invoice past the step without sending it; its next step planned as usual."""
    moved = replace(_past_step(policy, state), resumed=False)
    return rescheduled(policy, moved, customer, now)


def postpone_instant(
    customer: Customer, window: SendingWindow, until: date, now: datetime
) -> datetime:
    """The first sending instant of ``until`` (or the first business day after it); refused
    (``hold_date_past``) unless the day is after the customer's today."""
    zone = ZoneInfo(customer.time_zone)
    if until <= now.astimezone(zone).date():
        raise CommandRejected(
            "hold_date_past",
            f"a proposal is postponed after today ({now.astimezone(zone).date()}), not to {until}",
        )
    return send_instant(
        until,
        country=customer.country,
        time_zone=customer.time_zone,
        window=window,
        not_before=datetime.combine(until, time(0), tzinfo=zone),
    )


def postponed(
    policy: Policy, state: InvoiceState, customer: Customer, at: datetime
) -> InvoiceState:
    """The invoice taking the same step again at ``at`` (then proposed anew)."""
    after = replace(state.lifted(PAUSE), resumed=True, next_action_at=at)
    return rescheduled(policy, after, customer, at)


def checked_channel(step: Step, channel: str | None) -> None:
    """Refuse (``invalid_edit``) a channel a colleague's step cannot use."""
    if channel is not None and step.internal and channel != "email":
        raise CommandRejected(
            "invalid_edit", f"step {step.name!r} goes to a colleague, by email only"
        )
