"""Opt-outs by SMS: a customer who answers STOP receives nothing more at that number.

Twilio posts each message received on the sending number to its incoming-message webhook,
``POST /sms/inbound`` here, signed like the status callbacks (``X-Twilio-Signature`` over the
public URL in ``RELANCE_NOTIFIER_SMS_INBOUND_URL`` and the form). With Twilio's Advanced
Opt-Out the form carries ``OptOutType`` (``STOP``, ``START``, ``HELP``); without it the body's
first word is read against the same keywords Twilio's default opt-out honours. A STOP
records the sender's number in ``opt_outs``; a START removes it. The dispatcher suppresses a
delivery whose every recipient opted out (reason ``opted_out``), in its claim and again in
its final check right before the provider call.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from twilio.request_validator import RequestValidator

from services.notifier import queries
from services.notifier.forms import form_of
from services.notifier.settings import NotifierSettings
from services.runtime.clock import Clock
from services.runtime.database import Pool
from services.runtime.logs import get_logger

log = get_logger(__name__)
SOURCE = "sms_stop"
# Twilio's default opt-out and opt-in keywords.
STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "ARRET"}
)
START_WORDS = frozenset({"START", "UNSTOP", "YES"})


def opt_out_change(params: dict[str, str]) -> str | None:
    """``stop``, ``start`` or None (any other message) for an incoming message's form."""
    kind = params.get("OptOutType", "").strip().upper()
    if not kind:
        words = params.get("Body", "").strip().split()
        word = words[0].upper().strip(".!") if words else ""
        kind = "STOP" if word in STOP_WORDS else "START" if word in START_WORDS else ""
    return {"STOP": "stop", "START": "start"}.get(kind)


class SmsOptOuts:
    def __init__(self, pool: Pool, clock: Clock, settings: NotifierSettings) -> None:
        self.pool = pool
        self.clock = clock
        self.url = settings.twilio.inbound_url
        token = settings.twilio.auth_token
        self.validator = RequestValidator(token.get_secret_value()) if token else None

    def routes(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route("/sms/inbound", self.receive, methods=["POST"])
        return router

    async def receive(self, request: Request) -> Response:
        if self.validator is None or self.url is None:
            return PlainTextResponse("SMS is not configured", status_code=404)
        params = await form_of(request)
        signature = request.headers.get("X-Twilio-Signature", "")
        if not self.validator.validate(self.url, params, signature):
            return PlainTextResponse("invalid signature", status_code=403)
        sender = params.get("From", "").strip()
        if not sender:
            return PlainTextResponse("From is required", status_code=400)
        change = opt_out_change(params)
        if change == "stop":
            await self.pool.execute(queries.RECORD_OPT_OUT, sender, SOURCE, self.clock.now())
        elif change == "start":
            await self.pool.execute(queries.REMOVE_OPT_OUT, sender)
        if change is not None:
            log.info("sms_opt_out_changed", change=change)
        # An empty TwiML reply: Twilio's own opt-out handling answers the customer.
        return Response(
            '<?xml version="1.0" encoding="UTF-8"?><Response></Response>',
            media_type="application/xml",
        )
