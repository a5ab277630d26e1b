"""A collector's actions from the customer page, in a real browser, to a real Kafka: the
hold and its confirmation, the command on the topic (actor, command id, customer, date,
reason), then the scheduler's ``dunning.command.executed`` fed back to the console and shown
on the timeline; posts without a token, outside the portfolio or by a viewer are refused."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import asyncpg
import pytest
from playwright.async_api import Browser

from contracts import commands, dunning
from contracts.topics import DUNNING_ACTIONS, DUNNING_COMMANDS, Topic
from services.console.settings import ConsoleSettings
from services.console.web.pages import Console
from services.runtime.auth import Authenticator, AuthSettings
from services.runtime.clock import SimulatedClock
from services.runtime.health import HealthState, HttpServer, build_app
from services.runtime.identity import hash_password
from services.runtime.outbox import KafkaRecordSender, OutboxRelay
from services.runtime.settings import KafkaSettings
from tests.integration.console.conftest import feed
from tests.integration.console.story import NOW, call_closed, events
from tests.integration.console.test_browser import PASSWORD, signed_in
from tests.kafka_tools import consume, create_topics, unique

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which("chromium"), reason="apt-get install chromium"),
]

USERS = f"""
users:
  camille:
    name: Camille Laurent
    role: collector
    password_hash: "{hash_password(PASSWORD)}"
    portfolio: {{collector_codes: [C12]}}
  vera:
    name: Vera Martin
    role: viewer
    password_hash: "{hash_password(PASSWORD)}"
    portfolio: {{collector_codes: [C12]}}
