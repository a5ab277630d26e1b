"""Ad-hoc campaigns [campagnes de relance]: one step, now, to customers chosen by criteria.

A campaign runs in parallel with the customers' scenarios: it never moves their timers. It
is declared in YAML like a scenario::

    id: year-end-2026
    description: Remind every overdue domestic business customer before closing the books.
    step:
      name: year-end-email
      level: level_1
      channel: email
      template: reminder_firm
      include_penalties: false
    select:
      company_codes: [FR01]
      customers: {customer_type: [business], market: [domestic]}
      min_days_overdue: 1
      min_open_amount: "100.00"
      min_customer_total: "500.00"

Selection, in order (:func:`select`): the customer's company and attributes (the same
conditions as the assignment rules), opt-outs (customer, tag, invoice), then each open
invoice's days overdue and open amount, invoices paused by a dispute, promise or payment
plan left out; then the customer's total per currency of what is left. A customer
contacted less than the minimum gap ago is skipped, and so is one the campaign already
reached. Everything here is pure; :mod:`services.scheduler.campaigns` reads and writes.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import Field

from contracts.dunning import (
    Channel,
    DunningLevel,
    RecipientRole,
    ScenarioId,
    StepName,
    TemplateName,
)
from services.scheduler.domain.assignment import Assignment, Match
from services.scheduler.domain.scenario import INTERNAL_CHANNELS, Description, Rule, is_internal
from services.scheduler.domain.state import Customer, InvoiceState

SkipReason = Literal["opted_out", "min_gap", "already_reached", "nothing_selected"]


class CampaignStep(Rule):
    """What the campaign sends: a step without an offset (it goes out now)."""

    name: StepName
    level: DunningLevel
    channel: Channel
    recipient: RecipientRole = "billing"
    template: TemplateName
    include_penalties: bool = False


class Selection(Rule):
    """Which customers and invoices a campaign reaches; every condition given must hold."""

    company_codes: tuple[str, ...] = ()
    customers: Match = Match()
    min_days_overdue: int | None = Field(
        default=None, ge=-365, le=3650, description="Negative reaches invoices not yet due."
    )
    max_days_overdue: int | None = Field(default=None, ge=-365, le=3650)
    min_open_amount: Decimal | None = Field(default=None, ge=0)
    min_customer_total: Decimal | None = Field(
        default=None,
        ge=0,
        description="The selected invoices of a customer total at least this in one currency.",
    )


class Campaign(Rule):
    id: ScenarioId
    description: Description = ""
    step: CampaignStep
    select: Selection = Selection()


def check_campaign(campaign: Campaign, templates: frozenset[str]) -> list[str]:
    """Problems that pydantic cannot see: an unknown template, an empty overdue range."""
    problems: list[str] = []
    if templates and campaign.step.template not in templates:
        problems.append(f"unknown template {campaign.step.template!r}")
    if is_internal(campaign.step.recipient) and campaign.step.channel not in INTERNAL_CHANNELS:
        problems.append(
            f"recipient {campaign.step.recipient!r} is a colleague, whom a "
            f"{campaign.step.channel} cannot reach"
        )
    low, high = campaign.select.min_days_overdue, campaign.select.max_days_overdue
    if low is not None and high is not None and low > high:
        problems.append(f"min_days_overdue {low} is above max_days_overdue {high}")
    return problems


@dataclass(frozen=True)
class Target:
    customer: Customer
    invoices: tuple[InvoiceState, ...]


@dataclass
class SelectionOutcome:
    targets: list[Target] = field(default_factory=list)
    skipped: dict[str, SkipReason] = field(default_factory=dict)


def _invoice_selected(
    selection: Selection, assignment: Assignment, state: InvoiceState, today: date
) -> bool:
    if state.status not in ("active", "unassigned") or state.pause_reason is not None:
        return False
    if state.open_amount <= 0 or assignment.invoice_opted_out(state.invoice_id):
        return False
    overdue = (today - state.due_date).days
    if selection.min_days_overdue is not None and overdue < selection.min_days_overdue:
        return False
    if selection.max_days_overdue is not None and overdue > selection.max_days_overdue:
        return False
    return selection.min_open_amount is None or state.open_amount >= selection.min_open_amount


def _totals(invoices: Iterable[InvoiceState]) -> dict[str, Decimal]:
    totals: defaultdict[str, Decimal] = defaultdict(Decimal)
    for state in invoices:
        totals[state.currency] += state.open_amount
    return dict(totals)


def select(
    campaign: Campaign,
    assignment: Assignment,
    candidates: Sequence[tuple[Customer, Sequence[InvoiceState]]],
    *,
    now: datetime,
    today_of: dict[str, date],
    min_gap: timedelta,
    already_reached: frozenset[str] = frozenset(),
) -> SelectionOutcome:
    """The customers (with their invoices) the campaign reaches now, and why others not.

    ``today_of`` gives each customer's calendar date in their time zone.
    """
    selection = campaign.select
    outcome = SelectionOutcome()
    for customer, invoices in candidates:
        if selection.company_codes and customer.company_code not in selection.company_codes:
            continue
        outstanding = _totals(i for i in invoices if i.status == "active")
        if not selection.customers.holds(customer.segment, customer.country, outstanding):
            continue
        cid = customer.customer_id
        if cid in assignment.opt_out_customers or assignment.opt_out_tag in customer.segment.tags:
            outcome.skipped[cid] = "opted_out"
            continue
        if cid in already_reached:
            outcome.skipped[cid] = "already_reached"
            continue
        if customer.last_contact_at is not None and customer.last_contact_at + min_gap > now:
            outcome.skipped[cid] = "min_gap"
            continue
        chosen = tuple(
            sorted(
                (i for i in invoices if _invoice_selected(selection, assignment, i, today_of[cid])),
                key=lambda i: (i.due_date, i.invoice_number),
            )
        )
        threshold = selection.min_customer_total
        if not chosen or (threshold is not None and max(_totals(chosen).values()) < threshold):
            outcome.skipped[cid] = "nothing_selected"
            continue
        outcome.targets.append(Target(customer, chosen))
    return outcome


def fingerprint(campaign: Campaign, targets: Sequence[Target]) -> str:
    """What a dry run showed, as one digest: the campaign and each customer reached with
    its invoices and their open amounts. A launch citing it is refused when the campaign
    would now reach anything else (a payment arrived, an invoice was issued, a customer
    was contacted meanwhile)."""
    reached = sorted(
        [
            t.customer.customer_id,
            sorted([i.invoice_id, str(i.open_amount), i.currency] for i in t.invoices),
        ]
        for t in targets
    )
    canonical = json.dumps(
        {"campaign": campaign.model_dump(mode="json"), "reached": reached},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
