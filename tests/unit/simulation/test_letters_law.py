"""The demo's check of the letters abroad, on letters the notifier's print-room channel
really writes (its composer, templates, PDF and manifest, the demo's companies and the
repository's reference rates): a German, Spanish, Italian and British customer's formal
notice passes; a letter in the wrong language, from the wrong company, or with another
rate or fixed sum is named."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from contracts.money import PositiveMoney
from services.notifier.channels.letters.file_drop import FileDropAdapter
from services.notifier.composing.composer import CustomerView, EmailComposer
from services.notifier.reference_rates import RateBook
from services.notifier.settings import NotifierSettings
from services.runtime.late_payment import ReferenceRate, ReferenceRates
from simulation.letters_law import (
    LAWS,
    Addressee,
    Letter,
    demo_rates,
    law_verdict,
    letters_in,
    statutory_rate,
)
from tests.unit.notifier.samples import NOW, reminder

DEMO_COMPANIES = Path(__file__).parents[3] / "simulation" / "companies.yaml"
CUSTOMERS = {
    "C-DE": Addressee("DE", "DE01", "de", "business"),
    "C-ES": Addressee("ES", "ES01", "es", "business"),
    "C-IT": Addressee("IT", "IT01", "it", "public_body"),
    "C-GB": Addressee("GB", "GB01", "en", "business"),
    "C-DE-CONSUMER": Addressee("DE", "DE01", "de", "consumer"),
}


def _composer(monkeypatch: pytest.MonkeyPatch, rates: ReferenceRates) -> EmailComposer:
    monkeypatch.setenv("RELANCE_NOTIFIER_COMPANIES_FILE", str(DEMO_COMPANIES))
    return EmailComposer.load(NotifierSettings(), RateBook(rates))


def _drop(
    composer: EmailComposer,
    directory: Path,
    customer_id: str,
    *,
    company: str | None = None,
    language: str | None = None,
    amounts: tuple[str, ...] = ("700.00",),
) -> None:
    addressee = CUSTOMERS[customer_id]
    language = language or addressee.language
    numbers = tuple(f"INV-{i}" for i in range(1, len(amounts) + 1))
    due = reminder(
        *numbers,
        level="formal_notice",
        template="formal_notice",
        language=language,
        channel="registered_letter",
    ).model_copy(
        update={"company_code": company or addressee.company_code, "customer_id": customer_id}
    )
    currency = "GBP" if addressee.country == "GB" else "EUR"
    invoices = tuple(
        i.model_copy(
            update={
                "amount": PositiveMoney(amount=Decimal("12000.00"), currency=currency),
                "open_amount": PositiveMoney(amount=Decimal(amount), currency=currency),
            }
        )
        for i, amount in zip(due.invoices, amounts, strict=True)
    )
    customer = CustomerView(
        name=f"Customer {customer_id}",
        language=language,
        contacts=(),
        customer_type=addressee.customer_type,  # type: ignore[arg-type]
    )
    adapter = FileDropAdapter(composer, directory)
    asyncio.run(adapter.send(adapter.prepare(due, invoices, customer, NOW)))


def test_the_statutory_rates_of_the_letters_day_from_the_demos_rates_file() -> None:
    rates = demo_rates()
    day = NOW.date()
    assert statutory_rate(LAWS["DE"], False, day, rates) == Decimal("10.27")  # 1.27 + 9
    assert statutory_rate(LAWS["DE"], True, day, rates) == Decimal("6.27")  # 1.27 + 5
    assert statutory_rate(LAWS["ES"], False, day, rates) == Decimal("10.15")  # 2.15 + 8
    assert statutory_rate(LAWS["GB"], False, day, rates) == Decimal("11.75")  # 3.75 + 8
    # the UK rate is Bank Rate on 30 June / 31 December before: 4.25 on 30 June 2025 (4.00
    # from 7 August 2025 does not count in December)
    assert statutory_rate(LAWS["GB"], False, date(2025, 12, 20), rates) == Decimal("12.25")


def test_each_countrys_formal_notice_speaks_its_language_company_and_law(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    composer = _composer(monkeypatch, demo_rates())
    for customer_id in CUSTOMERS:
        _drop(composer, tmp_path, customer_id)
    # a GB debt of 1,500 and one of 12,000: GBP 70 + 100
    _drop(composer, tmp_path, "C-GB", amounts=("1500.00", "12000.00"))
    letters = letters_in(tmp_path)
    assert len(letters) == 6
    verdict = law_verdict(letters, CUSTOMERS, demo_rates())
    assert verdict.problems == []
    assert verdict.ok(require_each=True)
    assert verdict.letters == {"DE": 2, "ES": 1, "IT": 1, "GB": 2}
    assert verdict.notices == {"DE": 2, "ES": 1, "IT": 1, "GB": 2}
    # every letter states its law's interest: the German consumer, § 288(1) + 5 points
    assert verdict.citing == {"DE": 2, "ES": 1, "IT": 1, "GB": 2}
    german = next(x for x in letters if x.customer_id == "C-DE")
    assert "Nach § 288 BGB sind" in german.text
    assert "mit 10,27 % pro Jahr" in german.text
    british = [x for x in letters if x.customer_id == "C-GB"]
    assert any("that is £170.00 for 2 invoice(s)" in x.text for x in british)


def test_a_letter_in_another_language_or_from_another_company_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    composer = _composer(monkeypatch, demo_rates())
    _drop(composer, tmp_path, "C-ES", language="en")  # the Spanish customer written in English
    _drop(composer, tmp_path, "C-IT", company="FR01", language="fr")  # by the French company
    verdict = law_verdict(letters_in(tmp_path), CUSTOMERS, demo_rates())
    assert not verdict.ok(require_each=False)
    text = "\n".join(verdict.problems)
    assert "(ES customer C-ES): written in 'en', not 'es'" in text
    assert "(IT customer C-IT): written in 'fr', not 'it'" in text
    assert "(IT customer C-IT): does not come from Relance Demo Italia S.r.l." in text
    assert "(IT customer C-IT): cites FR's company or law" in text


def test_another_rate_or_fixed_sum_than_the_laws_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the notifier given a Basiszinssatz the file does not hold: 10.77 stated, 10.27 due
    wrong = ReferenceRates(
        (
            ReferenceRate("de_base_rate", date(2026, 1, 1), Decimal("1.77")),
            ReferenceRate("ecb_mro", date(2025, 6, 11), Decimal("2.15")),
        )
    )
    _drop(_composer(monkeypatch, wrong), tmp_path, "C-DE")
    (letter,) = letters_in(tmp_path)
    verdict = law_verdict([letter], CUSTOMERS, demo_rates())
    assert verdict.problems == [
        f"{letter.name} (DE customer C-DE): states 10,77 % a year, the law gives 10.27 on "
        "2026-03-02"
    ]
    claimed = replace(letter, text=letter.text.replace("insgesamt 40,00", "insgesamt 70,00"))
    rate, indemnity = law_verdict([claimed], CUSTOMERS, demo_rates()).problems
    assert "states 10,77 % a year" in rate
    assert indemnity.endswith("claims €70.00 for 1 invoice(s), not 40 each")


def test_a_run_without_a_formal_notice_in_one_country_fails_only_when_each_is_required() -> None:
    letter = Letter(
        "reminder-x", "C-ES", "es", "Recordatorio", NOW.date(), "Relance Demo España S.L."
    )
    verdict = law_verdict([letter], CUSTOMERS, demo_rates())
    assert verdict.problems == []
    assert verdict.ok(require_each=False)
    assert not verdict.ok(require_each=True)
    assert "ES 1 (0 formal notices, 0 citing its law)" in verdict.line()


def test_the_demos_customers_abroad_belong_to_their_countrys_company_and_speak_its_language() -> (
    None
):
    import yaml

    from simulation.generator import Size, generate

    history = generate(replace(Size.small(), customers=200, invoices=400, days=30), seed=3)
    companies = yaml.safe_load(DEMO_COMPANIES.read_text(encoding="utf-8"))["companies"]
    abroad = [c for c in history.customers.values() if c.country in LAWS]
    assert {c.country for c in abroad} == set(LAWS)
    for customer in abroad:
        law = LAWS[customer.country]
        assert (customer.company_code, customer.language) == (law.company, law.language)
        identity = companies[law.company]
        assert (identity["country"], identity["legal_name"]) == (law.country, law.legal_name)
    # the bad payers' and the insolvents' formal notice is a registered letter with the law
    library = Path(__file__).parents[3] / "scenarios"
    for scenario in ("bad_payer", "insolvent"):
        steps = yaml.safe_load((library / f"{scenario}.yaml").read_text())["steps"]
        (notice,) = [s for s in steps if s["level"] == "formal_notice"]
        assert notice["channel"] == "registered_letter"
        assert notice["include_penalties"] is True


def test_the_demos_french_public_bodies_invoices_carry_their_chorus_pro_references() -> None:
    from contracts import erp
    from contracts.topics import ERP_INVOICES
    from simulation.generator import Size, generate

    history = generate(replace(Size.small(), customers=200, invoices=400, days=30), seed=3)
    issued = [
        ERP_INVOICES.parse(r.value)
        for day in history.timeline
        for r in day
        if r.topic == ERP_INVOICES.name and r.kind == "erp.invoice.issued" and r.bad is None
    ]
    public = {
        c.customer_id
        for c in history.customers.values()
        if c.customer_type == "public_body" and c.country == "FR"
    }
    assert public
    assert any(e.payload.customer_id in public for e in issued if isinstance(e, erp.InvoiceIssued))
    for event in issued:
        assert isinstance(event, erp.InvoiceIssued)
        payload = event.payload
        if payload.customer_id in public:
            assert payload.service_code == f"SERV-{payload.customer_id}"
            assert payload.commitment_number == f"EJ-{payload.invoice_number}"
        else:
            assert (payload.service_code, payload.commitment_number) == (None, None)


def test_only_the_letters_to_the_customers_asked_for_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    composer = _composer(monkeypatch, demo_rates())
    _drop(composer, tmp_path, "C-DE")
    _drop(composer, tmp_path, "C-ES")
    assert [x.customer_id for x in letters_in(tmp_path, {"C-ES"})] == ["C-ES"]
    assert letters_in(tmp_path / "nowhere") == []
