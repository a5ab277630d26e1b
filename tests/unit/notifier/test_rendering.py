from __future__ import annotations

import shutil
from decimal import Decimal
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from contracts.money import PositiveMoney
from services.notifier.composing.composer import (
    SAMPLE_RATES,
    CustomerView,
    EmailComposer,
    recipients_of,
    sample_context,
)
from services.notifier.composing.mime import message_id_of
from services.notifier.composing.rendering import DEFAULT_TEMPLATES, TemplateCatalogue, format_money
from services.notifier.composing.statement_pdf import statement_pdf
from services.notifier.dispatcher import retry_delay
from services.notifier.errors import DeliveryError, TemplateConfigurationError
from services.notifier.reference_rates import RateBook
from services.notifier.settings import NotifierSettings
from tests.unit.notifier.samples import NOW, reminder

CUSTOMER = CustomerView(
    name="ACME <Industrie> & Fils",
    language="fr",
    contacts=(
        {"role": "billing", "name": "Claire", "email": "compta@acme.example"},
        {"role": "buyer", "name": "Paul", "email": "achats@acme.example"},
        {"role": "accounting", "phone": "+33612345678"},
    ),
)


@pytest.fixture(scope="module")
def composer() -> EmailComposer:
    return EmailComposer.load(NotifierSettings(), RateBook(SAMPLE_RATES))


def test_default_templates_cover_every_level_in_five_languages(
    composer: EmailComposer,
) -> None:
    levels = ("preventive", "level_1", "level_2", "formal_notice")
    languages = ("fr", "en", "de", "es", "it")
    assert set(composer.catalogue.sets) == {(lv, lang) for lv in levels for lang in languages}


def test_money_is_formatted_per_language() -> None:
    assert format_money(Decimal("1234.5"), "EUR", "fr") == "1\u202f234,50\u00a0€"
    assert format_money(Decimal("1234567.89"), "USD", "en") == "$1,234,567.89"
    assert format_money(Decimal("1234"), "JPY", "en") == "¥1,234"
    assert format_money(Decimal("1234"), "JPY", "fr") == "1\u202f234\u00a0JPY"
    assert format_money(Decimal("1.5"), "KWD", "en") == "KWD\u00a01.500"
    assert format_money(Decimal("1.5"), "KWD", "fr") == "1,500\u00a0KWD"


def test_email_states_statement_penalties_and_escapes_html(composer: EmailComposer) -> None:
    composed = composer.compose(
        reminder("INV-1", "INV-2"), reminder("INV-1", "INV-2").invoices, CUSTOMER, NOW
    )
    message = message_from_bytes(composed.message.as_bytes(), policy=policy.default)
    assert message["Subject"].startswith("Deuxième relance")
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "INV-1" in text
    assert "INV-2" in text
    assert "12,15 %" in text
    assert "soit 80,00\u00a0€ pour 2 facture(s)" in text
    assert "ACME &lt;Industrie&gt; &amp; Fils" in html
    assert "ACME <Industrie> & Fils" in text
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content().startswith(b"%PDF")


def test_an_undeclared_template_name_is_refused_not_replaced(composer: EmailComposer) -> None:
    stray = reminder(language="de", level="formal_notice", template="no-such-template")
    with pytest.raises(DeliveryError, match="'no-such-template' has no set") as raised:
        composer.compose(stray, stray.invoices, CUSTOMER, NOW)
    assert not raised.value.retryable


def test_a_declared_name_is_written_by_its_level_and_a_language_without_templates_in_english(
    composer: EmailComposer,
) -> None:
    german = reminder(language="de", level="formal_notice", template="formal_notice_electronic")
    composed = composer.compose(german, german.invoices, CUSTOMER, NOW)
    assert composed.message["Subject"].startswith("Förmliche Zahlungsaufforderung")  # FR01
    dutch = reminder(language="nl", level="level_1", template="reminder_friendly")
    composed = composer.compose(dutch, dutch.invoices, CUSTOMER, NOW)
    assert composed.message["Subject"].startswith("Overdue invoices")


