"""Postal and registered letters through Maileva (La Poste group), and their proof.

Maileva prints, folds, franks and posts letters sent to its REST API; a registered letter
[lettre recommandée] goes with an acknowledgement of receipt [avis de réception] that the
postman has signed and Maileva scans. The same flow serves both products, on two base URLs
(``mail/v2`` for postal letters, ``registered_mail/v2`` for registered ones):

1. an OAuth2 *password* grant gives a bearer token (cached until shortly before it expires);
2. ``POST /sendings`` creates a draft sending, its ``custom_id`` being the delivery's id;
3. ``POST /sendings/{id}/documents`` uploads the PDF (multipart: ``document`` + ``metadata``);
4. ``POST /sendings/{id}/recipients`` adds the customer's postal address (6 lines of at most
   38 characters, the last one postal code and town);
5. ``POST /sendings/{id}/submit`` sends it to production. A submitted sending cannot be
   cancelled.

The tracking id kept on the delivery is ``<sending id>/<recipient id>``. ``MailevaTracker``
then polls each letter not yet final: it stores the deposit proof [preuve de dépôt] once
Maileva has it and, for a registered letter, the signed acknowledgement of receipt, as
documents of the delivery (:mod:`services.notifier.proof` serves them), and turns the
postal delivery statuses into ``delivery.delivered`` or ``delivery.bounced`` events.

A crash after ``submit`` succeeded and before the delivery was recorded as sent posts the
letter again on the retry, like the email channel's documented window; a crash before
``submit`` leaves only a draft at Maileva, which is never printed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp

from contracts.dunning import DunnedInvoice, Reminder
from services.notifier.channels.adapter import Outgoing, Receipt
from services.notifier.channels.letters.document import letter_pdf, postal_address_of
from services.notifier.composing.composer import CustomerView, EmailComposer
from services.notifier.errors import DeliveryError
from services.runtime.logs import get_logger

log = get_logger(__name__)

PROVIDER = "maileva"
REPORT_NAMESPACE = uuid.UUID("c4a7d1e2-5b3f-4e8a-9d6c-2f1b0a9e8d71")
MAX_LINE = 38

# Postal statuses (Maileva's delivery_statuses codes) that end a letter's journey: D01
# delivered (a postal letter), N01 acknowledgement of receipt signed (a registered letter),
# or one of the returns to sender.
DELIVERED = "D01"
ACKNOWLEDGED = "N01"
RETURNED = {
    "A16",  # refused by the addressee
    "A18",
    "A19",  # undeliverable
    "A21",
    "A22",
    "A23",  # wrong address
    "A24",
    "A26",
    "P03",  # not collected in time
    "P04",
    "P05",
    "N02",  # undeliverable registered letter [PND]
    "N03",  # not collected
    "N04",
    "N05",  # refused
    "N07",  # incomplete address
    "N10",  # undeliverable letter [PND]
}
HARD_RETURNS = {"A23", "N07", "A22", "A21", "N04"}  # the address itself is wrong


def recipient_address(customer: CustomerView, role: str) -> dict[str, str]:
    """Maileva's six address lines for the contact in ``role`` (else the billing contact).

    Line 1 is the company, line 2 the person when one is named, lines 3 to 5 the rest of the
    address, line 6 the postal code and town. Raises a final :class:`DeliveryError` when
    the customer has no postal address.
    """
    address = postal_address_of(customer, role)
    if address is None:
        raise DeliveryError(
            f"no postal address for a {role} or billing contact of this customer",
            retryable=False,
        )
    head = [customer.name[:MAX_LINE]]
    if address.get("name"):
        head.append(str(address["name"])[:MAX_LINE])
    body = [str(line) for line in address["lines"] if str(line) not in head]
    slots = (head + body)[:5]
    fields = {f"address_line_{n}": line for n, line in enumerate(slots, start=1)}
    fields["address_line_6"] = f"{address['postal_code']} {address['town']}"[:MAX_LINE]
    fields["country_code"] = str(address["country"])
    return fields


@dataclass(frozen=True)
class MailevaConfig:
    api_url: str  # e.g. https://api.maileva.com (sandbox: https://api.sandbox.maileva.net)
    auth_url: str  # the OpenID Connect token endpoint
    client_id: str
    client_secret: str
    username: str
    password: str
    notification_email: str | None = None
    color_printing: bool = False
    duplex_printing: bool = True
    timeout_s: float = 30.0


class MailevaClient:
    """The HTTP calls, with a cached token and Maileva's errors mapped to retryable or not."""

    def __init__(self, config: MailevaConfig) -> None:
        self.config = config
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self, session: aiohttp.ClientSession, *, renew: bool = False) -> str:
        async with self._lock:
            if not renew and self._token is not None and time.monotonic() < self._expires_at:
                return self._token
            config = self.config
            async with session.post(
                config.auth_url,
                data={
                    "grant_type": "password",
                    "username": config.username,
                    "password": config.password,
                },
                headers={"Authorization": _basic(config.client_id, config.client_secret)},
            ) as response:
                body = await _json(response)
                if response.status != 200 or "access_token" not in body:
                    raise DeliveryError(
                        f"Maileva authentication refused ({response.status})",
                        retryable=response.status >= 500,
                    )
            self._token = str(body["access_token"])
            self._expires_at = time.monotonic() + max(0, int(body.get("expires_in", 300)) - 30)
            return self._token

    async def call(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        data: aiohttp.FormData | None = None,
        expect: tuple[int, ...] = (200, 201),
        raw: bool = False,
    ) -> Any:
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {await self.token(session, renew=attempt == 2)}"}
            async with session.request(
                method, url, json=json_body, data=data, headers=headers
            ) as response:
                if response.status == 401 and attempt == 1:
                    continue  # the token was revoked or expired early: renew it once
                if response.status in expect:
                    return await response.read() if raw else await _json(response)
                body = await _json(response)
                raise DeliveryError(
                    f"Maileva {method} {url.rsplit('/v2', 1)[-1]}: {response.status} "
                    f"{_error_codes(body)}",
                    retryable=response.status in (408, 409, 429) or response.status >= 500,
                )
        raise AssertionError("unreachable")

    def session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.config.timeout_s))


