"""The console's pure decisions: an open item's status and age, totals, the worklist's order."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.console.domain.open_items import (
    AGE_BUCKETS,
    WorkItem,
    age_of,
    ranked,
    status_of,
    totals_per_currency,
)

TODAY = date(2026, 3, 16)


def test_a_dispute_outranks_a_plan_which_outranks_a_promise() -> None:
    past = TODAY - timedelta(days=3)
    assert status_of(past, TODAY, disputed=True, in_plan=True, promised=True) == "disputed"
    assert status_of(past, TODAY, disputed=False, in_plan=True, promised=True) == "in_plan"
    assert status_of(past, TODAY, disputed=False, in_plan=False, promised=True) == "promised"
    assert status_of(past, TODAY, disputed=False, in_plan=False, promised=False) == "overdue"
    assert status_of(TODAY, TODAY, disputed=False, in_plan=False, promised=False) == "due"


def test_ageing_bucket_edges() -> None:
    ages = {
        days: age_of(TODAY - timedelta(days=days), TODAY)
        for days in (-5, 0, 1, 30, 31, 60, 61, 90, 91)
    }
    assert ages == {
        -5: "not_due",
        0: "not_due",
        1: "1_30",
        30: "1_30",
        31: "31_60",
        60: "31_60",
        61: "61_90",
        90: "61_90",
        91: "over_90",
    }


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["EUR", "USD", "GBP"]),
            st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**9), places=2),
            st.sampled_from(AGE_BUCKETS),
        )
    )
)
def test_totals_add_up_per_currency_and_bucket(
    rows: list[tuple[str, Decimal, str]],
) -> None:
    totals = totals_per_currency(rows)  # type: ignore[arg-type]
    assert [t.currency for t in totals] == sorted({c for c, _, _ in rows})
    for total in totals:
        mine = [(a, b) for c, a, b in rows if c == total.currency]
        assert total.total == sum((a for a, _ in mine), Decimal(0))
        for bucket in AGE_BUCKETS:
            assert total.by_age[bucket] == sum((a for a, b in mine if b == bucket), Decimal(0))


def _item(kind: str, at_risk: str, days_ago: int = 0) -> WorkItem:
    return WorkItem(
        kind=kind,  # type: ignore[arg-type]
        customer_id="C-1",
        customer_name="A",
        company_code="FR01",
        currency="EUR",
        at_risk=Decimal(at_risk),
        since=TODAY - timedelta(days=days_ago),
    )


def test_the_worklist_puts_money_at_risk_first_then_urgency_then_age() -> None:
    call = _item("call_due", "500")
    promise = _item("broken_promise", "500")
    big = _item("delivery_trouble", "900")
    older_call = _item("call_due", "500", days_ago=3)
    assert ranked([call, promise, older_call, big], 10) == [big, promise, older_call, call]
    assert ranked([call, promise, big], 1) == [big]