def test_message_id_is_derived_from_the_reminder(composer: EmailComposer) -> None:
    due = reminder()
    first = composer.compose(due, due.invoices, CUSTOMER, NOW)
    again = composer.compose(due, due.invoices, CUSTOMER, NOW)
    assert (
        first.message_id
        == again.message_id
        == message_id_of(due.reminder_id, "email", "relance.invalid")
    )


def test_other_contacts_copied_only_at_the_levels_that_ask() -> None:
    cc_levels = ("level_2", "formal_notice")
    firm = recipients_of(CUSTOMER, "billing", "level_2", cc_levels)  # type: ignore[arg-type]
    mild = recipients_of(CUSTOMER, "billing", "level_1", cc_levels)  # type: ignore[arg-type]
    assert firm.to == ("compta@acme.example",)
    assert firm.cc == ("achats@acme.example",)
    assert mild.cc == ()
    with pytest.raises(DeliveryError) as raised:
        recipients_of(CUSTOMER, "accounting", "level_1", cc_levels)  # type: ignore[arg-type]
    assert not raised.value.retryable


def test_pdf_is_deterministic(composer: EmailComposer) -> None:
    context = sample_context(composer.creditor_for("FR01"))
    arguments = {
        "creditor": composer.creditor_for("FR01"),
        "customer_name": "Société Générale d'Équipement €",
        "customer_id": "C-1",
        "language": "fr",
        "statement": context["statement"],
        "created_at": NOW,
    }
    first = statement_pdf(**arguments)
    assert first.startswith(b"%PDF")
    assert first == statement_pdf(**arguments)


def _copy_templates(tmp_path: Path) -> Path:
    target = tmp_path / "templates"
    shutil.copytree(DEFAULT_TEMPLATES, target)
    return target


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{{ customer.nickname }}", "does not render"),
        ("{% if %}", "line 1"),
        ("{{ creditor.__class__.__mro__ }}", "does not render"),
    ],
)
def test_broken_template_is_refused_at_load_time(
    tmp_path: Path, composer: EmailComposer, content: str, expected: str
) -> None:
    templates = _copy_templates(tmp_path)
    (templates / "level_1" / "fr" / "body.html").write_text(content)
    with pytest.raises(TemplateConfigurationError, match=expected) as raised:
        TemplateCatalogue.load(templates, sample_context(composer.creditor_for("FR01")))
    assert "level_1/fr" in str(raised.value)


def test_missing_part_is_refused_at_load_time(tmp_path: Path, composer: EmailComposer) -> None:
    templates = _copy_templates(tmp_path)
    (templates / "preventive" / "en" / "subject.txt").unlink()
    with pytest.raises(TemplateConfigurationError, match=r"preventive/en/subject\.txt is missing"):
        TemplateCatalogue.load(templates, sample_context(composer.creditor_for("FR01")))


def test_retry_delay_grows_exponentially_within_bounds() -> None:
    import random

    rng = random.Random(7)
    for attempt in range(1, 12):
        delay = retry_delay(attempt, 30.0, 3600.0, rng)
        ceiling = min(3600.0, 30.0 * 2 ** (attempt - 1))
        assert ceiling / 2 <= delay <= ceiling


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "fr",
            (
                "Relevé des factures ouvertes au 2 mars 2026 :\n"
                "- Facture INV-1, échue le 31 janvier 2026 : 700,00\u00a0€ restant dû sur "
                "1\u202f200,00\u00a0€, pénalités de retard 6,99\u00a0€ (30 jours)\n"
                "- Facture INV-2, échue le 31 janvier 2026 : 700,00\u00a0€ restant dû sur "
                "1\u202f200,00\u00a0€, pénalités de retard 6,99\u00a0€ (30 jours)\n"
                "Total restant dû : 1\u202f400,00\u00a0€, pénalités comprises : "
                "1\u202f413,98\u00a0€\n\n"
                "Conformément à l'article L441-10 du Code de commerce, les sommes impayées à "
                "leur échéance portent intérêt au taux de 12,15 % l'an à compter du lendemain "
                "de l'échéance. Chaque facture payée en retard donne lieu à une indemnité "
                "forfaitaire pour frais de recouvrement (article D441-5 du Code de commerce), "
                "soit 80,00\u00a0€ pour 2 facture(s).\n"
            ),
        ),
        (
            "en",
            (
                "Statement of open invoices on March 2, 2026:\n"
                "- Invoice INV-1, due January 31, 2026: €700.00 outstanding of €1,200.00, "
                "late-payment interest €6.99 (30 days)\n"
                "- Invoice INV-2, due January 31, 2026: €700.00 outstanding of €1,200.00, "
                "late-payment interest €6.99 (30 days)\n"
                "Total outstanding: €1,400.00, with interest: €1,413.98\n\n"
                "Under article L441-10 of the French Commercial Code, sums unpaid when due "
                "bear interest at 12.15% a year from the day after the due date. Each "
                "invoice paid late owes a fixed recovery indemnity (article D441-5 of the "
                "French Commercial Code), that is €80.00 for 2 invoice(s).\n"
            ),
        ),
    ],
)
def test_rendered_statement_states_babel_amounts_dates_and_the_law(
    composer: EmailComposer, language: str, expected: str
) -> None:
    # 700 EUR x (ECB 2.15 + 10)% x 30 days / 365 = 6.99 per invoice; 40 EUR each
    due = reminder("INV-1", "INV-2", language=language)
    text = composer.render_reminder(due, due.invoices, CUSTOMER, NOW).text
    assert expected in text


