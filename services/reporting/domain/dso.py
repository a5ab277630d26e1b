"""Days sales outstanding by the countback method.

The receivables open at the end of a month are matched against that month's sales, then
the previous month's, and so on backwards: every month whose sales are fully absorbed
counts all its days; the month where the receivables run out counts the share of its
days that the remaining receivables represent of its sales. When the receivables exceed
every month of the history given, the DSO is the total of its days (a lower bound).
Months without sales are absorbed whole.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.reporting.errors import ReportingError

DSO_QUANTUM = Decimal("0.01")


class InvalidSalesHistory(ReportingError):
    """Sales and receivables of a DSO computation cannot be negative."""


@dataclass(frozen=True)
class MonthSales:
    days: int
    sales: Decimal


def countback_dso(receivables: Decimal, months_newest_first: Sequence[MonthSales]) -> Decimal:
    """The countback DSO in days, rounded to hundredths (half up)."""
    if receivables < 0 or any(m.sales < 0 or m.days < 0 for m in months_newest_first):
        raise InvalidSalesHistory("negative receivables, sales or days")
    remaining = receivables
    days = Decimal(0)
    for month in months_newest_first:
        if remaining <= 0:
            break
        if remaining >= month.sales:
            remaining -= month.sales
            days += month.days
        else:
            days += month.days * remaining / month.sales
            remaining = Decimal(0)
    return days.quantize(DSO_QUANTUM)


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def previous_month(first_day: date) -> date:
    if first_day.month == 1:
        return date(first_day.year - 1, 12, 1)
    return date(first_day.year, first_day.month - 1, 1)


def months_back(latest: date, count: int) -> list[date]:
    """First days of ``count`` months, the month of ``latest`` first, going backwards."""
    months = [month_start(latest)]
    while len(months) < count:
        months.append(previous_month(months[-1]))
    return months
