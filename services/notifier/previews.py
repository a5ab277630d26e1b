"""Previews of proposals: each version rendered exactly as it would be sent, kept, and sent.

A ``dunning.proposal.raised`` (a step waiting for a collector's decision, or a new version
after an edit) is recorded by the consumer as a *pending* preview. The ``previews`` loop
claims one (``FOR UPDATE SKIP LOCKED``), renders it with the channel's adapter, the one
that would send it (the same composer, PDF included; the editable paragraphs the collector
rewrote in place of the template's own), stores the exact bytes with their SHA-256, and
announces ``notifier.proposal.rendered`` with where to fetch them (``GET
/proposals/{proposal_id}/{version}``, collector or above, within the portfolio).

When the collector approves, the reminder due names that version (``Reminder.proposal``) and
the dispatcher asks :func:`approved_outgoing` instead of rendering: an email goes out as the
stored bytes; a letter or a text is rendered again from the same facts at the preview's
instant and must give the same digest. The dispatcher's send-time checks run as for any
reminder, right before the provider call. If the checks dropped invoices the preview listed
(one was paid since), the stored bytes would be wrong: the message is rendered afresh, with
the collector's paragraphs, for the invoices left, and the difference is logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from contracts.dunning import DunnedInvoice, Proposal, ProposalDecided, Reminder
from contracts.notifications import ProposalRendered, ProposalRendering
from contracts.topics import NOTIFIER_DELIVERIES, Topic
from services.notifier import notices, queries
from services.notifier.channels.adapter import ChannelAdapter, Outgoing
from services.notifier.composing.composer import CustomerView
from services.notifier.composing.mime import Attachment, with_attachments
from services.notifier.composing.rendering import rewritten
from services.notifier.composing.workers import ComposedBytes
from services.notifier.dispatcher import Dispatcher
from services.notifier.errors import DeliveryError, UnknownParagraph
from services.runtime import outbox
from services.runtime.auth import Authenticator, guarded_router
from services.runtime.clock import Clock
from services.runtime.consumer import UnitOfWork
from services.runtime.database import TRANSIENT_ERRORS, Connection, Pool
from services.runtime.identity import Identity, authorize
from services.runtime.logs import get_logger
from services.runtime.loops import every

log = get_logger(__name__)
PREVIEW_NAMESPACE = uuid.UUID("b1f3e7a0-2c4d-4e8f-9a6b-5d7c3e1f0a92")
EMAIL_CHANNELS = frozenset({"email", "interactive_email"})
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
MEDIA_TYPE = re.compile(r"[a-z0-9.+-]+/[a-z0-9.+-]+")
MEDIA_TYPES = {
    "email": "message/rfc822",
    "interactive_email": "message/rfc822",
    "sms": "application/json",
    "postal_letter": "application/pdf",
    "registered_letter": "application/pdf",
    "electronic_registered_letter": "application/pdf",
}


def preview_path(proposal_id: uuid.UUID, version: int) -> str:
    return f"/proposals/{proposal_id}/{version}"


@dataclass(frozen=True)
class File:
    """A file added to a proposal's email."""

    filename: str
    media_type: str
    content: bytes


def render(
    adapter: ChannelAdapter,
    reminder: Reminder,
    invoices: tuple[DunnedInvoice, ...],
    customer: CustomerView,
    paragraphs: dict[str, str],
    now: datetime,
    files: Sequence[File] = (),
) -> Outgoing:
    """The adapter's exact rendering with ``paragraphs`` rewritten and ``files`` attached
    after the statement; refused when a paragraph is not one its template offers
    (:class:`UnknownParagraph`)."""
    with rewritten(paragraphs) as offered:
        outgoing = adapter.prepare(reminder, invoices, customer, now)
    unknown = sorted(set(paragraphs) - offered)
    if unknown:
        raise UnknownParagraph(
            f"template {reminder.template!r} offers no editable paragraph {', '.join(unknown)}"
            f" (it offers: {', '.join(sorted(offered)) or 'none'})"
        )
    if not files:
        return outgoing
    if not isinstance(outgoing.message, ComposedBytes):
        raise DeliveryError("files are attached to an email only", retryable=False)
    added = []
    for file in files:
        maintype, _, subtype = file.media_type.partition("/")
        added.append(Attachment(file.filename, file.content, maintype, subtype))
    content = with_attachments(outgoing.content, added)
    composed = ComposedBytes(content, outgoing.recipients, outgoing.message.message_id)
    return Outgoing(content, outgoing.recipients, outgoing.tracking_id, composed)


