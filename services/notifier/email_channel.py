"""The email channel: a MIME message with text, HTML and the PDF statement, sent over SMTP.

The Message-ID is derived from the reminder and the channel, so a message sent again after
a crash carries the same id and mail systems (and the proof archive) can recognise it.
"""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib

from services.notifier.errors import DeliveryError
from services.notifier.rendering import RenderedEmail
from services.notifier.settings import NotifierSettings

PROVIDER = "smtp"


def message_id_of(reminder_id: uuid.UUID, channel: str, domain: str) -> str:
    return f"<reminder-{reminder_id}.{channel}@{domain}>"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "pdf"


def build_message(
    *,
    sender: str,
    to: Sequence[str],
    cc: Sequence[str],
    rendered: RenderedEmail,
    message_id: str,
    sent_at: datetime,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = rendered.subject
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(sent_at)
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    for attachment in attachments:
        message.add_attachment(
            attachment.content,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
        )
    return message


class SmtpChannel:
    """Sends messages to the configured SMTP server; classifies failures."""

    def __init__(self, settings: NotifierSettings) -> None:
        if settings.smtp_host is None:
            raise ValueError("no SMTP host configured")
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.security = settings.smtp_security
        self.username = settings.smtp_username
        self.password = (
            settings.smtp_password.get_secret_value() if settings.smtp_password else None
        )
        self.timeout = settings.smtp_timeout_s
        self.tls_context: ssl.SSLContext | None = None
        if settings.smtp_cafile is not None:
            self.tls_context = ssl.create_default_context(cafile=str(settings.smtp_cafile))

    async def send(self, message: EmailMessage) -> str:
        """Send; return the server's reply. Raise :class:`DeliveryError` on failure."""
        try:
            _, reply = await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.security == "tls",
                start_tls=self.security == "starttls",
                tls_context=self.tls_context,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            raise DeliveryError(
                f"recipients refused: {detail}", retryable=all(400 <= c < 500 for c in codes)
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"SMTP {exc.code} {exc.message}", retryable=400 <= exc.code < 500
            ) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}", retryable=True) from exc
        return reply
