"""The customer page in a real browser (Debian's chromium driven by Playwright): the header's
account team and holds in force, and a reminder sent opened from the timeline with its exact
copy (the email's HTML in a sandboxed frame where its script does not run, its text beside
it, its PDF) and its proofs, read from the notifier's archive with the console's key."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
from fastapi import APIRouter, Header, Response
from fastapi.responses import JSONResponse
from playwright.async_api import Browser

from contracts import dunning, ledger, notifications, reference
from contracts.envelope import Event
from contracts.erp import Contact, Segment
from contracts.money import Money, PositiveMoney
from contracts.topics import (
    DUNNING_ACTIONS,
    INTEREST_RATES,
    LEDGER_EVENTS,
    NOTIFIER_DELIVERIES,
    Topic,
)
from services.console.settings import ConsoleSettings
from services.console.web.pages import Console
from services.runtime.auth import Authenticator, AuthSettings
from services.runtime.clock import SimulatedClock
from services.runtime.health import HealthState, HttpServer, build_app
from tests.integration.console.conftest import feed
from tests.integration.console.story import NOW, TODAY, at, events, uid
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

KEY = "console-archive-key-0123456789"
SCRIPT_RAN = "the message's script ran"
PDF = b"%PDF-1.4\n% a statement of account\n%%EOF\n"
SENT = uid("delivery sent A")
HOLD_UNTIL = at(date(2026, 3, 30), 0)


def sent_email() -> bytes:
    message = EmailMessage()
    message["From"] = "Relance <relance@example.com>"
    message["To"] = "compta@example.com"
    message["Subject"] = "Relance : factures impayées"
    message.set_content("Madame, Monsieur,\n\nINV-1 : 700,00 € restent dus.\n")
    message.add_alternative(
        "<html><body><p>Madame, Monsieur,</p><p class='amount'>INV-1 : 700,00 € restent dus."
        f"</p><script>document.body.insertAdjacentText('beforeend', '{SCRIPT_RAN}');</script>"
        "</body></html>",
        subtype="html",
    )
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="releve.pdf")
    message.set_boundary("relance-sent-1")
    return message.as_bytes()


class Archive:
    """The notifier's proof archive as the console meets it (services/notifier/proof.py):
    the exact bytes with their SHA-256, the deliveries of an invoice, only with the key."""

    def __init__(self) -> None:
        self.content = sent_email()
        self.asked: list[str | None] = []

    def router(self) -> APIRouter:
        router = APIRouter()

        async def content(delivery_id: UUID, x_api_key: str | None = Header(default=None)) -> Any:
            self.asked.append(x_api_key)
            if x_api_key != KEY:
                return Response(status_code=401)
            if delivery_id != SENT:
                return JSONResponse({"error": "no content"}, status_code=404)
            digest = hashlib.sha256(self.content).hexdigest()
            return Response(
                self.content, media_type="message/rfc822", headers={"X-Content-SHA256": digest}
            )

        async def deliveries(invoice_id: str, x_api_key: str | None = Header(default=None)) -> Any:
            self.asked.append(x_api_key)
            if x_api_key != KEY:
                return Response(status_code=401)
            return JSONResponse(
                {
                    "deliveries": [
                        {
                            "delivery_id": str(SENT),
                            "channel": "email",
                            "status": "delivered",
                            "recipients": ["compta@example.com"],
                            "provider": "smtp",
                            "provider_tracking_id": "<relance-1@example.com>",
                            "content_sha256": hashlib.sha256(self.content).hexdigest(),
                            "invoice_ids": [invoice_id],
                            "attempts": [
                                {
                                    "attempt": 1,
                                    "started_at": "2026-03-12T09:00:00+00:00",
                                    "finished_at": "2026-03-12T09:00:01+00:00",
                                    "outcome": "sent",
                                    "detail": "250 queued",
                                }
                            ],
                            "reports": [
                                {"status": "delivered", "received_at": "2026-03-12T09:02:00+00:00"}
                            ],
                            "documents": [],
                        }
                    ]
                }
            )

        router.add_api_route("/deliveries/{delivery_id}/content", content, methods=["GET"])
        router.add_api_route("/invoices/{invoice_id:path}/deliveries", deliveries, methods=["GET"])
        return router


def header_events() -> list[tuple[Topic, Event]]:
    """A salesperson joins the account team, the customer is held until 30 March (INV-2
    paused for it), and the email reminder of 12 March was sent."""
    customer = ledger.LedgerCustomerUpserted(
        event_id=uid("customer C-1001 v2"),
        occurred_at=at(date(2026, 3, 1), 8),
        source="ingestion",
        payload=ledger.LedgerCustomer(
            customer_id="C-1001",
            company_code="FR01",
            version=2,
            name="Atelier Dubois SARL",
            country="FR",
            time_zone="Europe/Paris",
            language="fr",
            contacts=(
                Contact(
                    role="billing",
                    name="Claire Martin",
                    email="compta@example.com",
                    phone="+33142000000",
                ),
            ),
            segment=Segment(tags=("collector:C12", "sales:JMARTIN", "vip")),
        ),
    )
    hold = dunning.CommandExecuted(
        event_id=uid("hold executed"),
        occurred_at=at(date(2026, 3, 13), 10),
        source="scheduler",
        payload=dunning.ExecutedCommand(
            command_id=uid("hold command"),
            command="hold",
            customer_id="C-1001",
            company_code="FR01",
            actor_subject="local:camille",
            actor_role="collector",
            requested_at=at(date(2026, 3, 13), 10),
            executed_at=at(date(2026, 3, 13), 10),
            detail={"until": "2026-03-30", "reason": "credit note pending"},
        ),
    )
    paused = dunning.DunningStateChanged(
        event_id=uid("state INV-2 held"),
        occurred_at=at(date(2026, 3, 13), 10),
        source="scheduler",
        payload=dunning.InvoiceDunningState(
            customer_id="C-1001",
            company_code="FR01",
            invoice_id="FR01/INV-2",
            scenario_id="standard",
            step_name="level_1_email",
            level="level_1",
            paused=True,
            pause_reason="hold",
            last_action_at=at(date(2026, 3, 5), 9),
            paused_until=HOLD_UNTIL,
        ),
    )
    sent = notifications.DeliverySent(
        event_id=uid("sent A"),
        occurred_at=at(date(2026, 3, 12), 9),
        source="notifier",
        payload=notifications.ProviderDelivery(
            delivery_id=SENT,
            reminder_id=uid("reminder email A"),
            customer_id="C-1001",
            invoice_ids=("FR01/INV-1", "FR01/INV-2"),
            channel="email",
            at=at(date(2026, 3, 12), 9),
            provider="smtp",
        ),
    )
    rate = reference.ReferenceInterestRatePublished(
        event_id=uid("ecb rate"),
        occurred_at=at(date(2025, 6, 11), 8),
        source="ops",
        payload=reference.ReferenceInterestRate(
            kind="ecb_mro", valid_from=date(2025, 6, 11), rate=Decimal("2.15")
        ),
    )
    # the scheduler names the step its next action takes (dunning.state.changed version 2)
    next_step = dunning.DunningStateChanged(
        event_id=uid("state INV-1 next step"),
        occurred_at=at(date(2026, 3, 6), 9),
        source="scheduler",
        payload=dunning.InvoiceDunningState(
            customer_id="C-1001",
            company_code="FR01",
            invoice_id="FR01/INV-1",
            scenario_id="standard",
            step_name="level_1_email",
            level="level_1",
            paused=False,
            last_action_at=at(date(2026, 3, 5), 9),
            next_action_at=at(date(2026, 3, 20), 9),
            next_step=dunning.NextStep(step_name="firm", level="level_2", channel="email"),
        ),
    )
    # paid on 5 March, announced by the ledger on the 10th (open_amount_changed version 2)
    paid = ledger.OpenAmountChanged(
        event_id=uid("payment INV-2"),
        occurred_at=at(date(2026, 3, 10)),
        source="ingestion",
        payload=ledger.OpenAmountChange(
            company_code="FR01",
            customer_id="C-1001",
            invoice_id="FR01/INV-2",
            invoice_number="INV-2",
            previous_open_amount=Money(amount=Decimal(800), currency="EUR"),
            open_amount=PositiveMoney(amount=Decimal(500), currency="EUR"),
            cause="payment",
            cause_document_id="PAY-81",
            due_date=date(2026, 3, 3),
            amount=PositiveMoney(amount=Decimal(800), currency="EUR"),
            value_date=date(2026, 3, 5),
        ),
    )
    # INV-3 (not yet due) as its contract states a late-payment rate (ledger.invoice.opened v3)
    contract = ledger.InvoiceOpened(
        event_id=uid("invoice INV-3 contract rate"),
        occurred_at=at(date(2026, 3, 15)),
        source="ingestion",
        payload=ledger.OpenedInvoice(
            company_code="FR01",
            customer_id="C-1001",
            invoice_id="FR01/INV-3",
            invoice_number="INV-3",
            issue_date=date(2026, 3, 15),
            due_date=date(2026, 4, 15),
            amount=PositiveMoney(amount=Decimal(500), currency="EUR"),
            open_amount=PositiveMoney(amount=Decimal(500), currency="EUR"),
            late_interest_rate=Decimal("12.5"),
        ),
    )
    return [
        (INTEREST_RATES, rate),
        (LEDGER_EVENTS, customer),
        (LEDGER_EVENTS, paid),
        (LEDGER_EVENTS, contract),
        (NOTIFIER_DELIVERIES, sent),
        (DUNNING_ACTIONS, hold),
        (DUNNING_ACTIONS, paused),
        (DUNNING_ACTIONS, next_step),
    ]


async def _serve(console: Console) -> HttpServer:
    server = HttpServer(build_app(HealthState("console"), [console.router()]), "127.0.0.1", 0)
    await server.start()
    return server


@pytest.fixture
async def consoles(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[tuple[str, str, Archive]]:
    """A console whose notifier answers, and one whose notifier is away."""
    archive = Archive()
    notifier = HttpServer(build_app(HealthState("notifier"), [archive.router()]), "127.0.0.1", 0)
    await notifier.start()
    await feed(pool, [*events(), *header_events()])
    users = tmp_path / "users.yaml"
    users.write_text(USERS, encoding="utf-8")
    clock = SimulatedClock(NOW + timedelta(hours=3))
    auth = AuthSettings(users_file=users, signing_keys="k1:" + "s" * 40)
    reachable = ConsoleSettings(
        auth=auth,
        notifier_url=f"http://127.0.0.1:{notifier.port}",
        notifier_api_key=KEY,
        creditor_countries={"FR01": "FR"},
    )
    away = ConsoleSettings(auth=auth, notifier_url="http://127.0.0.1:9", notifier_api_key=KEY)
    servers = [
        await _serve(Console(pool, clock, s, Authenticator("console", auth, clock)))
        for s in (reachable, away)
    ]
    try:
        yield (
            f"http://localhost:{servers[0].port}",
            f"http://localhost:{servers[1].port}",
            archive,
        )
    finally:
        for server in servers:
            await server.stop()
        await notifier.stop()


async def test_the_header_and_a_reminders_exact_copy_and_proofs(
    consoles: tuple[str, str, Archive],
    browser: Browser,
) -> None:
    console_url, _, archive = consoles
    page = await signed_in(browser, console_url, "camille")
    await page.goto("/customers/C-1001")
    team = await page.locator("ul.account-team").inner_text()
    assert "collector C12" in team
    assert "sales JMARTIN" in team
    assert "vip" not in team  # a tag without a role is not a person
    holds = await page.locator("ul.holds li").all_inner_texts()
    assert len(holds) == 1
    assert holds[0].startswith("Invoices INV-2 · until Mar 30, 2026")  # INV-1 is not held
    assert "credit note pending · by camille" in holds[0]
    assert HOLD_UNTIL.date() > TODAY
    # statutory interest to 16 March at ECB 2.15 + 10 points (French law, a business):
    # INV-1 9 days on 1,200 then 35 on 700 after the payment of 10 February: 11.75;
    # INV-2 1 day on 800, then 12 on 500 from the payment's value date (5 March, announced
    # on the 10th): 2.26; INV-4 29 days on USD 300: 2.90; INV-3 not yet due
    interest = await page.locator("table.ageing td.interest").all_inner_texts()
    assert interest == ["€14.01", "$2.90"]
    per_invoice = await page.locator("table.items td.interest").all_inner_texts()
    assert per_invoice == ["€11.75", "€2.26", "€0.00", "$2.90"]
    rule = await page.locator("p.interest-rule").inner_text()
    assert "simple" in rule
    assert "value dates" in rule
    assert "Code de commerce L441-10 II" in rule
    assert await page.locator("p.interest-rule span.contract-rate").all_inner_texts() == [
        "INV-3 12.5 %"
    ]
    # what comes next per invoice: the step named by the scheduler, a hold, a date only
    next_actions = await page.locator("table.items td.next-action").all_inner_texts()
    assert next_actions[:2] == [
        "Next on Mar 20, 2026: firm (Level 2, Email)",
        "On hold until Mar 30, 2026",
    ]
    (payment,) = await page.locator("ol.timeline li", has_text="value date").all_inner_texts()
    assert "invoice INV-2" in payment
    assert "value date Mar 5, 2026" in payment
    await shot(page, "console-customer.png")

    await page.get_by_role("link", name="The exact copy sent and its proofs").click()
    await page.wait_for_url(f"**/deliveries/{SENT}")
    assert (
        "Relance : factures impayées"
        in await page.locator("section[aria-labelledby=copy]").inner_text()
    )
    frame = page.locator("iframe.message")
    assert await frame.get_attribute("sandbox") == ""
    assert await frame.get_attribute("src") == f"/deliveries/{SENT}/message"
    inside = page.frame_locator("iframe.message")
    assert await inside.locator("p.amount").inner_text() == "INV-1 : 700,00 € restent dus."
    assert SCRIPT_RAN not in await inside.locator("body").inner_text()
    await page.locator("details.preview summary").focus()  # opened with the keyboard
    await page.keyboard.press("Enter")
    text = page.locator("details.preview pre.message")
    await text.wait_for(state="visible", timeout=5000)
    assert "INV-1 : 700,00 € restent dus." in await text.inner_text()
    proofs = await page.locator("section[aria-labelledby=proofs]").inner_text()
    assert "<relance-1@example.com>" in proofs
    assert "250 queued" in proofs
    assert hashlib.sha256(archive.content).hexdigest() in proofs
    await shot(page, "console-delivery.png")
    assert set(archive.asked) == {KEY}  # always with the console's key

    cookie = "; ".join(f"{c['name']}={c['value']}" for c in await page.context.cookies())
    async with httpx.AsyncClient(base_url=console_url) as client:
        served = await client.get(f"/deliveries/{SENT}/message", headers={"Cookie": cookie})
        assert served.status_code == 200
        assert served.headers["content-security-policy"].startswith("sandbox;")
        assert served.headers["x-frame-options"] == "SAMEORIGIN"
        pdf = await client.get(f"/deliveries/{SENT}/pdf", headers={"Cookie": cookie})
        assert pdf.status_code == 200
        assert pdf.content == PDF
        assert pdf.headers["content-disposition"] == 'attachment; filename="releve.pdf"'
        anonymous = await client.get(f"/deliveries/{SENT}/message")
        assert anonymous.status_code in (302, 303, 401)
        assert SCRIPT_RAN not in anonymous.text


async def test_outside_the_portfolio_or_with_the_notifier_away(
    consoles: tuple[str, str, Archive],
    browser: Browser,
) -> None:
    console_url, away_url, archive = consoles
    # Nordwind's failed delivery belongs to collector C99: camille is refused before the
    # notifier is asked
    page = await signed_in(browser, console_url, "camille")
    answer = await page.goto(f"/deliveries/{uid('delivery N')}")
    assert answer is not None
    assert answer.status == 403
    assert archive.asked == []

    page = await signed_in(browser, away_url, "camille")
    answer = await page.goto(f"/deliveries/{SENT}")
    assert answer is not None
    assert answer.status == 200
    assert "The notifier cannot be reached" in await page.locator("#copy + p").inner_text()
    assert await page.locator("iframe").count() == 0
