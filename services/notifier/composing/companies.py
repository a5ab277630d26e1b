"""Who speaks in a message: the creditor company's identity, per company code.

Every email, PDF statement and letter carries the identity of the company that issued the
reminded invoices (the reminder's ``company_code``): its legal name, address, registration
and VAT numbers, bank details, the return address and phone printed on letters, its logo and
the person who signs. The identities come from one YAML file per installation
(``RELANCE_NOTIFIER_COMPANIES_FILE``, documented in docs/notifier.md), validated here when
the settings are built: a typo stops the service at start, naming the company and the field.

A reminder for a company with no identity is never sent under another company's name:
:meth:`Companies.identity_of` raises :class:`~services.notifier.errors.UnknownCompany`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from services.notifier.errors import CompanyConfigurationError, UnknownCompany

Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class Signatory(BaseModel):
    """The person whose name and title close a letter."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Line
    title: Line


class CompanyColours(BaseModel):
    """The company's colours on the customer portal's pages (docs/portal.md, "Branding");
    the notifier does not use them, the file carries them for the portal."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    primary: Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
    accent: Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")] | None = None


class CompanyIdentity(BaseModel):
    """One creditor company as its messages, statements and letters present it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    legal_name: Line
    country: CountryCode = Field(
        description="ISO 3166 alpha-2 country of the company: its late-payment law "
        "(docs/law.md) and its letters' layout."
    )
    address: tuple[Line, ...] = Field(
        min_length=1, description="The registered address, one line each, without the name."
    )
    city: Line = Field(description="The place written before the date of a letter.")
    email: Line
    phone: Line | None = None
    registration: Line | None = Field(
        default=None,
        description="The registration as it must be printed, e.g. 'RCS Paris "
        "552 100 554', 'Amtsgericht München HRB 12345', 'Company No. 01234567'.",
    )
    vat_number: Line | None = None
    iban: Line | None = None
    bic: Line | None = None
    sender_address: tuple[Line, ...] | None = Field(
        default=None,
        description="The return address printed above the recipient in the envelope's window "
        "and given to the letter provider (without the name); the registered address if none.",
    )
    logo: Path | None = Field(
        default=None, description="A PNG or JPEG drawn at the top of letters and statements."
    )
    signatory: Signatory
    colours: CompanyColours | None = Field(
        default=None, description="The portal's colours for the company (not used here)."
    )
    reporting_currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = Field(
        default=None,
        description="The company's reporting currency (ISO 4217), in which the console shows "
        "My day's amounts (not used here).",
    )
    notice_days: int = Field(
        default=8,
        ge=1,
        le=90,
        description="Days a formal notice gives to pay, from the letter's day (its deadline).",
    )

    @property
    def return_address(self) -> tuple[str, ...]:
        return self.sender_address or self.address


class CompaniesFile(BaseModel):
    """The file's shape: ``companies:`` mapping each company code to its identity."""

    model_config = ConfigDict(extra="forbid")

    companies: dict[Annotated[str, StringConstraints(min_length=1, max_length=20)], CompanyIdentity]


class Companies:
    """The configured identities, looked up by company code."""

    def __init__(self, identities: Mapping[str, CompanyIdentity]) -> None:
        self._identities = dict(identities)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(sorted(self._identities))

    def identity_of(self, company_code: str) -> CompanyIdentity:
        try:
            return self._identities[company_code]
        except KeyError:
            raise UnknownCompany(
                f"no creditor identity configured for company {company_code!r} "
                f"(configured: {', '.join(self.codes) or 'none'}; see "
                "RELANCE_NOTIFIER_COMPANIES_FILE)",
                company_code=company_code,
            ) from None

    def __contains__(self, company_code: object) -> bool:
        return company_code in self._identities


def load_companies(path: Path) -> dict[str, CompanyIdentity]:
    """Read and validate a companies file; every problem is named with its location."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CompanyConfigurationError(f"companies file {path}: {exc}") from exc
    try:
        parsed = CompaniesFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise CompanyConfigurationError(f"companies file {path}: {problems}") from exc
    base = path.parent
    identities = {}
    for code, identity in parsed.companies.items():
        if identity.logo is not None:
            logo = identity.logo if identity.logo.is_absolute() else base / identity.logo
            if not logo.is_file():
                raise CompanyConfigurationError(
                    f"companies file {path}: companies.{code}.logo: no file {logo}"
                )
            identity = identity.model_copy(update={"logo": logo})
        identities[code] = identity
    return identities
