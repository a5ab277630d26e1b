"""Electronic registered letters [lettre recommandée électronique, LRE] through AR24.

AR24 is a qualified trust service provider (ANSSI) for eIDAS electronic registered
delivery: an eIDAS-qualified LRE has the legal value of a paper registered letter with
acknowledgement of receipt (French CPCE, art. L.100). Its API (``developers.ar24.fr``) takes
form fields and answers JSON; every call carries the account's ``token``, a ``date`` and
a ``signature`` header (:mod:`services.notifier.channels.ar24.crypto`), and successful replies are
encrypted. The letter goes out in two calls, from the creditor's AR24 account
(``id_user``), which is created and identity-verified once, by hand, on AR24's side:

1. ``POST /attachment/`` uploads the letter's PDF (the same PDF as a paper letter: the
   reminder's text, then the statement) and answers its ``file_id``;
2. ``POST /mail/`` sends the LRE to the email address of the contact in the reminder's role
   (else the billing contact): the addressee's name and company, ``dest_statut``
   ``professionnel`` (a business need not consent to LREs), the reminder's text as content,
   the attachment, ``ref_dossier`` ``<reminder_id>-<channel>`` and ``ref_client`` the
   customer id. An eIDAS letter adds ``eidas`` and the sender's one-time password
   (``otp``). AR24 answers the mail's ``id``: the tracking id kept on the delivery.

AR24 then notifies the addressee by email, who has 15 days to accept the letter (after
identifying themselves) or refuse it. :class:`~.tracking.Ar24Tracker` polls ``GET /mail/?id=…`` for
each letter not yet final and stores each proof as a document of the delivery once AR24
has it: ``deposit_proof`` [preuve de dépôt et d'envoi], ``acknowledgement_of_receipt``
[preuve de réception], ``refusal_proof``, ``negligence_proof`` (not claimed in 15 days) or
``bounce_proof`` (the notification email bounced). For a formal notice a refused or
neglected LRE notifies the debtor just as an accepted one does, so those end as
``delivery.delivered`` (the report says which); only a bounce, where nobody was notified,
ends as a hard ``delivery.bounced`` for the scheduler to fall back to a paper letter.

AR24's API has no idempotency key, and no look-up by our reference is documented, so a
crash after ``POST /mail/`` succeeded and before the delivery was recorded sends the letter
again on the retry (the window every channel documents); the duplicate carries the same
``ref_dossier``. A crash before it leaves only an unused attachment.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import aiohttp

from contracts.dunning import DunnedInvoice, Reminder
from services.notifier.channels.adapter import Outgoing, Receipt
from services.notifier.channels.ar24.crypto import decrypt_reply, signature, totp
from services.notifier.channels.letters.document import letter_pdf
from services.notifier.composing.composer import CustomerView, EmailComposer
from services.notifier.errors import CipherError, DeliveryError
from services.runtime.logs import get_logger

log = get_logger(__name__)

PROVIDER = "ar24"
PARIS = ZoneInfo("Europe/Paris")  # AR24 reads the signed date as Paris time
REPORT_NAMESPACE = uuid.UUID("5d0c1f3e-8a27-4b6e-9f41-3c2a7e1b9d05")

# The proofs of a mail, by the field of AR24's mail object that links to them.
PROOFS = (
    ("deposit_proof", "proof_ev_url"),
    ("acknowledgement_of_receipt", "proof_ar_url"),
    ("refusal_proof", "proof_rf_url"),
    ("negligence_proof", "proof_ng_url"),
    ("bounce_proof", "proof_bc_url"),
)
# Final outcomes: the report recorded, the fields that show it, the delivery event.
OUTCOMES = (
    ("AR", ("proof_ar_url", "view_date"), "delivered"),
    ("refused", ("proof_rf_url", "refused_date"), "delivered"),
    ("negligence", ("proof_ng_url", "negligence_date"), "delivered"),
    ("bounced", ("proof_bc_url", "bounced_date"), "bounced"),
)
FINAL = tuple(code for code, _, _ in OUTCOMES)


def outcome_of(mail: Mapping[str, Any]) -> tuple[str, str | None]:
    """The report a mail object makes (its final code, else its status) and its outcome.

    A final state is read from AR24's ``status`` or, should its wording differ, from the
    proof or date that only that state fills in; ``None`` while the letter is on its way.
    """
    status = str(mail.get("status") or "")
    for code, fields, outcome in OUTCOMES:
        if status.lower() == code.lower() or any(mail.get(f) for f in fields):
            return code, outcome
    return status or "unknown", None


def email_contact(customer: CustomerView, role: str) -> Mapping[str, Any]:
    """The contact in ``role`` with an email address, else the billing contact with one.

    Raises a final :class:`DeliveryError` when there is none, so that the scheduler's
    fallback (a paper registered letter) applies.
    """
    with_email = [c for c in customer.contacts if c.get("email")]
    for wanted in (role, "billing"):
        for contact in with_email:
            if contact.get("role") == wanted:
                return contact
    raise DeliveryError(
        f"no email contact with role {role} or billing for an electronic registered letter",
        retryable=False,
    )


def addressee_names(contact: Mapping[str, Any], company: str) -> tuple[str, str]:
    """First and last name of the addressee; the company stands in when none is named."""
    words = str(contact.get("name") or "").split()
    if not words:
        return "", company
    if len(words) == 1:
        return "", words[0]
    return words[0], " ".join(words[1:])


@dataclass(frozen=True)
class Ar24Config:
    api_url: str  # https://app.ar24.fr/api (sandbox: https://sandbox.ar24.fr/api)
    token: str
    private_key: str
    sender_user_id: str
    eidas: bool = True
    otp_secret: str | None = None
    timeout_s: float = 60.0

    def __post_init__(self) -> None:
        if self.eidas and not self.otp_secret:
            raise ValueError("an eIDAS letter needs the sender's OTP key")


class Ar24Client:
    """Signed calls, replies decrypted, and AR24's errors mapped to retryable or not.

    ``wall_clock`` (Unix seconds) dates the calls and the one-time passwords: AR24 checks
    them against its own clock, so it is real time, never a simulated business time.
    """

    def __init__(self, config: Ar24Config, *, wall_clock: Callable[[], float] = time.time):
        self.config = config
        self.wall_clock = wall_clock
        self.base_url = config.api_url.rstrip("/")

    def session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.config.timeout_s))

    def date(self) -> str:
        return datetime.fromtimestamp(self.wall_clock(), PARIS).strftime("%Y-%m-%d %H:%M:%S")

    def otp(self) -> str:
        assert self.config.otp_secret is not None
        return totp(self.config.otp_secret, self.wall_clock())

    async def call(
        self,
        session: aiohttp.ClientSession,
        method: str,
        route: str,
        fields: Mapping[str, str],
        *,
        file: tuple[str, bytes] | None = None,
    ) -> Any:
        """Call ``/<route>/`` and return the ``result`` of a successful reply."""
        date = self.date()
        params = {"token": self.config.token, "date": date, **fields}
        headers = {"signature": signature(date, self.config.private_key)}
        url = f"{self.base_url}/{route.strip('/')}/"
        where = f"AR24 {method} /{route}/"
        try:
            if method == "GET":
                request = session.get(url, params=params, headers=headers)
            else:
                form = aiohttp.FormData()
                for name, value in params.items():
                    form.add_field(name, value)
                if file is not None:
                    form.add_field(
                        "file", file[1], filename=file[0], content_type="application/pdf"
                    )
                request = session.post(url, data=form, headers=headers)
            async with request as response:
                status = response.status
                text = await response.text()
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise DeliveryError(f"{where}: {type(exc).__name__}: {exc}", retryable=True) from exc
        if status in (408, 425, 429) or status >= 500:
            raise DeliveryError(f"{where}: {status}", retryable=True)
        body = _clear(text) if status >= 400 else self._reply(text, date, where)
        state = str(body.get("status", "")).upper()
        if state == "MAINTENANCE":
            raise DeliveryError(f"{where}: AR24 is under maintenance", retryable=True)
        if state == "ERROR" or status >= 400:
            slug = body.get("slug") or ""
            message = body.get("message") or ""
            raise DeliveryError(f"{where}: {status} {slug}: {message}".strip(), retryable=False)
        if state != "SUCCESS":
            raise DeliveryError(f"{where}: unexpected reply status {state!r}", retryable=True)
        return body.get("result")

    def _reply(self, text: str, date: str, where: str) -> Mapping[str, Any]:
        """The reply as JSON: errors come in clear, successes encrypted for ``date``."""
        try:
            body: Any = json.loads(text)
        except json.JSONDecodeError:
            try:
                body = json.loads(decrypt_reply(text, date, self.config.private_key))
            except (CipherError, json.JSONDecodeError) as exc:
                raise DeliveryError(
                    f"{where}: a reply neither in clear nor encrypted for this call ({exc})",
                    retryable=True,
                ) from exc
        if not isinstance(body, Mapping):
            raise DeliveryError(f"{where}: a reply that is not a JSON object", retryable=True)
        reply: dict[str, Any] = dict(body)
        result = reply.get("result")
        if isinstance(result, str) and str(reply.get("status", "")).upper() == "SUCCESS":
            # Some replies keep the envelope in clear and encrypt only the result.
            with contextlib.suppress(CipherError, json.JSONDecodeError):
                reply["result"] = json.loads(decrypt_reply(result, date, self.config.private_key))
        return reply

    async def download(self, session: aiohttp.ClientSession, url: str) -> bytes:
        """A proof, from the link in a mail object (it carries its own access token).

        Only links to AR24's own host are followed.
        """
        if urlsplit(url).netloc != urlsplit(self.base_url).netloc:
            raise DeliveryError(f"AR24 proof link outside {self.base_url}: {url}", retryable=False)
        try:
            async with session.get(url) as response:
                if response.status != 200:
                    raise DeliveryError(
                        f"AR24 proof download: {response.status}",
                        retryable=response.status in (408, 429) or response.status >= 500,
                    )
                return await response.read()
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise DeliveryError(
                f"AR24 proof download: {type(exc).__name__}: {exc}", retryable=True
            ) from exc


def _clear(text: str) -> Mapping[str, Any]:
    """An error reply's JSON object, or nothing when it is not one (an HTML error page)."""
    try:
        body = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


