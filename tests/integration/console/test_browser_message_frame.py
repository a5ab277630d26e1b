"""A proposal's email with HTML, previewed in a real browser (Debian's chromium driven by
Playwright): the page frames the message, served by the console under its own sandboxing
policy, with the message's text beside it; a script inside the message does not run, and
the page keeps its strict policy (no script, only this site's frames)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser

from contracts.topics import NOTIFIER_DELIVERIES
from services.console.settings import ConsoleSettings
from services.console.web.pages import Console
from services.runtime.auth import Authenticator, AuthSettings
from services.runtime.clock import SimulatedClock
from services.runtime.health import HealthState, HttpServer, build_app
from tests.integration.console.conftest import feed
from tests.integration.console.proposal_story import proposal_events, rendered
from tests.integration.console.story import NOW, events, uid
from tests.integration.console.test_browser import (
    USERS,
    signed_in,
)
from tests.integration.console.test_browser_proposals import (
    KEY,
    Notifier,
    notifier,  # noqa: F401 (the fixture)
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which("chromium"), reason="apt-get install chromium"),
]

SCRIPT_RAN = "the message's script ran"


def html_email() -> bytes:
    message = EmailMessage()
    message["From"] = "Relance <relance@example.com>"
    message["To"] = "compta@example.com"
    message["Subject"] = "Relance : factures impayées"
    message.set_content("Madame, Monsieur,\n\nINV-1 : 700,00 € restent dus.\n")
    message.add_alternative(
        "<html><head><style>p.amount { color: #a00000; font-weight: bold; }</style></head>"
        "<body><p>Madame, Monsieur,</p><p class='amount'>INV-1 : 700,00 € restent dus.</p>"
        f"<script>document.body.insertAdjacentText('beforeend', '{SCRIPT_RAN}');"
        "parent.document.title = 'taken';</script>"
        "<img src='https://tracker.example.com/pixel.gif' alt=''>"
        "</body></html>",
        subtype="html",
    )
    message.set_boundary("relance-html-1")
    return message.as_bytes()


@pytest.fixture
async def console_url(
    pool: asyncpg.Pool,
    tmp_path: Path,
    notifier: tuple[Notifier, str],  # noqa: F811
) -> AsyncIterator[str]:
    stand_in, notifier_url = notifier
    content = html_email()
    at = NOW + timedelta(hours=2)
    story = [e for e in proposal_events() if e[1].event_type != "notifier.proposal.rendered"]
    await feed(
        pool,
        [*events(), *story, (NOTIFIER_DELIVERIES, rendered("dubois", "C-1001", 1, content, at))],
    )
    stand_in.renderings[(uid("proposal dubois"), 1)] = content
    users = tmp_path / "users.yaml"
    users.write_text(USERS, encoding="utf-8")
    clock = SimulatedClock(NOW + timedelta(hours=3))
    auth = AuthSettings(users_file=users, signing_keys="k1:" + "s" * 40)
    settings = ConsoleSettings(auth=auth, notifier_url=notifier_url, notifier_api_key=KEY)
    console = Console(pool, clock, settings, Authenticator("console", auth, clock))
    server = HttpServer(build_app(HealthState("console"), [console.router()]), "127.0.0.1", 0)
    await server.start()
    try:
        yield f"http://localhost:{server.port}"
    finally:
        await server.stop()


async def test_the_message_is_framed_in_a_sandbox_and_its_script_does_not_run(
    console_url: str,
    browser: Browser,
) -> None:
    page = await signed_in(browser, console_url, "camille")
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text))
    answer = await page.goto(f"/proposals/{uid('proposal dubois')}")
    assert answer is not None
    policy = answer.headers["content-security-policy"]
    assert "frame-src 'self'" in policy
    assert "script-src" not in policy  # default-src 'none': no script on the page either

    frame = page.locator("iframe.message")
    assert await frame.get_attribute("sandbox") == ""  # sandboxed, nothing allowed back
    source = await frame.get_attribute("src")
    assert source == f"/proposals/{uid('proposal dubois')}/1/message"
    inside = page.frame_locator("iframe.message")
    amount = inside.locator("p.amount")
    assert await amount.inner_text() == "INV-1 : 700,00 € restent dus."
    assert await amount.evaluate("p => getComputedStyle(p).fontWeight") == "700"  # its style
    assert SCRIPT_RAN not in await inside.locator("body").inner_text()
    assert await page.title() != "taken"
    assert any("script" in text.lower() for text in blocked), blocked

    # the text alternative beside the frame
    await page.get_by_text("The text of the message").click()
    assert "INV-1 : 700,00 € restent dus." in await page.locator("pre.message").inner_text()

    # the message is served under its own sandboxing policy, to the signed-in reader only
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in await page.context.cookies())
    async with httpx.AsyncClient(base_url=console_url) as client:
        served = await client.get(source, headers={"Cookie": cookie})
        assert served.status_code == 200
        assert served.headers["content-security-policy"].startswith("sandbox;")
        assert "img-src data:" in served.headers["content-security-policy"]
        assert served.headers["x-frame-options"] == "SAMEORIGIN"
        assert SCRIPT_RAN in served.text  # the bytes are the message's; the policy disarms them
        anonymous = await client.get(source)
        assert anonymous.status_code in (302, 303, 401)
        assert SCRIPT_RAN not in anonymous.text
