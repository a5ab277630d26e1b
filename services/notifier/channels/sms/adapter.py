"""The SMS channel's adapter: Twilio's REST API through the SDK's async client."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import datetime
from typing import Any

from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from contracts.dunning import DunnedInvoice, Reminder
from services.notifier.channels.adapter import Outgoing, Receipt
from services.notifier.composing.composer import CustomerView, EmailComposer
from services.notifier.composing.rendering import format_money
from services.notifier.domain.statement import statement_of
from services.notifier.errors import DeliveryError

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
        statement = statement_of(
            invoices, now.date(), False, self.composer.terms_for(reminder.company_code)
        )
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
