"""The team's figures: month ends, DSO, a step's effectiveness. Pure functions of values."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

DSO_WINDOW_DAYS = 90


def month_ends(today: date, count: int) -> list[date]:
    """The last ``count`` month ends before ``today``, oldest first, then ``today`` itself."""
    ends: list[date] = []
    day = today.replace(day=1) - timedelta(days=1)
    while len(ends) < count - 1:
        ends.append(day)
        day = day.replace(day=1) - timedelta(days=1)
    return [*reversed(ends), today]


def dso(receivable: Decimal | None, invoiced: Decimal | None) -> Decimal | None:
    """Days sales outstanding by the count-back-free method: what is receivable over what
    was invoiced in the last 90 days, times 90; None without sales in the window."""
    if not invoiced:
        return None
    return (Decimal(receivable or 0) / Decimal(invoiced) * DSO_WINDOW_DAYS).quantize(Decimal(1))


def paid_share(paid: int, invoices: int) -> Decimal | None:
    """The share of reminded invoices paid within the window, in percent (one decimal)."""
    if invoices <= 0:
        return None
    return (Decimal(paid) * 100 / Decimal(invoices)).quantize(Decimal("0.1"))
