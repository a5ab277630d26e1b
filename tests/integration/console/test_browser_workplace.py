"""The console's other pages in a real browser (Debian's chromium driven by Playwright):
a call made from My day and its outcome sent as a ``log_call`` command through the outbox,
then executed (the call leaves My day), Disputes, Promises and plans, Team for a credit
manager, Operations for an administrator, refused to a collector. ``RELANCE_SCREENSHOTS=1``
writes the pages' screenshots into docs/images/."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser

from contracts import dunning
from contracts.commands import LogCallCommand
from contracts.topics import DUNNING_ACTIONS
from services.console import queries
from services.console.settings import ConsoleSettings
from services.console.web.pages import Console
from services.runtime.auth import Authenticator, AuthSettings
from services.runtime.clock import SimulatedClock
from services.runtime.health import HealthState, HttpServer, build_app
from services.runtime.identity import hash_password
from tests.integration.console.conftest import feed
from tests.integration.console.story import NOW, events, uid
from tests.integration.console.test_browser import (
    PASSWORD,
    USERS,
    shot,
    signed_in,
)
from tests.integration.console.workplace_story import workplace_events

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which("chromium"), reason="apt-get install chromium"),
]

ADMIN = f"""
  alex:
    name: Alex Morin
    role: administrator
    password_hash: "{hash_password(PASSWORD)}"
