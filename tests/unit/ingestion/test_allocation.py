"""The allocation arithmetic: exact, never negative, and always adding up."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ingestion.domain.allocation import (
    OwedInvoice,
    allocate_credit_note,
    allocate_payment,
    correct_amount,
)
from services.ingestion.errors import Inapplicable

D = Decimal


def owed(number: str, open_amount: str, due_day: int, currency: str = "EUR") -> OwedInvoice:
    due = date(2026, 1, 1) + timedelta(days=due_day)
    return OwedInvoice(number, currency, D(open_amount), due, date(2025, 12, 1))


def test_unallocated_payment_goes_to_the_oldest_due_first() -> None:
    invoices = [owed("B", "100", 20), owed("A", "50", 10), owed("C", "70", 30)]
    plan = allocate_payment(D("120"), "EUR", [], None, invoices)
    assert plan.allocations == (("A", D("50")), ("B", D("70")))
    assert plan.credit == 0


def test_reference_comes_before_the_oldest_due() -> None:
    invoices = [owed("A", "50", 10), owed("C", "70", 30)]
    plan = allocate_payment(D("80"), "EUR", [], " C ", invoices)
    assert plan.allocations == (("C", D("70")), ("A", D("10")))


def test_explicit_allocations_first_and_overpayment_becomes_credit() -> None:
    invoices = [owed("A", "50", 10), owed("B", "30", 20)]
    plan = allocate_payment(D("100.01"), "EUR", [("B", D("40"))], None, invoices)
    assert plan.allocations == (("B", D("30")), ("A", D("50")))
    assert plan.credit == D("20.01")


def test_explicit_allocation_in_another_currency_is_a_currency_mismatch() -> None:
    with pytest.raises(Inapplicable) as caught:
        allocate_payment(D("10"), "EUR", [("A", D("10"))], None, [owed("A", "10", 1, "USD")])
    assert caught.value.reason == "currency_mismatch"


def test_other_currencies_are_never_touched_by_the_oldest_due_rule() -> None:
    plan = allocate_payment(D("10"), "EUR", [], "A", [owed("A", "10", 1, "USD")])
    assert plan.allocations == ()
    assert plan.credit == D("10")


def test_credit_note_reduces_an_invoice_and_leaves_the_rest_as_credit() -> None:
    plan = allocate_credit_note(D("80"), "EUR", owed("A", "50", 1))
    assert (plan.allocations, plan.credit) == ((("A", D("50")),), D("30"))
    assert allocate_credit_note(D("5"), "EUR", None).credit == D("5")
    with pytest.raises(Inapplicable):
        allocate_credit_note(D("5"), "EUR", owed("A", "50", 1, "GBP"))


def test_correction_keeps_what_was_paid() -> None:
    assert correct_amount(D("100"), D("40"), D("120")).open_amount == D("60")
    lowered = correct_amount(D("100"), D("40"), D("50"))
    assert (lowered.open_amount, lowered.overpaid) == (D("0"), D("10"))


money = st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2)
invoice_lists = st.lists(
    st.tuples(money, st.integers(0, 90), st.sampled_from(["EUR", "USD"])), max_size=8
)


@given(
    amount=money,
    invoices=invoice_lists,
    explicit=st.lists(st.tuples(st.integers(0, 7), money), max_size=4),
    reference=st.one_of(st.none(), st.integers(0, 9).map(lambda i: f"I{i}")),
)
def test_parts_add_up_and_nothing_goes_negative(
    amount: Decimal,
    invoices: list[tuple[Decimal, int, str]],
    explicit: list[tuple[int, Decimal]],
    reference: str | None,
) -> None:
    owed_invoices = [
        OwedInvoice(f"I{n}", cur, a, date(2026, 1, 1) + timedelta(days=d), date(2025, 1, 1))
        for n, (a, d, cur) in enumerate(invoices)
    ]
    named = [
        (f"I{i}", a)
        for i, a in explicit
        if i < len(owed_invoices) and owed_invoices[i].currency == "EUR"
    ]
    plan = allocate_payment(amount, "EUR", named, reference, owed_invoices)
    by_number = {i.invoice_number: i for i in owed_invoices}
    # given by number (as the book passes its rows), the same plan, the invoices untouched
    assert allocate_payment(amount, "EUR", named, reference, dict(by_number)) == plan
    assert [i.open_amount for i in owed_invoices] == [a for a, _, _ in invoices]
    assert plan.allocated + plan.credit == amount
    assert plan.credit >= 0
    assert len({n for n, _ in plan.allocations}) == len(plan.allocations)
    for number, part in plan.allocations:
        assert part > 0
        assert by_number[number].currency == "EUR"
        assert by_number[number].open_amount - part >= 0
    eur_open = sum((i.open_amount for i in owed_invoices if i.currency == "EUR"), D(0))
    # credit only remains when every invoice in the currency is paid off
    assert plan.credit == 0 or plan.allocated == eur_open


@given(amount=money, open_amount=money, extra=money)
def test_credit_note_parts_add_up(amount: Decimal, open_amount: Decimal, extra: Decimal) -> None:
    plan = allocate_credit_note(amount, "EUR", owed("A", str(open_amount), 1))
    assert plan.allocated + plan.credit == amount
    assert plan.allocated <= open_amount
    fix = correct_amount(open_amount + extra, open_amount, amount)
    assert fix.open_amount >= 0
    assert fix.overpaid >= 0
    assert fix.open_amount - fix.overpaid == amount - extra


def _oldest_first_by_sorting(
    amount: Decimal,
    currency: str,
    explicit: list[tuple[str, Decimal]],
    reference: str | None,
    invoices: list[OwedInvoice],
) -> tuple[tuple[str, Decimal], ...]:
    """The rule written plainly: every candidate sorted, then given to in that order."""
    owed = {i.invoice_number: i.open_amount for i in invoices}
    parts: dict[str, Decimal] = {}
    left = amount

    def give(number: str, wanted: Decimal) -> None:
        nonlocal left
        part = min(wanted, owed.get(number, D(0)), left)
        if part > 0:
            owed[number] -= part
            left -= part
            parts[number] = parts.get(number, D(0)) + part

    for number, wanted in explicit:
        give(number, wanted)
    currencies = {i.invoice_number: i.currency for i in invoices}
    if reference is not None and currencies.get(reference.strip()) == currency:
        give(reference.strip(), left)
    for invoice in sorted(invoices, key=lambda i: (i.due_date, i.issue_date, i.invoice_number)):
        if invoice.currency == currency:
            give(invoice.invoice_number, left)
    return tuple(parts.items())


@given(
    amount=money,
    invoices=st.lists(
        st.tuples(money, st.integers(0, 3), st.integers(0, 3), st.sampled_from(["EUR", "USD"])),
        max_size=12,
    ),
    explicit=st.lists(st.tuples(st.integers(0, 11), money), max_size=4),
    reference=st.one_of(st.none(), st.integers(0, 13).map(lambda i: f" I{i} ")),
)
def test_the_oldest_due_first_is_the_order_of_a_plain_sort(
    amount: Decimal,
    invoices: list[tuple[Decimal, int, int, str]],
    explicit: list[tuple[int, Decimal]],
    reference: str | None,
) -> None:
    """Ties in due and issue dates, other currencies, invoices paid off by the explicit
    allocations or the reference first: the heap's plan is the sorted list's."""
    owed_invoices = [
        OwedInvoice(
            f"I{n}",
            cur,
            a,
            date(2026, 1, 1) + timedelta(days=due),
            date(2025, 12, 1) + timedelta(days=issue),
        )
        for n, (a, due, issue, cur) in enumerate(invoices)
    ]
    named = [
        (f"I{i}", a)
        for i, a in explicit
        if i < len(owed_invoices) and owed_invoices[i].currency == "EUR"
    ]
    plan = allocate_payment(amount, "EUR", named, reference, owed_invoices)
    assert plan.allocations == _oldest_first_by_sorting(
        amount, "EUR", named, reference, owed_invoices
    )
