"""Paying by direct debit and the invoicing company's branding, in a real browser (Debian's
chromium driven by Playwright; never ``playwright install``). Screenshots go to docs/images/.

The direct debit: the customer chooses invoices, goes through GoCardless's flow (the
loopback stand-in), comes back to the account; GoCardless's signed webhook announces the
payment, which the disputes service turns into a pause of dunning; the ERP's payment then
keeps it and the invoices leave the account. A forged webhook is refused with nothing sent.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from contracts import disputes, ledger
from contracts.envelope import Event
from contracts.money import PositiveMoney
from contracts.topics import DISPUTE_COMMANDS
from services.portal.branding import load_brands
from tests.integration.disputes.harness import Timeline
from tests.integration.portal.conftest import Site, feed
from tests.integration.portal.test_announced_payments import PAID, _pauses, _settled
from tests.integration.portal.test_announced_payments import timeline as timeline
from tests.integration.portal.test_browser import IMAGES, page  # noqa: F401
from tests.integration.portal.test_browser import pytestmark as browser_marks
from tests.integration.portal.test_direct_debits import refused, webhook_url
from tests.kafka_tools import consume
from tests.unit.portal import samples

pytestmark = browser_marks
COMPANIES = Path(__file__).parent / "branding" / "companies.yaml"
OTHER = "C-3001"


def _other_company_account() -> list[Event]:
    """A customer of DE01, in German, with one open invoice."""
    return [
        ledger.LedgerCustomerUpserted(
            event_id=uuid.uuid4(),
            occurred_at=samples.NOW,
            source="ingestion",
            payload=ledger.LedgerCustomer(
                customer_id=OTHER,
                company_code="DE01",
                version=1,
                name="Maschinenbau Vogel KG",
                country="DE",
                time_zone="Europe/Berlin",
                language="de",
            ),
        ),
        ledger.InvoiceOpened(
            event_id=uuid.uuid4(),
            occurred_at=samples.NOW,
            source="ingestion",
            payload=ledger.OpenedInvoice(
                company_code="DE01",
                customer_id=OTHER,
                invoice_id="DE01/R-2026-077",
                invoice_number="R-2026-077",
                issue_date=date(2026, 1, 10),
                due_date=date(2026, 2, 10),
                amount=PositiveMoney(amount="2500.00", currency="EUR"),
                open_amount=PositiveMoney(amount="2500.00", currency="EUR"),
            ),
        ),
    ]


@pytest.fixture
async def branded(site: Site) -> Site:
    site.pages.brands = load_brands(COMPANIES)
    await feed(site.pool, site.clock, _other_company_account())
    return site


async def _masthead_colour(shown: Page) -> str:
    return str(
        await shown.locator("header.masthead").evaluate("e => getComputedStyle(e).backgroundColor")
    )


async def test_each_customer_sees_the_company_that_invoices_them(
    browser: Browser,
    page: Page,  # noqa: F811
    branded: Site,
) -> None:
    site = branded
    await page.goto(site.account_url)
    assert await page.title() == "Votre compte · Outillage Martin SA"
    assert await page.locator(".masthead .company").inner_text() == "Outillage Martin SA"
    logo = page.locator("img.logo")
    assert await logo.get_attribute("alt") == "Outillage Martin SA"
    assert await logo.evaluate("img => img.complete && img.naturalWidth") == 240
    assert await _masthead_colour(page) == "rgb(11, 93, 59)"  # #0b5d3b
    footer = await page.locator("footer.company-identity").inner_text()
    for shown in ("12 rue des Forges", "RCS Lyon 900 000 002", "N° TVA FR00900000002"):
        assert shown in footer
    assert "Werkzeug" not in await page.content()
    await page.screenshot(path=IMAGES / "portal-branding.png", full_page=True)

    # the DE01 customer, on a phone: their company, nothing of FR01's
    context = await browser.new_context(
        viewport={"width": 375, "height": 667}, locale="de-DE", is_mobile=True
    )
    phone = await context.new_page()
    await phone.goto(site.url(site.links.token(OTHER, "DE01")))
    assert await phone.title() == "Ihr Konto · Werkzeug Becker GmbH"
    assert await _masthead_colour(phone) == "rgb(122, 31, 61)"  # #7a1f3d
    assert await phone.locator("img.logo").evaluate("img => img.naturalWidth") == 240
    footer = await phone.locator("footer.company-identity").inner_text()
    assert "Amtsgericht Stuttgart HRB 000002" in footer
    assert "USt-IdNr. DE000000002" in footer
    content = await phone.content()
    assert "Outillage Martin" not in content
    assert "RCS Lyon" not in content
    widths = await phone.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1]  # nothing scrolls sideways
    box = await phone.locator("img.logo").bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= 375
    await phone.screenshot(path=IMAGES / "portal-branding-phone.png", full_page=True)
    await context.close()

    # a refusal page still shows the company when the link's signature verifies
    expired = await page.goto(site.expired_url())
    assert expired is not None
    assert expired.status == 410
    assert await page.locator(".masthead .company").inner_text() == "Outillage Martin SA"
    assert "RCS Lyon 900 000 002" in await page.locator("footer.company-identity").inner_text()
    tampered = await page.goto(site.account_url[:-3] + "xyz")
    assert tampered is not None
    assert tampered.status == 403
    assert await page.locator("header.masthead").count() == 0  # nobody is known


async def test_paying_by_direct_debit_pauses_dunning_until_the_erp_payment_settles_it(
    page: Page,  # noqa: F811
    branded: Site,
    timeline: Timeline,
) -> None:
    site = branded
    await page.goto(site.account_url)
    debit = page.locator("form[action$='/debit']")
    for invoice in ("F-2026-001", "F-2026-002"):
        await debit.get_by_label(invoice).check()
    await page.get_by_role("button", name="Payer par prélèvement").click()
    # GoCardless's hosted flow (the stand-in): the customer authorises the debit
    await page.wait_for_url(f"{site.gocardless.base_url}/flow/*")
    assert "Direct debit of 118000 EUR" in await page.locator("h1").inner_text()
    await page.get_by_role("link", name="Authorise").click()
    await page.wait_for_url("**?done=debit")
    notice = await page.get_by_role("status").inner_text()
    assert notice.startswith("Merci : votre prélèvement est autorisé")

    # a forged webhook first: refused, counted, nothing published
    (request_id,) = site.gocardless.billing_requests
    events = (
        site.gocardless.event("billing_requests", "fulfilled", request_id),
        site.gocardless.event("payments", "submitted", request_id),
    )
    forged_body, forged_headers = site.gocardless.webhook(*events, secret="guessed")
    before = refused()
    forged = await page.request.post(webhook_url(site), data=forged_body, headers=forged_headers)
    assert forged.status == 498
    assert refused() == before + 1
    assert await consume(site.bootstrap, site.commands.name, expected=1, timeout_s=2) == []

    # GoCardless's genuine webhook: the payment is announced, dunning pauses
    body, headers = site.gocardless.webhook(*events)
    genuine = await page.request.post(webhook_url(site), data=body, headers=headers)
    assert genuine.status == 204
    (record,) = await consume(site.bootstrap, site.commands.name, expected=1)
    command = DISPUTE_COMMANDS.parse(record.value)
    assert isinstance(command, disputes.RecordPromise)
    assert command.payload.recorded_by == "gocardless:PM000STANDIN001"
    await timeline.command(command)
    assert set((await _pauses(timeline)).values()) == {"promise_to_pay"}
    await feed(site.pool, site.clock, await timeline.disputes.events())  # the portal's view
    await page.goto(site.account_url)
    for invoice in ("F-2026-001", "F-2026-002"):
        status = f'li.invoice[data-invoice="{invoice}"]'
        assert await page.get_attribute(status, "data-status") == "promised"
    await page.screenshot(path=IMAGES / "portal-debit-announced.png", full_page=True)

    # the ERP's payment arrives: the promise is kept, the invoices are settled
    timeline.clock.set(samples.NOW + timedelta(days=2))
    site.clock.set(samples.NOW + timedelta(days=2))
    settled = [_settled(i, a, timeline.clock.now()) for i, a in PAID.items()]
    await timeline.ledger(*settled)
    kept = (await timeline.disputes.events())[-1]
    assert isinstance(kept, disputes.PromiseKept)
    assert kept.payload.kind == "payment_announced"
    await feed(site.pool, site.clock, [*settled, kept])
    await page.goto(site.account_url)
    assert await page.locator('li.invoice[data-invoice="F-2026-001"]').count() == 0
    assert await page.locator('li.invoice[data-invoice="F-2026-002"]').count() == 0
    received = await page.locator("ul.receipts").inner_text()
    assert "F-2026-002" in received
