"""Countback DSO: receivables matched against sales, newest month first."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.reporting.domain.dso import (
    InvalidSalesHistory,
    MonthSales,
    countback_dso,
    month_end,
    months_back,
)

D = Decimal


def test_receivables_within_the_current_month() -> None:
    # half of March's sales still open: half of March's 31 days
    assert countback_dso(D(500), [MonthSales(31, D(1000))]) == D("15.50")


def test_receivables_spanning_two_months() -> None:
    history = [MonthSales(31, D(1000)), MonthSales(28, D(800))]
    # all of March (31 days), then 200 of February's 800: a quarter of 28 days
    assert countback_dso(D(1200), history) == D("38.00")


def test_no_receivables_is_zero_days() -> None:
    assert countback_dso(D(0), [MonthSales(30, D(100))]) == D("0.00")


def test_receivables_beyond_the_history_count_every_day() -> None:
    assert countback_dso(D(10_000), [MonthSales(30, D(100)), MonthSales(31, D(100))]) == D("61.00")


def test_month_without_sales_is_absorbed_whole() -> None:
    history = [MonthSales(31, D(0)), MonthSales(30, D(600))]
    assert countback_dso(D(300), history) == D("46.00")


def test_exact_match_counts_the_whole_month() -> None:
    assert countback_dso(D(1000), [MonthSales(31, D(1000)), MonthSales(30, D(1))]) == D("31.00")


def test_rounds_half_up_to_hundredths() -> None:
    assert countback_dso(D(1), [MonthSales(31, D(3))]) == D("10.33")
    assert countback_dso(D(2), [MonthSales(31, D(3))]) == D("20.67")


@pytest.mark.parametrize(
    ("receivables", "history"),
    [(D(-1), [MonthSales(30, D(1))]), (D(1), [MonthSales(30, D(-1))])],
)
def test_negative_inputs_are_refused(receivables: Decimal, history: list[MonthSales]) -> None:
    with pytest.raises(InvalidSalesHistory):
        countback_dso(receivables, history)


amounts = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False)
months = st.lists(
    st.builds(MonthSales, st.sampled_from([28, 29, 30, 31]), amounts), min_size=1, max_size=24
)


@given(receivables=amounts, history=months)
def test_bounded_by_the_days_of_the_history(
    receivables: Decimal, history: list[MonthSales]
) -> None:
    dso = countback_dso(receivables, history)
    assert D(0) <= dso <= sum(m.days for m in history)


@given(low=amounts, extra=amounts, history=months)
def test_more_receivables_never_lower_the_dso(
    low: Decimal, extra: Decimal, history: list[MonthSales]
) -> None:
    assert countback_dso(low + extra, history) >= countback_dso(low, history)


@given(history=months)
def test_receivables_equal_to_all_sales_reach_the_oldest_month_with_sales(
    history: list[MonthSales],
) -> None:
    total = sum((m.sales for m in history), D(0))
    with_sales = [i for i, m in enumerate(history) if m.sales > 0]
    expected = sum(m.days for m in history[: with_sales[-1] + 1]) if with_sales else 0
    assert countback_dso(total, history) == expected


def test_months_back_crosses_years() -> None:
    assert months_back(date(2026, 2, 17), 3) == [
        date(2026, 2, 1),
        date(2026, 1, 1),
        date(2025, 12, 1),
    ]
    assert month_end(date(2024, 2, 3)) == date(2024, 2, 29)
