"""One adapter per channel behind one interface: prepare the exact content, then send it.

``prepare`` runs inside the dispatcher's claim transaction and does no I/O: it renders what
will be sent, so that its exact bytes are archived before the provider sees them. ``send``
runs with no transaction open and talks to the provider; it raises
:class:`~services.notifier.errors.DeliveryError` telling whether a retry may succeed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal, Protocol

from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from contracts.dunning import DunnedInvoice, Reminder
from contracts.notifications import Bounce, DeliveryBounced, DeliveryDelivered, ProviderDelivery
from services.notifier.composer import CustomerView, EmailComposer
from services.notifier.domain.statement import statement_of
from services.notifier.email_channel import SmtpChannel
from services.notifier.errors import DeliveryError
from services.notifier.rendering import format_money
from services.notifier.statement_pdf import statement_pdf


@dataclass(frozen=True)
class Outgoing:
    """A message ready to send: its exact bytes (the proof) and what the adapter needs."""

    content: bytes
    recipients: tuple[str, ...]
    tracking_id: str | None
    message: Any


@dataclass(frozen=True)
class Receipt:
    tracking_id: str | None
    reply: str


class ChannelAdapter(Protocol):
    provider: str

    def prepare(
        self,
        reminder: Reminder,
        invoices: tuple[DunnedInvoice, ...],
        customer: CustomerView,
        now: datetime,
    ) -> Outgoing: ...

    async def send(self, outgoing: Outgoing) -> Receipt: ...


class EmailAdapter:
    """Email over SMTP, with the PDF statement attached."""

    provider = "smtp"

    def __init__(self, composer: EmailComposer, smtp: SmtpChannel) -> None:
        self.composer = composer
        self.smtp = smtp

    def prepare(
        self,
        reminder: Reminder,
        invoices: tuple[DunnedInvoice, ...],
        customer: CustomerView,
        now: datetime,
    ) -> Outgoing:
        composed = self.composer.compose(
            reminder, invoices, customer, now, portal=self.portal(reminder, now)
        )
        recipients = (*composed.recipients.to, *composed.recipients.cc)
        return Outgoing(
            composed.message.as_bytes(), recipients, composed.message_id, composed.message
        )

    def portal(self, reminder: Reminder, now: datetime) -> tuple[str, date] | None:
        """The customer's personal link and its last valid day; none in a plain email."""
        return None

    async def send(self, outgoing: Outgoing) -> Receipt:
        assert isinstance(outgoing.message, EmailMessage)
        reply = await self.smtp.send(outgoing.message)
        return Receipt(outgoing.tracking_id, reply)


SMS_LANGUAGES = ("fr", "en")  # languages of the templates _partials/sms.<lang>.txt


