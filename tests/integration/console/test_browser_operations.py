"""The Operations page in a real browser (Debian's chromium driven by Playwright), with the
scheduler's database, commands desk and operators' routes on the same PostgreSQL:

- a credit manager suspends one company from the page (scope, reason, confirmation); the
  command goes through the console's outbox and a real Kafka topic to the scheduler's
  consumer plumbing, which executes it, and the
  next tick sends nothing for that company while the other company's customer gets its
  reminder;
- a campaign's dry run shows the recipients and one recipient's message rendered by the
  notifier, then the launch sends ``launch_campaign`` citing the dry run's fingerprint,
  which the scheduler executes;
- the library's versions and a diff between two of them;
- a collector gets 403 on every Operations route.

``RELANCE_SCREENSHOTS=1`` writes the page's screenshot into docs/images/."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yaml
from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from playwright.async_api import Browser
from pydantic import SecretStr

from contracts import commands, dunning
from contracts.topics import DUNNING_ACTIONS, DUNNING_COMMANDS, Topic
from services.console.settings import ConsoleSettings
from services.console.web.pages import Console
from services.runtime import migrations
from services.runtime.auth import Authenticator, AuthSettings
from services.runtime.database import create_pool
from services.runtime.dead_letter import IncomingRecord
from services.runtime.health import HealthState, HttpServer, build_app
from services.runtime.outbox import KafkaRecordSender, OutboxRelay
from services.runtime.settings import DatabaseSettings, KafkaSettings
from services.scheduler.library_store import reload_library
from services.scheduler.operations_api import OperationsApi
from tests.integration.console.conftest import feed
from tests.integration.console.story import events
from tests.integration.console.test_browser import (
    USERS,
    shot,
    signed_in,
)
from tests.integration.scheduler.fixtures import customer, opened
from tests.integration.scheduler.test_commands import MIGRATIONS, Desk, paris
from tests.kafka_tools import consume, create_topics, unique

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which("chromium"), reason="apt-get install chromium"),
]

KEY = "console-operations-key-0123456789"
LIBRARY = Path(__file__).resolve().parents[3] / "scenarios"
TODAY = date(2026, 12, 15)  # a Tuesday


NAMES = {"C-1001": "Atelier Dubois SARL"}  # the notifier's own view of its customers


class Notifier:
    """The notifier's ``POST /previews/reminders`` as the console meets it (the real route
    is tested in tests/integration/notifier/test_proposal_previews.py)."""

    def __init__(self) -> None:
        self.rendered: list[str] = []

    def router(self) -> APIRouter:
        router = APIRouter()

        async def render(
            request: Request, x_api_key: str | None = Header(default=None)
        ) -> Response:
            if x_api_key != KEY:
                return Response(status_code=401)
            reminder = dunning.Reminder.model_validate(await request.json())
            self.rendered.append(reminder.customer_id)
            message = EmailMessage()
            message["Subject"] = f"Year-end reminder for {reminder.customer_id}"
            message["From"] = "relances@creditor.example"
            message["To"] = "compta@client.example"
            numbers = ", ".join(i.invoice_number for i in reminder.invoices)
            message.set_content(f"Please pay <b>{numbers}</b> before the year ends.")
            name = NAMES.get(reminder.customer_id, reminder.customer_id)
            message.add_alternative(f"<p>Dear {name}, please pay {numbers}.</p>", subtype="html")
            return Response(message.as_bytes(), media_type="message/rfc822")

        router.add_api_route("/previews/reminders", render, methods=["POST"])
        return router


@dataclass
class Site:
    url: str
    console: asyncpg.Pool
    desk: Desk
    notifier: Notifier
    commands: Topic  # a fresh copy of dunning.commands.v1 the console's relay writes to
    bootstrap: str
    delivered: int = 0

    async def deliver_commands(self, expected: int = 1) -> list[Any]:
        """The console's commands as the scheduler's consumer receives them: relayed from
        the console's outbox to Kafka, read back, processed by the scheduler's plumbing."""
        records = await consume(self.bootstrap, self.commands.name, self.delivered + expected)
        fresh = records[self.delivered :]
        assert len(fresh) == expected
        self.delivered += expected
        delivered = []
        for record in fresh:
            self.desk.offset += 1
            incoming = IncomingRecord(
                DUNNING_COMMANDS.name, 0, self.desk.offset, record.key, record.value
            )
            await self.desk.processor.process([incoming])
            delivered.append(DUNNING_COMMANDS.parse(record.value))
        return delivered


@pytest.fixture
async def site(
    pool: asyncpg.Pool, database_url: str, tmp_path: Path, kafka_bootstrap: str
) -> AsyncIterator[Site]:
    await feed(pool, events())  # the console's read model: C-1001 (FR01), C-2001 (DE02)
    await migrations.apply_async(database_url, "scheduler", MIGRATIONS)
    scheduler_pool = await create_pool(DatabaseSettings(url=database_url), "scheduler")
    now = paris(TODAY, 10)
    desk = Desk(scheduler_pool, now - timedelta(days=60))
    await desk.scheduler.feed(
        [
            customer("C-1001"),
            opened("C-1001", "INV-1", date(2026, 11, 20)),
            customer("C-2001"),
            opened("C-2001", "D-7", date(2026, 11, 20)),
        ]
    )
    await scheduler_pool.execute(
        "UPDATE customer SET company_code = 'DE02' WHERE customer_id = 'C-2001'"
    )
    await scheduler_pool.execute(
        "UPDATE dunning_invoice SET company_code = 'DE02' WHERE customer_id = 'C-2001'"
    )
    desk.clock.set(now)
    folder = tmp_path / "scenarios"
    shutil.copytree(LIBRARY, folder)
    policy = desk.scheduler.tracker.policy
    await reload_library(scheduler_pool, policy, folder, by="local:alex", now=now)
    negligent = yaml.safe_load((folder / "negligent.yaml").read_text())
    negligent["description"] = "Negligent payers: a gentler first step"
    negligent["steps"][0]["offset_days"] = -3
    (folder / "negligent.yaml").write_text(yaml.safe_dump(negligent, sort_keys=False))
    await reload_library(scheduler_pool, policy, folder, by="local:dominique", now=now)

    scheduler_auth = Authenticator(
        "scheduler", AuthSettings(api_keys=SecretStr(f"credit_manager:console:{KEY}")), desk.clock
    )
    scheduler = HttpServer(
        build_app(
            HealthState("scheduler"),
            [OperationsApi(scheduler_pool, desk.clock, policy, scheduler_auth).router()],
        ),
        "127.0.0.1",
        0,
    )
    notifier = Notifier()
    notifier_server = HttpServer(
        build_app(HealthState("notifier"), [notifier.router()]), "127.0.0.1", 0
    )
    users = tmp_path / "users.yaml"
    users.write_text(USERS, encoding="utf-8")
    auth = AuthSettings(users_file=users, signing_keys="k1:" + "s" * 40)
    await scheduler.start()
    await notifier_server.start()
    settings = ConsoleSettings(
        auth=auth,
        scheduler_url=f"http://127.0.0.1:{scheduler.port}",
        scheduler_api_key=KEY,
        notifier_url=f"http://127.0.0.1:{notifier_server.port}",
        notifier_api_key=KEY,
    )
    topic = dataclasses.replace(DUNNING_COMMANDS, name=unique(DUNNING_COMMANDS.name))
    await create_topics(kafka_bootstrap, [topic.name], partitions=1)
    console = Console(
        pool,
        desk.clock,
        settings,
        Authenticator("console", auth, desk.clock),
        commands_topic=topic,
    )
    server = HttpServer(build_app(HealthState("console"), [console.router()]), "127.0.0.1", 0)
    await server.start()
    sender = KafkaRecordSender(
        KafkaSettings(bootstrap_servers=kafka_bootstrap).client_options(), client_id="console-o"
    )
    await sender.start()
    stop = asyncio.Event()
    relaying = asyncio.create_task(
        OutboxRelay("console", pool, sender, poll_interval_s=0.1).run(stop)
    )
    try:
        yield Site(f"http://localhost:{server.port}", pool, desk, notifier, topic, kafka_bootstrap)
    finally:
        stop.set()
        await relaying
        await sender.stop()
        await server.stop()
        await notifier_server.stop()
        await scheduler.stop()
        await scheduler_pool.close()


async def test_a_credit_manager_suspends_one_company_and_nothing_is_sent_for_it(
    site: Site,
    browser: Browser,
) -> None:
    page = await signed_in(browser, site.url, "dominique")
    await page.get_by_role("link", name="Operations").click()
    await page.wait_for_url("**/operations")
    assert "Sending is not suspended anywhere." in await page.locator("main").inner_text()
    assert await page.locator("form.action-resume").count() == 0
    versions = await page.locator("table.versions").inner_text()
    assert "Negligent payers: a gentler first step" in versions
    assert "local:dominique" in versions

    form = page.locator("form.action-suspend")
    await form.get_by_label("Scope").select_option("FR01")
    await form.get_by_label("Reason").fill("ERP migration weekend")
    await form.get_by_role("button", name="Suspend").press("Enter")
    await page.wait_for_load_state()
    confirmation = await page.locator("p.confirm").inner_text()
    assert "Nothing will be sent to the customers of company FR01" in confirmation
    assert "ERP migration weekend" in confirmation
    assert await site.console.fetchval("SELECT count(*) FROM sent_command") == 0  # not yet
    await page.get_by_role("button", name="Confirm and send").click()
    await page.wait_for_url("**/operations?sent=suspend")
    assert "The suspension was sent" in await page.locator("[role=status]").inner_text()

    (sent,) = await site.deliver_commands()
    assert isinstance(sent, commands.SuspendSendingCommand)
    assert (sent.payload.company_code, sent.payload.actor.subject) == ("FR01", "local:dominique")
    suspended = [
        e.payload
        for e in await site.desk.scheduler.emitted()
        if isinstance(e, dunning.SendingSuspended)
    ]
    assert [(s.company_code, s.by, s.role) for s in suspended] == [
        ("FR01", "local:dominique", "credit_manager")
    ]
    # the scheduler's announcement reaches the console's read model: listed, resumable
    announced = [
        e for e in await site.desk.scheduler.emitted() if isinstance(e, dunning.SendingSuspended)
    ]
    await feed(site.console, [(DUNNING_ACTIONS, e) for e in announced])
    await page.goto("/operations")
    listed = await page.locator("table.suspensions tbody").inner_text()
    assert "Company FR01" in listed
    assert "ERP migration weekend" in listed
    assert "local:dominique" in listed
    resume = page.locator("form.action-resume")
    assert await resume.get_by_label("Scope").locator("option").all_inner_texts() == [
        "Company FR01"
    ]
    await shot(page, "console-operations-actions.png")

    # an hour later (sessions end after 15 idle minutes: the console shares this clock)
    await site.desk.tick(paris(TODAY, 11))
    reached = {r.customer_id for r in await site.desk.reminders()}
    assert reached == {"C-2001"}  # nothing for FR01's customer; DE02's goes on

    # a collector gets 403 on the page and on every action
    collector = await signed_in(browser, site.url, "camille")
    assert await collector.get_by_role("link", name="Operations").count() == 0
    response = await collector.goto("/operations")
    assert response is not None
    assert response.status == 403
    token = await collector.locator("form.who input[name=csrf_token]").input_value()
    for path in (
        "/operations/suspend",
        "/operations/resume",
        "/operations/campaign/dry-run",
        "/operations/campaign/launch",
    ):
        refused = await collector.request.post(
            path,
            form={
                "csrf_token": token,
                "company": "FR01",
                "reason": "r",
                "command_id": str(sent.payload.command_id),
            },
        )
        assert refused.status == 403, path
    diff = await collector.goto("/operations/library/diff?scenario=negligent&before=1&after=2")
    assert diff is not None
    assert diff.status == 403
    assert await site.console.fetchval("SELECT count(*) FROM sent_command") == 1  # the suspension


async def test_a_campaign_dry_run_shows_recipients_and_a_rendered_message_then_launches(
    site: Site,
    browser: Browser,
) -> None:
    page = await signed_in(browser, site.url, "dominique")
    await page.goto("/operations")
    await page.get_by_label("Campaign name (letters, digits, dashes)").fill("year-end-2026")
    await page.get_by_label("Step name").fill("year-end-email")
    await page.get_by_label("Level").select_option("level_1")
    await page.get_by_label("Channel").select_option("email")
    await page.get_by_label("Template").select_option("reminder_firm")  # the library's
    await page.locator("#campaign-company").select_option("FR01")
    await page.locator("#campaign-risk").select_option(["medium", "high"])  # C-1001: medium
    await page.get_by_label("At least this many days overdue").fill("1")
    await page.get_by_role("button", name="Dry run").press("Enter")
    await page.wait_for_load_state()
    assert (
        "1 customer(s), 1 invoice(s). Nothing has been sent."
        in await page.locator("section[aria-labelledby=recipients]").inner_text()
    )
    recipients = await page.locator("table.recipients tbody").inner_text()
    assert "Atelier Dubois SARL" in recipients
    assert "INV-1" in recipients
    preview = page.locator("section[aria-labelledby=preview]")
    assert "Year-end reminder for C-1001" in await preview.inner_text()
    assert "Please pay <b>INV-1</b>" in await preview.locator("pre.message").inner_text()
    assert await page.locator("pre.message b").count() == 0  # shown as text
    assert site.notifier.rendered == ["C-1001"]
    assert not [r for r in await site.desk.reminders() if r.campaign_id]  # nothing sent
    await shot(page, "console-campaign-dry-run.png")
    fingerprint = await page.locator("input[name=fingerprint]").input_value()
    chosen = page.locator("#campaign-risk option:checked")  # the form again, as posted
    assert await chosen.all_inner_texts() == ["Medium risk", "High risk"]

    await page.get_by_role("button", name="Launch the campaign to 1 customer(s)").click()
    await page.wait_for_url("**/operations?sent=launch_campaign")
    notice = await page.locator("[role=status]").inner_text()
    assert "refused if the recipients changed since the dry run" in notice
    (launch,) = await site.deliver_commands()
    assert isinstance(launch, commands.LaunchCampaignCommand)
    assert launch.payload.fingerprint == fingerprint
    assert launch.payload.campaign.select.company_codes == ("FR01",)
    assert launch.payload.campaign.select.customers.risk_rating == ("medium", "high")
    sent = [r for r in await site.desk.reminders() if r.campaign_id == "year-end-2026"]
    assert [(r.customer_id, r.template) for r in sent] == [("C-1001", "reminder_firm")]


async def test_the_library_versions_and_a_diff(
    site: Site,
    browser: Browser,
) -> None:
    page = await signed_in(browser, site.url, "dominique")
    await page.goto("/operations")
    await page.get_by_role("link", name="Compare with version 1").first.click()
    await page.wait_for_url("**/operations/library/diff?scenario=negligent&before=1&after=2")
    diff = page.locator("pre.diff")
    added = await diff.locator(".added").all_inner_texts()
    removed = await diff.locator(".removed").all_inner_texts()
    assert any("Negligent payers: a gentler first step" in line for line in added)
    assert any("offset_days: -3" in line for line in added)
    assert removed
    await shot(page, "console-library-diff.png")
    missing = await page.goto("/operations/library/diff?scenario=negligent&before=1&after=9")
    assert missing is not None
    assert missing.status == 404
