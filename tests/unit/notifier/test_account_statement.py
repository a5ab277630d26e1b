"""The PDF attached to a reminder states the customer's whole open account."""

from __future__ import annotations

from decimal import Decimal

from contracts.dunning import OpenStatement
from services.notifier.composer import EmailComposer
from services.notifier.settings import NotifierSettings
from tests.unit.notifier import samples


def test_the_full_statement_leaves_out_what_was_paid_since_the_decision() -> None:
    composer = EmailComposer.load(NotifierSettings())
    account = tuple(samples.dunned(n) for n in ("INV-1", "INV-2", "INV-3"))
    totals = sum((i.open_amount.amount for i in account), Decimal(0))
    reminder = samples.reminder("INV-1", "INV-2").model_copy(
        update={"statement": OpenStatement(invoices=account, totals=(samples.eur(str(totals)),))}
    )
    still_due = reminder.invoices[:1]  # INV-2 was settled after the scheduler decided
    statement = composer.account_statement(reminder, still_due, samples.NOW)
    assert statement is not None
    assert [line.invoice_number for line in statement.lines] == ["INV-1", "INV-3"]
    assert composer.account_statement(samples.reminder("INV-1"), still_due, samples.NOW) is None