class Ar24Adapter:
    """The ``electronic_registered_letter`` channel: the letter's PDF sent as an LRE."""

    provider = PROVIDER

    def __init__(self, composer: EmailComposer, client: Ar24Client) -> None:
        self.composer = composer
        self.client = client

    def prepare(
        self,
        reminder: Reminder,
        invoices: tuple[DunnedInvoice, ...],
        customer: CustomerView,
        now: datetime,
    ) -> Outgoing:
        contact = email_contact(customer, reminder.recipient_role)
        text = self.composer.render_reminder(reminder, invoices, customer, now).text
        pdf, _, _ = letter_pdf(self.composer, reminder, invoices, customer, now)
        reference = f"{reminder.reminder_id}-{reminder.channel}"
        first, last = addressee_names(contact, customer.name)
        mail = {
            "id_user": self.client.config.sender_user_id,
            "to_email": str(contact["email"]),
            "to_firstname": first,
            "to_lastname": last,
            "to_company": customer.name,
            "dest_statut": "professionnel",
            "ref_dossier": reference,
            "ref_client": reminder.customer_id,
            "content": text,
        }
        message = {"mail": mail, "document_name": f"{reference}.pdf"}
        return Outgoing(pdf, (mail["to_email"],), reference, message)

    async def send(self, outgoing: Outgoing) -> Receipt:
        client = self.client
        mail: dict[str, str] = dict(outgoing.message["mail"])
        async with client.session() as session:
            uploaded = await client.call(
                session,
                "POST",
                "attachment",
                {"id_user": client.config.sender_user_id},
                file=(outgoing.message["document_name"], outgoing.content),
            )
            if not isinstance(uploaded, Mapping) or not uploaded.get("file_id"):
                raise DeliveryError("AR24 POST /attachment/: no file_id", retryable=True)
            mail["attachment[0]"] = str(uploaded["file_id"])
            if client.config.eidas:
                mail["eidas"] = "1"
                mail["otp"] = client.otp()
            sent = await client.call(session, "POST", "mail", mail)
        if not isinstance(sent, Mapping) or not sent.get("id"):
            # Accepted but unreadable: retrying could send twice, so the scheduler decides.
            raise DeliveryError("AR24 POST /mail/: accepted without a mail id", retryable=False)
        return Receipt(str(sent["id"]), str(sent.get("status") or "sent"))
