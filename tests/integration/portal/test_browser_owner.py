"""A dispute's owner in a real browser (Debian's chromium driven by Playwright): opens the
link of their email, answers with a document, forgets the credit note's reference (told next
to the field, nothing typed lost), resolves the dispute as justified; once resolved the
page shows the outcome and no form. Screenshots: docs/images/portal-owner-form.png (the
forms, an error beside its field), docs/images/portal-owner.png (resolved)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, FilePayload, Page

from contracts import disputes
from services.runtime.signed_links import DisputeLinks
from tests.integration.disputes.harness import Disputes
from tests.integration.portal.conftest import Site
from tests.integration.portal.test_browser import IMAGES
from tests.integration.portal.test_owner_actions import DELIVERY_NOTE, _through
from tests.integration.portal.test_owner_attachments import (  # noqa: F401 (fixture)
    PDF,
    _opened,
    disputes_service,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="apt-get install chromium"),
]


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1024, "height": 900}, locale="fr-FR")
    yield await context.new_page()
    await context.close()


async def test_an_owner_answers_attaches_and_resolves_in_the_browser(
    page: Page,
    site: Site,
    disputes_service: Disputes,  # noqa: F811
) -> None:
    opened = await _opened(site, disputes_service, "FR01/F-2026-002", [("bl.pdf", PDF)])
    links = DisputeLinks(site.settings.links, site.clock)
    owner = f"{site.base_url}/portal/dispute/{links.token(opened.payload.dispute_id)}"

    response = await page.goto(owner)
    assert response is not None
    assert response.status == 200
    await page.fill("#answer", "Le transporteur a signé le bon de livraison complet.")
    await page.set_input_files(
        "#owner-attachment",
        FilePayload(name="BL signé.pdf", mimeType="application/pdf", buffer=DELIVERY_NOTE),
    )
    await page.click("form[action$='/answer'] button[type=submit]")
    assert "Merci : votre réponse est enregistrée" in await page.inner_text("p.notice")
    answered = await _through(site, disputes_service, expected=2)
    assert isinstance(answered, disputes.DisputeAnswered)
    await page.reload()
    assert "BL signé.pdf" in await page.inner_text("ol.answers")

    await page.check("#outcome-justified")
    await page.select_option("#correction-kind", "credit_note")
    await page.fill("#correction-amount", "120,50")
    await page.fill("#comment", "Prix unitaire erroné sur la ligne 3.")
    await page.click("form[action$='/resolve'] button[type=submit]")
    error = await page.inner_text("#correction-reference-error")
    assert "Indiquez la référence" in error
    assert await page.input_value("#comment") == "Prix unitaire erroné sur la ligne 3."
    assert await page.input_value("#correction-amount") == "120,50"
    await page.screenshot(path=IMAGES / "portal-owner-form.png", full_page=True)
    await page.fill("#correction-reference", "AV-2026-7")
    await page.click("form[action$='/resolve'] button[type=submit]")
    assert "la résolution est envoyée" in await page.inner_text("p.notice")
    resolved = await _through(site, disputes_service, expected=3)
    assert isinstance(resolved, disputes.DisputeResolved)
    assert resolved.payload.outcome == "justified"

    await page.goto(owner)
    outcome = await page.inner_text("section.outcome")
    assert "Justifié : nous corrigeons" in outcome
    assert "AV-2026-7" in outcome
    assert "120,50" in outcome
    assert await page.locator("form").count() == 0
    await page.screenshot(path=IMAGES / "portal-owner.png", full_page=True)
