"""Interactive email: a reminder with a personal link to a page where the customer acts.

The ``interactive_email`` channel sends the reminder's email with a link, signed for that
reminder, to ``<portal_base_url>/portal/<token>``. The page lists the reminder's invoices
still awaiting payment (settled, cancelled and disputed ones left out), and lets the
customer announce a payment date or report a dispute, without an account: the link is the
key. What they submit becomes a command on ``disputes.commands.v1`` (``promise.record`` with
channel ``portal``, ``dispute.open`` raised by ``portal``), written to the outbox like every
event; the disputes service decides, and the scheduler and notifier follow its events.

The token is ``<payload>.<signature>``: the payload (customer, reminder, expiry) in base64url
JSON, the signature an HMAC-SHA256 of it with ``RELANCE_NOTIFIER_PORTAL_SECRET``. A changed
token is refused (403), an expired one gone (410). Ids of the commands derive from the token
and the form, so a form submitted twice is one promise or one dispute.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, get_args

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import ValidationError

from contracts import disputes
from contracts.dunning import DunnedInvoice, Reminder
from contracts.topics import DISPUTE_COMMANDS, Topic
from services.notifier import queries
from services.notifier.channels.email.adapter import EmailAdapter
from services.notifier.channels.email.smtp import SmtpChannel
from services.notifier.composing.composer import EmailComposer
from services.notifier.domain.handlings import handlings_of
from services.notifier.domain.suppression import still_due
from services.notifier.errors import PageRefused, TokenRefused
from services.notifier.forms import form_of
from services.runtime import outbox
from services.runtime.clock import Clock
from services.runtime.database import Pool
from services.runtime.errors import ConfigurationError

COMMAND_NAMESPACE = uuid.UUID("2b9d7e61-4c3a-4f1e-8a5b-6d0c9e7f1a23")
MAX_PROMISE_DAYS = 90


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class PortalAccess:
    customer_id: str
    reminder_id: uuid.UUID
    expires_at: datetime


class PortalLinks:
    """Signs and checks the personal links of interactive emails."""

    def __init__(self, secret: str, base_url: str, valid_days: int) -> None:
        if len(secret) < 16:
            raise ConfigurationError("the portal secret must have at least 16 characters")
        self._key = secret.encode()
        self.base_url = base_url.rstrip("/")
        self.valid_for = timedelta(days=valid_days)

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def token(self, customer_id: str, reminder_id: uuid.UUID, now: datetime) -> str:
        expires = int((now + self.valid_for).timestamp())
        body = json.dumps({"c": customer_id, "r": str(reminder_id), "e": expires})
        payload = _b64(body.encode())
        return f"{payload}.{self._sign(payload)}"

    def link(self, customer_id: str, reminder_id: uuid.UUID, now: datetime) -> str:
        return f"{self.base_url}/portal/{self.token(customer_id, reminder_id, now)}"

    def check(self, token: str, now: datetime) -> PortalAccess:
        payload, _, signature = token.partition(".")
        if not hmac.compare_digest(signature.encode(), self._sign(payload).encode()):
            raise TokenRefused("this link is not valid")
        try:
            body = json.loads(_unb64(payload))
            access = PortalAccess(
                str(body["c"]),
                uuid.UUID(str(body["r"])),
                datetime.fromtimestamp(int(body["e"]), tz=now.tzinfo),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise TokenRefused("this link is not valid") from exc
        if access.expires_at < now:
            raise TokenRefused("this link has expired", expired=True)
        return access


class InteractiveEmailAdapter(EmailAdapter):
    """The reminder's email with the customer's personal link to the portal."""

    def __init__(self, composer: EmailComposer, smtp: SmtpChannel, links: PortalLinks) -> None:
        super().__init__(composer, smtp)
        self.links = links

    def portal(self, reminder: Reminder, now: datetime) -> tuple[str, date] | None:
        link = self.links.link(reminder.customer_id, reminder.reminder_id, now)
        return link, (now + self.links.valid_for).date()


class Portal:
    """The pages behind the links: ``GET /portal/{token}``, ``POST .../promise|dispute``."""

    def __init__(
        self,
        pool: Pool,
        clock: Clock,
        composer: EmailComposer,
        links: PortalLinks,
        topic: Topic = DISPUTE_COMMANDS,
    ) -> None:
        self.pool = pool
        self.clock = clock
        self.composer = composer
        self.links = links
        self.topic = topic

    def routes(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route("/portal/{token}", _answering(self.page), methods=["GET"])
        router.add_api_route("/portal/{token}/promise", _answering(self.promise), methods=["POST"])
        router.add_api_route("/portal/{token}/dispute", _answering(self.dispute), methods=["POST"])
        return router

    def _access(self, request: Request) -> PortalAccess:
        try:
            return self.links.check(request.path_params["token"], self.clock.now())
        except TokenRefused as exc:
            raise PageRefused(410 if exc.expired else 403, str(exc)) from exc

    async def _open_invoices(self, access: PortalAccess) -> tuple[str, str, list[DunnedInvoice]]:
        """The customer's name and language, and the reminder's invoices still due."""
        row = await self.pool.fetchrow(queries.PORTAL_REMINDER, access.reminder_id)
        customer = await self.pool.fetchrow(queries.CUSTOMER, access.customer_id)
        if row is None or customer is None or row["customer_id"] != access.customer_id:
            raise PageRefused(404, "this reminder is unknown")
        reminder = Reminder.model_validate(row["reminder"])
        ids = [i.invoice_id for i in reminder.invoices]
        handled = handlings_of(
            await self.pool.fetch(queries.SILENCE_FACTS, access.customer_id, ids)
        )
        kept = still_due(reminder.invoices, handled.closed, handled.disputed, handled.whole_account)
        return customer["name"], reminder.language, list(kept.remaining)

    async def page(self, request: Request, message: str | None = None) -> Response:
        access = self._access(request)
        name, language, invoices = await self._open_invoices(access)
        currencies = sorted({i.open_amount.currency for i in invoices})
        token = request.path_params["token"]
        context: dict[str, Any] = {
            "creditor": self.composer.creditor,
            "customer_name": name,
            "lang": language if language in ("fr", "en") else "en",
            "message": message,
            "invoices": [
                {
                    "invoice_id": i.invoice_id,
                    "invoice_number": i.invoice_number,
                    "due_date": i.due_date,
                    "amount": i.amount.amount,
                    "open_amount": i.open_amount.amount,
                    "currency": i.open_amount.currency,
                }
                for i in invoices
            ],
            "currency": currencies[0] if currencies else "",
            "total": sum((i.open_amount.amount for i in invoices), Decimal(0)),
            "promise_url": f"/portal/{token}/promise",
            "dispute_url": f"/portal/{token}/dispute",
        }
        html = self.composer.catalogue.render_partial(
            f"_partials/portal_page.{context['lang']}.html", context
        )
        return HTMLResponse(html)

    async def promise(self, request: Request) -> Response:
        access = self._access(request)
        form = await form_of(request)
        _, _, invoices = await self._open_invoices(access)
        today = self.clock.now().date()
        try:
            promised = date.fromisoformat(str(form.get("promised_date", "")))
            amount = Decimal(str(form.get("amount", "")).replace(",", ".").replace(" ", ""))
        except (ValueError, InvalidOperation):
            raise PageRefused(422, "a date and an amount are expected") from None
        if not today <= promised <= today + timedelta(days=MAX_PROMISE_DAYS):
            raise PageRefused(
                422, f"the date must be between today and {MAX_PROMISE_DAYS} days from now"
            )
        currencies = {i.open_amount.currency for i in invoices}
        if len(currencies) != 1:
            raise PageRefused(409, "nothing to promise, or several currencies: call us")
        key = f"{request.path_params['token']}/promise/{promised}/{amount}"
        try:
            command = disputes.RecordPromise(
                event_id=uuid.uuid5(COMMAND_NAMESPACE, key + "/event"),
                occurred_at=self.clock.now(),
                source="notifier.portal",
                payload=disputes.Promise(
                    promise_id=uuid.uuid5(COMMAND_NAMESPACE, key),
                    customer_id=access.customer_id,
                    invoice_ids=tuple(i.invoice_id for i in invoices),
                    promised_date=promised,
                    amount={"amount": amount, "currency": currencies.pop()},
                    channel="portal",
                    recorded_by=f"portal:{access.customer_id}",
                ),
            )
        except ValidationError as exc:
            raise PageRefused(422, "the amount must be above zero") from exc
        await self._send(command)
        return await self.page(request, message=_THANKS["promise"])

    async def dispute(self, request: Request) -> Response:
        access = self._access(request)
        form = await form_of(request)
        _, _, invoices = await self._open_invoices(access)
        choice = str(form.get("invoice_id", "all"))
        named = [i.invoice_id for i in invoices if choice in ("all", i.invoice_id)]
        category = str(form.get("category", ""))
        text = str(form.get("text", "")).strip()
        if not named or category not in get_args(disputes.DisputeCategory) or not text:
            raise PageRefused(422, "an invoice, a reason and a text are expected")
        key = f"{request.path_params['token']}/dispute/{choice}/{category}"
        command = disputes.OpenDispute(
            event_id=uuid.uuid5(COMMAND_NAMESPACE, key + "/event"),
            occurred_at=self.clock.now(),
            source="notifier.portal",
            payload=disputes.DisputeRequest(
                dispute_id=uuid.uuid5(COMMAND_NAMESPACE, key),
                customer_id=access.customer_id,
                invoice_ids=tuple(named),
                category=category,  # checked against the Literal above
                text=text[:4000],
                raised_by="portal",
            ),
        )
        await self._send(command)
        return await self.page(request, message=_THANKS["dispute"])

    async def _send(self, command: disputes.RecordPromise | disputes.OpenDispute) -> None:
        async with self.pool.acquire() as connection, connection.transaction():
            await outbox.enqueue(connection, [outbox.OutgoingRecord.of(self.topic, command)])


def _answering(
    handler: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """A route answering a refused request with its status and text, as a plain page."""

    async def route(request: Request) -> Response:
        try:
            return await handler(request)
        except PageRefused as exc:
            return PlainTextResponse(exc.text, status_code=exc.status)

    return route


_THANKS = {
    "promise": "Thank you: your payment date is recorded. / Merci : votre date est enregistrée.",
    "dispute": "Thank you: your dispute is recorded. / Merci : votre litige est enregistré.",
}
