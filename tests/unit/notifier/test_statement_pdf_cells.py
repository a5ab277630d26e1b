"""The statement's cells written directly (``Document.cell``) against fpdf2's own ``cell``:
the same PDF, byte for byte, and every invoice, amount and line in its text."""

from __future__ import annotations

import functools
from datetime import date
from decimal import Decimal

import pytest

from contracts.dunning import DunnedInvoice
from contracts.money import PositiveMoney
from services.notifier.composing.composer import (
    SAMPLE_CREDITOR,
    SAMPLE_RATES,
    EmailComposer,
    sample_statement,
)
from services.notifier.composing.rendering import Creditor, format_money
from services.notifier.composing.statement_pdf import Document, statement_pdf
from services.notifier.domain.statement import Handling, PenaltyTerms, Statement, statement_of
from services.notifier.reference_rates import RateBook
from services.notifier.settings import NotifierSettings
from tests.unit.notifier.pdf_text import page_text
from tests.unit.notifier.samples import NOW


def _invoice(number: str, amount: str, currency: str = "EUR", days: int = 30) -> DunnedInvoice:
    return DunnedInvoice(
        invoice_id=f"FR01/{number}",
        invoice_number=number,
        due_date=date(2026, 3, 2).fromordinal(date(2026, 3, 2).toordinal() - days),
        amount=PositiveMoney(amount=Decimal(amount) * 2, currency=currency),
        open_amount=PositiveMoney(amount=Decimal(amount), currency=currency),
        days_overdue=days,
    )


def _statements() -> list[tuple[str, Statement]]:
    invoices = (
        _invoice("F(1)\\A", "1250.00"),
        _invoice("F-2", "99.90", "USD", 12),
        _invoice("F-3", "700000.00"),
    )
    terms = PenaltyTerms("FR", SAMPLE_RATES)
    return [
        ("sample", sample_statement()),
        ("penalties", statement_of(invoices, date(2026, 3, 2), True, terms)),
        ("no penalties", statement_of(invoices, date(2026, 3, 2), False, terms)),
        (
            "one handled elsewhere",
            statement_of(
                invoices,
                date(2026, 3, 2),
                True,
                terms,
                handled={"FR01/F-2": Handling("dispute", None)},
            ),
        ),
        (
            "no rate known",
            statement_of(invoices, date(2026, 3, 2), True, PenaltyTerms("FR", RateBook().rates)),
        ),
    ]


CREDITORS = ("sample", "FR01")


@functools.cache
def _creditor(code: str) -> Creditor:
    """The sample creditor, or one of the tests' companies (read at test time)."""
    if code == "sample":
        return SAMPLE_CREDITOR
    return EmailComposer.load(NotifierSettings(), RateBook()).creditor_for(code)


def _both(monkeypatch: pytest.MonkeyPatch, **arguments: object) -> tuple[bytes, bytes]:
    written = statement_pdf(**arguments)  # type: ignore[arg-type]
    with monkeypatch.context() as patch:
        patch.setattr(Document, "_plain_cell", lambda *_: False)
        drawn = statement_pdf(**arguments)  # type: ignore[arg-type]
    return written, drawn


@pytest.mark.parametrize(
    ("creditor", "language", "customer"),
    [
        ("sample", "fr", "ACME (Industrie) & Fils"),
        ("FR01", "en", "Société Générale d'Équipement €"),
        ("FR01", "de", "Back\\slash (and) parentheses"),
        ("FR01", "fr", "Łódź Transport sp. z o.o."),  # DejaVu: fpdf2 draws every cell
    ],
)
def test_the_same_pdf_as_fpdf2_draws_it(
    monkeypatch: pytest.MonkeyPatch, creditor: str, language: str, customer: str
) -> None:
    statements = _statements()[:1] if "Ł" in customer else _statements()
    for _, statement in statements:
        written, drawn = _both(
            monkeypatch,
            creditor=_creditor(creditor),
            customer_name=customer,
            customer_id="C-1",
            language=language,
            statement=statement,
            created_at=NOW,
        )
        assert written == drawn


@pytest.mark.parametrize("name", [name for name, _ in _statements()])
def test_every_invoice_amount_and_line_is_in_the_text(name: str) -> None:
    statement = dict(_statements())[name]
    creditor = _creditor("FR01")
    text = page_text(
        statement_pdf(
            creditor=creditor,
            customer_name="ACME (Industrie) & Fils",
            customer_id="C-1",
            language="en",
            statement=statement,
            created_at=NOW,
        )
    )
    drawn = Document().text_of  # the euro sign as the core fonts write it
    for line in statement.lines:
        assert line.invoice_number in text
        for amount in (line.amount, line.open_amount):
            assert drawn(format_money(amount, line.currency, "en")) in text
    for total in statement.totals:
        assert drawn(format_money(total.open_amount, total.currency, "en")) in text
    for creditor_line in (creditor.name, *creditor.address, creditor.registration):
        assert creditor_line is not None
        assert creditor_line in text
    assert "ACME (Industrie) & Fils (C-1)" in text
    assert f"IBAN {creditor.iban}" in text
