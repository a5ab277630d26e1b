"""The email channel's transport: messages handed to the configured SMTP server."""

from __future__ import annotations

import ssl
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from typing import Any

import aiosmtplib

from services.notifier.errors import DeliveryError
from services.notifier.settings import NotifierSettings

PROVIDER = "smtp"


class SmtpChannel:
    """Sends messages to the configured SMTP server; classifies failures."""

    def __init__(self, settings: NotifierSettings) -> None:
        if settings.smtp.host is None:
            raise ValueError("no SMTP host configured")
        self.host = settings.smtp.host
        self.port = settings.smtp.port
        self.security = settings.smtp.security
        self.username = settings.smtp.username
        self.password = (
            settings.smtp.password.get_secret_value() if settings.smtp.password else None
        )
        self.timeout = settings.smtp.timeout_s
        self.tls_context: ssl.SSLContext | None = None
        if settings.smtp.cafile is not None:
            self.tls_context = ssl.create_default_context(cafile=str(settings.smtp.cafile))

    async def send(self, message: EmailMessage) -> str:
        """Send; return the server's reply. Raise :class:`DeliveryError` on failure."""
        return await self._send(message)

    async def send_bytes(self, content: bytes, recipients: tuple[str, ...]) -> str:
        """Send a message kept as its exact bytes (an approved proposal's rendering) to
        ``recipients``, from the address of its ``From`` header."""
        headers = BytesHeaderParser(policy=policy.default).parsebytes(content)
        sender = parseaddr(str(headers["From"] or ""))[1]
        if not sender or not recipients:
            raise DeliveryError("the stored message has no sender or no recipient", retryable=False)
        return await self._send(content, sender=sender, recipients=list(recipients))

    async def _send(self, message: EmailMessage | bytes, **envelope: Any) -> str:
        try:
            _, reply = await aiosmtplib.send(
                message,
                **envelope,
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
