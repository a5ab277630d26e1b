"""Email delivery reports: bounces (DSN, RFC 3464) posted back by the mail system.

When a reminder cannot be delivered, the receiving mail system sends a delivery status
notification [avis de non-remise] to the envelope sender. The operator routes those
messages to ``POST /email/bounces`` (a pipe from the MTA's bounce mailbox, or an inbound
mail webhook), with the raw message as the body and the shared token of
``RELANCE_NOTIFIER_BOUNCE_WEBHOOK_TOKEN`` in the ``X-Relance-Token`` header; with no token
(or an empty one) configured the endpoint answers 404, and a request without the token or
with another one 403. It is a provider callback: the token, not a person's identity, is
its authentication.

The report names the original message by its Message-ID (the ``message/rfc822`` or
``text/rfc822-headers`` part), which Relance derives from the reminder, so the delivery is
found without any state kept at sending time. Per recipient, ``Action: failed`` with a
``5.x.x`` status is a hard bounce (the address is wrong: the scheduler's fallback applies),
``4.x.x`` a soft one; ``delivered`` publishes ``delivery.delivered``; ``delayed`` is only
recorded. Each (delivery, outcome) is recorded once, so a report posted twice is harmless.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from contracts.notifications import Bounce, DeliveryBounced, DeliveryDelivered, ProviderDelivery
from contracts.topics import NOTIFIER_DELIVERIES, Topic
from services.notifier import queries
from services.notifier.settings import NotifierSettings
from services.runtime import outbox
from services.runtime.clock import Clock
from services.runtime.database import Pool

PROVIDER = "smtp"
REPORT_NAMESPACE = uuid.UUID("9a4e6c1b-7d2f-4b8e-a1c3-5e7f9b0d2c46")


@dataclass(frozen=True)
class RecipientStatus:
    recipient: str
    action: str  # failed, delayed, delivered, relayed, expanded
    status: str  # e.g. 5.1.1
    diagnostic: str


@dataclass(frozen=True)
class DeliveryReport:
    original_message_id: str
    recipients: tuple[RecipientStatus, ...]


def parse_dsn(raw: bytes) -> DeliveryReport | None:
    """The original Message-ID and per-recipient statuses of a DSN; None if it is not one."""
    report = message_from_bytes(raw, policy=policy.compat32)
    if report.get_content_type() != "multipart/report":
        return None
    statuses: list[RecipientStatus] = []
    original: str | None = None
    for part in report.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            blocks = part.get_payload()
            if isinstance(blocks, list):
                for block in blocks[1:]:  # the first block is about the whole message
                    if isinstance(block, Message):
                        statuses.append(_recipient(block))
        elif kind in ("message/rfc822", "text/rfc822-headers") and original is None:
            original = _message_id(part)
    if original is None or not statuses:
        return None
    return DeliveryReport(original, tuple(statuses))


def _recipient(block: Message) -> RecipientStatus:
    final = str(block.get("Final-Recipient", ""))
    return RecipientStatus(
        recipient=final.split(";", 1)[-1].strip(),
        action=str(block.get("Action", "")).strip().lower(),
        status=str(block.get("Status", "")).strip(),
        diagnostic=" ".join(str(block.get("Diagnostic-Code", "")).split()),
    )


def _message_id(part: Message) -> str | None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        value = payload[0].get("Message-ID")  # message/rfc822: the original message
    else:  # text/rfc822-headers: the original headers only
        text = part.get_payload(decode=True)
        headers = message_from_bytes(text if isinstance(text, bytes) else b"")
        value = headers.get("Message-ID")
    return " ".join(str(value).split()) if value else None


class EmailBounces:
    def __init__(
        self,
        pool: Pool,
        clock: Clock,
        settings: NotifierSettings,
        topic: Topic = NOTIFIER_DELIVERIES,
    ) -> None:
        self.pool = pool
        self.clock = clock
        token = settings.email.bounce_webhook_token
        # an empty token is no token: the endpoint is closed, never open to an empty header
        self.token = (token.get_secret_value() if token is not None else "") or None
        self.topic = topic

    def routes(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route("/email/bounces", self.receive, methods=["POST"])
        return router

    async def receive(self, request: Request) -> Response:
        if self.token is None:
            return PlainTextResponse("email bounces are not configured", status_code=404)
        given = request.headers.get("X-Relance-Token", "")
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return PlainTextResponse("invalid token", status_code=403)
        report = parse_dsn(await request.body())
        if report is None:
            return PlainTextResponse("not a delivery status notification", status_code=422)
        applied = await self.apply(report)
        if applied is None:
            return PlainTextResponse(
                f"unknown message {report.original_message_id}", status_code=202
            )
        return JSONResponse({"delivery_id": applied})

    async def apply(self, report: DeliveryReport) -> str | None:
        """Record the report; return the delivery id, or None for a message not ours."""
        now = self.clock.now()
        async with self.pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(
                queries.DELIVERY_BY_TRACKING, PROVIDER, report.original_message_id
            )
            if row is None:
                return None
            delivery_id: uuid.UUID = row["delivery_id"]
            for status in report.recipients:
                outcome = _outcome(status)
                detail = {
                    "recipient": status.recipient,
                    "action": status.action,
                    "status": status.status,
                    "diagnostic": status.diagnostic,
                }
                inserted = await connection.fetchval(
                    queries.RECORD_REPORT, delivery_id, f"{outcome}:{status.recipient}", now, detail
                )
                if inserted is None or outcome == "delayed":
                    continue
                common: dict[str, Any] = {
                    "delivery_id": delivery_id,
                    "reminder_id": row["reminder_id"],
                    "customer_id": row["customer_id"],
                    "invoice_ids": tuple(row["invoice_ids"]),
                    "channel": row["channel"],
                    "at": now,
                    "provider": PROVIDER,
                    "provider_tracking_id": report.original_message_id,
                }
                envelope: dict[str, Any] = {
                    "event_id": uuid.uuid5(
                        REPORT_NAMESPACE, f"{delivery_id}/{outcome}/{status.recipient}"
                    ),
                    "occurred_at": now,
                    "source": "notifier",
                }
                event: DeliveryDelivered | DeliveryBounced
                if outcome == "delivered":
                    event = DeliveryDelivered(**envelope, payload=ProviderDelivery(**common))
                else:
                    event = DeliveryBounced(
                        **envelope,
                        payload=Bounce(
                            **common,
                            kind="hard" if outcome == "hard_bounce" else "soft",
                            reason=(
                                f"{status.status} {status.recipient}: {status.diagnostic}"
                            ).strip()[:500],
                        ),
                    )
                await outbox.enqueue(connection, [outbox.OutgoingRecord.of(self.topic, event)])
            return str(delivery_id)


def _outcome(status: RecipientStatus) -> str:
    if status.action == "delivered":
        return "delivered"
    if status.action == "failed":
        return "hard_bounce" if status.status.startswith("5") else "soft_bounce"
    return "delayed"
