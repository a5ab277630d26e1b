"""A partial payment reduces the base of late interest from its value date: the statement
uses the open-amount changes the notifier keeps (docs/law.md, worked example across
1 July 2024 with a partial payment)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from contracts.dunning import DunnedInvoice
from contracts.money import PositiveMoney
from services.notifier.composing.composer import CustomerView, EmailComposer, OpenItem
from services.notifier.domain.penalties import OpenAmountChange, payments_after_due
from services.notifier.reference_rates import RateBook
from services.notifier.settings import NotifierSettings
from services.runtime.late_payment import Payment, ReferenceRate, ReferenceRates
from tests.unit.notifier.samples import reminder

RATES = ReferenceRates(
    (
        ReferenceRate("ecb_mro", date(2023, 9, 20), Decimal("4.50")),
        ReferenceRate("ecb_mro", date(2024, 6, 12), Decimal("4.25")),
    )
)
DUE = date(2024, 6, 15)
ON = datetime(2024, 7, 31, 9, 0, tzinfo=UTC)


def _statement_interest(changes: list[dict[str, str]], open_amount: str = "6000.00") -> Decimal:
    composer = EmailComposer.load(NotifierSettings(), RateBook(RATES))
    invoice = DunnedInvoice(
        invoice_id="FR01/INV-1",
        invoice_number="INV-1",
        due_date=DUE,
        amount=PositiveMoney(amount=Decimal("10000.00"), currency="EUR"),
        open_amount=PositiveMoney(amount=Decimal(open_amount), currency="EUR"),
        days_overdue=(ON.date() - DUE).days,
    )
    item = OpenItem(
        "FR01/INV-1",
        "INV-1",
        DUE,
        "EUR",
        Decimal("10000.00"),
        Decimal(open_amount),
        json.dumps(changes),
    )
    customer = CustomerView("ACME", "fr", (), open_items=(item,))
    due = reminder("INV-1").model_copy(update={"invoices": (invoice,)})
    rendered = composer.render_reminder(due, (invoice,), customer, ON)
    (line,) = rendered.statement.lines
    return line.interest


def test_the_worked_example_across_1_july_with_a_partial_payment() -> None:
    # 15 days at 14.50% on 10,000 + 9 days at 14.25% on 10,000 + 22 days at 14.25% on 6,000
    paid = [{"value_date": "2024-07-10", "before": "10000.00", "after": "6000.00"}]
    assert _statement_interest(paid) == Decimal("146.26")


def test_without_history_the_current_open_amount_is_the_base() -> None:
    # 46 days on 6,000: 15 at 14.50% + 31 at 14.25% = 35.75 + 72.62 (rounded once)
    assert _statement_interest([]) == Decimal("108.37")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # a payment before the due date changes the base at the due date, not after it
        ([OpenAmountChange(date(2024, 6, 1), Decimal(10000), Decimal(6000))], ()),
        # two payments after the due date, in value-date order
        (
            [
                OpenAmountChange(date(2024, 7, 20), Decimal(8000), Decimal(6000)),
                OpenAmountChange(date(2024, 7, 1), Decimal(10000), Decimal(8000)),
            ],
            (
                Payment(date(2024, 7, 1), Decimal(2000)),
                Payment(date(2024, 7, 20), Decimal(2000)),
            ),
        ),
        # a reversal: no reliable history, the current open amount is the base
        (
            [
                OpenAmountChange(date(2024, 7, 1), Decimal(10000), Decimal(4000)),
                OpenAmountChange(date(2024, 7, 5), Decimal(4000), Decimal(6000)),
            ],
            (),
        ),
        # a change missing in between: 8,000 then 7,000 before the last one
        (
            [
                OpenAmountChange(date(2024, 7, 1), Decimal(10000), Decimal(8000)),
                OpenAmountChange(date(2024, 7, 20), Decimal(7000), Decimal(6000)),
            ],
            (),
        ),
        # the history ends elsewhere than today's open amount
        ([OpenAmountChange(date(2024, 7, 1), Decimal(10000), Decimal(7000))], ()),
    ],
)
def test_payments_after_the_due_date(
    changes: list[OpenAmountChange], expected: tuple[Payment, ...]
) -> None:
    assert payments_after_due(changes, DUE, Decimal(6000)) == expected
