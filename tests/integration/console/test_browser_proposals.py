"""Proposals in a real browser (Debian's chromium driven by Playwright): a collector sees
the steps to confirm on My day with their preview, fetched server-side from the notifier's
preview route with the console's machine key (a stand-in serving the rendered bytes the
way the notifier's ``GET /proposals/{id}/{version}`` does), edits one, sees the new
version's preview and approves it, then approves two at once from My day; a decision
refused by the scheduler is shown; the customer's timeline shows the proposal and its end.
``RELANCE_SCREENSHOTS=1`` writes docs/images/console-proposals.png."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import asyncpg
import pytest
from fastapi import APIRouter, Header, Response
from playwright.async_api import Browser

from contracts.commands import (
    ApproveProposalCommand,
    ApproveProposalsCommand,
    EditProposalCommand,
)
from contracts.topics import DUNNING_ACTIONS, NOTIFIER_DELIVERIES
from services.console import queries
from services.console.settings import ConsoleSettings
from services.console.web.pages import Console
from services.runtime.auth import Authenticator, AuthSettings
from services.runtime.clock import SimulatedClock
from services.runtime.health import HealthState, HttpServer, build_app
from tests.integration.console.conftest import feed
from tests.integration.console.proposal_story import (
    PDF,
    decided,
    proposal_events,
    raised,
    rendered,
    rendered_email,
)
from tests.integration.console.story import NOW, _dunned, events, uid
from tests.integration.console.test_browser import (
    USERS,
    shot,
    signed_in,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which("chromium"), reason="apt-get install chromium"),
]

KEY = "console-preview-key-0123456789"
EDITED = "Nous vous remercions de régler <script>alert(2)</script> avant vendredi."


class Notifier:
    """The notifier's preview route as the console meets it: the bytes of each version,
    only with the machine key."""

    def __init__(self) -> None:
        self.renderings: dict[tuple[UUID, int], bytes] = {}
        self.asked: list[str | None] = []

    def router(self) -> APIRouter:
        router = APIRouter()

        async def preview(
            proposal_id: UUID, version: int, x_api_key: str | None = Header(default=None)
        ) -> Response:
            self.asked.append(x_api_key)
            if x_api_key != KEY:
                return Response(status_code=401)
            content = self.renderings.get((proposal_id, version))
            if content is None:
                return Response(status_code=404)
            return Response(content, media_type="message/rfc822")

        router.add_api_route("/proposals/{proposal_id}/{version}", preview, methods=["GET"])
        return router


@pytest.fixture
async def notifier() -> AsyncIterator[tuple[Notifier, str]]:
    stand_in = Notifier()
    server = HttpServer(build_app(HealthState("notifier"), [stand_in.router()]), "127.0.0.1", 0)
    await server.start()
    try:
        yield stand_in, f"http://127.0.0.1:{server.port}"
    finally:
        await server.stop()


@pytest.fixture
async def console_url(
    pool: asyncpg.Pool, tmp_path: Path, notifier: tuple[Notifier, str]
) -> AsyncIterator[str]:
    stand_in, notifier_url = notifier
    await feed(pool, [*events(), *proposal_events()])
    for name, customer in (("dubois", "C-1001"), ("script", "C-666")):
        stand_in.renderings[(uid(f"proposal {name}"), 1)] = rendered_email(customer, 1)
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


async def test_a_collector_previews_edits_and_approves_then_approves_two_at_once(
    console_url: str,
    browser: Browser,
    pool: asyncpg.Pool,
    notifier: tuple[Notifier, str],
) -> None:
    stand_in, _ = notifier
    page = await signed_in(browser, console_url, "camille")
    rows = page.locator("table.worklist tbody tr")
    kinds = await page.locator("table.worklist .kind").all_inner_texts()
    # Dubois's proposal (1,500 € at risk) ranks first; Nordwind's is outside the portfolio.
    assert kinds[0] == "Proposal to confirm"
    assert kinds.count("Proposal to confirm") == 2
    assert "Nordwind" not in await page.locator("main").inner_text()
    assert set(stand_in.asked) == {KEY}, "the console asks with its machine key"

    # The preview on My day: the email's text, escaped, and its PDF through the console.
    await page.locator("details.preview summary").first.click()
    text = await rows.first.locator("pre.message").inner_text()
    assert "<b>INV-1</b> 700,00 €" in text  # markup of the message shown as text
    await shot(page, "console-my-day-proposals.png")
    async with page.expect_download() as download_info:
        await rows.first.get_by_role("link", name="Download the PDF").click()
    download = await download_info.value
    saved = await download.path()
    assert await asyncio.to_thread(saved.read_bytes) == PDF

    # The proposal's page: preview and the four decisions. Edit a paragraph.
    await rows.first.get_by_role("link", name="Preview and decide").click()
    dubois = uid("proposal dubois")
    await page.wait_for_url(f"**/proposals/{dubois}")
    assert "Relance : factures impayées (C-1001)" in await page.locator("main").inner_text()
    await page.get_by_label("Paragraph to rewrite (its name in the template)").fill("opening")
    await page.get_by_label("Its new text").fill(EDITED)
    await page.get_by_role("button", name="Edit", exact=True).press("Enter")
    await page.wait_for_load_state()
    assert "will be rewritten as below" in await page.locator("main").inner_text()
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0, "nothing before confirming"
    await page.get_by_role("button", name="Confirm and send").press("Enter")
    await page.wait_for_url("**?sent=edit")
    [record] = await pool.fetch("SELECT topic, value FROM outbox")
    assert record["topic"] == "dunning.commands.v1"
    edit = EditProposalCommand.model_validate_json(record["value"]).payload
    assert (edit.proposal_id, edit.version, edit.paragraphs) == (dubois, 1, {"opening": EDITED})
    assert (edit.channel, edit.recipient_role, edit.actor.subject) == (None, None, "local:camille")

    # The scheduler raises version 2, the notifier renders it: the page shows the new text.
    inv1 = _dunned("FR01", "INV-1", NOW.date().replace(month=1, day=31), "1200", "700")
    inv2 = _dunned("FR01", "INV-2", NOW.date().replace(month=3, day=3), "800", "800")
    version_2 = rendered_email("C-1001", 2, opening=EDITED)
    stand_in.renderings[(dubois, 2)] = version_2
    await feed(
        pool,
        [
            (
                DUNNING_ACTIONS,
                raised("dubois", "C-1001", "FR01", (inv1, inv2), 2, {"opening": EDITED}),
            ),
            (
                NOTIFIER_DELIVERIES,
                rendered("dubois", "C-1001", 2, version_2, NOW + timedelta(hours=3)),
            ),
        ],
    )
    await page.goto(f"/proposals/{dubois}")
    assert EDITED in await page.locator("pre.message").inner_text()  # shown inert, as text
    assert page.dialogs == []  # type: ignore[attr-defined]
    await shot(page, "console-proposals.png")
    await page.get_by_role("button", name="Approve", exact=True).press("Enter")
    await page.wait_for_load_state()
    await page.get_by_role("button", name="Confirm and send").press("Enter")
    await page.wait_for_url("**?sent=approve")
    values = await pool.fetch("SELECT value FROM outbox ORDER BY id")
    approve = ApproveProposalCommand.model_validate_json(values[-1]["value"]).payload
    assert (approve.proposal_id, approve.version) == (dubois, 2), "the version seen"

    # Bulk: tick both on My day, one approve_proposals.
    await page.goto("/my-day")
    for box in await page.locator("input[name=proposal]").all():
        await box.check()
    await page.get_by_role("button", name="Approve the selected proposals").press("Enter")
    await page.wait_for_load_state()
    assert "Approve 2 proposals" in await page.locator("h1").inner_text()
    await page.get_by_role("button", name="Confirm and send").press("Enter")
    await page.wait_for_url("**/my-day?sent=approve_proposals")
    values = await pool.fetch("SELECT value FROM outbox ORDER BY id")
    bulk = ApproveProposalsCommand.model_validate_json(values[-1]["value"]).payload
    assert {(p.proposal_id, p.version) for p in bulk.proposals} == {
        (dubois, 2),
        (uid("proposal script"), 1),
    }
    assert len(values) == 3

    # Another collector had decided C-666's first: the refusal reaches My day.
    await pool.execute(
        queries.RECORD_REFUSAL,
        uid("refused bulk"),
        None,
        "approve_proposals",
        "local:camille",
        "already_decided",
        "proposal decided before",
        NOW + timedelta(hours=3),
    )
    await feed(
        pool,
        [(DUNNING_ACTIONS, decided("dubois", "C-1001", 2, "approved"))],
    )
    await page.goto("/my-day")
    refused = await page.locator("section[aria-labelledby=refused-decisions]").inner_text()
    assert "already decided by someone else" in refused
    kinds = await page.locator("table.worklist .kind").all_inner_texts()
    assert kinds.count("Proposal to confirm") == 1, "the approved one left My day"

    # The customer's page: the proposal, its decision, and the timeline.
    await page.goto("/customers/C-1001")
    section = await page.locator("section[aria-labelledby=proposals]").inner_text()
    assert "Proposal approved" in section
    timeline = await page.locator("ol.timeline").inner_text()
    assert {"Proposal raised", "Proposal edited", "Proposal approved"} <= set(
        line.split(" · ")[0].strip() for line in timeline.splitlines()
    )


async def test_a_proposal_outside_the_portfolio_and_a_form_without_token(
    console_url: str,
    browser: Browser,
    pool: asyncpg.Pool,
) -> None:
    page = await signed_in(browser, console_url, "camille")
    response = await page.goto(f"/proposals/{uid('proposal nordwind')}")
    assert response is not None
    assert response.status == 403
    posted = await page.request.post(
        f"/proposals/{uid('proposal dubois')}/decide/approve",
        form={"command_id": str(uid("forged")), "version": "1", "confirmed": "yes"},
    )
    assert posted.status == 403
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
