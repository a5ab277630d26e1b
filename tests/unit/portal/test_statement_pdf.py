"""The statement of account as PDF, read back: words, money and dates per language."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from services.portal.branding import load_brands
from services.portal.domain.account import OpenInvoice, Pause, account_of
from services.portal.statement_pdf import Issuer, Receipt, statement_file_name, statement_pdf
from tests.unit.notifier.pdf_text import page_text, text_runs

TODAY = date(2026, 12, 6)
COMPANIES = Path(__file__).parents[2] / "integration" / "portal" / "branding" / "companies.yaml"


def _invoice(number: str, open_amount: str, due: date, currency: str) -> OpenInvoice:
    return OpenInvoice(
        number, number, date(2026, 9, 1), due, Decimal("2000"), Decimal(open_amount), currency
    )


ACCOUNT = account_of(
    [
        _invoice("F-1", "1200.50", date(2026, 10, 1), "EUR"),
        _invoice("F-2", "80", date(2026, 12, 31), "EUR"),
        _invoice("G-1", "50", date(2026, 12, 31), "GBP"),
    ],
    [Pause("dispute", frozenset({"F-2"}))],
    TODAY,
)
RECEIPTS = [Receipt(date(2026, 12, 1), "credit_note", "F-0", Decimal("10"), "EUR")]


def _text(language: str, issuer: Issuer | None = None) -> list[str]:
    body = statement_pdf(
        issuer=issuer or Issuer("Łódź Narzędzia sp. z o.o."),
        customer_name="Zoé & Cie",
        account=ACCOUNT,
        receipts=RECEIPTS,
        language=language,
        today=TODAY,
        recent_days=30,
    )
    assert body.startswith(b"%PDF-")
    return page_text(body).splitlines()


@pytest.mark.parametrize(
    ("language", "title", "eur_total", "gbp_total", "disputed", "credit_note"),
    [
        ("fr", "Relevé de compte", "1\u202f280,50\xa0€", "50,00\xa0£GB", "En litige", "Avoir"),
        ("en", "Statement of account", "€1,280.50", "£50.00", "In dispute", "Credit note"),
        ("de", "Kontoauszug", "1.280,50\xa0€", "50,00\xa0£", "Reklamiert", "Gutschrift"),
        (
            "es",
            "Extracto de cuenta",
            "1.280,50\xa0€",
            "50,00\xa0GBP",
            "En disputa",
            "Nota de crédito",
        ),
        (
            "it",
            "Estratto conto",
            "1.280,50\xa0€",
            "50,00\xa0£",
            "In contestazione",
            "Nota di credito",
        ),
    ],
)
def test_each_currency_has_its_own_total_in_the_customers_language(
    language: str, title: str, eur_total: str, gbp_total: str, disputed: str, credit_note: str
) -> None:
    lines = _text(language)
    assert "Łódź Narzędzia sp. z o.o." in lines  # drawn in DejaVu, not replaced
    assert title in lines
    totals = [
        lines[i + 1]
        for i, line in enumerate(lines)
        if ("EUR" in line or "GBP" in line) and not line[0].isdigit()  # the totals' labels
    ]
    assert totals == [eur_total, gbp_total]
    assert lines[lines.index("F-2") + 5] == disputed
    assert f"{credit_note} · F-0" in lines


def test_the_company_identity_and_logo_are_on_the_statement() -> None:
    brand = load_brands(COMPANIES)["DE01"]
    assert brand.logo is not None
    issuer = Issuer(brand.company.legal_name, brand.company, brand.logo[0])
    body = statement_pdf(
        issuer=issuer,
        customer_name="Zoé & Cie",
        account=ACCOUNT,
        receipts=(),
        language="de",
        today=TODAY,
        recent_days=30,
    )
    lines = page_text(body).splitlines()
    for expected in (
        "Werkzeug Becker GmbH",
        "Industriestraße 4",
        "Amtsgericht Stuttgart HRB 000002",
        "USt-IdNr. DE000000002",
        "In den letzten 30 Tagen nichts erhalten.",
    ):
        assert expected in lines, expected
    assert b"/Subtype /Image" in body


def test_an_account_with_nothing_open_says_so() -> None:
    body = statement_pdf(
        issuer=Issuer("Outillage Martin SA"),
        customer_name="Zoé & Cie",
        account=account_of([], [], TODAY),
        receipts=(),
        language="en",
        today=TODAY,
        recent_days=30,
    )
    assert "No invoice is open." in page_text(body).splitlines()


def test_the_file_is_named_in_the_customers_language() -> None:
    assert statement_file_name("releve", TODAY) == "releve-2026-12-06.pdf"


def test_a_long_customer_name_wraps_inside_the_page() -> None:
    name = "Établissements " + "Très Longue Raison Sociale " * 8
    body = statement_pdf(
        issuer=Issuer("Outillage Martin SA"),
        customer_name=name,
        account=ACCOUNT,
        receipts=(),
        language="fr",
        today=TODAY,
        recent_days=30,
    )
    runs = [r for r in text_runs(body) if "Longue" in r.text]
    assert len(runs) > 1  # wrapped over lines, not drawn past the margin
    assert " ".join(r.text.strip() for r in runs).split() == f"Client: {name}".split()
