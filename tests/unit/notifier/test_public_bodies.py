"""A public body's formal notice: the public buyers' rule of the creditor's law (France:
ECB + 8 points fixed for the debt, 40 EUR, Code de la commande publique) and the invoice's
references on the public e-invoicing platform (Chorus Pro: service code, commitment
number), carried from the ERP through the ledger. Golden texts per language."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.notifier.composing.composer import CustomerView, EmailComposer, OpenItem
from services.notifier.reference_rates import RateBook
from services.notifier.settings import NotifierSettings
from services.runtime.late_payment import ReferenceRate, ReferenceRates
from tests.unit.notifier.samples import NOW, reminder

RATES = ReferenceRates(
    (
        ReferenceRate("ecb_mro", date(2025, 6, 11), Decimal("2.15")),
        ReferenceRate("de_base_rate", date(2026, 1, 1), Decimal("1.27")),
        ReferenceRate("boe_base_rate", date(2025, 12, 18), Decimal("3.75")),
    )
)


def _item(service_code: str | None, commitment_number: str | None) -> OpenItem:
    return OpenItem(
        "FR01/INV-1",
        "INV-1",
        date(2026, 1, 31),
        "EUR",
        Decimal("1200.00"),
        Decimal("700.00"),
        service_code=service_code,
        commitment_number=commitment_number,
    )


def _public_body(
    service_code: str | None = "SERV-ACHATS", commitment_number: str | None = "EJ-2026-0417"
) -> CustomerView:
    return CustomerView(
        name="Ville de Lyon",
        language="fr",
        contacts=(),
        open_items=(_item(service_code, commitment_number),),
        customer_type="public_body",
    )


@pytest.fixture(scope="module")
def composer() -> EmailComposer:
    return EmailComposer.load(NotifierSettings(), RateBook(RATES))


def _notice(
    composer: EmailComposer, customer: CustomerView, language: str = "fr", company: str = "FR01"
) -> str:
    due = reminder("INV-1", level="formal_notice", template="formal_notice", language=language)
    due = due.model_copy(update={"company_code": company})
    return composer.render_reminder(due, due.invoices, customer, NOW, medium="letter").text


def test_a_french_public_buyer_owes_ecb_plus_8_and_40_eur_under_the_public_procurement_code(
    composer: EmailComposer,
) -> None:
    text = _notice(composer, _public_body())
    # ECB 2.15 on 1 January 2026 + 8 = 10.15%: 700 x 10.15% x 30 / 365 = 5.84 (a business
    # would owe + 10: 12.15%, 6.99)
    assert (
        "- Facture INV-1, échue le 31 janvier 2026 : 700,00\u00a0€ restant dû sur "
        "1\u202f200,00\u00a0€, pénalités de retard 5,84\u00a0€ (30 jours); Chorus Pro : code "
        "service SERV-ACHATS, n° d'engagement EJ-2026-0417"
    ) in text
    assert (
        "Conformément aux articles L2192-13 et R2192-31 du Code de la commande publique, les "
        "sommes impayées à leur échéance portent intérêt au taux de 10,15 % l'an"
    ) in text
    assert (
        "indemnité forfaitaire pour frais de recouvrement (articles L2192-13 et D2192-35 du "
        "Code de la commande publique), soit 40,00\u00a0€ pour 1 facture(s)."
    ) in text
    assert "L441-10" not in text
    assert "D441-5" not in text


def test_the_html_names_the_platform_references_beside_the_invoice(
    composer: EmailComposer,
) -> None:
    due = reminder("INV-1", level="formal_notice", template="formal_notice", language="fr")
    html = composer.render_reminder(due, due.invoices, _public_body(), NOW).rendered.html
    assert (
        "INV-1<br><small>Chorus Pro : code service SERV-ACHATS, n° d'engagement "
        "EJ-2026-0417</small>"
    ) in html
    marked = composer.render_reminder(
        due, due.invoices, _public_body(service_code="<b>S</b>"), NOW
    ).rendered.html
    assert "code service &lt;b&gt;S&lt;/b&gt;," in marked


def test_only_the_references_given_are_printed(composer: EmailComposer) -> None:
    text = _notice(composer, _public_body(service_code=None))
    assert "(30 jours); Chorus Pro : n° d'engagement EJ-2026-0417\n" in text
    assert "code service" not in text
    plain = _notice(composer, _public_body(service_code=None, commitment_number=None))
    assert "Chorus Pro" not in plain


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            "(30 days); Chorus Pro: service code SERV-ACHATS, commitment number EJ-2026-0417",
        ),
        (
            "de",
            "(30 Tage); Chorus Pro: Code der Dienststelle SERV-ACHATS, "
            "Verpflichtungsnummer EJ-2026-0417",
        ),
        (
            "es",
            "(30 días); Chorus Pro: código de servicio SERV-ACHATS, "
            "número de compromiso EJ-2026-0417",
        ),
        (
            "it",
            "(30 giorni); Chorus Pro: codice servizio SERV-ACHATS, numero di impegno EJ-2026-0417",
        ),
    ],
)
def test_a_french_companys_notice_in_another_language_keeps_the_references_and_the_rule(
    composer: EmailComposer, language: str, expected: str
) -> None:
    text = _notice(composer, _public_body(), language)
    assert expected in text
    assert "L2192-13" in text
    assert "R2192-31" in text
    assert "D2192-35" in text
    assert "10.15" in text or "10,15" in text


def test_a_german_public_body_is_owed_the_business_rate_and_no_chorus_pro(
    composer: EmailComposer,
) -> None:
    text = _notice(composer, _public_body(), "de", company="DE01")
    # BGB § 288(2) covers every debtor who is not a consumer: 1.27 + 9 = 10.27%
    assert "Nach § 288 BGB sind" in text
    assert "mit 10,27 % pro Jahr zu verzinsen" in text
    assert (
        "öffentliche E-Rechnungsplattform: Code der Dienststelle SERV-ACHATS, "
        "Verpflichtungsnummer EJ-2026-0417"
    ) in text
    assert "Chorus Pro" not in text
    assert "L2192-13" not in text


def test_the_letters_statement_page_names_the_references_under_the_invoice(
    composer: EmailComposer,
) -> None:
    from services.notifier.channels.letters.document import letter_pdf
    from simulation.pdf_text import page_text

    due = reminder(
        "INV-1",
        level="formal_notice",
        template="formal_notice",
        language="fr",
        channel="registered_letter",
    )
    pdf, _, _ = letter_pdf(composer, due, due.invoices, _public_body(), NOW)
    text = " ".join(page_text(pdf).split())
    # the letter's text, then the statement's page
    assert "(30 jours); Chorus Pro : code service SERV-ACHATS, n° d'engagement" in text
    assert "INV-1: Chorus Pro : code service SERV-ACHATS, n° d'engagement EJ-2026-0417" in text


def test_a_british_companys_statement_page_writes_british_dates(
    composer: EmailComposer,
) -> None:
    from services.notifier.channels.letters.document import letter_pdf
    from simulation.pdf_text import page_text

    due = reminder("INV-1", level="level_2", language="en", channel="postal_letter").model_copy(
        update={"company_code": "GB01"}
    )
    invoices = tuple(
        i.model_copy(
            update={
                "amount": i.amount.model_copy(update={"currency": "GBP"}),
                "open_amount": i.open_amount.model_copy(update={"currency": "GBP"}),
            }
        )
        for i in due.invoices
    )
    customer = CustomerView(name="ACME Ltd", language="en", contacts=())
    pdf, _, _ = letter_pdf(composer, due, invoices, customer, NOW)
    statement_page = page_text(pdf, page=2)
    assert "On 2 Mar 2026" in statement_page or "On 2 March 2026" in statement_page
    assert "31 Jan 2026" in statement_page
    assert "March 2, 2026" not in statement_page
