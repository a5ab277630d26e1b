"""The console in a real browser (Debian's chromium driven by Playwright) on a real
PostgreSQL read model: sign-in, My day, a customer's timeline, escaping, anti-forgery
tokens, portfolios. Screenshots of the main pages go to docs/images/."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, Page

from services.console.settings import ConsoleSettings
from services.console.web.oidc import OidcClientSettings
from services.console.web.pages import Console
from services.runtime.auth import Authenticator, AuthSettings
from services.runtime.clock import SimulatedClock
from services.runtime.health import HealthState, HttpServer, build_app
from services.runtime.identity import hash_password
from tests.integration.console.conftest import feed
from tests.integration.console.oidc_provider import CLIENT_ID, CLIENT_SECRET, CodeFlowProvider
from tests.integration.console.story import NOW, SCRIPT_NAME, call_closed, events

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which("chromium"), reason="apt-get install chromium"),
]

IMAGES = Path(__file__).resolve().parents[3] / "docs" / "images"
PASSWORD = "correct horse battery"
USERS = f"""
users:
  camille:
    name: Camille Laurent
    role: collector
    password_hash: "{hash_password(PASSWORD)}"
    portfolio: {{collector_codes: [C12]}}
  dominique:
    name: Dominique Roy
    role: credit_manager
    password_hash: "{hash_password(PASSWORD)}"
