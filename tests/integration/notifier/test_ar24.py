"""Electronic registered letters through AR24's API, against a loopback server that follows
AR24's public documentation: signed form calls, encrypted replies, clear errors, proofs."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Final

import asyncpg
import pytest
from aiohttp import web

from contracts import erp, ledger
from contracts.topics import DUNNING_ACTIONS, LEDGER_EVENTS, NOTIFIER_DELIVERIES, Topic
from services.notifier.channels.adapter import ChannelAdapter
from services.notifier.channels.ar24.client import Ar24Adapter, Ar24Client, Ar24Config
from services.notifier.channels.ar24.crypto import (
    date_of_signature,
    encrypt_reply,
    totp,
)
from services.notifier.channels.ar24.tracking import Ar24Tracker
from services.notifier.composing.composer import EmailComposer
from services.notifier.dispatcher import Dispatcher
from services.notifier.errors import CipherError
from services.notifier.handler import handle
from services.notifier.proof import ProofArchive
from services.notifier.settings import NotifierSettings
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import BatchProcessor
from services.runtime.dead_letter import IncomingRecord
from services.runtime.outbox import KafkaRecordSender, OutboxRelay
from services.runtime.settings import KafkaSettings
from tests.integration.notifier.harness import Notifier, free_port
from tests.kafka_tools import consume, create_topics, produce, unique
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration

TOKEN = "ar24-api-token"
PRIVATE_KEY = "relance-private-key-7X9gx9E3Qx4E"
SENDER = "4242"
OTP_SECRET = base64.b32encode(b"relance-otp-key-0123").decode()
LRE: Final = "electronic_registered_letter"
PROOF_FIELDS = {"ev": "proof_ev_url", "ar": "proof_ar_url", "rf": "proof_rf_url"}
PROOF_FIELDS |= {"ng": "proof_ng_url", "bc": "proof_bc_url"}


class Ar24StandIn:
    """AR24's attachment, mail and proof routes on loopback; records and checks every call.

    Like AR24, it refuses a call whose token is wrong or whose ``signature`` header does not
    decrypt to the call's ``date``, and an eIDAS letter whose OTP is not the sender's
    current one; successes are encrypted for the call's date, errors are clear JSON.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.refusals: list[str] = []
        self.attachments: dict[str, tuple[str, bytes, str]] = {}
        self.mails: dict[str, dict[str, str]] = {}
        self.states: dict[str, dict[str, Any]] = {}
        self.fail: dict[str, tuple[int, dict[str, Any] | str]] = {}
        self.delay_s = 0.0
        self.base_url = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/attachment/", self.attachment)
        app.router.add_post("/api/mail/", self.send_mail)
        app.router.add_get("/api/mail/", self.mail)
        app.router.add_get("/get/proof/{name}", self.proof)
        return app

    def progress(self, mail_id: str, status: str, *proofs: str) -> None:
        """The letter moves on: a new status, and the proofs it comes with (``ev``...)."""
        state = self.states[mail_id]
        state["status"] = status
        for proof in proofs:
            state[PROOF_FIELDS[proof]] = f"{self.base_url}/get/proof/{proof}-{mail_id}?token=t0k"

    def _refuse(self, slug: str) -> web.Response:
        self.refusals.append(slug)
        return web.json_response({"status": "ERROR", "slug": slug, "message": slug})

    def _check(
        self, request: web.Request, fields: dict[str, str], route: str
    ) -> web.Response | None:
        self.calls.append((request.method, request.path))
        date = fields.get("date", "")
        try:
            datetime.strptime(date, "%Y-%m-%d %H:%M:%S")
            signed = date_of_signature(request.headers.get("signature", ""), PRIVATE_KEY)
        except (ValueError, CipherError):
            signed = None
        if fields.get("token") != TOKEN:
            return self._refuse("invalid_token")
        if signed != date:
            return self._refuse("invalid_signature")
        if fields.get("id_user") != SENDER:
            return self._refuse("user_not_found")
        if route in self.fail:
            status, body = self.fail[route]
            if isinstance(body, str):
                return web.Response(text=body, status=status, content_type="text/html")
            return web.json_response(body, status=status)
        return None

    @staticmethod
    def _success(result: Any, date: str) -> web.Response:
        reply = json.dumps({"status": "SUCCESS", "result": result})
        return web.Response(text=encrypt_reply(reply, date, PRIVATE_KEY))

    async def attachment(self, request: web.Request) -> web.Response:
        form = await request.post()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        if (refused := self._check(request, fields, "attachment")) is not None:
            return refused
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        upload = form["file"]
        assert isinstance(upload, web.FileField)
        file_id = f"F{len(self.attachments) + 1}"
        self.attachments[file_id] = (upload.filename, upload.file.read(), upload.content_type)
        return self._success({"file_id": file_id, "filename": upload.filename}, fields["date"])

    async def send_mail(self, request: web.Request) -> web.Response:
        fields = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        if (refused := self._check(request, fields, "mail")) is not None:
            return refused
        if fields.get("attachment[0]") not in self.attachments:
            return self._refuse("attachment_not_found")
        if "eidas" in fields:
            now = time.time()
            if fields.get("otp") not in {totp(OTP_SECRET, now + d) for d in (-30, 0, 30)}:
                return self._refuse("invalid_otp")
        mail_id = str(1001 + len(self.mails))
        self.mails[mail_id] = {k: v for k, v in fields.items() if k not in ("token", "date")}
        self.states[mail_id] = {"status": "waiting"}
        return self._success({"id": int(mail_id), "status": "waiting"}, fields["date"])

    async def mail(self, request: web.Request) -> web.Response:
        fields = dict(request.query)
        if (refused := self._check(request, fields, "tracking")) is not None:
            return refused
        state = self.states.get(fields.get("id", ""))
        if state is None:
            return self._refuse("mail_not_found")
        return self._success({"id": int(fields["id"]), **state}, fields["date"])

    async def proof(self, request: web.Request) -> web.Response:
        self.calls.append((request.method, request.path))
        if request.query.get("token") != "t0k":
            return web.Response(status=403)
        return web.Response(body=b"%PDF proof " + request.match_info["name"].encode())


