"""Previews of proposals on real PostgreSQL and a real SMTP server (aiosmtpd) on loopback: a
proposal is rendered as it would be sent and served to collectors; an edit's rendering is a
new version; an approved version goes out byte for byte, after the send-time checks."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from datetime import timedelta
from typing import Any

import aiohttp
import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY

from contracts import dunning
from contracts.topics import NOTIFIER_DELIVERIES
from services.notifier.channels.email.adapter import EmailAdapter
from services.notifier.channels.email.smtp import SmtpChannel
from services.notifier.composing.composer import SAMPLE_RATES, EmailComposer
from services.notifier.composing.rendering import DEFAULT_TEMPLATES
from services.notifier.dispatcher import Dispatcher
from services.notifier.notices import NoticeComposer, NoticeSender
from services.notifier.previews import Previews
from services.notifier.reference_rates import RateBook
from services.notifier.settings import EmailSettings, NotifierSettings, SmtpSettings
from services.runtime.auth import AuthSettings
from services.runtime.clock import SimulatedClock
from tests.identity_provider import AUDIENCE, identity_provider
from tests.integration.notifier.harness import AS_COLLECTOR, Mailbox, Notifier, authenticator, serve
from tests.kafka_tools import unique
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration

# the opening sentence the shipped French level-2 email marks as editable
OPENING = "Malgré notre précédente relance, les factures ci-dessous restent impayées."
REWRITTEN = "Suite à notre appel de ce matin, merci de régler ces factures sous 48 heures."


@dataclasses.dataclass
class Desk:
    notifier: Notifier
    previews: Previews
    settings: NotifierSettings


@pytest.fixture
def desk(pool: asyncpg.Pool, mailbox: tuple[Mailbox, int]) -> Desk:
    settings = NotifierSettings(
        smtp=SmtpSettings(host="127.0.0.1", port=mailbox[1], security="none", timeout_s=5),
        email=EmailSettings(
            sender="relances@creditor.example", message_id_domain="creditor.example"
        ),
        templates_dir=DEFAULT_TEMPLATES,  # level 2 marks its opening and closing
        internal_addresses={"collector": "recouvrement@creditor.example"},
    )
    clock = SimulatedClock(samples.NOW)
    topic = dataclasses.replace(NOTIFIER_DELIVERIES, name=unique(NOTIFIER_DELIVERIES.name))
    adapter = EmailAdapter(
        EmailComposer.load(settings, RateBook(SAMPLE_RATES)), SmtpChannel(settings)
    )
    dispatcher = Dispatcher(
        pool, clock, settings, {"email": adapter}, adapter.composer, topic=topic
    )
    previews = Previews(pool, clock, dispatcher, topic=topic)
    dispatcher.previews = previews
    return Desk(Notifier(pool, clock, dispatcher, topic.name), previews, settings)


def proposal(reminder: dunning.Reminder, version: int = 1, **fields: Any) -> dunning.ProposalRaised:
    return dunning.ProposalRaised(
        event_id=uuid.uuid4(),
        occurred_at=samples.NOW,
        source="scheduler",
        payload=dunning.Proposal(
            proposal_id=uuid.UUID(int=7),
            version=version,
            customer_id=reminder.customer_id,
            reminder=reminder,
            confirm_role="collector",
            deadline=samples.NOW + timedelta(days=3),
            remind_owner_at=samples.NOW + timedelta(days=2),
            on_timeout="hold",
            **fields,
        ),
    )


def approved(reminder: dunning.Reminder, version: int) -> dunning.ReminderDue:
    cited = dunning.ProposalVersion(proposal_id=uuid.UUID(int=7), version=version)
    return samples.reminder_due(reminder.model_copy(update={"proposal": cited}))


async def rendered(desk: Desk) -> list[dict[str, Any]]:
    return [
        e["payload"]
        for e in await desk.notifier.published()
        if e["event_type"] == "notifier.proposal.rendered"
    ]


def wire(content: bytes) -> bytes:
    return content.replace(b"\r\n", b"\n")


async def test_the_approved_version_is_sent_as_previewed_byte_for_byte(
    desk: Desk, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    reminder = samples.reminder("INV-1")
    await desk.notifier.consume(
        samples.customer_upserted(), samples.invoice_opened("INV-1"), proposal(reminder)
    )
    assert await desk.previews.render_all() == 1
    edit = {"opening": REWRITTEN}
    await desk.notifier.consume(proposal(reminder, 2, paragraphs=edit, edited_by="local:marie"))
    await desk.notifier.consume(proposal(reminder, 3, paragraphs={"postscript": "Merci."}))
    assert await desk.previews.render_all() == 2
    assert box.received == []  # a preview reaches nobody

    first, second, third = await rendered(desk)
    assert (first["version"], first["rendered"], first["media_type"]) == (1, True, "message/rfc822")
    assert first["recipients"] == ["compta@acme.example", "achats@acme.example"]
    assert second["digest"] != first["digest"]
    assert (third["rendered"], third["digest"]) == (False, None)
    offered = "offers no editable paragraph postscript (it offers: closing, opening)"
    assert offered in third["reason"]

    server = await serve(desk.previews.routes(authenticator(desk.notifier.clock)))
    base = f"http://127.0.0.1:{server.port}"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}{second['preview_path']}", headers=AS_COLLECTOR) as got:
                assert got.status == 200
                assert got.content_type == "message/rfc822"
                previewed = await got.read()
            async with http.get(f"{base}{second['preview_path']}") as anonymous:
                assert anonymous.status == 401
            async with http.get(
                f"{base}/proposals/{uuid.UUID(int=7)}/3", headers=AS_COLLECTOR
            ) as failed:
                assert failed.status == 409
    finally:
        await server.stop()
    assert hashlib.sha256(previewed).hexdigest() == second["digest"]

    await desk.notifier.consume(approved(reminder, 2))
    desk.notifier.clock.advance(timedelta(hours=1))
    assert await desk.notifier.dispatcher.dispatch_all() == 1
    ((envelope, message),) = box.received
    assert envelope.original_content is not None
    assert wire(envelope.original_content) == wire(previewed)  # byte for byte
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert REWRITTEN in text
    assert OPENING not in text
    assert sorted(envelope.rcpt_tos) == ["achats@acme.example", "compta@acme.example"]
    row = await desk.notifier.delivery(reminder.reminder_id)
    assert (row["status"], row["content_sha256"]) == ("sent", second["digest"])


async def test_an_approved_proposal_still_passes_the_send_time_checks(desk: Desk) -> None:
    reminder = samples.reminder("INV-1")
    await desk.notifier.consume(
        samples.customer_upserted(), samples.invoice_opened("INV-1"), proposal(reminder)
    )
    assert await desk.previews.render_all() == 1
    await desk.notifier.consume(samples.invoice_settled("INV-1"), approved(reminder, 1))
    assert await desk.notifier.dispatcher.dispatch_all() == 1
    row = await desk.notifier.delivery(reminder.reminder_id)
    assert (row["status"], row["last_error"]) == ("suppressed", "invoice_settled")


async def test_the_collectors_are_reminded_of_a_waiting_proposal_unless_it_was_decided(
    desk: Desk, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    waiting = samples.reminder("INV-1")
    await desk.notifier.consume(samples.customer_upserted(), proposal(waiting))
    sender = NoticeSender(
        desk.notifier.pool,
        desk.notifier.clock,
        desk.settings,
        NoticeComposer(desk.settings),
        SmtpChannel(desk.settings),
    )
    assert await sender.send_all() == 0  # not before a business day ahead of the deadline
    desk.notifier.clock.advance(timedelta(days=2))
    assert await sender.send_all() == 1
    ((envelope, message),) = box.received
    assert envelope.rcpt_tos == ["recouvrement@creditor.example"]
    assert str(uuid.UUID(int=7)) in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    decided = dunning.ProposalClosed(
        event_id=uuid.uuid4(),
        occurred_at=samples.NOW,
        source="scheduler",
        payload=dunning.ProposalDecided(
            proposal_id=uuid.UUID(int=8),
            version=1,
            customer_id=samples.CUSTOMER,
            company_code="FR01",
            decision="approved",
            by="local:marie",
            at=samples.NOW,
        ),
    )
    other = proposal(samples.reminder("INV-2"))
    other = other.model_copy(
        update={"payload": other.payload.model_copy(update={"proposal_id": uuid.UUID(int=8)})}
    )
    await desk.notifier.consume(other, decided)
    desk.notifier.clock.advance(timedelta(days=3))
    assert await sender.send_all() == 0
    assert len(box.received) == 1


async def test_the_collectors_reminder_describes_the_version_edited_since(
    desk: Desk, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    reminder = samples.reminder("INV-1")
    first = proposal(reminder)
    await desk.notifier.consume(samples.customer_upserted(), first)
    texted = reminder.model_copy(update={"channel": "sms"})
    edited = proposal(texted, 2, edited_by="local:marie")
    await desk.notifier.consume(edited)
    await desk.notifier.consume(first)  # a replay of version 1 changes nothing
    sender = NoticeSender(
        desk.notifier.pool,
        desk.notifier.clock,
        desk.settings,
        NoticeComposer(desk.settings),
        SmtpChannel(desk.settings),
    )
    desk.notifier.clock.advance(timedelta(days=2))  # the first version's reminder day
    assert await sender.send_all() == 1
    ((_, message),) = box.received
    text = " ".join(message.get_body(("plain",)).get_content().split())  # type: ignore[union-attr]
    assert "Un envoi (sms) au client" in text  # in the staff's language, French here
    assert "version 2." in text
    assert "version 1" not in text
    assert "Cette version a été modifiée par local:marie ; elle part au contact billing." in text
    # once sent, a later version does not send it again
    await desk.notifier.consume(proposal(reminder, 3, edited_by="local:paul"))
    desk.notifier.clock.advance(timedelta(hours=1))
    assert await sender.send_all() == 0
    assert len(box.received) == 1


async def test_who_may_see_a_preview(desk: Desk) -> None:
    reminder = samples.reminder("INV-1")
    await desk.notifier.consume(
        samples.customer_upserted(), samples.invoice_opened("INV-1"), proposal(reminder)
    )
    assert await desk.previews.render_all() == 1
    path = f"/proposals/{uuid.UUID(int=7)}/1"
    clock = desk.notifier.clock
    async with identity_provider() as provider:
        auth = authenticator(
            clock, AuthSettings(oidc_issuer=provider.issuer, oidc_audience=AUDIENCE)
        )
        server = await serve(desk.previews.routes(auth))

        def person(subject: str, role: str, company: str) -> dict[str, str]:
            token = provider.token(subject, (role,), (company,), now=clock.now().timestamp())
            return {"Authorization": f"Bearer {token}"}

        route = "/proposals/{proposal_id}/{version}"
        labels = {"service": "notifier", "route": route, "reason": "portfolio"}
        before = REGISTRY.get_sample_value("relance_authorization_refusals_total", labels) or 0
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
                viewer = await client.get(path, headers=person("vic", "viewer", "FR01"))
                assert (viewer.status_code, viewer.json()["reason"]) == (403, "role")
                outside = await client.get(path, headers=person("dora", "collector", "DE02"))
                assert (outside.status_code, outside.json()["reason"]) == (403, "portfolio")
                mine = await client.get(path, headers=person("anna", "collector", "FR01"))
                assert mine.status_code == 200
                assert hashlib.sha256(mine.content).hexdigest() == mine.headers["X-Content-SHA256"]
                unknown = await client.get(
                    f"/proposals/{uuid.UUID(int=9)}/1", headers=person("anna", "collector", "FR01")
                )
                assert unknown.status_code == 404
        finally:
            await server.stop()
    after = REGISTRY.get_sample_value("relance_authorization_refusals_total", labels)
    assert after == before + 1


async def test_a_file_uploaded_for_a_proposal_goes_with_its_email(
    desk: Desk, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    reminder = samples.reminder("INV-1")
    await desk.notifier.consume(
        samples.customer_upserted(), samples.invoice_opened("INV-1"), proposal(reminder)
    )
    assert await desk.previews.render_all() == 1
    quote = b"%PDF-1.4 the signed quote\n%%EOF\n"
    server = await serve(desk.previews.routes(authenticator(desk.notifier.clock)))
    base = f"http://127.0.0.1:{server.port}/proposals/{uuid.UUID(int=7)}/attachments"
    try:
        async with httpx.AsyncClient() as client:
            pdf = {**AS_COLLECTOR, "Content-Type": "application/pdf"}
            uploaded = await client.post(base, content=quote, headers=pdf)
            assert uploaded.status_code == 201, uploaded.text
            untyped = await client.post(base, content=quote, headers=AS_COLLECTOR)
            assert untyped.status_code == 415
            nowhere = await client.post(
                base.replace(str(uuid.UUID(int=7)), str(uuid.UUID(int=9))),
                content=quote,
                headers=pdf,
            )
            assert nowhere.status_code == 404
    finally:
        await server.stop()
    digest = uploaded.json()["sha256"]
    assert digest == hashlib.sha256(quote).hexdigest()
    attached = dunning.ProposalAttachment(
        filename="devis signé.pdf", media_type="application/pdf", sha256=digest
    )
    missing = dunning.ProposalAttachment(
        filename="other.pdf", media_type="application/pdf", sha256="1" * 64
    )
    await desk.notifier.consume(
        proposal(reminder, 2, attachments=(attached,)),
        proposal(reminder, 3, attachments=(attached, missing)),
    )
    assert await desk.previews.render_all() == 2
    _, second, third = await rendered(desk)
    assert second["rendered"] is True
    assert (third["rendered"], third["reason"]) == (False, "not uploaded: other.pdf")

    await desk.notifier.consume(approved(reminder, 2))
    assert await desk.notifier.dispatcher.dispatch_all() == 1
    ((_, message),) = box.received
    files = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
    assert files["devis signé.pdf"] == quote
    statements = [n for n in files if n and n.endswith(".pdf") and n != "devis signé.pdf"]
    assert len(statements) == 1  # the statement is still there
    row = await desk.notifier.delivery(reminder.reminder_id)
    assert row["content_sha256"] == second["digest"]


async def test_a_reminder_not_sent_yet_is_rendered_for_a_campaigns_dry_run(
    desk: Desk, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    reminder = samples.reminder("INV-1")
    await desk.notifier.consume(samples.customer_upserted(), samples.invoice_opened("INV-1"))
    body = reminder.model_dump(mode="json")
    server = await serve(desk.previews.routes(authenticator(desk.notifier.clock)))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            got = await client.post("/previews/reminders", json=body, headers=AS_COLLECTOR)
            assert got.status_code == 200, got.text
            assert got.headers["content-type"] == "message/rfc822"
            assert hashlib.sha256(got.content).hexdigest() == got.headers["X-Content-SHA256"]
            assert b"INV-1" in got.content
            unknown = {**body, "customer_id": "C-NOBODY"}
            refused = await client.post("/previews/reminders", json=unknown, headers=AS_COLLECTOR)
            assert refused.status_code == 409  # the notifier does not know that customer
            anonymous = await client.post("/previews/reminders", json=body)
            assert anonymous.status_code == 401
    finally:
        await server.stop()
    assert box.received == []  # a preview reaches nobody
    assert await desk.notifier.pool.fetchval("SELECT count(*) FROM deliveries") == 0