"""


@pytest.fixture
async def console_url(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[str]:
    await feed(pool, [*events(), *workplace_events()])
    await pool.execute(
        queries.RECORD_REFUSAL,
        uid("refused hold"),
        "C-1001",
        "hold",
        "local:camille",
        "hold_date_past",
        "2026-03-10 is not after today",
        NOW - timedelta(hours=1),
    )
    await pool.execute(queries.COUNT_DEAD_LETTERS, "ledger.events.v1", "malformed_json", 3, NOW)
    users = tmp_path / "users.yaml"
    users.write_text(USERS + ADMIN, encoding="utf-8")
    clock = SimulatedClock(NOW + timedelta(days=6))
    auth = AuthSettings(users_file=users, signing_keys="k1:" + "s" * 40)
    settings = ConsoleSettings(auth=auth)
    console = Console(pool, clock, settings, Authenticator("console", auth, clock))
    server = HttpServer(build_app(HealthState("console"), [console.router()]), "127.0.0.1", 0)
    await server.start()
    try:
        yield f"http://localhost:{server.port}"
    finally:
        await server.stop()


async def test_a_collector_makes_the_call_of_my_day_and_logs_a_promise(
    console_url: str,
    browser: Browser,
    pool: asyncpg.Pool,
) -> None:
    page = await signed_in(browser, console_url, "camille")
    kinds = await page.locator("table.worklist .kind").all_inner_texts()
    assert kinds[0] == "Unmatched cash"  # €2,400 waiting for its invoice, most at risk
    assert {"Instalment missed", "Call to make", "Broken promise"} <= set(kinds)
    # The call's 300 USD: no exchange rate in this story, ranked by its amount and flagged.
    flagged = page.locator("table.worklist tbody tr", has=page.locator(".badge-no-rate"))
    assert await flagged.locator(".kind").all_inner_texts() == ["Call to make"]
    assert "amounts compared in EUR" in await page.locator("table.worklist caption").inner_text()
    await shot(page, "console-my-day-worklist.png")
    await page.get_by_label("Level").select_option("level_1")
    await page.get_by_role("button", name="Filter").press("Enter")
    await page.wait_for_url("**/my-day?company=&portfolio=&level=level_1")
    assert "Unmatched cash" not in await page.locator("main").inner_text()

    await page.goto("/my-day")
    await page.get_by_role("link", name="Call: script and outcome").click()
    await page.wait_for_url(f"**/calls/{uid('reminder call A')}")
    assert await page.locator("a.tel").get_attribute("href") == "tel:+33142000000"
    assert "Invoice INV-4" in await page.locator(".script").inner_text()
    await shot(page, "console-call.png")

    # A promise without its amount: told what is missing, nothing sent.
    await page.get_by_label("Promise to pay").check()
    await page.get_by_label("Promised date").fill("2026-03-30")
    await page.get_by_role("button", name="Log the call").press("Enter")
    await page.wait_for_load_state()
    assert "Promised amount is missing." in await page.locator("[role=alert]").inner_text()
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0

    await page.get_by_label("Promised amount (USD)").fill("300")
    await page.get_by_label("Note").fill("Rappeler le 30")
    await page.get_by_role("button", name="Log the call").press("Enter")
    await page.wait_for_url("**/calls/*?sent=yes")
    [record] = await pool.fetch("SELECT topic, value FROM outbox")
    assert record["topic"] == "dunning.commands.v1"
    command = LogCallCommand.model_validate_json(record["value"])
    call = command.payload
    assert (call.outcome, call.reminder_id, call.invoice_ids, call.note) == (
        "promise_to_pay",
        uid("reminder call A"),
        ("FR01/INV-4",),
        "Rappeler le 30",
    )
    assert call.promised_amount is not None
    assert (call.promised_date, call.promised_amount.amount) == (date(2026, 3, 30), Decimal(300))
    assert call.actor.subject == "local:camille"

    # The scheduler executes it: the call leaves My day.
    executed = dunning.CommandExecuted(
        event_id=uid("log_call executed"),
        occurred_at=NOW + timedelta(days=6),
        source="scheduler",
        payload=dunning.ExecutedCommand(
            command_id=call.command_id,
            command="log_call",
            customer_id="C-1001",
            company_code="FR01",
            actor_subject="local:camille",
            actor_role="collector",
            requested_at=call.requested_at,
            executed_at=NOW + timedelta(days=6),
            detail={"outcome": "promise_to_pay", "reminder_id": str(uid("reminder call A"))},
        ),
    )
    await feed(pool, [(DUNNING_ACTIONS, executed)])
    await page.goto("/my-day")
    assert "Call to make" not in await page.locator("main").inner_text()


async def test_disputes_promises_and_plans_and_refusals(
    console_url: str,
    browser: Browser,
) -> None:
    page = await signed_in(browser, console_url, "camille")
    await page.get_by_role("link", name="Disputes").click()
    await page.wait_for_url("**/disputes")
    summary = await page.locator("table").first.inner_text()
    assert "Sales" in summary
    assert "Delivery" in summary
    await shot(page, "console-disputes.png")
    await page.get_by_label("Category").select_option("quality")
    await page.get_by_role("button", name="Filter").press("Enter")
    await page.wait_for_url("**/disputes?*category=quality*")
    assert "No open dispute." in await page.locator("main").inner_text()

    await page.get_by_role("link", name="Promises and plans").click()
    await page.wait_for_url("**/promises")
    text = await page.locator("main").inner_text()
    assert "1 missed" in text
    assert "Broken" in text
    await shot(page, "console-promises.png")

    await page.goto("/customers/C-1001")
    refused = await page.locator("section[aria-labelledby=refused]").inner_text()
    assert "hold_date_past" in refused

    for path in ("/team", "/operations"):
        response = await page.goto(path)
        assert response is not None
        assert response.status == 403


async def test_team_for_a_credit_manager_and_operations_for_an_administrator(
    console_url: str,
    browser: Browser,
) -> None:
    manager = await signed_in(browser, console_url, "dominique")
    await manager.get_by_role("link", name="Team").click()
    await manager.wait_for_url("**/team")
    headings = await manager.locator("h2").all_inner_texts()
    assert headings == [
        "Aged balance per company",
        "DSO trend per company",
        "Effectiveness per scenario step",
        "Collectors: workload and results",
    ]
    assert "C12" in await manager.locator("section[aria-labelledby=collectors]").inner_text()
    await shot(manager, "console-team.png")
    assert await manager.get_by_role("link", name="Operations").count() == 1  # theirs too

    admin = await signed_in(browser, console_url, "alex")
    await admin.get_by_role("link", name="Operations").click()
    await admin.wait_for_url("**/operations")
    text = await admin.locator("main").inner_text()
    assert "malformed_json" in text
    assert "hold_date_past" in text
    assert "ledger.events.v1" in text
    audit = await admin.locator("section[aria-labelledby=audit]").inner_text()
    assert "local:alex" in audit  # their sign-in, and the manager's before
    assert "local:dominique" in audit
    await shot(admin, "console-operations.png")