@pytest.fixture
async def ar24() -> AsyncIterator[Ar24StandIn]:
    stand_in = Ar24StandIn()
    runner = web.AppRunner(stand_in.app())
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stand_in.base_url = f"http://127.0.0.1:{port}"
    yield stand_in
    await runner.cleanup()


def ar24_client(
    stand_in: Ar24StandIn, *, eidas: bool = True, private_key: str = PRIVATE_KEY
) -> Ar24Client:
    return Ar24Client(
        Ar24Config(
            api_url=f"{stand_in.base_url}/api",
            token=TOKEN,
            private_key=private_key,
            sender_user_id=SENDER,
            eidas=eidas,
            otp_secret=OTP_SECRET if eidas else None,
            timeout_s=1.0,
        )
    )


@pytest.fixture
def client(ar24: Ar24StandIn) -> Ar24Client:
    return ar24_client(ar24)


def notifier_with(pool: asyncpg.Pool, client: Ar24Client, topic: Topic | None = None) -> Notifier:
    settings = NotifierSettings()
    composer = EmailComposer.load(settings)
    adapters: dict[str, ChannelAdapter] = {LRE: Ar24Adapter(composer, client)}
    topic = topic or dataclasses.replace(NOTIFIER_DELIVERIES, name=unique(NOTIFIER_DELIVERIES.name))
    clock = SimulatedClock(samples.NOW)
    dispatcher = Dispatcher(pool, clock, settings, adapters, composer, topic=topic)
    return Notifier(pool, clock, dispatcher, topic.name)


@pytest.fixture
def notifier(pool: asyncpg.Pool, client: Ar24Client) -> Notifier:
    return notifier_with(pool, client)


def formal_notice(*numbers: str) -> Any:
    return samples.reminder(*numbers, channel=LRE, level="formal_notice")


