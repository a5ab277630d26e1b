"""Late-payment interest and the fixed recovery indemnity, in exact decimals.

Interest runs per day from the day after the due date on the open amount. For France B2B
the yearly rate is the ECB main refinancing rate in force on 1 January or 1 July of the
half-year the day falls in, plus 10 points (other jurisdictions give their own reference
rates and margin). Each day adds ``open amount x rate / 100 / 365``; the sum is rounded to
the cent (half up) only at the end. A late B2B invoice also owes a fixed recovery
indemnity of 40 EUR [indemnité forfaitaire pour frais de recouvrement]; consumers owe none.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from contracts.erp import CustomerType
from services.scheduler.errors import UnknownRate

CENT = Decimal("0.01")
DAYS_PER_YEAR = Decimal(365)
RECOVERY_INDEMNITY = Decimal(40)


def half_year_start(day: date) -> date:
    return date(day.year, 1 if day.month <= 6 else 7, 1)


@dataclass(frozen=True)
class RateTable:
    """Reference rates (percent a year) by the first day of the half-year they apply to."""

    reference: Mapping[date, Decimal]
    margin_points: Decimal = Decimal(10)

    def yearly_rate(self, day: date) -> Decimal:
        starts = sorted(self.reference)
        index = bisect_right(starts, half_year_start(day)) - 1
        if index < 0:
            raise UnknownRate(f"no reference rate for the half-year of {day}")
        return self.reference[starts[index]] + self.margin_points


def late_interest(open_amount: Decimal, due_date: date, on: date, rates: RateTable) -> Decimal:
    """Interest owed on ``on`` for ``open_amount`` due on ``due_date``, rounded to the cent."""
    total = Decimal(0)
    day = due_date + timedelta(days=1)
    while day <= on:
        total += open_amount * rates.yearly_rate(day) / 100 / DAYS_PER_YEAR
        day += timedelta(days=1)
    return total.quantize(CENT, rounding=ROUND_HALF_UP)


def recovery_indemnity(customer_type: CustomerType, due_date: date, on: date) -> Decimal:
    """40 EUR per late B2B invoice (businesses and public bodies), nothing for consumers."""
    if customer_type == "consumer" or on <= due_date:
        return Decimal(0)
    return RECOVERY_INDEMNITY
