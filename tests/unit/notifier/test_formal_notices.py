"""A formal notice in each creditor's country: its wording, its law, its figures (computed by
the kit's late_payment.py from the reference rates) and a dated deadline. Golden texts of
the letter's body, per language and country; a lawyer should review the wording itself
(docs/law.md, Formal notices)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from contracts.money import PositiveMoney
from services.notifier.composing.composer import CustomerView, EmailComposer
from services.notifier.reference_rates import RateBook
from services.notifier.settings import NotifierSettings
from services.runtime.late_payment import ReferenceRate, ReferenceRates
from tests.unit.notifier.samples import NOW, reminder

# Test figures (in force on the days these letters need), not a statement about history.
RATES = ReferenceRates(
    (
        ReferenceRate("ecb_mro", date(2025, 6, 11), Decimal("2.15")),
        ReferenceRate("de_base_rate", date(2026, 1, 1), Decimal("1.27")),
        ReferenceRate("boe_base_rate", date(2025, 12, 18), Decimal("3.75")),
    )
)
CUSTOMER = CustomerView(name="ACME Industrie", language="fr", contacts=())


@pytest.fixture(scope="module")
def composer() -> EmailComposer:
    return EmailComposer.load(NotifierSettings(), RateBook(RATES))


def _notice(composer: EmailComposer, company: str, language: str, currency: str = "EUR") -> str:
    due = reminder("INV-1", level="formal_notice", template="formal_notice", language=language)
    due = due.model_copy(update={"company_code": company})
    invoices = tuple(
        i.model_copy(
            update={
                "amount": PositiveMoney(amount=Decimal("1200.00"), currency=currency),
                "open_amount": PositiveMoney(amount=Decimal("700.00"), currency=currency),
            }
        )
        for i in due.invoices
    )
    return composer.render_reminder(due, invoices, CUSTOMER, NOW, medium="letter").text


def test_france_mise_en_demeure(composer: EmailComposer) -> None:
    text = _notice(composer, "FR01", "fr")
    # 700 x (2.15 + 10)% x 30 / 365 = 6.99; 40 EUR (D441-5); 8 days from 2 March
    assert text.startswith("Madame, Monsieur,\n\n")
    assert (
        "Par la présente, valant mise en demeure au sens de l'article 1344 du Code civil, nous "
        "vous demandons de régler les sommes ci-dessous au plus tard le 10 mars 2026."
    ) in text
    assert "pénalités de retard 6,99\u00a0€ (30 jours)" in text
    assert (
        "Conformément à l'article L441-10 du Code de commerce, les sommes impayées à leur "
        "échéance portent intérêt au taux de 12,15 % l'an"
    ) in text
    assert (
        "indemnité forfaitaire pour frais de recouvrement (article D441-5 du Code de "
        "commerce), soit 40,00\u00a0€ pour 1 facture(s)."
    ) in text
    assert text.rstrip().endswith("l'expression de nos salutations distinguées.")


def test_germany_letzte_mahnung(composer: EmailComposer) -> None:
    text = _notice(composer, "DE01", "de")
    # Basiszinssatz 1.27 + 9 = 10.27%: 700 x 10.27% x 30 / 365 = 5.91
    assert text.startswith("Sehr geehrte Damen und Herren,\n\n")
    assert "Sie befinden sich mit der Zahlung in Verzug (§ 286 BGB)." in text
    assert "bis spätestens 10. März 2026 zu bezahlen" in text
    assert "Verzugszinsen 5,91\u00a0€ (30 Tage)" in text
    assert "Nach § 288 BGB sind bei Fälligkeit unbezahlte Beträge" in text
    assert "mit 10,27 % pro Jahr zu verzinsen" in text
    assert "eine Pauschale nach § 288 Abs. 5 BGB zu zahlen, insgesamt 40,00\u00a0€" in text
    assert text.rstrip().endswith("Mit freundlichen Grüßen")
    subject = composer.render_reminder(
        reminder(
            "INV-1", level="formal_notice", template="formal_notice", language="de"
        ).model_copy(update={"company_code": "DE01"}),
        reminder("INV-1").invoices,
        CUSTOMER,
        NOW,
    ).subject
    assert subject == "Letzte Mahnung \u2013 Relance Demo Deutschland GmbH"


def test_united_kingdom_letter_before_action(composer: EmailComposer) -> None:
    text = _notice(composer, "GB01", "en", currency="GBP")
    # Bank Rate on 31 December 2025 (3.75) + 8 = 11.75%: 700 x 11.75% x 30 / 365 = 6.76;
    # GBP 40 for a debt under 1,000; 14 days
    assert text.startswith("Dear Sir or Madam,\n\nThis is a letter before action.")
    assert "Unless we receive payment in full by 16 March 2026" in text
    assert "late-payment interest £6.76 (30 days)" in text
    assert "Under the Late Payment of Commercial Debts (Interest) Act 1998, sums" in text
    assert "at 11.75% a year" in text
    assert "(section 5A of the 1998 Act), that is £40.00 for 1 invoice(s)." in text
    assert text.rstrip().endswith("Yours faithfully,")


def test_spain_requerimiento(composer: EmailComposer) -> None:
    text = _notice(composer, "ES01", "es")
    # 2.15 + 8 = 10.15%: 700 x 10.15% x 30 / 365 = 5.84
    assert text.startswith("Muy señores nuestros:\n\n")
    assert "antes del 10 de marzo de 2026" in text
    assert "intereses de demora 5,84\u00a0€ (30 días)" in text
    assert "Conforme al artículo 7 de la Ley 3/2004, de 29 de diciembre" in text
    assert "al tipo de 10,15 % anual" in text
    assert "(artículo 8 de la Ley 3/2004), es decir 40,00\u00a0€" in text


def test_italy_costituzione_in_mora(composer: EmailComposer) -> None:
    text = _notice(composer, "IT01", "it")
    assert text.startswith("Spettabile ACME Industrie,\n\n")
    assert "ai sensi dell'art. 1219 del Codice civile" in text
    assert "entro il 10 marzo 2026" in text
    assert "interessi di mora 5,84\u00a0€ (30 giorni)" in text
    assert "Ai sensi dell'art. 5 del D.Lgs. 9 ottobre 2002, n. 231, le somme" in text
    assert "al tasso del 10,15 % annuo" in text
    assert "ai sensi dell'art. 6 del D.Lgs. 231/2002, pari a 40,00\u00a0€" in text


def test_a_company_writing_in_another_countrys_language_cites_its_own_law(
    composer: EmailComposer,
) -> None:
    text = _notice(composer, "DE01", "fr")  # a German company to a French-speaking customer
    assert "Conformément au § 288 du Code civil allemand (BGB), les" in text
    assert "article 1344" not in text  # the French Civil Code is not the creditor's law
    assert "(§ 288, alinéa 5, BGB)" in text
