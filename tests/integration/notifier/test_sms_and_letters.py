"""SMS through the Twilio SDK against a loopback stand-in, signed status callbacks, file drop."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from twilio.request_validator import RequestValidator

from contracts.topics import NOTIFIER_DELIVERIES
from services.notifier.channels.adapter import ChannelAdapter
from services.notifier.channels.letters.file_drop import FileDropAdapter
from services.notifier.channels.sms.adapter import SmsAdapter
from services.notifier.channels.sms.status import SmsStatusCallback
from services.notifier.composing.composer import SAMPLE_RATES, EmailComposer
from services.notifier.dispatcher import Dispatcher
from services.notifier.handler import delivery_id_of
from services.notifier.reference_rates import RateBook
from services.notifier.settings import LettersSettings, NotifierSettings, TwilioSettings
from services.runtime.clock import SimulatedClock
from tests.integration.notifier.harness import Notifier, free_port, serve
from tests.kafka_tools import unique
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration

ACCOUNT = "AC" + "1" * 32
TOKEN = "secret-auth-token"
CALLBACK_URL = "https://notifier.example/sms/status"


class TwilioStandIn:
    """A loopback HTTP server answering like Twilio's Messages API, or failing on demand.

    ``messages`` holds what Twilio accepted (what the customer receives); with ``delay_s``
    a message is accepted and the response comes too late, as when Twilio times out after
    taking the message. ``GET Messages.json`` lists them newest first, filtered by To and
    From, as Twilio's list resource does. ``hits`` has every request it received.
    """

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.requests: list[tuple[str, dict[str, str], str | None]] = []
        self.lookups: list[dict[str, str]] = []
        self.messages: list[dict[str, Any]] = []
        self.status = 201
        self.delay_s = 0.0
        self.base_url = ""
        self.clock: Callable[[], datetime] = lambda: samples.NOW

    async def create_message(self, request: web.Request) -> web.Response:
        form = {key: str(value) for key, value in (await request.post()).items()}
        self.requests.append((request.path, form, request.headers.get("Authorization")))
        if self.status != 201:
            body = {
                "code": 20500 if self.status >= 500 else 21211,
                "message": "refused",
                "status": self.status,
            }
            return web.json_response(body, status=self.status)
        message = {
            "sid": f"SM{len(self.messages) + 1:032d}",
            "status": "queued",
            "to": form["To"],
            "from": form["From"],
            "body": form["Body"],
            "account_sid": ACCOUNT,
            "date_created": format_datetime(self.clock(), usegmt=True),
            "date_sent": None,
        }
        self.messages.append(message)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return web.json_response(message, status=201)

    async def list_messages(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.lookups.append(query)
        found = [
            m
            for m in reversed(self.messages)
            if m["to"] == query.get("To", m["to"]) and m["from"] == query.get("From", m["from"])
        ]
        size = int(query.get("PageSize", "50"))
        return web.json_response(
            {"messages": found[:size], "page": 0, "page_size": size, "next_page_uri": None}
        )


@pytest.fixture
async def twilio() -> AsyncIterator[TwilioStandIn]:
    stand_in = TwilioStandIn()

    @web.middleware
    async def count(request: web.Request, handler: Any) -> web.StreamResponse:
        stand_in.hits.append(f"{request.method} {request.path}")
        response: web.StreamResponse = await handler(request)
        return response

    app = web.Application(middlewares=[count])
    app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", stand_in.create_message)
    app.router.add_get("/2010-04-01/Accounts/{account}/Messages.json", stand_in.list_messages)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stand_in.base_url = f"http://127.0.0.1:{port}"
    yield stand_in
    await runner.cleanup()


@pytest.fixture
def settings(tmp_path: Path) -> NotifierSettings:
    return NotifierSettings(
        twilio=TwilioSettings(
            account_sid=ACCOUNT,
            auth_token=TOKEN,
            sms_from="+33100000000",
            status_callback_url=CALLBACK_URL,
        ),
        letters=LettersSettings(drop_dir=tmp_path / "print-room"),
    )


@pytest.fixture
def notifier(pool: asyncpg.Pool, twilio: TwilioStandIn, settings: NotifierSettings) -> Notifier:
    composer = EmailComposer.load(settings, RateBook(SAMPLE_RATES))
    sms = SmsAdapter(
        composer,
        account_sid=ACCOUNT,
        auth_token=TOKEN,
        from_number="+33100000000",
        status_callback_url=CALLBACK_URL,
        base_url=twilio.base_url,
        timeout_s=1.0,
    )
    assert settings.letters.drop_dir is not None
    drop = FileDropAdapter(composer, settings.letters.drop_dir)
    topic = dataclasses.replace(NOTIFIER_DELIVERIES, name=unique(NOTIFIER_DELIVERIES.name))
    adapters: dict[str, ChannelAdapter] = {
        "sms": sms,
        "postal_letter": drop,
        "registered_letter": drop,
    }
    clock = SimulatedClock(samples.NOW)
    twilio.clock = clock.now
    dispatcher = Dispatcher(pool, clock, settings, adapters, composer, topic=topic)
    return Notifier(pool, clock, dispatcher, topic.name)


async def _sms_sent(notifier: Notifier) -> tuple[Any, str]:
    due = samples.reminder("INV-1", channel="sms", role="accounting", level="level_1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    assert await notifier.dispatcher.dispatch_all() == 1
    row = await notifier.delivery(due.reminder_id)
    return due, str(row["provider_tracking_id"])


async def test_sms_is_sent_through_the_twilio_sdk(
    notifier: Notifier, twilio: TwilioStandIn
) -> None:
    due, sid = await _sms_sent(notifier)
    ((path, form, authorization),) = twilio.requests
    assert path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert form["To"] == "+33612345678"
    assert form["From"] == "+33100000000"
    delivery_id = delivery_id_of(due.reminder_id, "sms")
    assert form["StatusCallback"] == f"{CALLBACK_URL}?delivery={delivery_id}"
    assert "Relance" in form["Body"]
    assert "700,00" in form["Body"]
    assert "Reste dû" in form["Body"]
    assert form["Body"].endswith("Contact : +33 1 84 00 00 00")  # FR01's phone
    assert authorization is not None
    assert authorization.startswith("Basic ")
    row = await notifier.delivery(due.reminder_id)
    assert row["status"] == "sent"
    assert row["provider"] == "twilio"
    assert json.loads(row["content"])["body"] == form["Body"]
    (sent,) = await notifier.published()
    assert sent["event_type"] == "delivery.sent"
    assert sent["payload"]["provider_tracking_id"] == sid


@pytest.mark.parametrize(("status", "retried"), [(500, True), (429, True), (400, False)])
async def test_twilio_errors_are_retried_or_final_by_status(
    notifier: Notifier, twilio: TwilioStandIn, status: int, retried: bool
) -> None:
    twilio.status = status
    due = samples.reminder("INV-1", channel="sms", role="accounting")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    await notifier.dispatcher.dispatch_all()
    row = await notifier.delivery(due.reminder_id)
    assert row["status"] == ("pending" if retried else "failed")
    assert str(status) in row["last_error"]
    events = await notifier.published()
    assert [e["event_type"] for e in events] == ([] if retried else ["delivery.failed"])


async def test_a_first_attempt_sends_without_asking_twilio_first(
    notifier: Notifier, twilio: TwilioStandIn
) -> None:
    due, sid = await _sms_sent(notifier)
    assert twilio.hits == [f"POST /2010-04-01/Accounts/{ACCOUNT}/Messages.json"]  # no GET
    assert twilio.lookups == []
    assert (await notifier.delivery(due.reminder_id))["attempts"] == 1
    assert sid == twilio.messages[0]["sid"]


async def test_twilio_timeout_is_retried(notifier: Notifier, twilio: TwilioStandIn) -> None:
    twilio.delay_s = 3.0
    due = samples.reminder("INV-1", channel="sms", role="accounting")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    await notifier.dispatcher.dispatch_all()
    row = await notifier.delivery(due.reminder_id)
    assert row["status"] == "pending"
    assert row["attempts"] == 1


async def _retried(notifier: Notifier, due: Any) -> asyncpg.Record:
    """Move past the delivery's retry time and dispatch it again."""
    notifier.clock.advance(timedelta(hours=2))
    assert await notifier.dispatcher.dispatch_all() == 1
    return await notifier.delivery(due.reminder_id)


