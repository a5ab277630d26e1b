"""An open item's status and age, and the worklist's order: pure decisions on values."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

ItemStatus = Literal["disputed", "in_plan", "promised", "overdue", "due"]
AgeBucket = Literal["not_due", "1_30", "31_60", "61_90", "over_90"]
AGE_BUCKETS: tuple[AgeBucket, ...] = ("not_due", "1_30", "31_60", "61_90", "over_90")


def status_of(
    due_date: date, today: date, *, disputed: bool, in_plan: bool, promised: bool
) -> ItemStatus:
    """What holds an open invoice, strongest first: a dispute, a plan, a promise; else
    whether its due date has passed."""
    if disputed:
        return "disputed"
    if in_plan:
        return "in_plan"
    if promised:
        return "promised"
    return "overdue" if due_date < today else "due"


def age_of(due_date: date, today: date) -> AgeBucket:
    """The ageing bucket of an invoice by days past its due date."""
    days = (today - due_date).days
    if days <= 0:
        return "not_due"
    if days <= 30:
        return "1_30"
    if days <= 60:
        return "31_60"
    if days <= 90:
        return "61_90"
    return "over_90"


@dataclass(frozen=True)
class CurrencyTotals:
    """One currency's open items: the total and the total per ageing bucket."""

    currency: str
    total: Decimal
    by_age: dict[AgeBucket, Decimal]


def totals_per_currency(items: Iterable[tuple[str, Decimal, AgeBucket]]) -> list[CurrencyTotals]:
    """(currency, open amount, bucket) rows summed per currency, currencies in order."""
    sums: dict[str, dict[AgeBucket, Decimal]] = {}
    for currency, amount, bucket in items:
        per_bucket = sums.setdefault(currency, dict.fromkeys(AGE_BUCKETS, Decimal(0)))
        per_bucket[bucket] += amount
    return [
        CurrencyTotals(currency, sum(buckets.values(), Decimal(0)), buckets)
        for currency, buckets in sorted(sums.items())
    ]


WorkKind = Literal[
    "proposal",
    "broken_promise",
    "missed_instalment",
    "overdue_dispute",
    "delivery_trouble",
    "unmatched_cash",
    "call_due",
]
# At equal amounts, the more urgent kind first (the worklist query orders the same way).
URGENCY: tuple[WorkKind, ...] = (
    "proposal",
    "broken_promise",
    "missed_instalment",
    "overdue_dispute",
    "delivery_trouble",
    "unmatched_cash",
    "call_due",
)


@dataclass(frozen=True)
class WorkItem:
    """Something that needs a collector: its kind, the customer and the money at risk
    (``since``: a proposal's deadline)."""

    kind: WorkKind
    customer_id: str
    customer_name: str
    company_code: str
    currency: str
    at_risk: Decimal
    since: date
    detail: str | None = None
    reference: str | None = None  # a call's reminder id or a proposal's id: its page
    # The money at risk in the ranking currency (None: the same currency, or not known).
    ranking: Decimal | None = None
    # The money at risk in the company's reporting currency, when a rate gives it.
    converted: Decimal | None = None
    reporting_currency: str | None = None
    unconverted: bool = False  # no rate from its currency: ranked by its own amount

    @property
    def ranking_amount(self) -> Decimal:
        return self.at_risk if self.ranking is None else self.ranking

    @property
    def shows_conversion(self) -> bool:
        """Whether the page states the amount in the company's reporting currency too."""
        return self.converted is not None and self.currency != self.reporting_currency


def ranked(items: Sequence[WorkItem], limit: int) -> list[WorkItem]:
    """The worklist: most money at risk first, in the ranking currency (the worklist query
    converts with the latest exchange rates; an item without a rate counts its own amount);
    then the more urgent kind, the older item."""
    return sorted(items, key=lambda i: (-i.ranking_amount, URGENCY.index(i.kind), i.since))[:limit]
