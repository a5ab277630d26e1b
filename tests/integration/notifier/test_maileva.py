"""Letters through Maileva's API, against a loopback server that answers like it does."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp import BodyPartReader, web

from contracts import erp, ledger
from contracts.topics import NOTIFIER_DELIVERIES
from services.notifier.channels.adapter import ChannelAdapter
from services.notifier.channels.maileva.client import (
    MailevaAdapter,
    MailevaClient,
    MailevaConfig,
)
from services.notifier.channels.maileva.tracking import MailevaTracker
from services.notifier.composing.composer import EmailComposer
from services.notifier.dispatcher import Dispatcher
from services.notifier.settings import NotifierSettings
from services.runtime.clock import SimulatedClock
from tests.integration.notifier.harness import Notifier, free_port
from tests.kafka_tools import unique
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration

CLIENT, SECRET = "relance-client", "client-secret"
USER, PASSWORD = "relance@example.com", "user-password"
ADDRESS = erp.PostalAddress(
    lines=("Service comptabilité", "12 rue des Lilas"),
    postal_code="69003",
    town="LYON",
    country="FR",
)


class MailevaStandIn:
    """Maileva's token endpoint and sending API on loopback; records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.sendings: dict[str, dict[str, Any]] = {}
        self.documents: dict[str, tuple[bytes, dict[str, Any]]] = {}
        self.recipients: dict[str, dict[str, Any]] = {}
        self.submitted: list[str] = []
        self.tokens_issued = 0
        self.revoke_next = False
        self.fail: dict[str, tuple[int, dict[str, Any]]] = {}
        self.delay_s = 0.0
        self.proof_ready = False
        self.statuses: list[dict[str, str]] = []
        self.base_url = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/token", self.token)
        for product in ("mail", "registered_mail"):
            base = f"/{product}/v2/sendings"
            app.router.add_post(base, self.create)
            app.router.add_get(base + "/{sid}", self.sending)
            app.router.add_post(base + "/{sid}/documents", self.document)
            app.router.add_post(base + "/{sid}/recipients", self.recipient)
            app.router.add_post(base + "/{sid}/submit", self.submit)
            app.router.add_get(base + "/{sid}/download_deposit_proof", self.deposit_proof)
            app.router.add_get(base + "/{sid}/recipients/{rid}/delivery_statuses", self.tracking)
            app.router.add_get(
                base + "/{sid}/recipients/{rid}/download_acknowledgement_of_receipt",
                self.acknowledgement,
            )
        return app

    async def token(self, request: web.Request) -> web.Response:
        expected = "Basic " + base64.b64encode(f"{CLIENT}:{SECRET}".encode()).decode()
        form = await request.post()
        if (
            request.headers.get("Authorization") != expected
            or form.get("grant_type") != "password"
            or (form.get("username"), form.get("password")) != (USER, PASSWORD)
        ):
            return web.json_response({"error": "invalid_grant"}, status=401)
        self.tokens_issued += 1
        return web.json_response({"access_token": f"token-{self.tokens_issued}", "expires_in": 300})

    def _refused(self, request: web.Request, step: str) -> web.Response | None:
        self.calls.append((request.method, request.path))
        if request.headers.get("Authorization") != f"Bearer token-{self.tokens_issued}":
            return web.json_response({"code": "UNAUTHORIZED", "message": "token"}, status=401)
        if self.revoke_next:
            self.revoke_next = False
            return web.json_response({"code": "UNAUTHORIZED", "message": "expired"}, status=401)
        if step in self.fail:
            status, body = self.fail[step]
            return web.json_response(body, status=status)
        return None

    async def create(self, request: web.Request) -> web.Response:
        if (refused := self._refused(request, "create")) is not None:
            return refused
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        sid = f"S{len(self.sendings) + 1}"
        self.sendings[sid] = {"path": request.path, **(await request.json())}
        return web.json_response({"id": sid, "status": "DRAFT"}, status=201)

    async def sending(self, request: web.Request) -> web.Response:
        if (refused := self._refused(request, "sending")) is not None:
            return refused
        sid = request.match_info["sid"]
        body: dict[str, Any] = {"id": sid, "status": "PROCESSED"}
        if self.proof_ready:
            body["deposit_proof_url"] = f"/sendings/{sid}/download_deposit_proof"
        return web.json_response(body)

    async def document(self, request: web.Request) -> web.Response:
        if (refused := self._refused(request, "document")) is not None:
            return refused
        content, metadata = b"", {}
        async for part in await request.multipart():
            assert isinstance(part, BodyPartReader)
            if part.name == "document":
                content = await part.read()
            elif part.name == "metadata":
                metadata = json.loads(await part.text())
        self.documents[request.match_info["sid"]] = (content, metadata)
        return web.json_response({"id": "D1", "priority": 1}, status=201)

    async def recipient(self, request: web.Request) -> web.Response:
        if (refused := self._refused(request, "recipient")) is not None:
            return refused
        self.recipients[request.match_info["sid"]] = await request.json()
        return web.json_response({"id": "R1"}, status=201)

    async def submit(self, request: web.Request) -> web.Response:
        if (refused := self._refused(request, "submit")) is not None:
            return refused
        self.submitted.append(request.match_info["sid"])
        return web.Response(status=200)

    async def deposit_proof(self, request: web.Request) -> web.Response:
        if (refused := self._refused(request, "proof")) is not None:
            return refused
        return web.Response(body=b"%PDF deposit proof " + request.match_info["sid"].encode())

    async def tracking(self, request: web.Request) -> web.Response:
        if (refused := self._refused(request, "tracking")) is not None:
            return refused
        return web.json_response({"delivery_statuses": self.statuses, "paging": {}})

    async def acknowledgement(self, request: web.Request) -> web.Response:
        if (refused := self._refused(request, "acknowledgement")) is not None:
            return refused
        return web.Response(body=b"PK signed acknowledgement of receipt")


