"""*Send now* in a real browser (Debian's chromium driven by Playwright), with the
scheduler's database, commands desk and operators' routes on the same PostgreSQL (the
fixture of tests/integration/console/test_browser_operations.py): a collector opens Send now
on a customer, chooses among the library's templates, and the confirmation shows what the
scheduler would send now (its dry run of the command) with the message rendered by the
notifier in a sandboxed frame; confirming records the command, and nothing was sent before.
"""

from __future__ import annotations

import shutil
from uuid import uuid4

import pytest
from playwright.async_api import Browser

from contracts import commands
from tests.integration.console.test_browser import (
    signed_in,
)
from tests.integration.console.test_browser_operations import (
    Site,
    site,  # noqa: F401 (the fixture)
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which("chromium"), reason="apt-get install chromium"),
]


async def test_a_collector_previews_send_now_then_confirms_it(
    site: Site,  # noqa: F811
    browser: Browser,
) -> None:
    page = await signed_in(browser, site.url, "camille")
    await page.goto("/customers/C-1001")
    form = page.locator("form.action-send_now")
    templates = await form.locator("select#send-template option").all_inner_texts()
    assert "reminder_firm" in templates  # the library's templates, not a text field
    await form.get_by_role("button", name="Send now").click()
    await page.wait_for_load_state()

    outgoing = page.locator("section.rehearsal article.outgoing")
    facts = await outgoing.locator("dl.facts").first.inner_text()
    assert "INV-1" in facts
    assert "Email" in facts
    framed = page.frame_locator("iframe.message").locator("body")
    message = await framed.inner_text()
    assert "Atelier Dubois SARL" in message
    assert "INV-1" in message
    assert site.notifier.rendered  # rendered by the notifier, for the page and its frame
    assert await site.desk.reminders() == []  # a dry run: nothing sent
    assert await site.console.fetchval("SELECT count(*) FROM sent_command") == 0

    token = await page.locator("input[name=csrf_token]").first.input_value()
    typed = await page.request.post(  # a template typed that the library does not have
        f"{site.url}/customers/C-1001/actions/send_now",
        form={"csrf_token": token, "command_id": str(uuid4()), "template": "no_such_template"},
    )
    assert typed.status == 422
    # Confirmed from the keyboard: the button sits below the fold under the framed message,
    # and a mouse click raced the scroll that brings it into view (no request was made).
    async with page.expect_navigation(url="**/customers/C-1001?sent=send_now"):
        await page.get_by_role("button", name="Confirm and send").focus()
        await page.keyboard.press("Enter")
    recorded = await site.console.fetch("SELECT command, actor_subject FROM sent_command")
    assert [tuple(r) for r in recorded] == [("send_now", "local:camille")]
    (sent,) = await site.deliver_commands()
    assert isinstance(sent, commands.SendNowCommand)
    assert (sent.payload.customer_id, sent.payload.template) == ("C-1001", None)
