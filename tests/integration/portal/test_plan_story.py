"""A payment plan proposed by a customer, accepted by a credit manager, in real browsers.

Debian's chromium driven by Playwright, the portal, the disputes service, the console and
the notifier on one PostgreSQL, the portal's command through the real Kafka, the written
confirmation through a real SMTP server (aiosmtpd) on loopback: the customer proposes a
plan on the page (a total that does not match first, said beside the field with what was
typed kept), a credit manager accepts it from the console's Promises and plans, the
customer receives the confirmation with its instalments, the plan runs in the console and
the page shows it accepted.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from playwright.async_api import Browser

from contracts import disputes, erp
from contracts.envelope import Event
from contracts.topics import DISPUTE_COMMANDS, DISPUTE_EVENTS, LEDGER_EVENTS
from services.console.app import DEFINITION as CONSOLE
from services.console.settings import ConsoleSettings
from services.console.web.pages import Console
from services.disputes.app import DEFINITION as DISPUTES
from services.notifier.channels.email.smtp import SmtpChannel
from services.notifier.handler import handle
from services.notifier.notices import NoticeComposer, NoticeSender
from services.notifier.settings import NotifierSettings, SmtpSettings
from services.runtime import migrations
from services.runtime.auth import Authenticator, AuthSettings
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import UnitOfWork
from services.runtime.database import create_pool
from services.runtime.health import HealthState, HttpServer, build_app
from services.runtime.identity import hash_password
from services.runtime.settings import DatabaseSettings
from tests.integration.console.conftest import feed as feed_console
from tests.integration.console.test_browser import (
    PASSWORD,
    shot,
    signed_in,
)
from tests.integration.disputes.harness import Disputes
from tests.integration.notifier.harness import Mailbox, free_port
from tests.integration.portal.conftest import Site
from tests.integration.portal.conftest import feed as feed_portal
from tests.kafka_tools import consume
from tests.unit.notifier.conftest import companies_file  # noqa: F401 (autouse fixture)
from tests.unit.portal import samples

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="apt-get install chromium"),
]

USERS = f"""
users:
  claire:
    name: Claire Moreau
    role: credit_manager
    password_hash: "{hash_password(PASSWORD)}"
"""


def customer_with_contacts() -> Event:
    """The sample customer with its billing contact, whom the confirmation goes to."""
    event = samples.customer()
    payload = event.payload.model_copy(
        update={
            "contacts": (
                erp.Contact(role="billing", name="Claire Dupont", email="compta@dupont.example"),
            )
        }
    )
    return event.model_copy(update={"payload": payload})


class Services:
    """The disputes service, the console's read model and the notifier, fed as Kafka would."""

    def __init__(self, disputes_: Disputes, console_pool: asyncpg.Pool, notifier: asyncpg.Pool):
        self.disputes = disputes_
        self.console_pool = console_pool
        self.notifier = notifier
        self.forwarded = 0

    async def ledger(self, events: list[Event]) -> None:
        await self.disputes.feed(events)
        await feed_console(self.console_pool, [(LEDGER_EVENTS, e) for e in events])
        await self.to_notifier(events)

    async def to_notifier(self, events: list[Event]) -> None:
        async with self.notifier.acquire() as connection, connection.transaction():
            await handle(UnitOfWork(connection, SimulatedClock(samples.NOW)), events)

    async def command(self, site: Site, command: Event) -> list[Event]:
        """One command to the disputes service; what it publishes, to everyone."""
        await self.disputes.feed([command])
        assert self.disputes.rejected == []
        published = await self.disputes.published(self.forwarded)
        self.forwarded = published[-1][0]
        events = [e for _, e in published]
        await feed_portal(site.pool, site.clock, events)
        await feed_console(self.console_pool, [(DISPUTE_EVENTS, e) for e in events])
        await self.to_notifier(events)
        return events


@pytest.fixture
async def services(database_url: str) -> AsyncIterator[Services]:
    pools = []
    for definition in (DISPUTES, CONSOLE):
        await migrations.apply_async(database_url, definition.schema, definition.migrations)
        pools.append(await create_pool(DatabaseSettings(url=database_url), definition.schema))
    notifier_migrations = Path(__file__).parents[3] / "services" / "notifier" / "migrations"
    await migrations.apply_async(database_url, "notifier", notifier_migrations)
    pools.append(await create_pool(DatabaseSettings(url=database_url), "notifier"))
    ready = Services(Disputes(pools[0], SimulatedClock(samples.NOW)), pools[1], pools[2])
    ledger = [e for e in samples.account_events() if e.event_type.startswith("ledger.")]
    await ready.ledger([customer_with_contacts(), *ledger[1:]])
    yield ready
    for pool in pools:
        await pool.close()


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture
async def console_url(services: Services, tmp_path: Path) -> AsyncIterator[str]:
    users = tmp_path / "users.yaml"
    users.write_text(USERS, encoding="utf-8")
    auth = AuthSettings(users_file=users, signing_keys="k1:" + "s" * 40)
    clock = SimulatedClock(samples.NOW)
    console = Console(
        services.console_pool,
        clock,
        ConsoleSettings(auth=auth, secure_cookies=False),
        Authenticator("console", auth, clock),
    )
    server = HttpServer(build_app(HealthState("console"), [console.router()]), "127.0.0.1", 0)
    await server.start()
    yield f"http://127.0.0.1:{server.port}"
    await server.stop()