class SmsAdapter:
    """SMS through Twilio's REST API with the SDK's async client.

    The body is the template ``_partials/sms.<lang>.txt`` (the reminder's subject, the
    totals outstanding and the creditor's contact) in the customer's language; Twilio reports
    delivery to ``status_callback_url``.
    """

    provider = "twilio"

    def __init__(
        self,
        composer: EmailComposer,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        status_callback_url: str | None,
        base_url: str | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.composer = composer
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self.status_callback_url = status_callback_url
        self.base_url = base_url
        self.timeout_s = timeout_s

    def prepare(
        self,
        reminder: Reminder,
        invoices: tuple[DunnedInvoice, ...],
        customer: CustomerView,
        now: datetime,
    ) -> Outgoing:
        phones = [
            str(c["phone"])
            for c in customer.contacts
            if c.get("role") == reminder.recipient_role and c.get("phone")
        ]
        if not phones:
            raise DeliveryError(
                f"no phone contact with role {reminder.recipient_role}", retryable=False
            )
        composed = self.composer.render_reminder(reminder, invoices, customer, now)
        language = composed.language
        statement = statement_of(invoices, now.date(), False, self.composer.terms)
        totals = ", ".join(
            format_money(t.open_amount, t.currency, language) for t in statement.totals
        )
        contact = self.composer.creditor.phone or self.composer.creditor.email
        lang = language if language in SMS_LANGUAGES else "en"
        body = " ".join(
            self.composer.catalogue.render_partial(
                f"_partials/sms.{lang}.txt",
                {"subject": composed.subject, "totals": totals, "contact": contact},
            ).split()
        )
        request = {"to": phones[0], "from_": self.from_number, "body": body}
        return Outgoing(
            json.dumps(request, ensure_ascii=False).encode(), (phones[0],), None, request
        )

    async def send(self, outgoing: Outgoing) -> Receipt:
        http = _TwilioHttp(timeout=self.timeout_s)
        client = Client(self.account_sid, self.auth_token, http_client=http)
        if self.base_url is not None:
            client.api.base_url = self.base_url
        options: dict[str, Any] = dict(outgoing.message)
        if self.status_callback_url:
            options["status_callback"] = self.status_callback_url
        try:
            message = await asyncio.wait_for(
                client.messages.create_async(**options), self.timeout_s
            )
        except TwilioRestException as exc:
            retryable = exc.status == 429 or exc.status >= 500
            raise DeliveryError(
                f"Twilio {exc.status} {exc.code}: {exc.msg}", retryable=retryable
            ) from exc
        except (OSError, TimeoutError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}", retryable=True) from exc
        except Exception as exc:  # aiohttp errors, unexpected replies: retried, bounded
            raise DeliveryError(f"{type(exc).__name__}: {exc}", retryable=True) from exc
        finally:
            await http.close()
        return Receipt(message.sid, str(message.status))


class _TwilioHttp(AsyncTwilioHttpClient):  # type: ignore[misc]
    """The SDK's aiohttp client, sending Basic credentials as a header.

    The SDK passes ``aiohttp.BasicAuth``, deprecated in aiohttp 3.12+; the header is the same.
    """

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (the SDK's signature)
        allow_redirects: bool = False,
    ) -> Any:
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers = {**(headers or {}), "Authorization": f"Basic {token}"}
        return await super().request(
            method, url, params, data, headers, None, timeout, allow_redirects
        )


def letter_pdf(
    composer: EmailComposer,
    reminder: Reminder,
    invoices: tuple[DunnedInvoice, ...],
    customer: CustomerView,
    now: datetime,
) -> tuple[bytes, str, str]:
    """A letter's PDF (the reminder's text, then the statement), its subject and language."""
    composed = composer.render_reminder(reminder, invoices, customer, now)
    statement = composer.account_statement(reminder, invoices, customer, now) or statement_of(
        invoices, now.date(), reminder.include_penalties, composer.terms
    )
    pdf = statement_pdf(
        creditor=composer.creditor,
        customer_name=customer.name,
        customer_id=reminder.customer_id,
        language=composed.language,
        statement=statement,
        created_at=now,
        letter=composed.text,
    )
    return pdf, composed.subject, composed.language


def postal_address_of(customer: CustomerView, role: str) -> dict[str, Any] | None:
    """The postal address of the contact in ``role``, else of the billing contact."""
    with_address = [c for c in customer.contacts if c.get("address")]
    for wanted in (role, "billing"):
        for contact in with_address:
            if contact.get("role") == wanted:
                return {"name": contact.get("name"), **contact["address"]}
    return None


class FileDropAdapter:
    """Letters for an in-house print room: the PDF and a JSON manifest in a folder.

    The letter is the reminder's text followed by the statement; the manifest names the
    customer and the postal address of the contact in the reminder's role (else the billing
    contact; ``null`` when the ERP sent none, and the print room uses its own), the channel
    (a registered letter is sent with acknowledgement of receipt) and the PDF's SHA-256.
    Files are written under a temporary name and renamed, so the print room never reads half
    a file; the manifest is written last.
    """

    provider = "file_drop"

    def __init__(self, composer: EmailComposer, directory: Path) -> None:
        self.composer = composer
        self.directory = directory

    def prepare(
        self,
        reminder: Reminder,
        invoices: tuple[DunnedInvoice, ...],
        customer: CustomerView,
        now: datetime,
    ) -> Outgoing:
        pdf, subject, language = letter_pdf(self.composer, reminder, invoices, customer, now)
        name = f"reminder-{reminder.reminder_id}-{reminder.channel}"
        manifest = {
            "reminder_id": str(reminder.reminder_id),
            "customer_id": reminder.customer_id,
            "customer_name": customer.name,
            "postal_address": postal_address_of(customer, reminder.recipient_role),
            "channel": reminder.channel,
            "acknowledgement_of_receipt": reminder.channel == "registered_letter",
            "language": language,
            "subject": subject,
            "document": f"{name}.pdf",
            "sha256": hashlib.sha256(pdf).hexdigest(),
            "prepared_at": now.isoformat(),
        }
        return Outgoing(pdf, (reminder.customer_id,), name, manifest)

    async def send(self, outgoing: Outgoing) -> Receipt:
        try:
            await asyncio.to_thread(self._write, outgoing)
        except OSError as exc:
            raise DeliveryError(f"file drop: {exc}", retryable=True) from exc
        return Receipt(outgoing.tracking_id, f"dropped in {self.directory}")

    def _write(self, outgoing: Outgoing) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = str(outgoing.tracking_id)
        _write_atomically(self.directory / f"{name}.pdf", outgoing.content)
        manifest = json.dumps(outgoing.message, ensure_ascii=False, indent=2).encode()
        _write_atomically(self.directory / f"{name}.json", manifest)


def _write_atomically(path: Path, content: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def provider_report_event(
    row: Mapping[str, Any],
    *,
    code: str,
    now: datetime,
    provider: str,
    namespace: uuid.UUID,
    outcome: str,
    bounce_kind: Literal["hard", "soft"] = "hard",
    bounce_reason: str = "",
) -> DeliveryDelivered | DeliveryBounced:
    """The delivery event a letter provider's final status gives (Maileva's, AR24's trackers).

    ``row`` is the tracked delivery (its ids, channel and the provider's tracking id); the
    event id is derived from the delivery and the status ``code``, so a status seen twice
    gives the same event.
    """
    common: dict[str, Any] = {
        "delivery_id": row["delivery_id"],
        "reminder_id": row["reminder_id"],
        "customer_id": row["customer_id"],
        "invoice_ids": tuple(row["invoice_ids"]),
        "channel": row["channel"],
        "at": now,
        "provider": provider,
        "provider_tracking_id": row["provider_tracking_id"],
    }
    envelope: dict[str, Any] = {
        "event_id": uuid.uuid5(namespace, f"{row['delivery_id']}/{code}"),
        "occurred_at": now,
        "source": "notifier",
    }
    if outcome == "delivered":
        return DeliveryDelivered(**envelope, payload=ProviderDelivery(**common))
    return DeliveryBounced(
        **envelope, payload=Bounce(**common, kind=bounce_kind, reason=bounce_reason)
    )