async def test_sms_accepted_before_a_timeout_is_found_and_not_sent_again(
    notifier: Notifier, twilio: TwilioStandIn
) -> None:
    twilio.delay_s = 3.0  # Twilio takes the message, its answer comes after our timeout
    due = samples.reminder("INV-1", channel="sms", role="accounting")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    await notifier.dispatcher.dispatch_all()
    assert (await notifier.delivery(due.reminder_id))["status"] == "pending"
    twilio.delay_s = 0.0
    row = await _retried(notifier, due)
    (message,) = twilio.messages  # the customer got it once
    assert len(twilio.requests) == 1  # and the retry did not post it again
    assert twilio.lookups == [{"To": "+33612345678", "From": "+33100000000", "PageSize": "20"}]
    assert row["status"] == "sent"
    assert row["attempts"] == 2
    assert row["provider_tracking_id"] == message["sid"]
    (sent,) = await notifier.published()
    assert sent["payload"]["provider_tracking_id"] == message["sid"]


async def test_sms_that_twilio_never_took_is_sent_again(
    notifier: Notifier, twilio: TwilioStandIn
) -> None:
    twilio.status = 500  # refused: nothing at Twilio
    due = samples.reminder("INV-1", channel="sms", role="accounting")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    await notifier.dispatcher.dispatch_all()
    assert twilio.messages == []
    twilio.status = 201
    row = await _retried(notifier, due)
    (message,) = twilio.messages
    assert len(twilio.requests) == 2
    assert len(twilio.lookups) == 1  # the retry asked first; the first attempt did not
    assert row["status"] == "sent"
    assert row["provider_tracking_id"] == message["sid"]