async def files_of(connection: Connection, proposal: Proposal) -> list[File]:
    """The proposal's files, as uploaded; a file cited but not uploaded is refused."""
    if not proposal.attachments:
        return []
    rows = await connection.fetch(
        queries.ATTACHMENTS_OF, proposal.proposal_id, [a.sha256 for a in proposal.attachments]
    )
    stored = {r["sha256"]: bytes(r["content"]) for r in rows}
    missing = [a.filename for a in proposal.attachments if a.sha256 not in stored]
    if missing:
        raise DeliveryError(f"not uploaded: {', '.join(missing)}", retryable=False)
    return [File(a.filename, a.media_type, stored[a.sha256]) for a in proposal.attachments]


class Previews:
    """Renders pending previews, serves them, and hands approved ones to the dispatcher."""

    def __init__(
        self,
        pool: Pool,
        clock: Clock,
        dispatcher: Dispatcher,
        topic: Topic = NOTIFIER_DELIVERIES,
        interval_s: float = 1.0,
    ) -> None:
        self.pool = pool
        self.clock = clock
        self.dispatcher = dispatcher
        self.topic = topic
        self.interval_s = interval_s
        # the last claim found no preview pending: ask first (one statement, no transaction)
        self._idle = False

    async def run(self, stop: asyncio.Event) -> None:
        loop = every(
            lambda: self.interval_s, self.render_once, name="previews", tolerate=TRANSIENT_ERRORS
        )
        await loop(stop)

    async def render_all(self) -> int:
        rendered = 0
        while await self.render_once():
            rendered += 1
        return rendered

    async def render_once(self) -> bool:
        """Render one pending preview, in one transaction; False when none is pending."""
        now = self.clock.now()
        if self._idle and not await self.pool.fetchval(queries.ANY_PREVIEW_PENDING):
            return False
        async with self.pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(queries.CLAIM_PREVIEW)
            self._idle = row is None
            if row is None:
                return False
            proposal = Proposal.model_validate_json(row["proposal"])
            reminder = proposal.reminder
            fields = {
                "proposal_id": proposal.proposal_id,
                "version": proposal.version,
                "customer_id": proposal.customer_id,
                "channel": reminder.channel,
                "at": now,
            }
            try:
                adapter = self.dispatcher.adapters.get(reminder.channel)
                if adapter is None:
                    raise DeliveryError(
                        f"channel {reminder.channel} is not available", retryable=False
                    )
                customer = await self.dispatcher.customer_view(
                    connection, reminder.customer_id, [i.invoice_id for i in reminder.invoices]
                )
                outgoing = render(
                    adapter,
                    reminder,
                    reminder.invoices,
                    customer,
                    proposal.paragraphs,
                    now,
                    await files_of(connection, proposal),
                )
            except (DeliveryError, UnknownParagraph) as exc:
                reason = str(exc)[:1000]
                await connection.execute(
                    queries.PREVIEW_FAILED, proposal.proposal_id, proposal.version, reason, now
                )
                rendering = ProposalRendering(**fields, rendered=False, reason=reason)
                log.warning("proposal_not_rendered", proposal_id=str(proposal.proposal_id))
            else:
                digest = hashlib.sha256(outgoing.content).hexdigest()
                media_type = MEDIA_TYPES.get(reminder.channel, "application/octet-stream")
                await connection.execute(
                    queries.PREVIEW_RENDERED,
                    proposal.proposal_id,
                    proposal.version,
                    now,
                    outgoing.content,
                    digest,
                    media_type,
                    list(outgoing.recipients),
                    outgoing.tracking_id,
                    [i.invoice_id for i in reminder.invoices],
                )
                rendering = ProposalRendering(
                    **fields,
                    rendered=True,
                    digest=digest,
                    media_type=media_type,
                    size=len(outgoing.content),
                    recipients=outgoing.recipients,
                    preview_path=preview_path(proposal.proposal_id, proposal.version),
                )
            event = ProposalRendered(
                event_id=uuid.uuid5(
                    PREVIEW_NAMESPACE, f"{proposal.proposal_id}/{proposal.version}"
                ),
                occurred_at=now,
                source="notifier",
                payload=rendering,
            )
            await outbox.enqueue(connection, [outbox.OutgoingRecord.of(self.topic, event)])
        return True

    # -- sending an approved proposal --------------------------------------------------

    async def approved_outgoing(
        self,
        connection: Connection,
        reminder: Reminder,
        invoices: tuple[DunnedInvoice, ...],
        adapter: ChannelAdapter,
        customer: CustomerView,
        now: datetime,
    ) -> Outgoing:
        """What to hand the provider for an approved proposal's reminder (see the module)."""
        assert reminder.proposal is not None
        row = await connection.fetchrow(
            queries.PREVIEW, reminder.proposal.proposal_id, reminder.proposal.version
        )
        paragraphs: dict[str, str] = {}
        files: list[File] = []
        if row is not None:  # a file gone missing fails the delivery (DeliveryError)
            approved = Proposal.model_validate_json(row["proposal"])
            paragraphs = approved.paragraphs
            files = await files_of(connection, approved)
        same_invoices = row is not None and sorted(row["invoice_ids"] or ()) == sorted(
            i.invoice_id for i in invoices
        )
        try:
            if row is None or row["status"] != "rendered" or not same_invoices:
                log.info(
                    "proposal_rendered_again",
                    proposal_id=str(reminder.proposal.proposal_id),
                    cause="invoices changed" if row is not None else "no preview",
                )
                return render(adapter, reminder, invoices, customer, paragraphs, now, files)
            if reminder.channel in EMAIL_CHANNELS:
                content = bytes(row["content"])
                return Outgoing(content, tuple(row["recipients"]), row["tracking_id"], content)
            outgoing = render(
                adapter, reminder, invoices, customer, paragraphs, row["rendered_at"], files
            )
        except UnknownParagraph as exc:
            raise DeliveryError(str(exc), retryable=False) from exc
        if hashlib.sha256(outgoing.content).hexdigest() != row["content_sha256"]:
            log.warning(
                "proposal_rendering_changed",
                proposal_id=str(reminder.proposal.proposal_id),
                previewed=row["content_sha256"],
            )
        return outgoing

    # -- the console's preview ---------------------------------------------------------

    def routes(self, auth: Authenticator) -> APIRouter:
        router = guarded_router()
        collector: Identity = Depends(auth.require("collector"))

        async def preview(
            proposal_id: uuid.UUID, version: int, identity: Identity = collector
        ) -> Response:
            return await self.preview_route(proposal_id, version, identity)

        async def upload(
            proposal_id: uuid.UUID, request: Request, identity: Identity = collector
        ) -> Response:
            return await self.upload_route(proposal_id, request, identity)

        async def sample(reminder: Reminder, identity: Identity = collector) -> Response:
            return await self.sample_route(reminder, identity)

        router.add_api_route("/proposals/{proposal_id}/{version}", preview, methods=["GET"])
        router.add_api_route("/proposals/{proposal_id}/attachments", upload, methods=["POST"])
        router.add_api_route("/previews/reminders", sample, methods=["POST"])
        return router

    async def sample_route(self, reminder: Reminder, identity: Identity) -> Response:
        """A reminder not sent yet (a campaign's dry run shows one per recipient), rendered
        exactly as the channel's adapter would render it now; nothing is kept or sent."""
        authorize(identity, company_code=reminder.company_code)  # 403, counted
        adapter = self.dispatcher.adapters.get(reminder.channel)
        if adapter is None:
            return Response(status_code=422, content=f"channel {reminder.channel} unavailable")
        try:
            async with self.pool.acquire() as connection:
                customer = await self.dispatcher.customer_view(
                    connection, reminder.customer_id, [i.invoice_id for i in reminder.invoices]
                )
            outgoing = render(adapter, reminder, reminder.invoices, customer, {}, self.clock.now())
        except (DeliveryError, UnknownParagraph) as exc:
            return Response(status_code=409, content=str(exc)[:1000])
        return Response(
            content=outgoing.content,
            media_type=MEDIA_TYPES.get(reminder.channel, "application/octet-stream"),
            headers={"X-Content-SHA256": hashlib.sha256(outgoing.content).hexdigest()},
        )

    async def upload_route(
        self, proposal_id: uuid.UUID, request: Request, identity: Identity
    ) -> Response:
        """Keep a file for a proposal's email; answers its SHA-256 for the edit to cite."""
        company = await self.pool.fetchval(queries.PROPOSAL_COMPANY, proposal_id)
        if company is None:
            return JSONResponse({"error": "no such proposal"}, status_code=404)
        authorize(identity, company_code=company)  # 403, counted, outside the portfolio
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if not MEDIA_TYPE.fullmatch(media_type):
            return JSONResponse({"error": "a Content-Type is needed"}, status_code=415)
        content = await request.body()
        if not content or len(content) > MAX_ATTACHMENT_BYTES:
            return JSONResponse(
                {"error": f"a file has 1 to {MAX_ATTACHMENT_BYTES} bytes"}, status_code=413
            )
        digest = hashlib.sha256(content).hexdigest()
        await self.pool.execute(
            queries.RECORD_ATTACHMENT,
            proposal_id,
            digest,
            company,
            media_type,
            content,
            identity.actor,
            self.clock.now(),
        )
        return JSONResponse(
            {"sha256": digest, "media_type": media_type, "size": len(content)}, status_code=201
        )

    async def preview_route(
        self, proposal_id: uuid.UUID, version: int, identity: Identity
    ) -> Response:
        row = await self.pool.fetchrow(queries.PREVIEW, proposal_id, version)
        if row is None:
            return Response(status_code=404, content="no such proposal version")
        authorize(identity, company_code=row["company_code"])  # 403, counted, outside it
        if row["status"] != "rendered":
            detail = row["reason"] or "not rendered yet"
            return Response(status_code=409 if row["status"] == "failed" else 404, content=detail)
        return Response(
            content=bytes(row["content"]),
            media_type=row["media_type"],
            headers={
                "X-Content-SHA256": row["content_sha256"],
                "Content-Disposition": f'inline; filename="proposal-{proposal_id}-{version}"',
            },
        )


async def record_proposal(work: UnitOfWork, proposal: Proposal) -> None:
    """A raised proposal (or its new version) waits to be rendered; the collectors are
    reminded at ``remind_owner_at`` unless it is decided by then."""
    now = work.clock.now()
    await work.connection.execute(
        queries.RECORD_PREVIEW,
        proposal.proposal_id,
        proposal.version,
        proposal.customer_id,
        proposal.reminder.company_code,
        proposal.reminder.channel,
        proposal.model_dump(mode="json"),
        now,
    )
    await notices.record_proposal_reminder(work, proposal)


async def record_decision(work: UnitOfWork, decided: ProposalDecided) -> None:
    """Nobody decides it any more: no reminder to the collectors."""
    await notices.cancel_proposal_reminder(work, decided.proposal_id)