"""


@dataclasses.dataclass
class Site:
    url: str
    pool: asyncpg.Pool
    commands: Topic
    bootstrap: str


@pytest.fixture
async def site(pool: asyncpg.Pool, tmp_path: Path, kafka_bootstrap: str) -> AsyncIterator[Site]:
    await feed(pool, [*events(), call_closed()])
    users = tmp_path / "users.yaml"
    users.write_text(USERS, encoding="utf-8")
    auth = AuthSettings(users_file=users, signing_keys="k1:" + "s" * 40)
    clock = SimulatedClock(NOW)
    topic = dataclasses.replace(DUNNING_COMMANDS, name=unique(DUNNING_COMMANDS.name))
    await create_topics(kafka_bootstrap, [topic.name], partitions=1)
    console = Console(
        pool,
        clock,
        ConsoleSettings(auth=auth),
        Authenticator("console", auth, clock),
        commands_topic=topic,
    )
    server = HttpServer(build_app(HealthState("console"), [console.router()]), "127.0.0.1", 0)
    await server.start()
    sender = KafkaRecordSender(
        KafkaSettings(bootstrap_servers=kafka_bootstrap).client_options(), client_id="console-t"
    )
    await sender.start()
    stop = asyncio.Event()
    relaying = asyncio.create_task(
        OutboxRelay("console", pool, sender, poll_interval_s=0.1).run(stop)
    )
    try:
        yield Site(f"http://localhost:{server.port}", pool, topic, kafka_bootstrap)
    finally:
        stop.set()
        await relaying
        await sender.stop()
        await server.stop()


async def test_a_collector_holds_a_customer_and_sees_it_on_the_timeline(
    site: Site, browser: Browser
) -> None:
    page = await signed_in(browser, site.url, "camille")
    await page.goto("/customers/C-1001")
    until = (NOW + timedelta(days=14)).date()  # 30/03/2026
    await page.get_by_label("Until").fill(until.isoformat())
    await page.get_by_label("Reason").fill("credit note pending")
    await page.get_by_role("button", name="Hold", exact=True).click()
    await page.wait_for_load_state()
    assert await page.locator("h1").inner_text() == "Confirm · Atelier Dubois SARL"
    confirmation = await page.locator("p.confirm").inner_text()
    assert "Dunning of Atelier Dubois SARL will stop until Mar 30, 2026" in confirmation
    assert "credit note pending" in confirmation
    assert await site.pool.fetchval("SELECT count(*) FROM outbox") == 0  # not yet
    confirm = page.locator("form:has(input[name=confirmed])")
    carried: dict[str, str | float | bool] = {
        name: await confirm.locator(f"input[name={name}]").input_value()
        for name in ("csrf_token", "command_id", "confirmed", "until", "reason")
    }
    await page.get_by_role("button", name="Confirm and send").click()
    await page.wait_for_url("**/customers/C-1001?sent=hold")
    assert "Sent, waiting for the scheduler." in await page.locator("main").inner_text()
    waiting = await page.locator("ul.waiting").inner_text()
    assert "Hold" in waiting
    assert "credit note pending" in waiting

    records = await consume(site.bootstrap, site.commands.name, expected=1)
    assert len(records) == 1
    assert records[0].key == b"C-1001"
    event = site.commands.parse(records[0].value)
    assert isinstance(event, commands.HoldCommand)
    hold = event.payload
    assert (hold.customer_id, hold.until, hold.reason, hold.invoice_id) == (
        "C-1001",
        until,
        "credit note pending",
        None,
    )
    assert hold.actor.subject == "local:camille"
    assert hold.actor.roles == ("collector",)
    assert hold.actor.collector_codes == ("C12",)

    # The same confirmation posted again (a retry) is the same command: sent once.
    assert carried["command_id"] == str(hold.command_id)
    again = await page.request.post("/customers/C-1001/actions/hold", form=carried)
    assert again.status == 200  # redirected to the customer page
    assert len(await consume(site.bootstrap, site.commands.name, expected=2, timeout_s=3)) == 1

    executed = dunning.CommandExecuted(
        event_id=UUID("5b0f6a44-6a8e-4a51-9d2b-1c9d2e3f4a5b"),
        occurred_at=NOW + timedelta(hours=1),
        source="scheduler",
        payload=dunning.ExecutedCommand(
            command_id=hold.command_id,
            command="hold",
            customer_id="C-1001",
            company_code="FR01",
            actor_subject=hold.actor.subject,
            actor_role="collector",
            requested_at=hold.requested_at,
            executed_at=NOW + timedelta(hours=1),
            detail={"until": until.isoformat(), "reason": "credit note pending"},
        ),
    )
    await feed(site.pool, [(DUNNING_ACTIONS, executed)])
    await page.goto("/customers/C-1001")
    entry = await page.locator("ol.timeline > li").first.inner_text()
    assert "Hold" in entry
    assert "until Mar 30, 2026" in entry
    assert "credit note pending" in entry
    assert "by camille" in entry
    assert await page.locator("ul.waiting").count() == 0  # executed: no longer waiting


async def test_refused_posts(site: Site, browser: Browser) -> None:
    page = await signed_in(browser, site.url, "camille")
    await page.goto("/customers/C-1001")
    token = await page.locator("form.action-hold input[name=csrf_token]").input_value()
    command_id = await page.locator("form.action-hold input[name=command_id]").input_value()
    form: dict[str, str | float | bool] = {
        "command_id": command_id,
        "until": "2026-04-30",
        "reason": "r",
        "confirmed": "yes",
    }
    english = {"accept-language": "en"}

    without_token = await page.request.post(
        "/customers/C-1001/actions/hold", form=form, headers=english
    )
    assert without_token.status == 403
    assert "security token" in await without_token.text()

    outside = await page.request.post(
        "/customers/C-2001/actions/hold", form={**form, "csrf_token": token}, headers=english
    )
    assert outside.status == 403
    assert "outside your portfolio" in await outside.text()

    scenario = await page.request.post(
        "/customers/C-1001/actions/change_scenario",
        form={"csrf_token": token, "command_id": command_id, "scenario_id": "gentle"},
    )
    assert scenario.status == 403  # a collector does not change scenarios
    assert await page.locator("form.action-change_scenario").count() == 0

    viewer = await signed_in(browser, site.url, "vera")
    await viewer.goto("/customers/C-1001")
    assert await viewer.locator("form.action").count() == 0
    assert await viewer.get_by_role("button", name="Hold").count() == 0
    viewer_token = await viewer.locator("form.who input[name=csrf_token]").input_value()
    refused = await viewer.request.post(
        "/customers/C-1001/actions/hold", form={**form, "csrf_token": viewer_token}
    )
    assert refused.status == 403
    assert await site.pool.fetchval("SELECT count(*) FROM sent_command") == 0
    assert await site.pool.fetchval("SELECT count(*) FROM outbox") == 0


async def test_an_action_on_one_invoice_names_only_this_customer_s_invoices(
    site: Site, browser: Browser
) -> None:
    """Hold, release, send now and note offer the whole account or one of its invoices; an
    invoice of another customer posted on this page is refused before anything is sent."""
    page = await signed_in(browser, site.url, "camille")
    await page.goto("/customers/C-1001")
    for action in ("hold", "release", "send_now", "add_note"):
        options = await page.locator(
            f"form.action-{action} select[name=invoice_id] option"
        ).all_inner_texts()
        assert options[1:]
        assert set(options[1:]) <= {"INV-1", "INV-2", "INV-3", "INV-4"}
        assert "INV-D1" not in options
    token = await page.locator("form.action-hold input[name=csrf_token]").input_value()
    command_id = await page.locator("form.action-hold input[name=command_id]").input_value()
    form: dict[str, str | float | bool] = {
        "csrf_token": token,
        "command_id": command_id,
        "until": "2026-04-30",
        "reason": "delivery checked with the warehouse",
        "confirmed": "yes",
    }
    english = {"accept-language": "en"}

    foreign = await page.request.post(
        "/customers/C-1001/actions/hold",
        form={**form, "invoice_id": "DE02/INV-D1"},
        headers=english,
    )
    assert foreign.status == 422
    assert "Invoice is not valid" in await foreign.text()
    assert await site.pool.fetchval("SELECT count(*) FROM sent_command") == 0

    await page.locator("form.action-hold select[name=invoice_id]").select_option(label="INV-2")
    await page.fill("#hold-until", "2026-04-30")
    await page.fill("#hold-reason", "delivery checked with the warehouse")
    await page.locator("form.action-hold button[type=submit]").click()
    assert "INV-2" in await page.locator("p.confirm").inner_text()
    await page.get_by_role("button", name="Confirm and send").click()
    await page.wait_for_load_state()
    row = await site.pool.fetchrow("SELECT command, invoice_id FROM sent_command")
    assert row is not None
    assert (row["command"], row["invoice_id"]) == ("hold", "FR01/INV-2")
    (record,) = await consume(site.bootstrap, site.commands.name, 1)
    assert record.value is not None
    command = site.commands.parse(record.value)
    assert isinstance(command, commands.HoldCommand)
    assert command.payload.invoice_id == "FR01/INV-2"
    assert command.payload.customer_id == "C-1001"