@pytest.fixture
async def maileva() -> AsyncIterator[MailevaStandIn]:
    stand_in = MailevaStandIn()
    runner = web.AppRunner(stand_in.app())
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stand_in.base_url = f"http://127.0.0.1:{port}"
    yield stand_in
    await runner.cleanup()


@pytest.fixture
def client(maileva: MailevaStandIn) -> MailevaClient:
    return MailevaClient(
        MailevaConfig(
            api_url=maileva.base_url,
            auth_url=f"{maileva.base_url}/token",
            client_id=CLIENT,
            client_secret=SECRET,
            username=USER,
            password=PASSWORD,
            timeout_s=1.0,
        )
    )


@pytest.fixture
def notifier(pool: asyncpg.Pool, client: MailevaClient) -> Notifier:
    settings = NotifierSettings()
    composer = EmailComposer.load(settings)
    adapters: dict[str, ChannelAdapter] = {
        "postal_letter": MailevaAdapter(composer, client, registered=False),
        "registered_letter": MailevaAdapter(composer, client, registered=True),
    }
    topic = dataclasses.replace(NOTIFIER_DELIVERIES, name=unique(NOTIFIER_DELIVERIES.name))
    clock = SimulatedClock(samples.NOW)
    dispatcher = Dispatcher(pool, clock, settings, adapters, composer, topic=topic)
    return Notifier(pool, clock, dispatcher, topic.name)


def customer_with_address(*, address: erp.PostalAddress | None = ADDRESS) -> Any:
    event = samples.customer_upserted()
    contacts = (
        erp.Contact(
            role="billing", name="Claire Martin", email="compta@acme.example", address=address
        ),
        *event.payload.contacts[1:],
    )
    payload = event.payload.model_copy(update={"contacts": contacts})
    return ledger.LedgerCustomerUpserted(
        event_id=event.event_id, occurred_at=event.occurred_at, source="ingestion", payload=payload
    )