async def test_an_sms_accepted_before_a_crash_is_found_when_its_lease_expires(
    notifier: Notifier, twilio: TwilioStandIn, settings: NotifierSettings
) -> None:
    """Twilio took the first attempt, then the process died before recording it."""
    due = samples.reminder("INV-1", channel="sms", role="accounting")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    claim = await notifier.dispatcher._claim()
    assert claim.sending is not None
    await claim.sending.adapter.send(claim.sending.outgoing)  # accepted; no outcome recorded
    row = await notifier.delivery(due.reminder_id)
    assert (row["status"], row["attempts"]) == ("sending", 1)
    notifier.clock.advance(timedelta(seconds=settings.sending_lease_s + 1))
    assert await notifier.dispatcher.dispatch_all() == 1  # re-claimed: attempt 2
    (message,) = twilio.messages
    assert len(twilio.requests) == 1
    assert len(twilio.lookups) == 1
    row = await notifier.delivery(due.reminder_id)
    assert (row["status"], row["attempts"]) == ("sent", 2)
    assert row["provider_tracking_id"] == message["sid"]


async def test_an_earlier_sms_with_another_body_does_not_stop_a_resend(
    notifier: Notifier, twilio: TwilioStandIn
) -> None:
    twilio.status = 500  # the first attempt is refused; the retry looks Twilio up
    due = samples.reminder("INV-1", channel="sms", role="accounting")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    await notifier.dispatcher.dispatch_all()
    twilio.status = 201
    twilio.messages.append(
        {
            "sid": "SM" + "9" * 32,
            "status": "delivered",
            "to": "+33612345678",
            "from": "+33100000000",
            "body": "Another reminder",
            "account_sid": ACCOUNT,
            "date_created": format_datetime(samples.NOW, usegmt=True),
            "date_sent": format_datetime(samples.NOW, usegmt=True),
        }
    )
    row = await _retried(notifier, due)
    assert len(twilio.lookups) == 1
    assert len(twilio.requests) == 2  # the refused one, then the resend
    assert row["status"] == "sent"
    assert row["provider_tracking_id"] == twilio.messages[-1]["sid"] != "SM" + "9" * 32


async def test_a_lookup_that_fails_sends_nothing_and_is_retried(
    notifier: Notifier, twilio: TwilioStandIn
) -> None:
    twilio.status = 500  # the first attempt is refused: the retry has to ask first
    due = samples.reminder("INV-1", channel="sms", role="accounting")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    await notifier.dispatcher.dispatch_all()
    assert len(twilio.requests) == 1
    sms = notifier.dispatcher.adapters["sms"]
    assert isinstance(sms, SmsAdapter)
    twilio_url, sms.base_url = sms.base_url, f"http://127.0.0.1:{free_port()}"  # unreachable
    twilio.status = 201
    row = await _retried(notifier, due)
    assert row["status"] == "pending"
    assert row["attempts"] == 2
    assert len(twilio.requests) == 1  # nothing sent without the lookup
    sms.base_url = twilio_url
    row = await _retried(notifier, due)
    assert row["status"] == "sent"
    assert len(twilio.lookups) == 1
    assert len(twilio.messages) == 1


