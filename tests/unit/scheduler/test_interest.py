"""Late-payment interest and the recovery indemnity, exact to the cent."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.scheduler.domain.interest import RateTable, late_interest, recovery_indemnity
from services.scheduler.errors import UnknownRate

FRANCE = RateTable({date(2026, 1, 1): Decimal("2.15"), date(2026, 7, 1): Decimal("2.00")})


def test_no_interest_on_or_before_the_due_date() -> None:
    assert late_interest(Decimal(1000), date(2026, 3, 1), date(2026, 3, 1), FRANCE) == 0


def test_thirty_days_at_the_first_half_year_rate() -> None:
    # 10,000 x 12.15% / 365 x 30 = 99.863... -> 99.86
    owed = late_interest(Decimal(10_000), date(2026, 3, 1), date(2026, 3, 31), FRANCE)
    assert owed == Decimal("99.86")


def test_the_rate_changes_on_the_first_of_july() -> None:
    # 29 and 30 June at 12.15%, 1 and 2 July at 12.00%, on 36,500: 12.15 x 2 + 12 x 2 = 48.30
    owed = late_interest(Decimal(36_500), date(2026, 6, 28), date(2026, 7, 2), FRANCE)
    assert owed == Decimal("48.30")


def test_rounding_happens_once_at_the_end() -> None:
    # About 0.0001 a day, zero if rounded daily; over the year (181 days at 12.15%, 184 at
    # 12.00%) it is 0.0362... -> 0.04.
    owed = late_interest(Decimal("0.30"), date(2025, 12, 31), date(2026, 12, 31), FRANCE)
    assert owed == Decimal("0.04")


def test_a_day_before_the_table_is_refused() -> None:
    with pytest.raises(UnknownRate):
        late_interest(Decimal(100), date(2025, 12, 1), date(2026, 1, 5), FRANCE)


def test_the_indemnity_is_owed_by_late_businesses_only() -> None:
    due, later = date(2026, 3, 1), date(2026, 3, 2)
    assert recovery_indemnity("business", due, later) == Decimal(40)
    assert recovery_indemnity("public_body", due, later) == Decimal(40)
    assert recovery_indemnity("consumer", due, later) == 0
    assert recovery_indemnity("business", due, due) == 0


@given(
    amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**7), places=2),
    days=st.integers(0, 400),
    more=st.integers(1, 60),
)
def test_interest_grows_with_time_and_stays_exact(amount: Decimal, days: int, more: int) -> None:
    due = date(2026, 1, 1)
    earlier = late_interest(amount, due, due + timedelta(days=days), FRANCE)
    later = late_interest(amount, due, due + timedelta(days=days + more), FRANCE)
    assert later >= earlier >= 0
    assert later.as_tuple().exponent == -2
