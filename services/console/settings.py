"""Settings of the console (environment prefix ``RELANCE_CONSOLE_``; who may sign in and
how is the installation's ``RELANCE_AUTH_*``, nested here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, SecretStr, TypeAdapter, ValidationError, model_validator
from pydantic_settings import SettingsConfigDict

from contracts.money import CurrencyCode
from services.console.web.oidc import OidcClientSettings
from services.runtime.auth import AuthSettings
from services.runtime.settings import ServiceSettings

Language = Literal["fr", "en"]
_CURRENCIES: TypeAdapter[dict[str, CurrencyCode]] = TypeAdapter(dict[str, CurrencyCode])


class ConsoleSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RELANCE_CONSOLE_", extra="ignore")

    http_port: int = 8086
    default_language: Language = Field(
        default="fr", description="The pages' language when the browser asks for none we have."
    )
    secure_cookies: bool = Field(
        default=True,
        description="Mark the session and anti-forgery cookies Secure (HTTPS only; browsers "
        "accept them on http://localhost too). Turn off only behind plain HTTP on a trusted "
        "network.",
    )
    worklist_limit: int = Field(default=200, ge=1, le=2000)
    timeline_limit: int = Field(default=300, ge=1, le=5000)
    search_limit: int = Field(default=50, ge=1, le=500)
    census_interval_s: float = Field(
        default=60.0,
        ge=0,
        description="How often the dead-letter topics are counted (0: never).",
    )
    notifier_url: str | None = Field(
        default=None,
        description="Where the notifier serves proposals' renderings (GET /proposals/{id}/"
        "{version}), e.g. http://relance-notifier:8080; none: previews are not shown.",
    )
    notifier_api_key: SecretStr = Field(
        default=SecretStr(""),
        description="The console's machine key at the notifier (one of the notifier's "
        "RELANCE_AUTH_API_KEYS, role collector or above), sent as X-API-Key.",
    )
    notifier_timeout_s: float = Field(default=3.0, gt=0, le=30)
    scheduler_url: str | None = Field(
        default=None,
        description="Where the scheduler serves its operators' routes (a campaign's dry run, "
        "the library's versions), e.g. http://relance-scheduler:8082; none: the Operations "
        "page offers suspensions only.",
    )
    scheduler_api_key: SecretStr = Field(
        default=SecretStr(""),
        description="The console's machine key at the scheduler (one of the scheduler's "
        "RELANCE_AUTH_API_KEYS, role credit_manager or above), sent as X-API-Key.",
    )
    scheduler_timeout_s: float = Field(default=5.0, gt=0, le=30)
    previews_on_my_day: int = Field(
        default=20, ge=0, le=200, description="Proposals on My day shown with their preview."
    )
    creditor_countries: dict[str, str] = Field(
        default_factory=dict,
        description="The country of each invoicing company (its code: ISO country), whose "
        "late-payment law gives the statutory interest on the customer page, as JSON "
        '(\'{"FR01": "FR", "DE02": "DE"}\'); a company not listed: no interest is stated.',
    )
    companies_file: Path | None = Field(
        default=None,
        description="The companies file the notifier reads (RELANCE_NOTIFIER_COMPANIES_FILE): "
        "each company's `country` fills creditor_countries, and its `reporting_currency` "
        "reporting_currencies, where those do not name it.",
    )
    reporting_currency: CurrencyCode = Field(
        default=CurrencyCode("EUR"),
        description="The currency My day ranks its items in across currencies and companies "
        "(each item's money at risk converted with the latest rate of reference.fx-rates.v1).",
    )
    reporting_currencies: dict[str, CurrencyCode] = Field(
        default_factory=dict,
        description="The reporting currency of each invoicing company (its code: ISO 4217), "
        "in which My day shows an item's converted amount beside its own, as JSON "
        '(\'{"UK01": "GBP"}\'); a company not listed: reporting_currency.',
    )
    auth: AuthSettings = Field(default_factory=AuthSettings)
    oidc: OidcClientSettings = Field(default_factory=OidcClientSettings)

    @model_validator(mode="after")
    def _countries_from_the_companies_file(self) -> Any:
        """The companies' countries (and reporting currencies, where the file gives one)
        from the file all services read, so that a group's companies are declared once; an
        explicit ``creditor_countries`` or ``reporting_currencies`` entry wins."""
        if self.companies_file is None:
            return self
        try:
            document = yaml.safe_load(self.companies_file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ValueError(f"companies_file {self.companies_file}: {exc}") from exc
        companies = document.get("companies") if isinstance(document, dict) else None
        if not isinstance(companies, dict):
            raise ValueError(f"companies_file {self.companies_file}: no `companies` mapping")
        found = {
            str(code): str(company["country"])
            for code, company in companies.items()
            if isinstance(company, dict) and company.get("country")
        }
        self.creditor_countries = found | self.creditor_countries
        currencies = {
            str(code): str(company["reporting_currency"]).upper()
            for code, company in companies.items()
            if isinstance(company, dict) and company.get("reporting_currency")
        }
        try:
            checked = _CURRENCIES.validate_python(currencies)
        except ValidationError as exc:
            raise ValueError(f"companies_file {self.companies_file}: {exc}") from exc
        self.reporting_currencies = checked | self.reporting_currencies
        return self
