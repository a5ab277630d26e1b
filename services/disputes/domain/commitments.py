"""Promises to pay and payment plans: when they are kept, broken or completed.

Payments are what the ledger shows on the invoices concerned after the commitment was
made: a payment lowering an open amount or settling an invoice counts, a reversal (a
payment rejected by the bank) counts negatively, a credit note does not count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from contracts.disputes import Instalment


def day_end(day: date, time_zone: str) -> datetime:
    """The instant ``day`` is over in ``time_zone`` (midnight at its end)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(time_zone))


def promise_deadline(promised_date: date, grace_days: int) -> date:
    """The last day the promised amount may arrive: the promised date plus the grace."""
    return promised_date + timedelta(days=grace_days)


def announced_payment_deadline(paid_on: date, today: date, wait_days: int) -> date:
    """The last day the ERP's payment may arrive for a payment a provider announced: the
    day it was paid (or today, when that is later in the customer's zone) plus the wait."""
    return max(paid_on, today) + timedelta(days=wait_days)


def promise_kept(amount: Decimal, received: Decimal, all_closed: bool) -> bool:
    """Kept once the payments cover the amount, or nothing is left to pay."""
    return received >= amount or all_closed


@dataclass(frozen=True)
class Missed:
    number: int  # 1-based
    instalment: Instalment
    received: Decimal  # what arrived towards this instalment, less than its amount


@dataclass(frozen=True)
class PlanProgress:
    """Where a payment plan stands at one instant, given what was received so far."""

    completed: bool
    next_unpaid: int | None  # 0-based index of the first instalment not covered yet

    @property
    def open(self) -> bool:
        return not self.completed


def plan_progress(instalments: tuple[Instalment, ...], received: Decimal) -> PlanProgress:
    """Payments cover instalments in order; the plan completes when all are covered."""
    due = Decimal(0)
    for index, instalment in enumerate(instalments):
        due += instalment.amount.amount
        if received < due:
            return PlanProgress(completed=False, next_unpaid=index)
    return PlanProgress(completed=True, next_unpaid=None)


def missed_instalment(
    instalments: tuple[Instalment, ...], received: Decimal, today: date, grace_days: int
) -> Missed | None:
    """The first instalment past its due date plus the grace and not covered, if any."""
    progress = plan_progress(instalments, received)
    if progress.next_unpaid is None:
        return None
    index = progress.next_unpaid
    instalment = instalments[index]
    if today <= instalment.due_date + timedelta(days=grace_days):
        return None
    covered_before = sum((i.amount.amount for i in instalments[:index]), Decimal(0))
    towards = max(Decimal(0), received - covered_before)
    return Missed(index + 1, instalment, towards)


def next_check(
    instalments: tuple[Instalment, ...], received: Decimal, grace_days: int
) -> date | None:
    """The day after which the first unpaid instalment is missed; None once completed."""
    progress = plan_progress(instalments, received)
    if progress.next_unpaid is None:
        return None
    return instalments[progress.next_unpaid].due_date + timedelta(days=grace_days)


def broken_rate(kept: int, broken: int) -> Decimal | None:
    """The share of a customer's decided promises that were broken (None before any)."""
    if kept + broken == 0:
        return None
    return (Decimal(broken) / Decimal(kept + broken)).quantize(Decimal("0.0001"))
