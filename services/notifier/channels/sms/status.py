"""Twilio's status callbacks: signed delivery reports for the SMS sent.

Twilio signs each callback with the account's auth token over the callback's public URL
and its form parameters (``X-Twilio-Signature``). The adapter adds ``?delivery=<id>`` to
the URL it gives Twilio, so the URL checked is the configured one with the query the request
came with (Twilio signs the exact URL it posts to). A request whose signature does not match
is refused with 403 and changes nothing. A valid report is kept in ``delivery_reports``
(once per delivery and status) and becomes ``delivery.delivered`` or, for ``undelivered``
and ``failed``, ``delivery.bounced``.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from twilio.request_validator import RequestValidator

from contracts.notifications import Bounce, DeliveryBounced, DeliveryDelivered, ProviderDelivery
from contracts.topics import NOTIFIER_DELIVERIES, Topic
from services.notifier import queries
from services.notifier.forms import form_of
from services.notifier.settings import NotifierSettings
from services.runtime import outbox
from services.runtime.clock import Clock
from services.runtime.database import Pool

PROVIDER = "twilio"
REPORT_NAMESPACE = uuid.UUID("3c7e2f4d-1b9a-4e55-8d2c-5a6f7b8c9d01")
# Twilio error codes that mean the number itself is wrong or unreachable for good.
HARD_BOUNCE_CODES = frozenset({"21211", "21614", "30003", "30005", "30006"})


class SmsStatusCallback:
    def __init__(
        self,
        pool: Pool,
        clock: Clock,
        settings: NotifierSettings,
        topic: Topic = NOTIFIER_DELIVERIES,
    ) -> None:
        self.pool = pool
        self.clock = clock
        self.url = settings.twilio.status_callback_url
        token = settings.twilio.auth_token
        self.validator = RequestValidator(token.get_secret_value()) if token else None
        self.topic = topic

    def routes(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route("/sms/status", self.receive, methods=["POST"])
        return router

    async def receive(self, request: Request) -> Response:
        if self.validator is None or self.url is None:
            return PlainTextResponse("SMS is not configured", status_code=404)
        params = await form_of(request)
        signature = request.headers.get("X-Twilio-Signature", "")
        signed_url = urlunsplit(urlsplit(self.url)._replace(query=request.url.query))
        if not self.validator.validate(signed_url, params, signature):
            return PlainTextResponse("invalid signature", status_code=403)
        sid = params.get("MessageSid") or params.get("SmsSid")
        status = params.get("MessageStatus") or params.get("SmsStatus")
        if not sid or not status:
            return PlainTextResponse("MessageSid and MessageStatus are required", status_code=400)
        applied = await self.apply(sid, status, params)
        return PlainTextResponse(
            applied or "unknown", status_code=200 if applied is not None else 202
        )

    async def apply(self, sid: str, status: str, params: dict[str, str]) -> str | None:
        """Record the report; return the delivery id, or None for an unknown message."""
        now = self.clock.now()
        async with self.pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(queries.DELIVERY_BY_TRACKING, PROVIDER, sid)
            if row is None:
                return None
            delivery_id: uuid.UUID = row["delivery_id"]
            inserted = await connection.fetchval(
                queries.RECORD_REPORT, delivery_id, status, now, params
            )
            if inserted is None or status not in {"delivered", "undelivered", "failed"}:
                return str(delivery_id)
            common: dict[str, Any] = {
                "delivery_id": delivery_id,
                "reminder_id": row["reminder_id"],
                "customer_id": row["customer_id"],
                "invoice_ids": tuple(row["invoice_ids"]),
                "channel": row["channel"],
                "at": now,
                "provider": PROVIDER,
                "provider_tracking_id": sid,
            }
            envelope: dict[str, Any] = {
                "event_id": uuid.uuid5(REPORT_NAMESPACE, f"{delivery_id}/{status}"),
                "occurred_at": now,
                "source": "notifier",
            }
            event: DeliveryDelivered | DeliveryBounced
            if status == "delivered":
                event = DeliveryDelivered(**envelope, payload=ProviderDelivery(**common))
            else:
                code = params.get("ErrorCode", "")
                event = DeliveryBounced(
                    **envelope,
                    payload=Bounce(
                        **common,
                        kind="hard" if code in HARD_BOUNCE_CODES else "soft",
                        reason=f"Twilio {status} {code}".strip(),
                    ),
                )
            await outbox.enqueue(connection, [outbox.OutgoingRecord.of(self.topic, event)])
            return str(delivery_id)
