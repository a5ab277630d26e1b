"""The email channel's transport: messages handed to the configured SMTP server.

Sessions are reused (``RELANCE_NOTIFIER_SMTP_CONNECTIONS``, 4 by default): a message goes
over an open session when one is free, else over a new one, which is kept afterwards if
fewer than that many are kept. Connecting, ``EHLO``, ``STARTTLS`` and the login were a sixth
of the time of an email with its PDF; reusing also takes the closing ``QUIT`` out of the
duplicate window (the server's ``250`` to the ``sent`` commit). A session that failed is
closed, never kept; one idle longer than ``idle_s`` is closed instead of being reused (the
server may have dropped it). A kept session found disconnected when the message is handed
to it (the server closed it while idle) is replaced by a new one and the message sent once
more at once: the server had accepted nothing on it.
"""

from __future__ import annotations

import asyncio
import ssl
import time
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
        self.keep = settings.smtp.connections
        self.idle_s = settings.smtp.idle_s
        # open sessions not in use, the most recently used last, with when each was freed
        self._idle: list[tuple[aiosmtplib.SMTP, float, asyncio.AbstractEventLoop]] = []
        self._open = 0  # sessions kept: idle or in use

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

    async def send_from(self, content: bytes, sender: str, recipients: tuple[str, ...]) -> str:
        """Send a message kept as its exact bytes, from ``sender`` (an address) to
        ``recipients``: a message composed elsewhere (a composing worker)."""
        if not sender or not recipients:
            raise DeliveryError("the message has no sender or no recipient", retryable=False)
        return await self._send(content, sender=sender, recipients=list(recipients))

    async def close(self) -> None:
        """Close the idle sessions (``QUIT``)."""
        idle, self._idle = self._idle, []
        for client, _, _ in idle:
            self._open -= 1
            await _quit(client)

    async def _send(self, message: EmailMessage | bytes, **envelope: Any) -> str:
        try:
            if self.keep == 0:
                _, reply = await aiosmtplib.send(message, **envelope, **self._options())
                return reply
            return await self._send_kept(message, envelope)
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

    async def _send_kept(self, message: EmailMessage | bytes, envelope: dict[str, Any]) -> str:
        client = self._take()
        if client is not None:
            try:
                return await self._over(client, message, envelope)
            except aiosmtplib.SMTPServerDisconnected:
                # dropped by the server while idle: nothing was accepted on it; a new one
                await self._discard(client)
        client = aiosmtplib.SMTP(**self._options())
        await client.connect()
        if self._open >= self.keep:
            try:  # more sessions at once than kept: this one is closed after its message
                return await self._send_message(client, message, envelope)
            finally:
                await _quit(client)
        self._open += 1
        return await self._over(client, message, envelope)

    async def _over(
        self, client: aiosmtplib.SMTP, message: EmailMessage | bytes, envelope: dict[str, Any]
    ) -> str:
        """Send over a kept session; give it back, or close it if anything failed."""
        try:
            reply = await self._send_message(client, message, envelope)
        except BaseException:
            await self._discard(client)
            raise
        self._idle.append((client, time.monotonic(), asyncio.get_running_loop()))
        return reply

    @staticmethod
    async def _send_message(
        client: aiosmtplib.SMTP, message: EmailMessage | bytes, envelope: dict[str, Any]
    ) -> str:
        if isinstance(message, bytes):
            _, reply = await client.sendmail(envelope["sender"], envelope["recipients"], message)
        else:
            _, reply = await client.send_message(message, **envelope)
        return reply

    def _take(self) -> aiosmtplib.SMTP | None:
        """The most recently freed session still fit for use; the stale ones are dropped."""
        loop = asyncio.get_running_loop()
        now = time.monotonic()
        while self._idle:
            client, freed_at, its_loop = self._idle.pop()
            if its_loop is loop and client.is_connected and now - freed_at <= self.idle_s:
                return client
            self._open -= 1
            if its_loop is loop:
                client.close()  # stale: no QUIT, the server may be gone
        return None

    async def _discard(self, client: aiosmtplib.SMTP) -> None:
        self._open -= 1
        client.close()

    def _options(self) -> dict[str, Any]:
        return {
            "hostname": self.host,
            "port": self.port,
            "username": self.username,
            "password": self.password,
            "use_tls": self.security == "tls",
            "start_tls": self.security == "starttls",
            "tls_context": self.tls_context,
            "timeout": self.timeout,
        }


async def _quit(client: aiosmtplib.SMTP) -> None:
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        client.close()
