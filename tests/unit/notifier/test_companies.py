"""Each company speaks as itself: identity, law and letters' sender by the reminder's company."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest

from services.notifier.composing.companies import load_companies
from services.notifier.composing.composer import SAMPLE_RATES, CustomerView, EmailComposer
from services.notifier.errors import CompanyConfigurationError, DeliveryError
from services.notifier.metrics import UNKNOWN_COMPANIES
from services.notifier.reference_rates import RateBook
from services.notifier.settings import NotifierSettings
from tests.unit.notifier.pdf_text import page_text
from tests.unit.notifier.samples import NOW, reminder

CUSTOMER = CustomerView(
    name="Kunde GmbH",
    language="de",
    contacts=({"role": "billing", "name": "Eva Klein", "email": "buchhaltung@kunde.example"},),
)


@pytest.fixture(scope="module")
def composer() -> EmailComposer:
    return EmailComposer.load(NotifierSettings(), RateBook(SAMPLE_RATES))


def _attachment_text(message: bytes) -> str:
    parsed = message_from_bytes(message, policy=policy.default)
    pdf = next(p for p in parsed.walk() if p.get_content_type() == "application/pdf")
    return page_text(pdf.get_content())


def test_two_companies_in_two_countries_each_speak_as_themselves(
    composer: EmailComposer,
) -> None:
    french = reminder("INV-1", language="fr")
    german = reminder("INV-1", language="en").model_copy(update={"company_code": "DE01"})
    fr_mail = composer.compose(french, french.invoices, CUSTOMER, NOW)
    de_mail = composer.compose(german, german.invoices, CUSTOMER, NOW)
    fr_text = fr_mail.message.as_string()
    de_text = de_mail.message.as_string()
    assert "Relance Demo SAS" in fr_text
    assert "RCS Paris 900 000 001" in fr_text
    assert "Relance Demo Deutschland GmbH" in de_text
    assert "HRB 000001" in de_text
    assert "Relance Demo SAS" not in de_text
    assert "Deutschland" not in fr_text
    assert "DE89 3704 0044 0532 0130 00" in de_text
    # the PDF statement too, and the law follows the company's country
    assert "Relance Demo Deutschland GmbH" in _attachment_text(de_mail.message.as_bytes())
    assert "Relance Demo SAS" in _attachment_text(fr_mail.message.as_bytes())
    fr_terms, de_terms = composer.terms_for("FR01"), composer.terms_for("DE01")
    assert (fr_terms.creditor_country, de_terms.creditor_country) == ("FR", "DE")


def test_a_company_without_identity_fails_for_good_with_its_reason_and_is_counted(
    composer: EmailComposer,
) -> None:
    stray = reminder("INV-1").model_copy(update={"company_code": "PL01"})
    before = UNKNOWN_COMPANIES.labels("notifier", "PL01")._value.get()
    with pytest.raises(DeliveryError) as raised:
        composer.compose(stray, stray.invoices, CUSTOMER, NOW)
    assert not raised.value.retryable
    assert "no creditor identity configured for company 'PL01'" in raised.value.reason
    assert "FR01" in raised.value.reason  # which ones are configured
    assert UNKNOWN_COMPANIES.labels("notifier", "PL01")._value.get() == before + 1


def test_a_companies_file_with_a_mistake_is_refused_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "companies.yaml"
    path.write_text(
        "companies:\n  FR01:\n    legal_name: X\n    country: France\n    address: [a]\n"
        "    city: Paris\n    email: a@b.example\n    signatory: {name: A, title: B}\n"
    )
    with pytest.raises(CompanyConfigurationError, match=r"companies\.FR01\.country"):
        load_companies(path)
    with pytest.raises(CompanyConfigurationError, match=r"companies\.FR01\.country"):
        NotifierSettings(companies_file=path)
    path.write_text(path.read_text().replace("France", "FR") + "    logo: missing.png\n")
    with pytest.raises(CompanyConfigurationError, match=r"companies\.FR01\.logo: no file"):
        load_companies(path)


def test_the_demo_configures_every_company_of_the_demo_group() -> None:
    from simulation.generator import COMPANIES

    demo = load_companies(Path(__file__).parents[3] / "simulation" / "companies.yaml")
    assert {c.code for c in COMPANIES} <= set(demo)
    assert all(demo[c.code].country == c.country for c in COMPANIES)


def test_a_promise_confirmation_speaks_for_the_customers_company() -> None:
    import json
    from datetime import date

    from services.notifier.notices import NoticeComposer

    notices = NoticeComposer(NotifierSettings())
    promise = {
        "promise_id": "00000000-0000-0000-0000-000000000001",
        "customer_id": "C-1",
        "invoice_ids": ["DE01/F1"],
        "promised_date": date(2026, 3, 20).isoformat(),
        "amount": {"amount": "1500.00", "currency": "EUR"},
        "channel": "phone_call",
        "recorded_by": "anna@creditor.example",
    }
    contacts = json.dumps([{"role": "billing", "email": "ap@kunde.example"}])
    customer = {"name": "Kunde", "language": "en", "contacts": contacts, "company_code": "DE01"}
    composed = notices.compose("promise_confirmation", promise, customer)
    assert "Relance Demo Deutschland GmbH" in composed.text
    with pytest.raises(DeliveryError, match="'PL01'"):
        notices.compose("promise_confirmation", promise, {**customer, "company_code": "PL01"})


@pytest.mark.parametrize(
    ("language", "acknowledged", "not_said"),
    [
        ("en", "your payment of", "you committed to pay"),
        ("fr", "votre règlement de", "vous vous êtes engagé"),
    ],
)
def test_a_payment_a_provider_announced_is_acknowledged_not_confirmed_as_a_commitment(
    language: str, acknowledged: str, not_said: str
) -> None:
    import json
    from datetime import date

    from services.notifier.notices import NoticeComposer

    notices = NoticeComposer(NotifierSettings())
    announced = {
        "promise_id": "00000000-0000-0000-0000-000000000002",
        "customer_id": "C-1",
        "invoice_ids": ["DE01/F1"],
        "promised_date": date(2026, 3, 20).isoformat(),
        "amount": {"amount": "1500.00", "currency": "EUR"},
        "channel": "portal",
        "recorded_by": "stripe:cs_test_1",
        "kind": "payment_announced",
    }
    contacts = json.dumps([{"role": "billing", "email": "ap@kunde.example"}])
    customer = {"name": "Kunde", "language": language, "contacts": contacts, "company_code": "DE01"}

    composed = notices.compose("promise_confirmation", announced, customer)

    for part in (composed.text, composed.html):
        assert acknowledged in part
        assert not_said not in part
        assert "DE01/F1" in part
    assert (
        composed.subject
        != notices.compose(
            "promise_confirmation", {**announced, "kind": "promise"}, customer
        ).subject
    )
    promised = notices.compose("promise_confirmation", {**announced, "kind": "promise"}, customer)
    assert not_said in promised.text
