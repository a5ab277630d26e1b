from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.notifier.domain import penalties
from services.notifier.domain.statement import PenaltyTerms, statement_of
from tests.unit.notifier.samples import dunned

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2)
days = st.integers(min_value=-400, max_value=4000)


def test_default_rate_is_ecb_plus_ten_points() -> None:
    assert penalties.annual_penalty_rate(
        Decimal("2.15"), penalties.DEFAULT_MARGIN_POINTS
    ) == Decimal("12.15")


def test_interest_runs_from_the_day_after_the_due_date() -> None:
    due = date(2026, 1, 31)
    assert penalties.late_payment_interest(Decimal("1000"), due, due, Decimal("12")) == Decimal(
        "0.00"
    )
    # one day: 1000 x 12% / 365 = 0.3287... -> 0.33
    assert penalties.late_payment_interest(
        Decimal("1000"), due, due + timedelta(days=1), Decimal("12")
    ) == Decimal("0.33")
    # a full year of 365 days is the yearly rate
    assert penalties.late_payment_interest(
        Decimal("1000"), due, due + timedelta(days=365), Decimal("12.15")
    ) == Decimal("121.50")


def test_indemnity_is_forty_euros_per_late_invoice() -> None:
    assert penalties.recovery_indemnity(3) == Decimal("120.00")
    assert penalties.recovery_indemnity(0) == Decimal("0.00")


@given(amounts, days, days)
def test_interest_never_negative_and_grows_with_time(
    amount: Decimal, first: int, second: int
) -> None:
    due = date(2026, 1, 1)
    early, late = sorted((first, second))
    rate = Decimal("12.15")
    at_early = penalties.late_payment_interest(amount, due, due + timedelta(days=early), rate)
    at_late = penalties.late_payment_interest(amount, due, due + timedelta(days=late), rate)
    assert Decimal(0) <= at_early <= at_late
    assert at_late.as_tuple().exponent == -2
    if late <= 0:
        assert at_late == 0


def test_statement_totals_per_currency_and_counts_late_invoices() -> None:
    invoices = [
        dunned("A", "700.00"),
        dunned("B", "300.00"),
        dunned("C", "50.00", date(2026, 4, 1)),
    ]
    statement = statement_of(invoices, date(2026, 3, 2), True, PenaltyTerms(Decimal("2.15")))
    (total,) = statement.totals
    assert total.currency == "EUR"
    assert total.open_amount == Decimal("1050.00")
    assert statement.late_invoices == 2
    assert statement.indemnity_eur == Decimal("80.00")
    assert total.interest == sum(line.interest for line in statement.lines)
    assert [line.invoice_number for line in statement.lines] == ["A", "B", "C"]


def test_statement_without_penalties_states_none() -> None:
    statement = statement_of([dunned("A")], date(2026, 3, 2), False, PenaltyTerms(Decimal("2.15")))
    assert statement.indemnity_eur == 0
    assert all(line.interest == 0 for line in statement.lines)
