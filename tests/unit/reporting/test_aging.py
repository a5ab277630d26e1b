"""Age buckets: every day overdue falls in exactly one bucket, the right one."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.reporting.domain.aging import (
    NOT_DUE,
    InvalidBucketEdges,
    bucket_of,
    buckets,
    days_overdue,
)


@pytest.mark.parametrize(
    ("days", "label"),
    [
        (-400, "not_due"),
        (-1, "not_due"),
        (0, "not_due"),
        (1, "1-30"),
        (30, "1-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "91-120"),
        (120, "91-120"),
        (121, "over_120"),
        (10_000, "over_120"),
    ],
)
def test_default_buckets_at_and_around_every_edge(days: int, label: str) -> None:
    assert bucket_of(days) == label


def test_default_labels_in_order() -> None:
    assert [b.label for b in buckets()] == [
        "not_due",
        "1-30",
        "31-60",
        "61-90",
        "91-120",
        "over_120",
    ]
    assert [b.order for b in buckets()] == list(range(6))


def test_custom_edges() -> None:
    assert [b.label for b in buckets((15, 45))] == ["not_due", "1-15", "16-45", "over_45"]
    assert bucket_of(16, (15, 45)) == "16-45"
    assert bucket_of(46, (15, 45)) == "over_45"


def test_no_edges_leaves_not_due_and_overdue() -> None:
    assert [b.label for b in buckets(())] == ["not_due", "over_0"]
    assert bucket_of(1, ()) == "over_0"


@pytest.mark.parametrize("edges", [(0, 30), (30, 30), (60, 30), (-5,)])
def test_invalid_edges_are_refused(edges: tuple[int, ...]) -> None:
    with pytest.raises(InvalidBucketEdges):
        buckets(edges)


def test_days_overdue_counts_from_the_due_date() -> None:
    assert days_overdue(date(2026, 1, 31), date(2026, 3, 1)) == 29
    assert days_overdue(date(2026, 3, 1), date(2026, 3, 1)) == 0
    assert days_overdue(date(2026, 3, 2), date(2026, 3, 1)) == -1


edges_strategy = st.lists(st.integers(1, 400), max_size=8, unique=True).map(
    lambda values: tuple(sorted(values))
)


@given(edges=edges_strategy, days=st.integers(-1000, 2000))
def test_exactly_one_bucket_holds_any_day(edges: tuple[int, ...], days: int) -> None:
    holding = [b for b in buckets(edges) if b.holds(days)]
    assert len(holding) == 1
    label = holding[0].label
    assert bucket_of(days, edges) == label
    if days <= 0:
        assert label == NOT_DUE
    else:
        upper = [e for e in edges if e >= days]
        if upper:
            assert holding[0].max_days == upper[0]
        else:
            assert holding[0].max_days is None


@given(edges=edges_strategy)
def test_buckets_are_contiguous(edges: tuple[int, ...]) -> None:
    cut = buckets(edges)
    for earlier, later in pairwise(cut):
        assert earlier.max_days is not None
        assert later.min_days == earlier.max_days + 1


@given(due=st.dates(), delta=st.integers(-500, 500))
def test_days_overdue_inverts_a_shift(due: date, delta: int) -> None:
    try:
        as_of = due + timedelta(days=delta)
    except OverflowError:
        return
    assert days_overdue(due, as_of) == delta
