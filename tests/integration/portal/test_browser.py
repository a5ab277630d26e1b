"""The customer's stories in a real browser: Debian's chromium driven by Playwright.

Never ``playwright install``: the browser is the system's (``apt-get install chromium``).
Screenshots go to docs/images/ for docs/portal.md.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, FilePayload, Page

from tests.integration.portal.conftest import Site
from tests.integration.portal.stripe_standin import signature
from tests.kafka_tools import consume
from tests.unit.portal import samples

IMAGES = Path(__file__).resolve().parents[3] / "docs" / "images"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="apt-get install chromium"),
]


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1024, "height": 900}, locale="fr-FR")
    opened = await context.new_page()
    yield opened
    await context.close()


async def status_of(page: Page, number: str) -> str | None:
    return await page.get_attribute(f'li.invoice[data-invoice="{number}"]', "data-status")


async def test_the_account_shows_open_invoices_with_their_status(page: Page, site: Site) -> None:
    response = await page.goto(site.account_url)
    assert response is not None
    assert response.status == 200
    assert await page.title() == "Votre compte · Outillage Martin SA"
    assert await status_of(page, "F-2026-001") == "overdue"
    assert await status_of(page, "F-2026-002") == "due"
    assert await status_of(page, "F-2026-003") == "in_dispute"
    assert await status_of(page, "F-2026-004") == "promised"
    assert await status_of(page, "F-2026-005") == "in_plan"
    assert await status_of(page, "US-2026-010") == "overdue"
    assert await page.locator("li.invoice").count() == 6  # the credited one is closed
    eur = page.locator('.balance[data-currency="EUR"] .total strong')
    assert await eur.inner_text() == "3\u202f230,00\xa0€"  # 700 + 480 + 950 + 300 + 800
    received = await page.locator("ul.receipts").inner_text()
    assert "Avoir · F-2025-090" in received
    assert "Paiement · F-2026-001" in received
    statement = page.locator("a[href$='/statement.pdf']")
    assert await statement.inner_text() == "Télécharger le relevé de compte (PDF)"
    # the disputed and planned invoices cannot be chosen again
    promise_choices = await page.locator("form[action$='/promise'] input[name=invoice]").all()
    values = {await box.get_attribute("value") for box in promise_choices}
    assert values == {"FR01/F-2026-001", "FR01/F-2026-002", "FR01/F-2026-004", "FR01/US-2026-010"}
    await page.screenshot(path=IMAGES / "portal-account.png", full_page=True)


async def test_announcing_a_payment_date_publishes_a_promise(page: Page, site: Site) -> None:
    await page.goto(site.account_url)
    promise = page.locator("form[action$='/promise']")
    await promise.get_by_label("F-2026-001").check()
    await promise.get_by_label("F-2026-002").check()
    await page.get_by_label("Date de paiement", exact=True).fill("2026-03-20")
    await page.get_by_role("button", name="Annoncer cette date").click()
    await page.wait_for_url("**?done=promise")
    notice = page.get_by_role("status")
    assert await notice.inner_text() == "Merci : votre date de paiement est enregistrée."
    (record,) = await consume(site.bootstrap, site.commands.name, expected=1)
    command = json.loads(record.value)
    assert command["event_type"] == "promise.record"
    assert command["source"] == "portal"
    assert command["payload"]["customer_id"] == samples.CUSTOMER
    assert command["payload"]["invoice_ids"] == ["FR01/F-2026-001", "FR01/F-2026-002"]
    assert command["payload"]["promised_date"] == "2026-03-20"
    assert command["payload"]["amount"] == {"amount": "1180.00", "currency": "EUR"}
    assert command["payload"]["channel"] == "portal"


async def test_opening_a_dispute_with_a_document_publishes_it(page: Page, site: Site) -> None:
    await page.goto(site.account_url)
    dispute = page.locator("form[action$='/dispute']")
    await dispute.get_by_label("F-2026-002").check()
    await page.get_by_label("Nature du problème", exact=True).select_option("delivery")
    await page.get_by_label("Votre message", exact=True).fill(
        "Livraison incomplète : 2 colis sur 3."
    )
    delivery_note = b"%PDF-1.7\n% bon de livraison signe\n%%EOF\n"
    await page.get_by_label("Documents (PDF, PNG ou JPEG").set_input_files(
        files=FilePayload(
            name="bon-livraison.pdf", mimeType="application/pdf", buffer=delivery_note
        )
    )
    await page.get_by_role("button", name="Envoyer").click()
    await page.wait_for_url("**?done=dispute")
    (record,) = await consume(site.bootstrap, site.commands.name, expected=1)
    command = json.loads(record.value)
    assert command["event_type"] == "dispute.open"
    assert command["payload"]["invoice_ids"] == ["FR01/F-2026-002"]
    assert command["payload"]["category"] == "delivery"
    assert command["payload"]["text"] == "Livraison incomplète : 2 colis sur 3."
    assert command["payload"]["raised_by"] == "portal"
    (attachment,) = command["payload"]["attachments"]
    assert (attachment["file_name"], attachment["media_type"]) == (
        "bon-livraison.pdf",
        "application/pdf",
    )
    assert site.documents.documents[attachment["reference"]] == delivery_note


async def test_the_copy_of_an_invoice_is_downloaded_from_the_account(
    page: Page, site: Site
) -> None:
    await page.goto(site.account_url)
    link = page.get_by_role("link", name="Télécharger la copie de la facture F-2026-002")
    async with page.expect_download() as downloading:
        await link.click()
    download = await downloading.value
    assert download.suggested_filename == "F-2026-002.pdf"
    saved = await download.path()
    assert await asyncio.to_thread(Path(saved).read_bytes) == samples.COPY_OF_002
    # only the invoice whose copy the ERP named has a link
    assert await page.get_by_role("link", name="Télécharger la copie").count() == 1


async def test_asking_to_be_called_back_publishes_the_request(page: Page, site: Site) -> None:
    await page.goto(site.account_url)
    await page.get_by_label("Numéro de téléphone").fill("06 12 34 56 78")
    await page.get_by_label("Jour", exact=True).fill("2026-03-03")
    await page.get_by_role("button", name="Me rappeler").click()
    await page.wait_for_load_state()
    # a national number and no slot: both said beside their fields, the day kept
    assert "format international" in await page.locator("#phone-error").inner_text()
    assert await page.locator("#slot-error").is_visible()
    assert await page.get_by_label("Jour", exact=True).input_value() == "2026-03-03"
    await page.get_by_label("Numéro de téléphone").fill("+33 6 12 34 56 78")
    await page.get_by_label("Après-midi (de 14 h à 17 h)").check()
    await page.get_by_role("button", name="Me rappeler").click()
    await page.wait_for_url("**?done=callback")
    notice = page.get_by_role("status")
    assert await notice.inner_text() == "Merci : nous vous appellerons au créneau choisi."
    (record,) = await consume(site.bootstrap, site.commands.name, expected=1)
    command = json.loads(record.value)
    assert command["event_type"] == "callback.request"
    assert command["payload"]["phone"] == "+33612345678"
    assert (command["payload"]["on"], command["payload"]["slot"]) == ("2026-03-03", "afternoon")
    assert command["payload"]["company_code"] == samples.COMPANY


async def test_a_form_error_is_shown_beside_its_field_and_keeps_what_was_typed(
    page: Page, site: Site
) -> None:
    await page.goto(site.account_url)
    dispute = page.locator("form[action$='/dispute']")
    await dispute.get_by_label("F-2026-004").check()
    typed = "Le prix <unitaire> ne correspond pas au devis n° 42 & suivants."
    await page.get_by_label("Votre message", exact=True).fill(typed)
    await page.get_by_role("button", name="Envoyer").click()
    await page.wait_for_load_state()
    error = page.locator("#category-error")
    assert await error.text_content() == "Erreur : Choisissez la nature du problème."
    assert (
        await page.get_by_label("Nature du problème", exact=True).get_attribute("aria-invalid")
        == "true"
    )
    assert await page.get_by_label("Votre message", exact=True).input_value() == typed
    assert await dispute.get_by_label("F-2026-004").is_checked()
    assert not await dispute.get_by_label("F-2026-001").is_checked()
    summary = page.get_by_role("alert")
    await summary.get_by_role("link", name="Choisissez la nature du problème.").click()
    assert await page.evaluate("() => document.activeElement.id") == "category"
    await page.screenshot(path=IMAGES / "portal-form-error.png", full_page=True)
    assert await site.outbox() == []  # nothing was sent


async def test_an_expired_link_is_gone_and_a_tampered_one_forbidden(
    browser: Browser, site: Site
) -> None:
    context = await browser.new_context(locale="de-DE")
    page = await context.new_page()
    expired = await page.goto(site.expired_url())
    assert expired is not None
    assert expired.status == 410
    # the signature verified: the customer is known, the page is in their language
    assert await page.locator("h1").inner_text() == "Ce lien a expiré"
    await page.screenshot(path=IMAGES / "portal-expired.png")
    token = site.links.token(samples.CUSTOMER, samples.COMPANY)
    forged = token.replace(samples.CUSTOMER, "C-9999") if samples.CUSTOMER in token else token
    forged = forged[:-2] + ("AA" if not forged.endswith("AA") else "BB")
    tampered = await page.goto(site.url(forged))
    assert tampered is not None
    assert tampered.status == 403
    # nobody is known: the browser's language
    assert await page.locator("h1").inner_text() == "Dieser Link ist ungültig"
    await context.close()


async def test_a_phone_sized_screen_scrolls_only_vertically(browser: Browser, site: Site) -> None:
    context = await browser.new_context(
        viewport={"width": 375, "height": 667}, device_scale_factor=2, locale="fr-FR"
    )
    page = await context.new_page()
    await page.goto(site.account_url)
    widths = await page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], widths
    # focus is visible: the first link (skip to content) gets an outline when tabbed to
    await page.keyboard.press("Tab")
    outline = await page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    await page.evaluate("() => document.activeElement.blur()")
    await page.screenshot(path=IMAGES / "portal-phone.png", full_page=True)
    await context.close()


async def test_paying_by_card_redirects_to_checkout_and_the_webhook_announces_it(
    page: Page, site: Site
) -> None:
    await page.goto(site.account_url)
    pay = page.locator("form[action$='/pay']")
    await pay.get_by_label("F-2026-001").check()
    await pay.get_by_label("F-2026-002").check()
    await pay.get_by_role("button", name="Payer par carte").dblclick()  # impatient
    await page.wait_for_url(f"{site.stripe.base_url}/c/pay/*")
    assert await page.locator("h1").inner_text() == "Pay 118000 eur"
    assert site.stripe.created == 1  # the double click made one session
    (session_id,) = site.stripe.sessions
    # Stripe tells the portal the session was paid, signed with the endpoint's secret
    payload = site.stripe.completed_event(session_id)
    answer = await page.request.post(
        f"{site.base_url}/portal/webhooks/stripe",
        data=payload,
        headers={
            "stripe-signature": signature(payload, site.clock.now().timestamp()),
            "content-type": "application/json",
        },
    )
    assert answer.status == 200
    (record,) = await consume(site.bootstrap, site.commands.name, expected=1)
    command = json.loads(record.value)
    assert command["event_type"] == "promise.record"
    assert command["payload"]["invoice_ids"] == ["FR01/F-2026-001", "FR01/F-2026-002"]
    assert command["payload"]["amount"] == {"amount": "1180.00", "currency": "EUR"}
    assert command["payload"]["recorded_by"] == f"stripe:{session_id}"
    assert command["payload"]["kind"] == "payment_announced"  # dunning waits for the ERP
    # back from the checkout to the account, with a notice
    await page.get_by_role("link", name="Pay").click()
    await page.wait_for_url("**?done=payment")
    notice = page.get_by_role("status")
    assert await notice.inner_text() == (
        "Merci : votre paiement est en cours de confirmation ; "
        "les relances de ces factures sont suspendues."
    )


async def test_a_forged_payment_webhook_is_refused_and_nothing_is_published(
    page: Page, site: Site
) -> None:
    await page.goto(site.account_url)
    pay = page.locator("form[action$='/pay']")
    await pay.get_by_label("F-2026-002").check()
    await pay.get_by_role("button", name="Payer par carte").click()
    await page.wait_for_url(f"{site.stripe.base_url}/c/pay/*")
    (session_id,) = site.stripe.sessions
    payload = site.stripe.completed_event(session_id)
    forged = signature(payload, site.clock.now().timestamp(), secret="whsec_not_the_endpoints")
    answer = await page.request.post(
        f"{site.base_url}/portal/webhooks/stripe",
        data=payload,
        headers={"stripe-signature": forged, "content-type": "application/json"},
    )
    assert answer.status == 400
    assert await consume(site.bootstrap, site.commands.name, expected=0, timeout_s=2) == []
