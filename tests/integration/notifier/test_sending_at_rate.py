"""What lets one notifier send many emails a second: kept SMTP sessions, composing workers."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from services.notifier.channels.email.adapter import EmailAdapter
from services.notifier.channels.email.smtp import SmtpChannel
from services.notifier.composing.composer import SAMPLE_RATES, EmailComposer
from services.notifier.composing.workers import ComposingWorkers
from services.notifier.dispatcher import Dispatcher
from services.notifier.errors import DeliveryError
from services.notifier.handler import handle
from services.notifier.reference_rates import RateBook
from services.notifier.settings import EmailSettings, NotifierSettings, SmtpSettings
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import UnitOfWork
from tests.integration.notifier.harness import free_port
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration


class Peers:
    """An aiosmtpd handler noting the client's address (one per session) of each message."""

    def __init__(self) -> None:
        self.peers: list[object] = []
        self.received: list[EmailMessage] = []
        self.reply: str | None = None

    async def handle_DATA(  # noqa: N802 (aiosmtpd hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.peers.append(session.peer)
        if self.reply is not None:
            return self.reply
        assert isinstance(envelope.content, bytes)
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(message)
        return "250 OK queued"


@pytest.fixture
def server() -> Iterator[tuple[Peers, int, list[Controller]]]:
    handler, port = Peers(), free_port()
    controllers = [Controller(handler, hostname="127.0.0.1", port=port)]
    controllers[0].start()
    try:
        yield handler, port, controllers
    finally:
        controllers[-1].stop()


def _settings(port: int, connections: int = 2) -> NotifierSettings:
    return NotifierSettings(
        smtp=SmtpSettings(
            host="127.0.0.1", port=port, security="none", timeout_s=5, connections=connections
        ),
        email=EmailSettings(sender="relances@creditor.example"),
    )


def _message(n: int) -> bytes:
    return (
        f"From: relances@creditor.example\r\nTo: billing@client.example\r\n"
        f"Subject: reminder {n}\r\nMessage-ID: <m{n}@creditor.example>\r\n\r\nbody {n}\r\n"
    ).encode()


async def test_messages_share_a_kept_session_and_a_dropped_one_is_replaced(
    server: tuple[Peers, int, list[Controller]],
) -> None:
    handler, port, controllers = server
    smtp = SmtpChannel(_settings(port))
    for n in range(3):
        await smtp.send_from(_message(n), "relances@creditor.example", ("billing@client.example",))
    assert len(handler.peers) == 3
    assert len(set(handler.peers)) == 1  # one session for the three

    # the server goes away and comes back: the kept session is dead, the message still goes
    controllers[0].stop()
    controllers.append(Controller(handler, hostname="127.0.0.1", port=port))
    controllers[-1].start()
    await smtp.send_from(_message(3), "relances@creditor.example", ("billing@client.example",))
    assert len(handler.received) == 4
    assert handler.peers[3] != handler.peers[0]

    # a refused message: the error says so, and the session is not kept
    handler.reply = "550 mailbox unavailable"
    with pytest.raises(DeliveryError) as refused:
        await smtp.send_from(_message(4), "relances@creditor.example", ("billing@client.example",))
    assert not refused.value.retryable
    handler.reply = None
    await smtp.send_from(_message(5), "relances@creditor.example", ("billing@client.example",))
    assert handler.peers[5] != handler.peers[4]
    await smtp.close()


async def test_more_messages_at_once_than_kept_sessions_all_go(
    server: tuple[Peers, int, list[Controller]],
) -> None:
    handler, port, _ = server
    smtp = SmtpChannel(_settings(port, connections=1))
    await asyncio.gather(
        *(
            smtp.send_from(_message(n), "relances@creditor.example", ("billing@client.example",))
            for n in range(4)
        )
    )
    assert len(handler.received) == 4
    assert smtp._open == 1  # one kept, the others closed after their message
    await smtp.close()


async def test_emails_composed_by_workers_are_the_ones_composed_here(
    pool: asyncpg.Pool, server: tuple[Peers, int, list[Controller]]
) -> None:
    handler, port, _ = server
    settings = _settings(port)
    composer = EmailComposer.load(settings, RateBook(SAMPLE_RATES))
    clock = SimulatedClock(samples.NOW)
    reminders = [samples.reminder(f"INV-{n}") for n in range(3)]
    async with pool.acquire() as connection, connection.transaction():
        await handle(
            UnitOfWork(connection, clock),
            [samples.customer_upserted(), *(samples.reminder_due(r) for r in reminders)],
        )
    workers = ComposingWorkers(settings, composer.rate_book, 1)
    try:
        dispatcher = Dispatcher(
            pool,
            clock,
            settings,
            {"email": EmailAdapter(composer, SmtpChannel(settings))},
            composer,
            workers=workers,
        )
        assert await dispatcher.dispatch_all(concurrency=2) == 3
    finally:
        workers.close()
    assert len(handler.received) == 3
    rows = await pool.fetch("SELECT reminder_id, content FROM deliveries WHERE status = 'sent'")
    assert len(rows) == 3
    adapter = EmailAdapter(composer, SmtpChannel(settings))
    for row in rows:
        reminder = next(r for r in reminders if r.reminder_id == row["reminder_id"])
        async with pool.acquire() as connection:
            customer = await dispatcher.customer_view(
                connection, reminder.customer_id, [i.invoice_id for i in reminder.invoices]
            )
        here = adapter.prepare(reminder, reminder.invoices, customer, clock.now())
        assert b"application/pdf" in row["content"]
        assert _without_boundaries(row["content"]) == _without_boundaries(here.content)


def _without_boundaries(content: bytes) -> bytes:
    """The message but its MIME boundaries, random in each composition."""
    return re.sub(rb"={15}\d+==", b"BOUNDARY", content)