def test_a_statement_in_yen_and_dinars_keeps_each_currencys_digits(
    composer: EmailComposer,
) -> None:
    due = reminder("INV-1", language="en")
    jpy = due.invoices[0].model_copy(
        update={
            "amount": PositiveMoney(amount=Decimal("120000"), currency="JPY"),
            "open_amount": PositiveMoney(amount=Decimal("70000"), currency="JPY"),
        }
    )
    kwd = due.invoices[0].model_copy(
        update={
            "invoice_id": "FR01/INV-K",
            "invoice_number": "INV-K",
            "amount": PositiveMoney(amount=Decimal("1200.125"), currency="KWD"),
            "open_amount": PositiveMoney(amount=Decimal("700.125"), currency="KWD"),
        }
    )
    text = composer.render_reminder(due, (jpy, kwd), CUSTOMER, NOW).text
    # 70,000 x 12.15% x 30 / 365 = 699.04 -> 699 JPY; 700.125 KWD -> 6.9917 -> 6.992 KWD
    assert "¥70,000 outstanding of ¥120,000, late-payment interest ¥699 (30 days)" in text
    assert "KWD\u00a0700.125 outstanding of KWD\u00a01,200.125" in text
    assert "late-payment interest KWD\u00a06.992" in text


def test_without_a_known_rate_the_statement_says_interest_is_left_out() -> None:
    composer = EmailComposer.load(NotifierSettings(), RateBook())
    due = reminder("INV-1", language="fr")
    rendered = composer.render_reminder(due, due.invoices, CUSTOMER, NOW)
    assert rendered.statement.interest_unknown
    assert "pénalités de retard" not in rendered.text  # no line interest, nothing guessed
    assert (
        "\n\nChaque facture payée en retard donne lieu à une indemnité forfaitaire pour frais "
        "de recouvrement (article D441-5 du Code de commerce), soit 40,00\u00a0€ pour 1 "
        "facture(s). Les intérêts de retard ne "
        "figurent pas dans ce relevé"
    ) in rendered.text


def test_a_british_company_claims_its_fixed_sum_in_pounds() -> None:
    composer = EmailComposer.load(NotifierSettings(), RateBook(SAMPLE_RATES))
    due = reminder("INV-1", language="en").model_copy(update={"company_code": "GB01"})
    gbp = due.invoices[0].model_copy(
        update={
            "amount": PositiveMoney(amount=Decimal("5000"), currency="GBP"),
            "open_amount": PositiveMoney(amount=Decimal("5000"), currency="GBP"),
        }
    )
    rendered = composer.render_reminder(due, (gbp,), CUSTOMER, NOW)
    assert rendered.statement.jurisdiction == "GB"
    assert "that is £70.00 for 1 invoice(s)" in rendered.text
    assert "Under the late-payment law of the creditor's country" not in rendered.text
    assert rendered.statement.interest_unknown  # no Bank Rate among the sample rates
