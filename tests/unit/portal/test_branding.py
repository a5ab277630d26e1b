"""The invoicing companies' branding: colours checked for contrast, the companies file read
in the notifier's format, logos checked by their bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.portal.branding import load_brands
from services.portal.domain.branding import brand_stylesheet, check_on_white, contrast
from services.portal.errors import BrandingError

NOTIFIER_COMPANIES = Path(__file__).parents[1] / "notifier" / "companies.yaml"
PORTAL_COMPANIES = (
    Path(__file__).parents[2] / "integration" / "portal" / "branding" / "companies.yaml"
)


def test_contrast_follows_wcag() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#ffffff", "#ffffff") == pytest.approx(1)
    assert contrast("#123c69", "#ffffff") > 4.5


def test_a_colour_too_light_for_white_text_is_refused() -> None:
    assert check_on_white("#0B5D3B", "primary") == "#0b5d3b"
    with pytest.raises(ValueError, match="below WCAG AA"):
        check_on_white("#7fb3d5", "primary")
    with pytest.raises(ValueError, match="#rrggbb"):
        check_on_white("red; background: url(x)", "primary")


def test_the_stylesheet_holds_only_the_checked_colours() -> None:
    sheet = brand_stylesheet("#0b5d3b", None)
    assert ".masthead, button { background: #0b5d3b; }" in sheet
    assert "url(" not in sheet


def test_the_notifiers_companies_file_is_read_for_the_pages() -> None:
    brands = load_brands(NOTIFIER_COMPANIES)  # bank details, signatory... ignored
    assert brands["FR01"].company.legal_name == "Relance Demo SAS"
    assert brands["FR01"].company.vat_number == "FR00900000001"
    assert brands["FR01"].logo is None
    assert brands["FR01"].stylesheet == b""


def test_logos_and_colours_of_the_portals_companies() -> None:
    brands = load_brands(PORTAL_COMPANIES)
    assert set(brands) == {"FR01", "DE01"}
    body, media_type = brands["DE01"].logo or (b"", "")
    assert media_type == "image/png"
    assert body.startswith(b"\x89PNG")
    assert b"#7a1f3d" in brands["DE01"].stylesheet


def _file(tmp_path: Path, company: str) -> Path:
    path = tmp_path / "companies.yaml"
    path.write_text("companies:\n  FR01:\n    legal_name: X SA\n    address: [1 rue A]\n" + company)
    return path


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ("    colours: {primary: '#ffd700'}\n", "companies.FR01.colours.primary"),
        ("    logo: missing.png\n", "companies.FR01.logo"),
        ("    logo: logo.png\n", "not a PNG or JPEG"),
    ],
)
def test_a_bad_colour_or_logo_stops_the_portal_naming_the_company(
    tmp_path: Path, extra: str, named: str
) -> None:
    (tmp_path / "logo.png").write_bytes(b"<svg onload=alert(1)>")
    with pytest.raises(BrandingError, match=named.replace(".", r"\.")):
        load_brands(_file(tmp_path, extra))
