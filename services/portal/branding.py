"""The invoicing companies' identity on the pages: legal name, logo, address, registration
and VAT numbers, colours.

They come from the companies file the notifier reads (``RELANCE_NOTIFIER_COMPANIES_FILE``,
docs/notifier.md "Companies"): the portal reads the same YAML format under its own setting
(``RELANCE_PORTAL_COMPANIES_FILE``), taking only what a page shows and ignoring the rest
(bank details, signatory, letters' sender). Read and checked once at start: a logo that is
not a PNG or JPEG file, or a colour below AA contrast, stops the service, naming the company.
Logos are kept in memory and served by the portal itself (``img-src 'self'``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from services.portal.domain.attachments import media_type_of
from services.portal.domain.branding import brand_stylesheet, check_on_white
from services.portal.errors import BrandingError

Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LOGO_MAX_BYTES = 512 * 1024


class Colours(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    primary: str = Field(description="Masthead and buttons, under white text.")
    accent: str | None = Field(default=None, description="Links and the masthead's rule.")

    @field_validator("primary")
    @classmethod
    def _primary(cls, value: str) -> str:
        return check_on_white(value, "primary")

    @field_validator("accent")
    @classmethod
    def _accent(cls, value: str | None) -> str | None:
        return None if value is None else check_on_white(value, "accent")


class CompanyBrand(BaseModel):
    """What a page shows of the invoicing company."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    legal_name: Line
    address: tuple[Line, ...] = Field(min_length=1)
    email: Line | None = None
    phone: Line | None = None
    registration: Line | None = None
    vat_number: Line | None = None
    logo: Path | None = None
    colours: Colours | None = None


class CompaniesFile(BaseModel):
    model_config = ConfigDict(extra="ignore")

    companies: dict[Annotated[str, StringConstraints(min_length=1, max_length=20)], CompanyBrand]


class Brand:
    """One company's identity with its logo's bytes and its stylesheet, ready to serve."""

    def __init__(self, code: str, company: CompanyBrand, logo: tuple[bytes, str] | None) -> None:
        self.code = code
        self.company = company
        self.logo = logo
        colours = company.colours
        self.stylesheet = (
            brand_stylesheet(colours.primary, colours.accent).encode() if colours else b""
        )


def load_brands(path: Path) -> dict[str, Brand]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        parsed = CompaniesFile.model_validate(raw)
    except (OSError, yaml.YAMLError) as exc:
        raise BrandingError(f"companies file {path}: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise BrandingError(f"companies file {path}: {problems}") from exc
    brands = {}
    for code, company in parsed.companies.items():
        logo = None
        if company.logo is not None:
            file = company.logo if company.logo.is_absolute() else path.parent / company.logo
            try:
                body = file.read_bytes()
            except OSError as exc:
                raise BrandingError(f"companies file {path}: companies.{code}.logo: {exc}") from exc
            media_type = media_type_of(body)
            if media_type not in ("image/png", "image/jpeg") or len(body) > LOGO_MAX_BYTES:
                raise BrandingError(
                    f"companies file {path}: companies.{code}.logo: not a PNG or JPEG of at "
                    f"most {LOGO_MAX_BYTES} bytes"
                )
            logo = (body, media_type)
        brands[code] = Brand(code, company, logo)
    return brands
