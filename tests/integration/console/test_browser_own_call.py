"""A collector's call of their own, from the customer page to the timeline, in a real
browser (Debian's chromium driven by Playwright) and through the real services: the call
logged with a promise and confirmed; its ``log_call`` (no reminder) taken from the
console's outbox and executed by the scheduler's command desk; the promise it forwards
recorded by the disputes service; what both publish read back by the console. Each service
on its own schema of one fresh PostgreSQL database; records handed over as Kafka would (the
consumers' batch processors, bytes in)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser

from contracts import disputes, dunning
from contracts.topics import (
    DISPUTE_COMMANDS,
    DISPUTE_EVENTS,
    DUNNING_ACTIONS,
    DUNNING_COMMANDS,
    LEDGER_EVENTS,
    Topic,
)
from services.console.settings import ConsoleSettings
from services.console.web.pages import Console
from services.disputes.app import DEFINITION as DISPUTES
from services.disputes.app import policy_of as disputes_policy
from services.disputes.casebook import Casebook
from services.disputes.handler import CommandHandler
from services.disputes.settings import DisputesSettings
from services.runtime import migrations
from services.runtime.auth import Authenticator, AuthSettings
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import BatchProcessor, Handler
from services.runtime.database import create_pool
from services.runtime.dead_letter import IncomingRecord
from services.runtime.health import HealthState, HttpServer, build_app
from services.runtime.settings import DatabaseSettings
from services.scheduler.app import DEFINITION as SCHEDULER
from services.scheduler.commands import CommandDesk, handler
from tests.integration.console.conftest import feed
from tests.integration.console.story import NOW, call_closed, events
from tests.integration.console.test_browser import (
    USERS,
    shot,
    signed_in,
)
from tests.integration.scheduler.fixtures import Scheduler

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which("chromium"), reason="apt-get install chromium"),
]

LATER = NOW + timedelta(hours=1)  # after the story's last event: the call comes first
NOTE = "Virement vendredi, <b>markup</b> du client"


async def _pool(database_url: str, schema: str, folder: Path | None) -> asyncpg.Pool:
    await migrations.apply_async(database_url, schema, folder)
    return await create_pool(DatabaseSettings(url=database_url), schema)


@pytest.fixture
async def services(database_url: str) -> AsyncIterator[tuple[asyncpg.Pool, asyncpg.Pool]]:
    """The scheduler's and the disputes service's databases (beside the console's)."""
    scheduler = await _pool(database_url, SCHEDULER.schema, SCHEDULER.migrations)
    disputes_pool = await _pool(database_url, DISPUTES.schema, DISPUTES.migrations)
    yield scheduler, disputes_pool
    await scheduler.close()
    await disputes_pool.close()


@pytest.fixture
async def console_url(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[str]:
    await feed(pool, [*events(), call_closed()])
    users = tmp_path / "users.yaml"
    users.write_text(USERS, encoding="utf-8")
    auth = AuthSettings(users_file=users, signing_keys="k1:" + "s" * 40)
    clock = SimulatedClock(LATER)
    console = Console(
        pool, clock, ConsoleSettings(auth=auth), Authenticator("console", auth, clock)
    )
    server = HttpServer(build_app(HealthState("console"), [console.router()]), "127.0.0.1", 0)
    await server.start()
    try:
        yield f"http://localhost:{server.port}"
    finally:
        await server.stop()


async def outbox(pool: asyncpg.Pool, topic: str) -> list[IncomingRecord]:
    """What a service put in its outbox for ``topic``, as its consumers would receive it."""
    rows = await pool.fetch(
        "SELECT id, topic, key, value FROM outbox WHERE topic = $1 ORDER BY id", topic
    )
    return [IncomingRecord(r["topic"], 0, r["id"], r["key"], r["value"]) for r in rows]


async def consume(
    service: str,
    pool: asyncpg.Pool,
    consumes: Sequence[Topic],
    handle: Handler,
    records: Sequence[IncomingRecord],
) -> None:
    processor = BatchProcessor(service, consumes, handle, pool, SimulatedClock(LATER))
    await processor.process(list(records))


async def test_a_collector_logs_a_call_of_their_own_with_a_promise_and_sees_it(
    console_url: str,
    browser: Browser,
    pool: asyncpg.Pool,
    services: tuple[asyncpg.Pool, asyncpg.Pool],
) -> None:
    scheduler_pool, disputes_pool = services
    ledger = [event for topic, event in events() if topic == LEDGER_EVENTS]
    scheduler = Scheduler.of(scheduler_pool, SimulatedClock(LATER))
    await scheduler.feed(ledger)  # the customers and invoices both services know
    cases = CommandHandler(Casebook(disputes_policy(DisputesSettings())), "commercial")
    ledger_records = [
        IncomingRecord(LEDGER_EVENTS.name, 0, n, LEDGER_EVENTS.key(e), LEDGER_EVENTS.value(e))
        for n, e in enumerate(ledger)
    ]
    await consume("disputes", disputes_pool, DISPUTES.consumes, cases.handle, ledger_records)

    page = await signed_in(browser, console_url, "camille")
    await page.goto("/customers/C-1001")
    await page.get_by_role("link", name="Log a call").click()
    await page.wait_for_url("**/customers/C-1001/call")
    assert await page.locator("a.tel").get_attribute("href") == "tel:+33142000000"
    assert await page.locator("#contact-1").is_checked()  # the one phone contact on file
    await page.get_by_label("Only those ticked below").check()
    await page.get_by_label("INV-1 ·").check()
    await page.get_by_label("INV-3 ·").check()
    await page.get_by_label("Promise to pay").check()
    await page.get_by_label("Promised date").fill("2026-03-20")
    await page.get_by_label("Promised amount (EUR / USD)").fill("1200")
    await page.locator("form.action-log_call").get_by_label("Note").fill(NOTE)
    await shot(page, "console-own-call.png")
    await page.get_by_role("button", name="Log the call").click()
    await page.wait_for_load_state()

    assert await page.locator("h1").inner_text() == "Confirm · Atelier Dubois SARL"
    confirmation = await page.locator("div.confirm").inner_text()
    assert "Promise to pay" in confirmation
    assert "Called: billing · Claire Martin · +33142000000" in confirmation
    assert "About the invoices INV-1, INV-3" in confirmation
    assert "€1,200.00 by Mar 20, 2026" in confirmation
    assert NOTE in confirmation  # as text
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0  # not yet
    await page.get_by_role("button", name="Confirm and send").click()
    await page.wait_for_url("**/customers/C-1001?sent=log_call")
    assert "Sent, waiting for the scheduler." in await page.locator("main").inner_text()

    # The scheduler executes the command as its consumer would, from the console's outbox.
    (sent,) = await outbox(pool, DUNNING_COMMANDS.name)
    desk = handler(scheduler.tracker.apply, CommandDesk(scheduler.tracker.policy))
    await consume("scheduler", scheduler_pool, SCHEDULER.consumes, desk, [sent])
    (executed,) = [
        e
        for e in map(
            DUNNING_ACTIONS.parse,
            [r.value for r in await outbox(scheduler_pool, DUNNING_ACTIONS.name)],
        )
        if isinstance(e, dunning.CommandExecuted)
    ]
    assert executed.payload.command == "log_call"
    assert "markup" not in executed.model_dump_json()  # the note stays out of the audit
    (forwarded,) = await outbox(scheduler_pool, DISPUTE_COMMANDS.name)
    record = DISPUTE_COMMANDS.parse(forwarded.value)
    assert isinstance(record, disputes.RecordPromise)
    assert record.payload.invoice_ids == ("FR01/INV-1", "FR01/INV-3")

    # The disputes service records the promise and publishes it.
    await consume("disputes", disputes_pool, DISPUTES.consumes, cases.handle, [forwarded])
    published = [
        DISPUTE_EVENTS.parse(r.value) for r in await outbox(disputes_pool, DISPUTE_EVENTS.name)
    ]
    (made,) = [e for e in published if isinstance(e, disputes.PromiseMade)]
    assert made.payload.channel == "phone_call"
    assert made.payload.recorded_by == "local:camille"

    await feed(pool, [(DUNNING_ACTIONS, executed), (DISPUTE_EVENTS, made)])
    await page.goto("/customers/C-1001")
    timeline = page.locator("ol.timeline > li")
    texts = await timeline.all_inner_texts()
    # The call and the promise it recorded carry the same instant: found by what they say.
    (call,) = [t for t in texts if "Call logged · INV-1, INV-3" in t]
    (promise,) = [
        t for t in texts if "Promise to pay · INV-1, INV-3" in t and "Call logged" not in t
    ]
    assert "Call logged · INV-1, INV-3" in call
    assert "Promise to pay" in call
    assert "€1,200.00 · by Mar 20, 2026" in call
    assert "called billing · Claire Martin · +33142000000" in call
    assert "by camille" in call
    assert NOTE in call  # the customer's words as text, not markup
    assert await page.locator("ol.timeline b").count() == 0
    assert "Promise to pay · INV-1, INV-3" in promise
    assert "€1,200.00 · by Mar 20, 2026 · Phone call" in promise
    rows = page.locator("table.items tbody tr")
    statuses = {
        await row.locator("th").inner_text(): await row.locator(".status").inner_text()
        for row in await rows.all()
    }
    assert statuses["INV-1"] == statuses["INV-3"] == "Promised"
    assert statuses["INV-2"] == "Disputed"
    await page.get_by_role("link", name="Promises and plans").click()
    await page.wait_for_url("**/promises")
    listed = await page.locator("section[aria-labelledby=promises]").inner_text()
    assert "Atelier Dubois SARL" in listed
    assert "€1,200.00" in listed
    assert "Mar 20, 2026" in listed