async def test_registered_letter_is_posted_through_the_api_in_order(
    notifier: Notifier, maileva: MailevaStandIn
) -> None:
    due = samples.reminder("INV-1", "INV-2", channel="registered_letter", level="formal_notice")
    await notifier.consume(customer_with_address(), samples.reminder_due(due))
    assert await notifier.dispatcher.dispatch_all() == 1

    base = "/registered_mail/v2/sendings"
    assert maileva.calls == [
        ("POST", base),
        ("POST", f"{base}/S1/documents"),
        ("POST", f"{base}/S1/recipients"),
        ("POST", f"{base}/S1/submit"),
    ]
    sending = maileva.sendings["S1"]
    assert sending["custom_id"] == f"{due.reminder_id}-registered_letter"
    assert sending["acknowledgement_of_receipt"] is True
    assert sending["sender_address_line_1"] == "Relance Demo SAS"
    assert sending["name"].startswith("Mise en demeure")
    assert maileva.recipients["S1"] == {
        "custom_id": samples.CUSTOMER,
        "address_line_1": "ACME <Industrie> SAS",
        "address_line_2": "Claire Martin",
        "address_line_3": "Service comptabilité",
        "address_line_4": "12 rue des Lilas",
        "address_line_6": "69003 LYON",
        "country_code": "FR",
    }
    row = await notifier.delivery(due.reminder_id)
    pdf, metadata = maileva.documents["S1"]
    assert pdf.startswith(b"%PDF")
    assert pdf == row["content"]
    assert metadata == {"priority": 1, "name": f"{due.reminder_id}-registered_letter.pdf"}
    assert (row["status"], row["provider"], row["provider_tracking_id"]) == (
        "sent",
        "maileva",
        "S1/R1",
    )
    (sent,) = await notifier.published()
    assert sent["event_type"] == "delivery.sent"
    assert sent["payload"]["provider_tracking_id"] == "S1/R1"


async def test_postal_letter_goes_to_the_simple_mail_api_without_acknowledgement(
    notifier: Notifier, maileva: MailevaStandIn
) -> None:
    due = samples.reminder("INV-1", channel="postal_letter", level="level_2")
    await notifier.consume(customer_with_address(), samples.reminder_due(due))
    assert await notifier.dispatcher.dispatch_all() == 1
    assert maileva.sendings["S1"]["path"] == "/mail/v2/sendings"
    assert "acknowledgement_of_receipt" not in maileva.sendings["S1"]
    assert maileva.submitted == ["S1"]


async def test_tracking_stores_the_proofs_and_reports_delivery_once(
    notifier: Notifier, maileva: MailevaStandIn, client: MailevaClient, pool: asyncpg.Pool
) -> None:
    due = samples.reminder("INV-1", channel="registered_letter", level="formal_notice")
    await notifier.consume(customer_with_address(), samples.reminder_due(due))
    await notifier.dispatcher.dispatch_all()
    tracker = MailevaTracker(pool, notifier.clock, client, topic=notifier.dispatcher.topic)

    maileva.statuses = [{"status": "A01", "label": "Pris en charge", "date": "2026-03-03"}]
    assert await tracker.poll_all() == 1  # A01 recorded; no proof yet, nothing final
    maileva.proof_ready = True
    maileva.statuses.append({"status": "N01", "label": "AR signé", "date": "2026-03-05"})
    assert await tracker.poll_all() == 3  # deposit proof, acknowledgement, N01
    calls_before = len(maileva.calls)
    assert await tracker.poll_all() == 0  # final: no longer followed
    assert len(maileva.calls) == calls_before

    row = await notifier.delivery(due.reminder_id)
    documents = await pool.fetch(
        "SELECT kind, content FROM delivery_documents WHERE delivery_id = $1 ORDER BY kind",
        row["delivery_id"],
    )
    assert [(d["kind"], bytes(d["content"])) for d in documents] == [
        ("acknowledgement_of_receipt", b"PK signed acknowledgement of receipt"),
        ("deposit_proof", b"%PDF deposit proof S1"),
    ]
    events = [e["event_type"] for e in await notifier.published()]
    assert events == ["delivery.sent", "delivery.delivered"]


