"""What a collector's command does to invoices: pure decisions on values.

The handler (:mod:`services.scheduler.commands`) reads the customer and its invoices, asks
these functions, and writes what they return. Each raises :class:`CommandRejected` with the
reason the command is dead-lettered with.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from contracts.dunning import DUNNING_LEVELS, InvoiceSnapshot
from services.scheduler.domain.scenario import Scenario
from services.scheduler.domain.state import (
    Customer,
    InvoiceState,
    Policy,
    at_position,
    position_of,
    scenario_of,
)
from services.scheduler.errors import CommandRejected

COMMAND_ROLES = {
    "hold": "collector",
    "release": "collector",
    "send_now": "collector",
    "skip_step": "collector",
    "add_note": "collector",
    "log_call": "collector",
    "change_scenario": "credit_manager",
    # a proposal may also need the role its step names (confirm_role): checked on its row
    "approve_proposal": "collector",
    "edit_proposal": "collector",
    "postpone_proposal": "collector",
    "skip_proposal": "collector",
    "approve_proposals": "collector",  # each proposal is then checked as a single approval
    # operators' commands: their scope of companies is checked by domain.operations
    "suspend_sending": "credit_manager",
    "resume_sending": "credit_manager",
    "launch_campaign": "credit_manager",
}
"""The lowest role each command needs (a viewer gives none)."""


def hold_instant(customer: Customer, until: date, now: datetime) -> datetime:
    """The instant a hold ``until`` a day ends: that day's midnight in the customer's zone.

    Refused (``hold_date_past``) unless the day is after the customer's today.
    """
    zone = ZoneInfo(customer.time_zone)
    if until <= now.astimezone(zone).date():
        raise CommandRejected(
            "hold_date_past",
            f"a hold ends after today ({now.astimezone(zone).date()}), not on {until}",
        )
    return datetime.combine(until, time(0), tzinfo=zone)


def mapped_position(old: Scenario | None, new: Scenario, position: int) -> int:
    """Where an invoice at ``position`` of ``old`` stands in ``new``, by step identity.

    The step it would take next keeps its place when ``new`` has a step of that identity;
    otherwise it goes to the first step of ``new`` at that step's level or firmer (never
    gentler than it was heading for). An invoice past every step (only the exit left) stays
    past every step; one with no scenario starts ``new`` from its first step.
    """
    if old is None:
        return 0
    if position >= len(old.steps):
        return len(new.steps)
    heading = old.steps[position]
    index = new.index_of(heading.id)
    if index is not None:
        return index
    rank = DUNNING_LEVELS.index(heading.level)
    for index, step in enumerate(new.steps):
        if step.rank >= rank:
            return index
    return len(new.steps)


def changed_scenario(
    policy: Policy, state: InvoiceState, scenario_id: str, now: datetime
) -> InvoiceState:
    """The invoice moved to ``scenario_id``, at its mapped place, timer to be recomputed."""
    new = policy.library.scenarios[scenario_id]
    position = mapped_position(scenario_of(policy, state), new, position_of(policy, state))
    status = "active" if state.status == "unassigned" else state.status
    moved = replace(state, scenario_id=scenario_id, status=status, resumed=False)
    return at_position(policy, moved, position)


def skipped(policy: Policy, state: InvoiceState, expected: str | None) -> InvoiceState:
    """The invoice past its next step; refused when none is left or it is not ``expected``."""
    scenario = scenario_of(policy, state)
    position = position_of(policy, state)
    if scenario is None or position >= len(scenario.steps):
        raise CommandRejected("no_step_left", f"{state.invoice_id} has no step left to skip")
    step = scenario.steps[position]
    if expected is not None and step.name != expected:
        raise CommandRejected(
            "unknown_step", f"{state.invoice_id}'s next step is {step.name!r}, not {expected!r}"
        )
    return at_position(policy, replace(state, resumed=False), position + 1)


def next_step_now(policy: Policy, state: InvoiceState, now: datetime) -> InvoiceState | None:
    """The invoice with its next step due now (the tick sends it in the sending window);
    None when it has no step left."""
    scenario = scenario_of(policy, state)
    if scenario is None or position_of(policy, state) >= len(scenario.steps):
        return None
    return replace(state, resumed=True, next_action_at=now)


def followed(state: InvoiceState) -> None:
    """Refuse (``invoice_closed``) an invoice that is settled, cancelled or escalated."""
    if state.status not in ("active", "unassigned"):
        raise CommandRejected("invoice_closed", f"{state.invoice_id} is {state.status}")


def snapshot(policy: Policy, state: InvoiceState) -> InvoiceSnapshot:
    """The invoice's place, for the audit trail."""
    scenario = scenario_of(policy, state)
    next_step = None
    position = position_of(policy, state)
    if scenario is not None and position < len(scenario.steps):
        next_step = scenario.steps[position].name
    return InvoiceSnapshot(
        invoice_id=state.invoice_id,
        scenario_id=state.scenario_id,
        next_step=next_step,
        held_until=state.held_until,
        next_action_at=state.next_action_at,
    )
