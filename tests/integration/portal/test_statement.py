"""The statement of account as PDF on the customer's signed link."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from services.portal import metrics
from services.portal.branding import load_brands
from simulation.pdf_text import page_text
from tests.integration.portal.conftest import Site

pytestmark = pytest.mark.integration

COMPANIES = Path(__file__).parent / "branding" / "companies.yaml"


async def test_the_statement_is_the_accounts_pdf_in_the_customers_language(site: Site) -> None:
    site.pages.brands = load_brands(COMPANIES)
    before = metrics.STATEMENTS.labels("portal")._value.get()
    async with httpx.AsyncClient() as client:
        page = await client.get(site.account_url)
        response = await client.get(site.account_url + "/statement.pdf")
    path = site.account_url.removeprefix(site.base_url)
    assert f'<a href="{path}/statement.pdf" download>' in page.text
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'attachment; filename="releve-2026-03-02.pdf"'
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.content.startswith(b"%PDF-")
    text = page_text(response.content)
    # the invoicing company's identity, the customer, in French
    for expected in (
        "Outillage Martin SA",
        "RCS Lyon 900 000 002",
        "N° TVA FR00900000002",
        "Relevé de compte",
        "Client: Ateliers <Dupont> & Fils",
        "Au 2 mars 2026",
    ):
        assert expected in text, expected
    # open invoices per currency with their status, and each currency's own total
    lines = text.splitlines()
    for number, status in (
        ("F-2026-001", "En retard (46 jours de retard)"),
        ("F-2026-002", "À échoir"),
        ("F-2026-003", "En litige"),
        ("F-2026-004", "Paiement annoncé"),
        ("F-2026-005", "Dans un échéancier"),
        ("US-2026-010", "En retard (3 jours de retard)"),
    ):
        at = lines.index(number)
        assert lines[at + 5] == status, (number, lines[at : at + 6])
    assert "Total restant dû en EUR" in lines
    assert lines[lines.index("Total restant dû en EUR") + 1] == "3\u202f230,00\xa0€"
    assert lines[lines.index("Total restant dû en USD") + 1] == "2\u202f500,00\xa0$US"
    # what was received recently: the payment and the credit note
    assert "Paiement · F-2026-001" in lines
    assert "Avoir · F-2025-090" in lines
    assert metrics.STATEMENTS.labels("portal")._value.get() == before + 1


async def test_a_tampered_expired_or_unknown_link_gets_no_statement(site: Site) -> None:
    token = site.links.token("C-9999", "FR01")  # a customer the portal does not know
    async with httpx.AsyncClient() as client:
        tampered = await client.get(site.account_url[:-3] + "xyz/statement.pdf")
        expired = await client.get(site.expired_url() + "/statement.pdf")
        unknown = await client.get(site.url(token) + "/statement.pdf")
    assert tampered.status_code == 403
    assert expired.status_code == 410
    assert unknown.status_code == 404
    for response in (tampered, expired, unknown):
        assert not response.content.startswith(b"%PDF")
        assert "content-disposition" not in response.headers