async def test_returned_letter_is_a_hard_bounce_when_the_address_is_wrong(
    notifier: Notifier, maileva: MailevaStandIn, client: MailevaClient, pool: asyncpg.Pool
) -> None:
    due = samples.reminder("INV-1", channel="postal_letter", level="level_2")
    await notifier.consume(customer_with_address(), samples.reminder_due(due))
    await notifier.dispatcher.dispatch_all()
    maileva.statuses = [{"status": "A23", "label": "Adresse incorrecte", "date": "2026-03-06"}]
    tracker = MailevaTracker(pool, notifier.clock, client, topic=notifier.dispatcher.topic)
    assert await tracker.poll_all() == 1
    bounced = (await notifier.published())[-1]
    assert bounced["event_type"] == "delivery.bounced"
    assert bounced["payload"]["kind"] == "hard"
    assert "A23" in bounced["payload"]["reason"]


async def test_refused_address_fails_for_good_and_server_errors_are_retried(
    notifier: Notifier, maileva: MailevaStandIn
) -> None:
    maileva.fail["recipient"] = (
        400,
        {"errors": [{"code": "ADDRESS_LINE_6_WRONG_FORMAT", "message": "code postal"}]},
    )
    refused = samples.reminder("INV-1", channel="postal_letter")
    await notifier.consume(customer_with_address(), samples.reminder_due(refused))
    await notifier.dispatcher.dispatch_all()
    row = await notifier.delivery(refused.reminder_id)
    assert row["status"] == "failed"
    assert "ADDRESS_LINE_6_WRONG_FORMAT" in row["last_error"]
    assert maileva.submitted == []

    maileva.fail = {"create": (503, {"code": "UNAVAILABLE", "message": "maintenance"})}
    retried = samples.reminder("INV-2", channel="postal_letter")
    await notifier.consume(samples.reminder_due(retried))
    await notifier.dispatcher.dispatch_all()
    row = await notifier.delivery(retried.reminder_id)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "503" in row["last_error"]


async def test_an_expired_token_is_renewed_once(
    notifier: Notifier, maileva: MailevaStandIn
) -> None:
    due = samples.reminder("INV-1", channel="postal_letter")
    await notifier.consume(customer_with_address(), samples.reminder_due(due))
    maileva.revoke_next = True
    await notifier.dispatcher.dispatch_all()
    assert maileva.tokens_issued == 2
    assert (await notifier.delivery(due.reminder_id))["status"] == "sent"


async def test_customer_without_postal_address_fails_for_the_scheduler_to_fall_back(
    notifier: Notifier, maileva: MailevaStandIn
) -> None:
    due = samples.reminder("INV-1", channel="registered_letter", level="formal_notice")
    await notifier.consume(customer_with_address(address=None), samples.reminder_due(due))
    await notifier.dispatcher.dispatch_all()
    (failed,) = await notifier.published()
    assert failed["event_type"] == "delivery.failed"
    assert "no postal address" in failed["payload"]["reason"]
    assert maileva.calls == []


async def test_a_provider_that_does_not_answer_in_time_is_retried(
    notifier: Notifier, maileva: MailevaStandIn
) -> None:
    maileva.delay_s = 3.0  # beyond the client's 1 s timeout
    due = samples.reminder("INV-1", channel="postal_letter")
    await notifier.consume(customer_with_address(), samples.reminder_due(due))
    await notifier.dispatcher.dispatch_all()
    row = await notifier.delivery(due.reminder_id)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "Timeout" in row["last_error"]
    assert maileva.submitted == []


async def test_tracking_survives_maileva_unavailable_and_polls_again_next_round(
    notifier: Notifier, maileva: MailevaStandIn, client: MailevaClient, pool: asyncpg.Pool
) -> None:
    due = samples.reminder("INV-1", channel="postal_letter", level="level_2")
    await notifier.consume(customer_with_address(), samples.reminder_due(due))
    await notifier.dispatcher.dispatch_all()
    tracker = MailevaTracker(pool, notifier.clock, client, topic=notifier.dispatcher.topic)
    maileva.statuses = [{"status": "D01", "label": "Distribué", "date": "2026-03-04"}]
    maileva.fail["sending"] = (503, {"code": "UNAVAILABLE", "message": "maintenance"})
    assert await tracker.poll_all() == 0  # logged, not raised: the letter waits
    del maileva.fail["sending"]
    assert await tracker.poll_all() == 1  # polled again: D01 delivered
    events = [e["event_type"] for e in await notifier.published()]
    assert events == ["delivery.sent", "delivery.delivered"]