def _text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    content: Any = body.get_content()
    return str(content)


async def test_a_plan_proposed_on_the_portal_accepted_in_the_console_and_confirmed(
    site: Site,
    services: Services,
    console_url: str,
    browser: Browser,
    mailbox: tuple[Mailbox, int],
) -> None:
    # the customer proposes a plan for two invoices (700.00 + 480.00 open)
    context = await browser.new_context(viewport={"width": 1024, "height": 900}, locale="fr-FR")
    page = await context.new_page()
    await page.goto(site.account_url)
    plan = page.locator("form[action$='/plan']")
    for invoice in ("FR01/F-2026-001", "FR01/F-2026-002"):
        await plan.locator(f"input[name=invoice][value='{invoice}']").check()
    await page.fill("#instalment-date-1", "2026-03-05")
    await page.fill("#instalment-amount-1", "580")
    await page.fill("#instalment-date-2", "2026-04-02")
    await page.fill("#instalment-amount-2", "599")
    await plan.get_by_role("button").click()
    await page.wait_for_load_state()
    assert "Les échéances totalisent 1179.00 EUR" in await page.locator("#plan").inner_text()
    assert await page.input_value("#instalment-amount-1") == "580"  # nothing typed is lost
    assert await plan.locator("input[value='FR01/F-2026-002']").is_checked()
    await shot(page, "portal-plan-error.png")
    await page.fill("#instalment-amount-2", "600")
    await page.locator("form[action$='/plan']").get_by_role("button").click()
    await page.wait_for_url("**?done=plan")
    assert "votre échéancier est transmis" in await page.locator(".notice").inner_text()

    (record,) = await consume(site.bootstrap, site.commands.name, expected=1)
    proposal = DISPUTE_COMMANDS.parse(record.value)
    assert isinstance(proposal, disputes.ProposePaymentPlan)
    (proposed,) = await services.command(site, proposal)
    assert isinstance(proposed, disputes.PaymentPlanProposed)

    # a credit manager accepts it from Promises and plans
    console = await signed_in(browser, console_url, "claire")
    await console.goto("/promises")
    row = console.locator(f"tr[data-proposal='{proposal.payload.proposal_id}']")
    assert "F-2026-001, F-2026-002" in await row.inner_text()
    await shot(console, "console-plans-proposed.png")
    await row.get_by_role("button", name="Accept").click()
    await console.wait_for_url("**/promises?plan=accept")
    (sent,) = await services.console_pool.fetch(
        "SELECT value FROM outbox WHERE topic = $1", DISPUTE_COMMANDS.name
    )
    acceptance = DISPUTE_COMMANDS.parse(sent["value"])
    assert isinstance(acceptance, disputes.AcceptPaymentPlan)
    (agreed,) = await services.command(site, acceptance)
    assert isinstance(agreed, disputes.PaymentPlanAgreed)
    assert agreed.payload.agreed_by == "local:claire"

    # the customer receives the written confirmation
    box, port = mailbox
    settings = NotifierSettings(smtp=SmtpSettings(host="127.0.0.1", port=port, security="none"))
    sender = NoticeSender(
        services.notifier,
        SimulatedClock(samples.NOW),
        settings,
        NoticeComposer(settings),
        SmtpChannel(settings),
    )
    assert await sender.send_all() == 1
    ((envelope, message),) = box.received
    assert envelope.rcpt_tos == ["compta@dupont.example"]
    assert "échéancier" in message["Subject"]
    text = _text(message)
    assert "580,00\u00a0€ au plus tard le 5 mars 2026" in text
    assert "600,00\u00a0€ au plus tard le 2 avril 2026" in text

    # the plan runs in the console, and the page says it was accepted
    await console.goto("/promises")
    plans = await console.locator("section[aria-labelledby=plans]").inner_text()
    assert "Ateliers <Dupont> & Fils" in plans
    assert "local:claire" in plans
    assert await console.locator(f"tr[data-proposal='{proposal.payload.proposal_id}']").count() == 0
    await page.goto(site.account_url)
    assert (
        await page.get_attribute('li.invoice[data-invoice="F-2026-001"]', "data-status")
        == "in_plan"
    )
    assert "accepté" in await page.locator("ul.proposals").inner_text()
    await context.close()
