"""The notifier end to end on real PostgreSQL and a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest

from contracts.topics import NOTIFIER_DELIVERIES
from services.notifier.channels.email.adapter import EmailAdapter
from services.notifier.channels.email.smtp import SmtpChannel
from services.notifier.composing.composer import SAMPLE_RATES, EmailComposer
from services.notifier.dispatcher import Dispatcher
from services.notifier.proof import ProofArchive
from services.notifier.reference_rates import RateBook
from services.notifier.settings import EmailSettings, NotifierSettings, SmtpSettings
from services.runtime.clock import SimulatedClock
from tests.integration.notifier.harness import (
    AS_COLLECTOR,
    Mailbox,
    Notifier,
    authenticator,
    free_port,
    serve,
)
from tests.kafka_tools import unique
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration


@pytest.fixture
def notifier(pool: asyncpg.Pool, mailbox: tuple[Mailbox, int]) -> Notifier:
    settings = NotifierSettings(
        smtp=SmtpSettings(host="127.0.0.1", port=mailbox[1], security="none", timeout_s=5),
        email=EmailSettings(
            sender="relances@creditor.example", message_id_domain="creditor.example"
        ),
    )
    clock = SimulatedClock(samples.NOW)
    topic = dataclasses.replace(NOTIFIER_DELIVERIES, name=unique(NOTIFIER_DELIVERIES.name))
    adapter = EmailAdapter(
        EmailComposer.load(settings, RateBook(SAMPLE_RATES)), SmtpChannel(settings)
    )
    dispatcher = Dispatcher(
        pool, clock, settings, {"email": adapter}, adapter.composer, topic=topic
    )
    return Notifier(pool, clock, dispatcher, topic.name)


def _types(events: Sequence[dict[str, Any]]) -> list[str]:
    return [e["event_type"] for e in events]


async def test_reminder_is_emailed_with_statement_and_proof(
    notifier: Notifier, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    due = samples.reminder("INV-1", "INV-2")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    assert await notifier.dispatcher.dispatch_all() == 1

    (envelope, message) = box.received[0]
    assert len(box.received) == 1
    assert message["Message-ID"].strip() == f"<reminder-{due.reminder_id}.email@creditor.example>"
    assert message["To"] == "compta@acme.example"
    assert message["Cc"] == "achats@acme.example"  # level 2 copies the other contacts
    assert sorted(envelope.rcpt_tos) == ["achats@acme.example", "compta@acme.example"]
    assert envelope.mail_from == "relances@creditor.example"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "INV-1" in text
    assert "INV-2" in text
    assert "12,15 %" in text
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "ACME &lt;Industrie&gt; SAS" in html
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content().startswith(b"%PDF")

    row = await notifier.delivery(due.reminder_id)
    assert row["status"] == "sent"
    assert row["attempts"] == 1
    assert row["content_sha256"] == hashlib.sha256(row["content"]).hexdigest()
    assert "OK queued" in row["provider_reply"]
    (sent,) = await notifier.published()
    assert sent["event_type"] == "delivery.sent"
    assert sent["payload"]["provider_tracking_id"] == message["Message-ID"].strip()
    assert sent["payload"]["invoice_ids"] == ["FR01/INV-1", "FR01/INV-2"]
    attempts = await notifier.pool.fetch("SELECT outcome, finished_at FROM delivery_attempts")
    assert [(a["outcome"], a["finished_at"] is not None) for a in attempts] == [("sent", True)]


async def test_reminder_delivered_twice_is_sent_once(
    notifier: Notifier, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    due = samples.reminder("INV-1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    await notifier.dispatcher.dispatch_all()
    # the scheduler decided again: same reminder id, new event id
    await notifier.consume(samples.reminder_due(due))
    assert await notifier.dispatcher.dispatch_all() == 0
    assert len(box.received) == 1
    assert _types(await notifier.published()) == ["delivery.sent"]


async def test_payment_between_scheduling_and_sending_means_no_email(
    notifier: Notifier, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    due = samples.reminder("INV-1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    await notifier.consume(samples.invoice_settled("INV-1"))
    assert await notifier.dispatcher.dispatch_all() == 1
    assert box.received == []
    (suppressed,) = await notifier.published()
    assert suppressed["event_type"] == "delivery.suppressed"
    assert suppressed["payload"]["reason"] == "invoice_settled"
    assert (await notifier.delivery(due.reminder_id))["status"] == "suppressed"


async def test_settled_invoice_is_left_out_of_a_grouped_reminder(
    notifier: Notifier, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    due = samples.reminder("INV-1", "INV-2")
    await notifier.consume(
        samples.customer_upserted(), samples.reminder_due(due), samples.invoice_settled("INV-1")
    )
    await notifier.dispatcher.dispatch_all()
    ((_, message),) = box.received
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "INV-2" in text
    assert "INV-1" not in text
    (sent,) = await notifier.published()
    assert sent["payload"]["invoice_ids"] == ["FR01/INV-2"]


async def test_disputed_invoice_suppresses_and_a_reversal_reopens(
    notifier: Notifier, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    disputed = samples.reminder("INV-1")
    reopened = samples.reminder("INV-2")
    await notifier.consume(
        samples.customer_upserted(),
        samples.dispute_opened("INV-1"),
        samples.invoice_settled("INV-2"),
        samples.open_amount_changed("INV-2"),
        samples.reminder_due(disputed),
        samples.reminder_due(reopened),
    )
    assert await notifier.dispatcher.dispatch_all() == 2
    assert len(box.received) == 1
    events = await notifier.published()
    assert sorted(_types(events)) == ["delivery.sent", "delivery.suppressed"]
    suppressed = next(e for e in events if e["event_type"] == "delivery.suppressed")
    assert suppressed["payload"]["reason"] == "invoice_disputed"


async def test_permanent_smtp_refusal_ends_as_a_failed_delivery(
    notifier: Notifier, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    box.reply = "554 5.7.1 Message rejected"
    due = samples.reminder("INV-1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    await notifier.dispatcher.dispatch_all()
    (failed,) = await notifier.published()
    assert failed["event_type"] == "delivery.failed"
    assert failed["payload"]["retryable"] is False
    assert "554" in failed["payload"]["reason"]
    assert (await notifier.delivery(due.reminder_id))["status"] == "failed"


async def test_transient_smtp_refusal_is_retried_later_then_sent(
    notifier: Notifier, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    box.reply = "451 4.3.0 Try again later"
    due = samples.reminder("INV-1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    assert await notifier.dispatcher.dispatch_all() == 1
    row = await notifier.delivery(due.reminder_id)
    assert row["status"] == "pending"
    assert row["attempts"] == 1
    assert row["next_attempt_at"] > notifier.clock.now()
    assert await notifier.published() == []
    assert await notifier.dispatcher.dispatch_all() == 0  # not due yet

    box.reply = None
    notifier.clock.set(row["next_attempt_at"])
    assert await notifier.dispatcher.dispatch_all() == 1
    assert len(box.received) == 1
    row = await notifier.delivery(due.reminder_id)
    assert row["status"] == "sent"
    assert row["attempts"] == 2
    assert _types(await notifier.published()) == ["delivery.sent"]


async def test_unreachable_smtp_server_is_a_transient_failure(
    pool: asyncpg.Pool, notifier: Notifier
) -> None:
    settings = NotifierSettings(
        smtp=SmtpSettings(host="127.0.0.1", port=free_port(), security="none", timeout_s=2)
    )
    adapter = EmailAdapter(
        EmailComposer.load(settings, RateBook(SAMPLE_RATES)), SmtpChannel(settings)
    )
    dispatcher = dataclasses.replace(notifier.dispatcher, adapters={"email": adapter})
    due = samples.reminder("INV-1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    assert await dispatcher.dispatch_all() == 1
    row = await notifier.delivery(due.reminder_id)
    assert row["status"] == "pending"
    assert row["last_error"]


async def test_customer_without_email_contact_in_the_role_fails_for_good(
    notifier: Notifier,
) -> None:
    due = samples.reminder("INV-1", role="accounting")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    await notifier.dispatcher.dispatch_all()
    (failed,) = await notifier.published()
    assert failed["event_type"] == "delivery.failed"
    assert "no email contact with role accounting" in failed["payload"]["reason"]


async def test_crash_after_claiming_resends_with_the_same_message_id_after_the_lease(
    notifier: Notifier, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    due = samples.reminder("INV-1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    # the process claims the delivery and dies before recording any outcome
    claimed = (await notifier.dispatcher._claim()).sending
    assert claimed is not None
    assert (await notifier.delivery(due.reminder_id))["status"] == "sending"
    assert await notifier.dispatcher.dispatch_all() == 0  # leased: no one else sends it

    notifier.clock.advance(timedelta(seconds=notifier.dispatcher.settings.sending_lease_s))
    assert await notifier.dispatcher.dispatch_all() == 1
    ((_, message),) = box.received
    assert message["Message-ID"].strip() == claimed.outgoing.tracking_id
    row = await notifier.delivery(due.reminder_id)
    assert row["status"] == "sent"
    assert row["attempts"] == 2


async def test_proof_of_every_reminder_is_retrievable_per_invoice(
    notifier: Notifier, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    box.reply = "451 4.3.0 Try again later"
    due = samples.reminder("INV-1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    await notifier.dispatcher.dispatch_all()
    box.reply = None
    notifier.clock.set((await notifier.delivery(due.reminder_id))["next_attempt_at"])
    await notifier.dispatcher.dispatch_all()

    archive = ProofArchive(notifier.pool)
    server = await serve(archive.routes(authenticator(notifier.clock)))
    port = server.port
    try:
        async with aiohttp.ClientSession(headers=AS_COLLECTOR) as http:
            base = f"http://127.0.0.1:{port}"
            listed = await (await http.get(f"{base}/invoices/FR01%2FINV-1/deliveries")).json()
            (delivery,) = listed["deliveries"]
            content = await http.get(f"{base}/deliveries/{delivery['delivery_id']}/content")
            body = await content.read()
            none = await (await http.get(f"{base}/invoices/FR01%2FINV-9/deliveries")).json()
    finally:
        await server.stop()
    assert delivery["status"] == "sent"
    assert delivery["recipients"] == ["compta@acme.example", "achats@acme.example"]
    assert [a["outcome"] for a in delivery["attempts"]] == ["failed", "sent"]
    assert "451" in delivery["attempts"][0]["detail"]
    assert content.content_type == "message/rfc822"
    assert hashlib.sha256(body).hexdigest() == delivery["content_sha256"]
    assert content.headers["X-Content-SHA256"] == delivery["content_sha256"]
    assert box.received[0][1]["Message-ID"].strip() in body.decode()
    assert none == {"deliveries": []}