class MailevaAdapter:
    """A channel adapter posting letters (``registered`` adds the acknowledgement of receipt)."""

    provider = PROVIDER

    def __init__(self, composer: EmailComposer, client: MailevaClient, *, registered: bool) -> None:
        self.composer = composer
        self.client = client
        self.registered = registered
        product = "registered_mail" if registered else "mail"
        self.base_url = f"{client.config.api_url.rstrip('/')}/{product}/v2"

    def prepare(
        self,
        reminder: Reminder,
        invoices: tuple[DunnedInvoice, ...],
        customer: CustomerView,
        now: datetime,
    ) -> Outgoing:
        address = recipient_address(customer, reminder.recipient_role)
        pdf, subject, _ = letter_pdf(self.composer, reminder, invoices, customer, now)
        config = self.client.config
        creditor = self.composer.creditor_for(reminder.company_code)
        custom_id = f"{reminder.reminder_id}-{reminder.channel}"
        sender = {
            f"sender_address_line_{n}": line[:MAX_LINE]
            for n, line in enumerate((creditor.name, *creditor.return_address)[:6], start=1)
        }
        sending: dict[str, Any] = {
            "name": subject[:100],
            "custom_id": custom_id,
            "color_printing": config.color_printing,
            "duplex_printing": config.duplex_printing,
            **sender,
            "sender_country_code": creditor.country,
        }
        if self.registered:
            sending["acknowledgement_of_receipt"] = True
            sending["acknowledgement_of_receipt_scanning"] = True
        if config.notification_email:
            sending["notification_email"] = config.notification_email
        message = {
            "sending": sending,
            "recipient": {"custom_id": reminder.customer_id, **address},
            "document_name": f"{custom_id}.pdf",
        }
        return Outgoing(pdf, (address["address_line_6"],), custom_id, message)

    async def send(self, outgoing: Outgoing) -> Receipt:
        message = outgoing.message
        try:
            async with self.client.session() as session:
                created = await self.client.call(
                    session, "POST", f"{self.base_url}/sendings", json_body=message["sending"]
                )
                sending = f"{self.base_url}/sendings/{created['id']}"
                form = aiohttp.FormData()
                form.add_field(
                    "document",
                    outgoing.content,
                    filename=message["document_name"],
                    content_type="application/pdf",
                )
                form.add_field(
                    "metadata",
                    json.dumps({"priority": 1, "name": message["document_name"]}),
                    content_type="application/json",
                )
                await self.client.call(session, "POST", f"{sending}/documents", data=form)
                recipient = await self.client.call(
                    session, "POST", f"{sending}/recipients", json_body=message["recipient"]
                )
                await self.client.call(session, "POST", f"{sending}/submit", expect=(200, 201, 204))
        except DeliveryError:
            raise
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise DeliveryError(f"Maileva: {type(exc).__name__}: {exc}", retryable=True) from exc
        return Receipt(f"{created['id']}/{recipient['id']}", "submitted")


def _basic(user: str, password: str) -> str:
    """HTTP Basic credentials (``aiohttp.BasicAuth`` is deprecated in aiohttp 3.12+)."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def _json(response: aiohttp.ClientResponse) -> Any:
    try:
        return await response.json(content_type=None)
    except (json.JSONDecodeError, aiohttp.ContentTypeError, UnicodeDecodeError):
        return {}


def _error_codes(body: Any) -> str:
    if isinstance(body, Mapping):
        errors = body.get("errors")
        if isinstance(errors, list):
            return ", ".join(str(e.get("code", "?")) for e in errors if isinstance(e, Mapping))
        if "code" in body:
            return str(body["code"])
    return ""