async def test_signed_status_callback_becomes_a_delivered_event(
    notifier: Notifier, pool: asyncpg.Pool, settings: NotifierSettings
) -> None:
    due, sid = await _sms_sent(notifier)
    callback = SmsStatusCallback(
        pool,
        notifier.clock,
        settings,
        topic=dataclasses.replace(NOTIFIER_DELIVERIES, name=notifier.topic),
    )
    server = await serve(callback.routes())
    port = server.port
    params = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": ACCOUNT}
    query = f"?delivery={delivery_id_of(due.reminder_id, 'sms')}"
    signature = RequestValidator(TOKEN).compute_signature(CALLBACK_URL + query, params)
    try:
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{port}/sms/status{query}"
            unsigned_query = RequestValidator(TOKEN).compute_signature(CALLBACK_URL, params)
            async with http.post(
                url, data=params, headers={"X-Twilio-Signature": unsigned_query}
            ) as without_query:
                assert without_query.status == 403  # the query is part of what is signed
            async with http.post(
                url, data=params, headers={"X-Twilio-Signature": "forged"}
            ) as forged:
                assert forged.status == 403
            for _ in range(2):  # Twilio retries callbacks: recorded once
                async with http.post(
                    url, data=params, headers={"X-Twilio-Signature": signature}
                ) as signed:
                    assert signed.status == 200
    finally:
        await server.stop()
    events = await notifier.published()
    assert [e["event_type"] for e in events] == ["delivery.sent", "delivery.delivered"]
    assert events[1]["payload"]["reminder_id"] == str(due.reminder_id)
    reports = await pool.fetch("SELECT status FROM delivery_reports")
    assert [r["status"] for r in reports] == ["delivered"]


async def test_undelivered_sms_report_is_a_bounce(
    notifier: Notifier, pool: asyncpg.Pool, settings: NotifierSettings
) -> None:
    _, sid = await _sms_sent(notifier)
    topic = dataclasses.replace(NOTIFIER_DELIVERIES, name=notifier.topic)
    callback = SmsStatusCallback(pool, notifier.clock, settings, topic=topic)
    params = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert await callback.apply(sid, "undelivered", params) is not None
    assert await callback.apply("SM-unknown", "delivered", {}) is None
    events = await notifier.published()
    assert [e["event_type"] for e in events] == ["delivery.sent", "delivery.bounced"]
    assert events[1]["payload"]["kind"] == "hard"


async def test_registered_letter_is_dropped_as_pdf_and_manifest(
    notifier: Notifier, settings: NotifierSettings
) -> None:
    due = samples.reminder("INV-1", "INV-2", channel="registered_letter", level="formal_notice")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    assert await notifier.dispatcher.dispatch_all() == 1
    assert settings.letters.drop_dir is not None
    name = f"reminder-{due.reminder_id}-registered_letter"
    pdf = (settings.letters.drop_dir / f"{name}.pdf").read_bytes()
    manifest = json.loads((settings.letters.drop_dir / f"{name}.json").read_text())
    assert pdf.startswith(b"%PDF")
    assert manifest["acknowledgement_of_receipt"] is True
    assert manifest["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert manifest["customer_id"] == samples.CUSTOMER
    assert manifest["subject"].startswith("Mise en demeure")
    row = await notifier.delivery(due.reminder_id)
    assert row["status"] == "sent"
    assert row["content"] == pdf
    (sent,) = await notifier.published()
    assert sent["payload"]["provider"] == "file_drop"
    assert sent["payload"]["provider_tracking_id"] == name


async def test_channel_without_adapter_fails_for_the_scheduler_to_fall_back(
    notifier: Notifier,
) -> None:
    due = samples.reminder("INV-1", channel="electronic_registered_letter")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    await notifier.dispatcher.dispatch_all()
    (failed,) = await notifier.published()
    assert failed["event_type"] == "delivery.failed"
    assert "not available" in failed["payload"]["reason"]


async def test_a_public_bodys_formal_notice_names_its_platform_references(
    notifier: Notifier, settings: NotifierSettings
) -> None:
    """From the ledger's opening to the paper: the notifier keeps the references the
    invoice was opened with and prints them beside it, with the public buyers' law."""
    from simulation.pdf_text import page_text

    customer = samples.customer_upserted()
    public = customer.model_copy(
        update={
            "payload": customer.payload.model_copy(
                update={
                    "segment": customer.payload.segment.model_copy(
                        update={"customer_type": "public_body"}
                    )
                }
            )
        }
    )
    opened = samples.invoice_opened("INV-1")
    opened = opened.model_copy(
        update={
            "payload": opened.payload.model_copy(
                update={"service_code": "SERV-ACHATS", "commitment_number": "EJ-2026-0417"}
            )
        }
    )
    due = samples.reminder("INV-1", channel="registered_letter", level="formal_notice")
    await notifier.consume(public, opened, samples.reminder_due(due))
    assert await notifier.dispatcher.dispatch_all() == 1
    assert settings.letters.drop_dir is not None
    pdf = settings.letters.drop_dir / f"reminder-{due.reminder_id}-registered_letter.pdf"
    text = " ".join(page_text(pdf.read_bytes()).split())
    assert "Chorus Pro : code service SERV-ACHATS, n° d'engagement EJ-2026-0417" in text
    assert "articles L2192-13 et R2192-31 du Code de la commande publique" in text
