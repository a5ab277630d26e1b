"""Email bounces: delivery status notifications (RFC 3464) posted back by the mail system."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from email.message import EmailMessage, Message
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import aiohttp
import asyncpg
import pytest

from contracts.topics import NOTIFIER_DELIVERIES
from services.notifier.app import channel_adapters
from services.notifier.channels.email.bounces import EmailBounces, parse_dsn
from services.notifier.composing.composer import EmailComposer
from services.notifier.dispatcher import Dispatcher
from services.notifier.settings import EmailSettings, NotifierSettings, SmtpSettings
from services.runtime.clock import SimulatedClock
from tests.integration.notifier.harness import Mailbox, Notifier, serve
from tests.kafka_tools import unique
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration

TOKEN = "bounce-secret"


def delivery_status(recipients: tuple[tuple[str, str, str], ...]) -> MIMEBase:
    """The message/delivery-status part: a block for the message, then one per recipient."""
    per_message = Message()
    per_message["Reporting-MTA"] = "dns; mx.client.example"
    blocks: list[Message | str] = [per_message]
    for address, action, code in recipients:
        block = Message()
        block["Final-Recipient"] = f"rfc822; {address}"
        block["Action"] = action
        block["Status"] = code
        block["Diagnostic-Code"] = f"smtp; 550 {code} <{address}>: Recipient address rejected"
        blocks.append(block)
    status = MIMEBase("message", "delivery-status")
    status.set_payload(blocks)
    return status


def dsn(original: EmailMessage, *recipients: tuple[str, str, str]) -> bytes:
    """A delivery status notification as Postfix writes it: text, status, original headers."""
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = "MAILER-DAEMON@mx.client.example"
    report["To"] = "relances@example.com"
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report.attach(MIMEText("This is the mail system at host mx.client.example.\n"))
    report.attach(delivery_status(recipients))
    headers = MIMEText(
        "".join(f"{k}: {v}\n" for k, v in original.items() if k in ("From", "To", "Message-ID")),
        "rfc822-headers",
    )
    report.attach(headers)
    return report.as_bytes()


@pytest.fixture
def settings(mailbox: tuple[Mailbox, int]) -> NotifierSettings:
    return NotifierSettings(
        smtp=SmtpSettings(host="127.0.0.1", port=mailbox[1], security="none"),
        email=EmailSettings(bounce_webhook_token=TOKEN),
    )


@pytest.fixture
def notifier(pool: asyncpg.Pool, settings: NotifierSettings) -> Notifier:
    composer = EmailComposer.load(settings)
    topic = dataclasses.replace(NOTIFIER_DELIVERIES, name=unique(NOTIFIER_DELIVERIES.name))
    clock = SimulatedClock(samples.NOW)
    adapters = channel_adapters(settings, composer)
    dispatcher = Dispatcher(pool, clock, settings, adapters, composer, topic=topic)
    return Notifier(pool, clock, dispatcher, topic.name)


@pytest.fixture
async def endpoint(notifier: Notifier, settings: NotifierSettings) -> AsyncIterator[str]:
    bounces = EmailBounces(notifier.pool, notifier.clock, settings, notifier.dispatcher.topic)
    server = await serve(bounces.routes())
    port = server.port
    yield f"http://127.0.0.1:{port}/email/bounces"
    await server.stop()


async def post(url: str, body: bytes, token: str = TOKEN) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers={"X-Relance-Token": token}) as response,
    ):
        return response.status, await response.text()


async def sent_email(notifier: Notifier, mailbox: tuple[Mailbox, int]) -> EmailMessage:
    due = samples.reminder("INV-1", level="level_1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    assert await notifier.dispatcher.dispatch_all() == 1
    ((_, message),) = mailbox[0].received
    return message


async def test_a_hard_bounce_becomes_a_bounced_event_once(
    notifier: Notifier, mailbox: tuple[Mailbox, int], endpoint: str
) -> None:
    original = await sent_email(notifier, mailbox)
    report = dsn(original, ("compta@acme.example", "failed", "5.1.1"))
    assert await post(endpoint, report, token="wrong") == (403, "invalid token")

    status, _ = await post(endpoint, report)
    assert status == 200
    status, _ = await post(endpoint, report)  # posted twice: recorded once
    assert status == 200

    events = await notifier.published()
    assert [e["event_type"] for e in events] == ["delivery.sent", "delivery.bounced"]
    bounce = events[1]["payload"]
    assert bounce["kind"] == "hard"
    assert bounce["provider_tracking_id"] == original["Message-ID"].strip()
    assert bounce["reason"].startswith("5.1.1 compta@acme.example")
    reports = await notifier.pool.fetch("SELECT status, detail FROM delivery_reports")
    assert [r["status"] for r in reports] == ["hard_bounce:compta@acme.example"]


async def test_soft_bounces_and_delays_per_recipient(
    notifier: Notifier, mailbox: tuple[Mailbox, int], endpoint: str
) -> None:
    original = await sent_email(notifier, mailbox)
    report = dsn(
        original,
        ("compta@acme.example", "delayed", "4.4.1"),
        ("achats@acme.example", "failed", "4.2.2"),
    )
    assert (await post(endpoint, report))[0] == 200
    events = await notifier.published()
    assert [e["event_type"] for e in events] == ["delivery.sent", "delivery.bounced"]
    assert events[1]["payload"]["kind"] == "soft"
    statuses = sorted(
        r["status"] for r in await notifier.pool.fetch("SELECT status FROM delivery_reports")
    )
    assert statuses == ["delayed:compta@acme.example", "soft_bounce:achats@acme.example"]


async def test_reports_for_unknown_messages_and_other_mail_are_not_applied(
    notifier: Notifier, mailbox: tuple[Mailbox, int], endpoint: str
) -> None:
    stranger = EmailMessage()
    stranger["Message-ID"] = "<someone-else@elsewhere.example>"
    status, text = await post(endpoint, dsn(stranger, ("x@y.example", "failed", "5.1.1")))
    assert (status, text) == (202, "unknown message <someone-else@elsewhere.example>")
    status, _ = await post(endpoint, b"Subject: out of office\n\nI am away.\n")
    assert status == 422


def test_the_original_message_id_is_read_from_a_whole_returned_message() -> None:
    original = EmailMessage()
    original["Message-ID"] = "<reminder-1.email@relance.invalid>"
    original.set_content("hello")
    report = MIMEMultipart("report", report_type="delivery-status")
    report.attach(delivery_status((("a@b.example", "failed", "5.7.1"),)))
    report.attach(MIMEMessage(original))
    parsed = parse_dsn(report.as_bytes())
    assert parsed is not None
    assert parsed.original_message_id == "<reminder-1.email@relance.invalid>"
    assert [(r.recipient, r.action, r.status) for r in parsed.recipients] == [
        ("a@b.example", "failed", "5.7.1")
    ]
