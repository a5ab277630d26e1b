"""The reporting currencies My day converts into: the setting, each company's from the
companies file the notifier reads too, an explicit setting winning; and the order of items
by their converted amounts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.console.domain.open_items import WorkItem, ranked
from services.console.settings import ConsoleSettings
from services.notifier.composing.companies import load_companies

COMPANIES = """
companies:
  FR01:
    legal_name: Relance France SAS
    country: FR
    address: [1 rue de la Paix, 75002 Paris]
    city: Paris
    email: recouvrement@fr.example
    signatory: {name: Claire Dubois, title: Responsable}
  UK01:
    legal_name: Relance UK Ltd
    country: GB
    address: [1 King Street, London]
    city: London
    email: credit@uk.example
    signatory: {name: Jane Smith, title: Credit manager}
    reporting_currency: GBP
"""


def test_each_company_s_reporting_currency_comes_from_the_companies_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "companies.yaml"
    path.write_text(COMPANIES, encoding="utf-8")
    settings = ConsoleSettings(companies_file=path)
    assert (settings.reporting_currency, settings.reporting_currencies) == ("EUR", {"UK01": "GBP"})
    explicit = ConsoleSettings(
        companies_file=path, reporting_currency="USD", reporting_currencies={"UK01": "EUR"}
    )
    assert (explicit.reporting_currency, explicit.reporting_currencies) == ("USD", {"UK01": "EUR"})
    # The notifier reads the same file and accepts the key.
    assert load_companies(path)["UK01"].reporting_currency == "GBP"


def test_a_reporting_currency_that_is_not_iso_4217_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "companies.yaml"
    path.write_text(COMPANIES.replace("reporting_currency: GBP", "reporting_currency: XYZ"))
    with pytest.raises(ValidationError, match="UK01"):
        ConsoleSettings(companies_file=path)
    with pytest.raises(ValidationError):
        ConsoleSettings(reporting_currency="euro")


def item(kind: str, currency: str, amount: str, ranking: str | None) -> WorkItem:
    return WorkItem(
        kind=kind,  # type: ignore[arg-type]
        customer_id="C-1",
        customer_name="Atelier",
        company_code="FR01",
        currency=currency,
        at_risk=Decimal(amount),
        since=date(2026, 3, 1),
        ranking=None if ranking is None else Decimal(ranking),
        unconverted=ranking is None and currency != "EUR",
    )


def test_items_rank_by_their_converted_amount_and_without_a_rate_by_their_own() -> None:
    dollars = item("call_due", "USD", "300", "1200")
    euros = item("broken_promise", "EUR", "1000", "1000")
    yen = item("overdue_dispute", "JPY", "5000", None)
    assert ranked([euros, dollars, yen], 10) == [yen, dollars, euros]
    assert yen.ranking_amount == Decimal("5000")
    assert not dollars.shows_conversion
    shown = WorkItem(
        **{**dollars.__dict__, "converted": Decimal("960.00"), "reporting_currency": "GBP"}
    )
    assert shown.shows_conversion