async def sent_letter(notifier: Notifier) -> Any:
    due = formal_notice("INV-1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    assert await notifier.dispatcher.dispatch_all() == 1
    return due


async def test_letter_pdf_is_uploaded_then_sent_as_a_signed_eidas_lre(
    notifier: Notifier, ar24: Ar24StandIn
) -> None:
    due = formal_notice("INV-1", "INV-2")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    assert await notifier.dispatcher.dispatch_all() == 1

    assert ar24.refusals == []
    assert ar24.calls == [("POST", "/api/attachment/"), ("POST", "/api/mail/")]
    row = await notifier.delivery(due.reminder_id)
    ((filename, pdf, content_type),) = ar24.attachments.values()
    assert pdf.startswith(b"%PDF")
    assert pdf == row["content"]
    assert (filename, content_type) == (f"{due.reminder_id}-{LRE}.pdf", "application/pdf")
    mail = dict(ar24.mails["1001"])
    content, otp = mail.pop("content"), mail.pop("otp")
    assert mail == {
        "id_user": SENDER,
        "to_email": "compta@acme.example",
        "to_firstname": "Claire",
        "to_lastname": "Martin",
        "to_company": "ACME <Industrie> SAS",
        "dest_statut": "professionnel",
        "ref_dossier": f"{due.reminder_id}-{LRE}",
        "ref_client": samples.CUSTOMER,
        "attachment[0]": "F1",
        "eidas": "1",
    }
    assert otp.isdigit()
    assert len(otp) == 6
    assert "INV-1" in content
    assert "INV-2" in content
    assert (row["status"], row["provider"], row["provider_tracking_id"], row["recipients"]) == (
        "sent",
        "ar24",
        "1001",
        ["compta@acme.example"],
    )
    assert row["provider_reply"] == "waiting"
    (sent,) = await notifier.published()
    assert sent["event_type"] == "delivery.sent"
    assert (sent["payload"]["provider"], sent["payload"]["provider_tracking_id"]) == (
        "ar24",
        "1001",
    )


async def test_a_simple_lre_carries_neither_eidas_nor_otp(
    pool: asyncpg.Pool, ar24: Ar24StandIn
) -> None:
    notifier = notifier_with(pool, ar24_client(ar24, eidas=False))
    await sent_letter(notifier)
    assert ar24.refusals == []
    assert "eidas" not in ar24.mails["1001"]
    assert "otp" not in ar24.mails["1001"]


async def test_a_wrong_private_key_is_refused_by_the_signature_check(
    pool: asyncpg.Pool, ar24: Ar24StandIn
) -> None:
    notifier = notifier_with(pool, ar24_client(ar24, private_key="not-the-key"))
    due = formal_notice("INV-1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    await notifier.dispatcher.dispatch_all()
    assert ar24.refusals == ["invalid_signature"]
    row = await notifier.delivery(due.reminder_id)
    assert row["status"] == "failed"
    assert "invalid_signature" in row["last_error"]


async def test_tracking_stores_each_proof_and_reports_acceptance_once(
    notifier: Notifier, ar24: Ar24StandIn, client: Ar24Client, pool: asyncpg.Pool
) -> None:
    due = await sent_letter(notifier)
    tracker = Ar24Tracker(pool, notifier.clock, client, topic=notifier.dispatcher.topic)

    assert await tracker.poll_all() == 1  # "waiting" recorded, no proof yet
    ar24.progress("1001", "sent", "ev")
    assert await tracker.poll_all() == 2  # the deposit proof, "sent"
    assert await tracker.poll_all() == 0  # nothing new
    ar24.progress("1001", "AR", "ar")
    assert await tracker.poll_all() == 2  # the acknowledgement, "AR" (delivered)
    calls_before = len(ar24.calls)
    assert await tracker.poll_all() == 0  # final: no longer followed
    assert len(ar24.calls) == calls_before
    assert ar24.refusals == []

    (archived,) = await ProofArchive(pool).deliveries_of(due.invoices[0].invoice_id)
    assert sorted(d["kind"] for d in archived["documents"]) == [
        "acknowledgement_of_receipt",
        "deposit_proof",
    ]
    assert [r["status"] for r in archived["reports"]] == ["waiting", "sent", "AR"]
    documents = await pool.fetch(
        "SELECT kind, content FROM delivery_documents WHERE delivery_id = $1 ORDER BY kind",
        uuid.UUID(archived["delivery_id"]),
    )
    assert [(d["kind"], bytes(d["content"])) for d in documents] == [
        ("acknowledgement_of_receipt", b"%PDF proof ar-1001"),
        ("deposit_proof", b"%PDF proof ev-1001"),
    ]
    events = [e["event_type"] for e in await notifier.published()]
    assert events == ["delivery.sent", "delivery.delivered"]


@pytest.mark.parametrize(
    ("status", "proof", "kind"),
    [("refused", "rf", "refusal_proof"), ("negligence", "ng", "negligence_proof")],
)
async def test_a_refused_or_unclaimed_letter_notifies_all_the_same_with_its_proof(
    notifier: Notifier,
    ar24: Ar24StandIn,
    client: Ar24Client,
    pool: asyncpg.Pool,
    status: str,
    proof: str,
    kind: str,
) -> None:
    due = await sent_letter(notifier)
    ar24.progress("1001", status, "ev", proof)
    tracker = Ar24Tracker(pool, notifier.clock, client, topic=notifier.dispatcher.topic)
    assert await tracker.poll_all() == 3
    delivered = (await notifier.published())[-1]
    assert delivered["event_type"] == "delivery.delivered"
    assert delivered["payload"]["provider_tracking_id"] == "1001"
    row = await notifier.delivery(due.reminder_id)
    kinds = await pool.fetch(
        "SELECT kind FROM delivery_documents WHERE delivery_id = $1 ORDER BY kind",
        row["delivery_id"],
    )
    assert sorted(r["kind"] for r in kinds) == sorted(["deposit_proof", kind])
    report = await pool.fetchval(
        "SELECT status FROM delivery_reports WHERE delivery_id = $1", row["delivery_id"]
    )
    assert report == status


async def test_a_bounced_notification_is_a_hard_bounce_for_the_fallback(
    notifier: Notifier, ar24: Ar24StandIn, client: Ar24Client, pool: asyncpg.Pool
) -> None:
    await sent_letter(notifier)
    ar24.progress("1001", "bounced", "bc")
    tracker = Ar24Tracker(pool, notifier.clock, client, topic=notifier.dispatcher.topic)
    assert await tracker.poll_all() == 2
    bounced = (await notifier.published())[-1]
    assert bounced["event_type"] == "delivery.bounced"
    assert bounced["payload"]["kind"] == "hard"
    assert "bounced" in bounced["payload"]["reason"]


async def test_a_letter_ar24_cannot_report_now_is_polled_again_later(
    notifier: Notifier, ar24: Ar24StandIn, client: Ar24Client, pool: asyncpg.Pool
) -> None:
    await sent_letter(notifier)
    ar24.progress("1001", "AR", "ar")
    ar24.fail["tracking"] = (502, {"error": "bad gateway"})
    tracker = Ar24Tracker(pool, notifier.clock, client, topic=notifier.dispatcher.topic)
    assert await tracker.poll_all() == 0
    del ar24.fail["tracking"]
    assert await tracker.poll_all() == 2
    assert [e["event_type"] for e in await notifier.published()][-1] == "delivery.delivered"


async def test_a_proof_link_to_another_host_is_not_followed(
    notifier: Notifier, ar24: Ar24StandIn, client: Ar24Client, pool: asyncpg.Pool
) -> None:
    await sent_letter(notifier)
    ar24.progress("1001", "AR")
    ar24.states["1001"]["proof_ar_url"] = "http://203.0.113.7/get/proof/ar-1001?token=t0k"
    tracker = Ar24Tracker(pool, notifier.clock, client, topic=notifier.dispatcher.topic)
    assert await tracker.poll_all() == 0
    assert await pool.fetchval("SELECT count(*) FROM delivery_documents") == 0
    assert await pool.fetchval("SELECT count(*) FROM delivery_reports") == 0
    assert [e["event_type"] for e in await notifier.published()] == ["delivery.sent"]


@pytest.mark.parametrize("http_status", [200, 400])
async def test_an_error_reply_fails_for_good_with_ar24s_reason(
    notifier: Notifier, ar24: Ar24StandIn, http_status: int
) -> None:
    ar24.fail["mail"] = (
        http_status,
        {"status": "ERROR", "slug": "invalid_recipient_email", "message": "Email invalide"},
    )
    due = formal_notice("INV-1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    await notifier.dispatcher.dispatch_all()
    row = await notifier.delivery(due.reminder_id)
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert "invalid_recipient_email" in row["last_error"]
    (failed,) = await notifier.published()
    assert failed["event_type"] == "delivery.failed"
    assert failed["payload"]["provider"] == "ar24"
    assert "Email invalide" in failed["payload"]["reason"]
    assert ar24.mails == {}


async def test_a_route_not_found_fails_for_good(notifier: Notifier, ar24: Ar24StandIn) -> None:
    ar24.fail["attachment"] = (404, "<html><body>Not Found</body></html>")
    due = formal_notice("INV-1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    await notifier.dispatcher.dispatch_all()
    row = await notifier.delivery(due.reminder_id)
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert "AR24 POST /attachment/: 404" in row["last_error"]


@pytest.mark.parametrize(
    ("route", "http_status", "body"),
    [
        ("attachment", 500, {"error": "internal"}),
        ("mail", 503, {"error": "unavailable"}),
        ("mail", 429, {"error": "too many requests"}),
        ("attachment", 200, {"status": "maintenance"}),
    ],
)
async def test_server_errors_throttling_and_maintenance_are_retried(
    notifier: Notifier, ar24: Ar24StandIn, route: str, http_status: int, body: dict[str, Any]
) -> None:
    ar24.fail[route] = (http_status, body)
    due = formal_notice("INV-1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    await notifier.dispatcher.dispatch_all()
    row = await notifier.delivery(due.reminder_id)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    expected = "maintenance" if body.get("status") == "maintenance" else str(http_status)
    assert expected in row["last_error"]
    assert await notifier.published() == []
    assert ar24.mails == {}


async def test_a_provider_that_does_not_answer_in_time_is_retried(
    notifier: Notifier, ar24: Ar24StandIn
) -> None:
    ar24.delay_s = 3.0  # beyond the client's 1 s timeout
    due = formal_notice("INV-1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    await notifier.dispatcher.dispatch_all()
    row = await notifier.delivery(due.reminder_id)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "Timeout" in row["last_error"]
    assert ar24.mails == {}


async def test_a_customer_without_email_fails_for_the_scheduler_to_fall_back(
    notifier: Notifier, ar24: Ar24StandIn
) -> None:
    event = samples.customer_upserted()
    address = erp.PostalAddress(
        lines=("12 rue des Lilas",), postal_code="69003", town="LYON", country="FR"
    )
    contacts = (erp.Contact(role="billing", name="Claire Martin", address=address),)
    customer = ledger.LedgerCustomerUpserted(
        event_id=event.event_id,
        occurred_at=event.occurred_at,
        source="ingestion",
        payload=event.payload.model_copy(update={"contacts": contacts}),
    )
    due = formal_notice("INV-1")
    await notifier.consume(customer, samples.reminder_due(due))
    await notifier.dispatcher.dispatch_all()
    (failed,) = await notifier.published()
    assert failed["event_type"] == "delivery.failed"
    assert "no email contact" in failed["payload"]["reason"]
    assert ar24.calls == []


async def test_a_reminder_delivered_twice_sends_one_letter(
    notifier: Notifier, ar24: Ar24StandIn
) -> None:
    due = formal_notice("INV-1")
    first = samples.reminder_due(due)
    await notifier.consume(samples.customer_upserted(), first, first)
    await notifier.consume(samples.reminder_due(due))  # decided again: same reminder id
    assert await notifier.dispatcher.dispatch_all() == 1
    assert await notifier.dispatcher.dispatch_all() == 0
    assert list(ar24.mails) == ["1001"]
    assert len(ar24.attachments) == 1


async def test_through_kafka_a_replayed_reminder_gives_one_letter_and_its_events(
    pool: asyncpg.Pool, ar24: Ar24StandIn, client: Ar24Client, kafka_bootstrap: str
) -> None:
    dunning, ledger_topic, deliveries = (
        dataclasses.replace(t, name=unique(t.name))
        for t in (DUNNING_ACTIONS, LEDGER_EVENTS, NOTIFIER_DELIVERIES)
    )
    await create_topics(kafka_bootstrap, [dunning.name, ledger_topic.name, deliveries.name])
    due = formal_notice("INV-1")
    customer = samples.customer_upserted()
    await produce(
        kafka_bootstrap,
        ledger_topic.name,
        [(ledger_topic.key(customer), ledger_topic.value(customer))],
    )
    replayed = samples.reminder_due(due)
    await produce(
        kafka_bootstrap,
        dunning.name,
        [
            (dunning.key(e), dunning.value(e))
            for e in (replayed, replayed, samples.reminder_due(due))
        ],
    )
    notifier = notifier_with(pool, client, deliveries)
    processor = BatchProcessor("notifier", [dunning, ledger_topic], handle, pool, notifier.clock)
    for topic, expected in ((ledger_topic, 1), (dunning, 3)):
        records = await consume(kafka_bootstrap, topic.name, expected=expected)
        outcome = await processor.process([IncomingRecord.of(r) for r in records])
        assert outcome.dead_lettered == 0
    assert await notifier.dispatcher.dispatch_all() == 1
    assert list(ar24.mails) == ["1001"]
    ar24.progress("1001", "AR", "ev", "ar")
    tracker = Ar24Tracker(pool, notifier.clock, client, topic=deliveries)
    assert await tracker.poll_all() == 3

    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    sender = KafkaRecordSender(kafka.client_options(), "notifier-test")
    await sender.start()
    try:
        async with pool.acquire() as connection:
            assert await OutboxRelay("notifier", pool, sender).relay_once(connection) == 2
    finally:
        await sender.stop()
    published = [
        deliveries.parse(r.value) for r in await consume(kafka_bootstrap, deliveries.name, 2)
    ]
    assert [e.event_type for e in published] == ["delivery.sent", "delivery.delivered"]
    assert {e.payload.reminder_id for e in published} == {due.reminder_id}
    assert {e.payload.channel for e in published} == {LRE}