"""


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(NOW)


@pytest.fixture
async def console_url(
    pool: asyncpg.Pool, tmp_path: Path, clock: SimulatedClock
) -> AsyncIterator[str]:
    await feed(pool, [*events(), call_closed()])
    users = tmp_path / "users.yaml"
    users.write_text(USERS, encoding="utf-8")
    auth = AuthSettings(users_file=users, signing_keys="k1:" + "s" * 40)
    console = Console(
        pool, clock, ConsoleSettings(auth=auth), Authenticator("console", auth, clock)
    )
    server = HttpServer(build_app(HealthState("console"), [console.router()]), "127.0.0.1", 0)
    await server.start()
    try:
        yield f"http://localhost:{server.port}"
    finally:
        await server.stop()


async def signed_in(browser: Browser, url: str, login: str, locale: str = "en-GB") -> Page:
    context = await browser.new_context(
        base_url=url, locale=locale, viewport={"width": 1280, "height": 900}
    )
    page = await context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    page.dialogs = dialogs  # type: ignore[attr-defined]
    await page.goto("/my-day")
    assert page.url.endswith("/sign-in"), "an anonymous visit is sent to the sign-in page"
    await page.get_by_label("Login" if locale.startswith("en") else "Identifiant").fill(login)
    await page.get_by_label("Password" if locale.startswith("en") else "Mot de passe").fill(
        PASSWORD
    )
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/my-day")
    return page


async def shot(page: Page, name: str) -> None:
    if os.environ.get("RELANCE_SCREENSHOTS"):
        IMAGES.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(IMAGES / name), full_page=True)


async def test_a_collector_signs_in_opens_my_day_and_a_customers_timeline(
    console_url: str, browser: Browser
) -> None:
    page = await signed_in(browser, console_url, "camille")
    cookies = {c["name"]: c for c in await page.context.cookies()}
    session = cookies["__Host-relance-console-session"]
    assert (session["httpOnly"], session["secure"], session["sameSite"]) == (True, True, "Strict")

    rows = page.locator("table.worklist tbody tr")
    assert await rows.count() == 3  # the call was made: no call due any more
    kinds = await page.locator("table.worklist .kind").all_inner_texts()
    assert kinds == ["Delivery failed or bounced", "Dispute overdue", "Broken promise"]
    assert "€1,500.00" in await rows.first.inner_text()
    assert "Nordwind" not in await page.content()  # another collector's customer
    await shot(page, "console-my-day.png")
    await page.get_by_label("Company").select_option("FR01")  # by keyboard and form alone
    await page.get_by_role("button", name="Filter").press("Enter")
    await page.wait_for_url("**/my-day?company=FR01&portfolio=&level=")
    assert await rows.count() == 3

    await page.get_by_role("link", name="Atelier Dubois SARL").first.click()
    await page.wait_for_url("**/customers/C-1001")
    assert await page.locator("h1").inner_text() == "Atelier Dubois SARL"
    statuses = await page.locator("table.items .status").all_inner_texts()
    assert sorted(statuses) == ["Current", "Disputed", "Overdue", "Overdue"]
    timeline = page.locator("ol.timeline > li")
    assert await timeline.count() == 12
    first = await timeline.first.inner_text()
    assert "Call logged" in first
    assert "Rappeler le 27 si rien <i>reçu</i>" in first  # shown as text, not markup
    assert "Reminder bounced" in await page.locator("ol.timeline").inner_text()
    await shot(page, "console-customer.png")

    await page.get_by_label("Search customers and invoices").fill("INV-2")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/search?q=INV-2")
    assert await page.locator("table.results tbody tr").count() == 1
    await shot(page, "console-search.png")


async def test_the_pages_speak_french(console_url: str, browser: Browser) -> None:
    page = await signed_in(browser, console_url, "camille", locale="fr-FR")
    assert await page.locator("h1").inner_text() == "Ma journée"
    assert "1\u202f500,00\xa0€" in await page.locator("table.worklist tbody tr").first.inner_text()
    await page.goto("/customers/C-1001")
    assert "Relance rejetée" in await page.locator("ol.timeline").inner_text()
    await shot(page, "console-customer-fr.png")
    await page.goto("/my-day")
    await page.get_by_role("button", name="English").click()
    await page.wait_for_url("**/my-day")
    assert await page.locator("h1").inner_text() == "My day"


async def test_a_customer_named_like_a_script_is_shown_inert(
    console_url: str, browser: Browser
) -> None:
    page = await signed_in(browser, console_url, "camille")
    response = await page.goto("/customers/C-666")
    assert response is not None
    assert response.status == 200
    assert "script-src" not in response.headers["content-security-policy"]
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert await page.locator("h1").inner_text() == SCRIPT_NAME
    assert await page.locator("main script").count() == 0
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in await page.content()
    assert page.dialogs == []  # type: ignore[attr-defined]
    await page.goto("/search?q=script")
    assert await page.locator("table.results tbody th").inner_text() == SCRIPT_NAME
    assert page.dialogs == []  # type: ignore[attr-defined]


async def test_a_form_posted_without_its_token_is_refused(
    console_url: str, browser: Browser
) -> None:
    page = await signed_in(browser, console_url, "camille")
    await page.evaluate("document.querySelector('form.who input[name=csrf_token]').remove()")
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_load_state()
    assert await page.locator("h1").inner_text() == "Not allowed"
    assert "security token" in await page.locator("main").inner_text()
    response = await page.goto("/my-day")  # still signed in: the forged sign-out did nothing
    assert response is not None
    assert response.status == 200
    await page.get_by_role("button", name="Sign out").click()  # with its token: signs out
    await page.wait_for_url("**/sign-in")


async def test_a_collector_gets_403_outside_their_portfolio(
    console_url: str, browser: Browser
) -> None:
    page = await signed_in(browser, console_url, "camille")
    response = await page.goto("/customers/C-2001")
    assert response is not None
    assert response.status == 403
    assert "outside your portfolio" in await page.locator("main").inner_text()
    assert "Nordwind" not in await page.content()
    refused = await page.goto("/my-day?company=DE02")
    assert refused is not None
    assert refused.status == 403

    manager = await signed_in(browser, console_url, "dominique")
    allowed = await manager.goto("/customers/C-2001")
    assert allowed is not None
    assert allowed.status == 200
    await manager.goto("/my-day")
    await shot(manager, "console-my-day-credit-manager.png")


async def test_a_session_lasts_while_pages_are_seen_and_ends_when_idle(
    console_url: str, browser: Browser, clock: SimulatedClock
) -> None:
    page = await signed_in(browser, console_url, "camille")
    for _ in range(3):  # 30 minutes of work, a page every 10 minutes (tokens last 15)
        clock.advance(timedelta(minutes=10))
        await page.goto("/customers/C-1001")
        assert page.url.endswith("/customers/C-1001")
    clock.advance(timedelta(minutes=16))
    await page.goto("/my-day")
    assert page.url.endswith("/sign-in")


@pytest.fixture
async def provider() -> AsyncIterator[CodeFlowProvider]:
    found = CodeFlowProvider(now=NOW.timestamp())
    await found.start()
    try:
        yield found
    finally:
        await found.stop()


@pytest.fixture
async def console_with_provider(
    pool: asyncpg.Pool, provider: CodeFlowProvider, clock: SimulatedClock
) -> AsyncIterator[str]:
    await feed(pool, events())
    auth = AuthSettings(
        oidc_issuer=provider.issuer, oidc_audience=CLIENT_ID, signing_keys="k1:" + "s" * 40
    )
    settings = ConsoleSettings(
        auth=auth,
        oidc=OidcClientSettings(client_id=CLIENT_ID, client_secret=CLIENT_SECRET),
    )
    console = Console(pool, clock, settings, Authenticator("console", auth, clock))
    server = HttpServer(build_app(HealthState("console"), [console.router()]), "127.0.0.1", 0)
    await server.start()
    try:
        yield f"http://localhost:{server.port}"
    finally:
        await server.stop()


async def test_a_collector_signs_in_through_the_firms_identity_provider(
    console_with_provider: str, browser: Browser, provider: CodeFlowProvider
) -> None:
    context = await browser.new_context(base_url=console_with_provider, locale="en-GB")
    page = await context.new_page()
    await page.goto("/my-day")
    assert page.url.endswith("/sign-in")
    assert await page.get_by_label("Password").count() == 0  # no local accounts here
    await page.get_by_role("link", name="Sign in with your company account").click()
    await page.wait_for_url("**/my-day")
    assert "Anna" in await page.locator("form.who").inner_text()
    assert await page.locator("table.worklist tbody tr").count() == 4
    assert provider.token_requests[0]["verifier"]  # PKCE
    response = await page.goto("/customers/C-2001")
    assert response is not None
    assert response.status == 403

    forged = await page.goto("/sign-in/oidc/callback?code=stolen&state=guessed")
    assert forged is not None
    assert forged.status == 401


async def test_sign_in_is_rate_limited_and_needs_its_token(console_url: str) -> None:
    async with httpx.AsyncClient(base_url=console_url) as client:
        page = await client.get("/sign-in")
        token = page.cookies["__Host-relance-console-csrf"]
        without = await client.post("/sign-in", data={"login": "camille", "password": PASSWORD})
        assert without.status_code == 403
        statuses = [
            (
                await client.post(
                    "/sign-in",
                    data={"login": "camille", "password": "wrong", "csrf_token": token},
                    headers={"Cookie": f"__Host-relance-console-csrf={token}"},
                )
            ).status_code
            for _ in range(6)
        ]
        assert statuses == [401] * 5 + [429]
