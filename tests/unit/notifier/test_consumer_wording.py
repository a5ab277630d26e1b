"""A consumer is written to as one: no commercial late-payment text cited, no fixed recovery
indemnity, and the consumer's own rule where the law gives one (Germany, BGB §288(1))."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from services.notifier.composing.composer import CustomerView, EmailComposer
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
BUSINESS = CustomerView(
    name="ACME",
    language="fr",
    contacts=({"role": "billing", "name": "Claire", "email": "compta@acme.example"},),
)
CONSUMER = replace(BUSINESS, customer_type="consumer")
LANGUAGES = ("fr", "en", "de", "es", "it")
COMMERCIAL_TEXTS = ("L441", "D441", "3/2004", "231/2002", "1998", "2011/7", "288(5)", "Abs. 5")
CONSUMER_RULE_DE = {
    "fr": "Conformément à l'article 288, alinéa 1, du Code civil allemand (BGB), applicable "
    "aux consommateurs, les sommes impayées à leur échéance portent intérêt au taux de "
    "6,27 % l'an",
    "en": "Under section 288(1) of the German Civil Code (BGB), which applies to consumers, "
    "sums unpaid when due bear interest at 6.27% a year",
    "de": "Nach § 288 Abs. 1 BGB, der für Verbraucher gilt, sind bei Fälligkeit unbezahlte "
    "Beträge ab dem Tag nach Fälligkeit mit 6,27 % pro Jahr zu verzinsen.",
    "es": "Conforme al artículo 288, apartado 1, del Código Civil alemán (BGB), aplicable a "
    "los consumidores, las",
    "it": "Ai sensi del § 288, comma 1, del Codice civile tedesco (BGB), applicabile ai "
    "consumatori, le",
}


@pytest.fixture(scope="module")
def composer() -> EmailComposer:
    return EmailComposer.load(NotifierSettings(), RateBook(RATES))


def _text(composer: EmailComposer, company: str, language: str, customer: CustomerView) -> str:
    due = reminder("INV-1", "INV-2", language=language).model_copy(update={"company_code": company})
    return composer.render_reminder(due, due.invoices, customer, NOW).rendered.text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("company", ["FR01", "ES01", "IT01", "GB01"])
def test_a_consumer_is_cited_no_commercial_text_and_charged_no_indemnity(
    composer: EmailComposer, company: str, language: str
) -> None:
    business = _text(composer, company, language, BUSINESS)
    consumer = _text(composer, company, language, CONSUMER)
    assert any(text in business for text in COMMERCIAL_TEXTS)  # the business is cited the law
    for text in COMMERCIAL_TEXTS:
        assert text not in consumer
    assert "40,00" not in consumer
    assert "40.00" not in consumer
    assert "£" not in consumer  # no UK fixed sum either


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_german_consumer_is_cited_the_consumer_rule_base_rate_plus_five(
    composer: EmailComposer, language: str
) -> None:
    consumer = _text(composer, "DE01", language, CONSUMER)
    assert CONSUMER_RULE_DE[language] in consumer
    for text in COMMERCIAL_TEXTS:
        assert text not in consumer
    business = _text(composer, "DE01", language, BUSINESS)
    assert ("10,27" in business) or ("10.27" in business)  # base rate + 9 between businesses
