"""The PDF attached to a reminder states the customer's whole open account at send time."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.notifier.composing.composer import CustomerView, EmailComposer, OpenItem
from services.notifier.settings import NotifierSettings
from tests.unit.notifier import samples


def item(number: str, open_amount: str) -> OpenItem:
    return OpenItem(
        f"FR01/{number}", number, date(2026, 1, 31), "EUR", Decimal("1200.00"), Decimal(open_amount)
    )


def test_the_statement_lists_every_open_item_less_what_was_paid_since() -> None:
    composer = EmailComposer.load(NotifierSettings())
    reminder = samples.reminder("INV-1", "INV-2")
    customer = CustomerView(
        "ACME", "fr", (), (item("INV-1", "700.00"), item("INV-2", "700.00"), item("INV-3", "50"))
    )
    still_due = reminder.invoices[:1]  # INV-2 was settled after the scheduler decided
    statement = composer.account_statement(reminder, still_due, customer, samples.NOW)
    assert statement is not None
    assert [line.invoice_number for line in statement.lines] == ["INV-1", "INV-3"]
    assert [(t.currency, t.open_amount) for t in statement.totals] == [("EUR", Decimal("750.00"))]


def test_no_account_statement_when_nothing_else_is_open() -> None:
    composer = EmailComposer.load(NotifierSettings())
    reminder = samples.reminder("INV-1")
    only = CustomerView("ACME", "fr", (), (item("INV-1", "700.00"),))
    assert composer.account_statement(reminder, reminder.invoices, only, samples.NOW) is None
    empty = CustomerView("ACME", "fr", ())
    assert composer.account_statement(reminder, reminder.invoices, empty, samples.NOW) is None
