"""The SMS channel's adapter: Twilio's REST API through the SDK's async client.

Retries without duplicates. A call that times out, whose connection is reset after the
request was written, or that gets a 5xx may have been accepted by Twilio all the same, and
sending again would text the customer twice. Twilio's messages have no client reference
field, so before sending again the adapter lists the messages sent to that number from our
sender (``GET /2010-04-01/Accounts/{AccountSid}/Messages.json?To=…&From=…``, newest first,
one page) and looks for one created in the last ``lookup_window`` with exactly the same
body; if one is there, the delivery is recorded as sent with that message's SID and nothing
is sent. No ``DateSent>=`` filter: a message still ``queued`` or ``accepted`` has no
``date_sent`` yet, and it is precisely the one to find. The look-up runs when the
delivery's attempt (``Outgoing.attempt``) is above 1: a retry, or a re-claim once the lease
of a send interrupted by a crash has expired (the dispatcher counts an attempt when it
starts sending, so that re-claim is attempt 2 as well). A first attempt cannot have reached
Twilio before and sends at once, without the extra request. A look-up that fails is a
retryable error: nothing is sent until Twilio can be asked.

The status callback URL carries the delivery's id (``?delivery=<id>``); Twilio posts its
reports to that exact URL and signs it, query included, so each report names the delivery
it is about even if its SID was never recorded.
"""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from contracts.dunning import DunnedInvoice, Reminder
from services.notifier.channels.adapter import Outgoing, Receipt
from services.notifier.composing.composer import CustomerView, EmailComposer
from services.notifier.composing.rendering import format_money
from services.notifier.domain.statement import statement_of
from services.notifier.errors import DeliveryError
from services.notifier.handler import delivery_id_of
from services.runtime.logs import get_logger

log = get_logger(__name__)

SMS_LANGUAGES = ("fr", "en", "de", "es", "it")  # languages of _partials/sms.<lang>.txt
LOOKUP_PAGE_SIZE = 20  # the newest messages to one number from our sender, read on a resend


def callback_url_for(status_callback_url: str, delivery_id: str) -> str:
    """The status callback URL with ``delivery=<id>`` added to its query."""
    parts = urlsplit(status_callback_url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "delivery"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("delivery", delivery_id)])))


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
        lookup_window: timedelta = timedelta(days=2),
    ) -> None:
        self.composer = composer
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self.status_callback_url = status_callback_url
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.lookup_window = lookup_window

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
        creditor = self.composer.creditor_for(reminder.company_code)
        contact = creditor.phone or creditor.email
        lang = language if language in SMS_LANGUAGES else "en"
        body = " ".join(
            self.composer.catalogue.render_partial(
                f"_partials/sms.{lang}.txt",
                {"subject": composed.subject, "totals": totals, "contact": contact},
            ).split()
        )
        request = {"to": phones[0], "from_": self.from_number, "body": body}
        delivery_id = str(delivery_id_of(reminder.reminder_id, reminder.channel))
        message = {**request, "delivery_id": delivery_id, "prepared_at": now}
        return Outgoing(
            json.dumps(request, ensure_ascii=False).encode(), (phones[0],), None, message
        )

    async def send(self, outgoing: Outgoing) -> Receipt:
        http = _TwilioHttp(timeout=self.timeout_s)
        client = Client(self.account_sid, self.auth_token, http_client=http)
        if self.base_url is not None:
            client.api.base_url = self.base_url
        message_fields: dict[str, Any] = dict(outgoing.message)
        delivery_id = str(message_fields.pop("delivery_id"))
        prepared_at: datetime = message_fields.pop("prepared_at")
        options = message_fields
        if self.status_callback_url:
            options["status_callback"] = callback_url_for(self.status_callback_url, delivery_id)
        try:
            if outgoing.attempt > 1:  # Twilio may hold it already: ask before sending again
                found = await asyncio.wait_for(
                    self._already_sent(client, options, prepared_at - self.lookup_window),
                    self.timeout_s,
                )
                if found is not None:
                    log.info("sms_found_at_twilio", delivery_id=delivery_id, sid=found.sid)
                    return Receipt(found.sid, str(found.status))
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

    async def _already_sent(
        self, client: Client, options: dict[str, Any], since: datetime
    ) -> Any | None:
        """The message Twilio already holds for this delivery: same number, sender and body,
        created since ``since``; None when there is none."""
        page = await client.messages.list_async(
            to=options["to"], from_=options["from_"], limit=LOOKUP_PAGE_SIZE
        )
        for message in page:
            created = message.date_created
            if message.body == options["body"] and (created is None or created >= since):
                return message
        return None


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
