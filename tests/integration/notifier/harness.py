"""A notifier on a fresh database, driven step by step: consume events, dispatch, inspect."""

from __future__ import annotations

import dataclasses
import json
import socket
import uuid
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import asyncpg
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import APIRouter, FastAPI
from pydantic import SecretStr

from contracts.envelope import Event
from services.notifier.dispatcher import Dispatcher
from services.notifier.handler import handle
from services.runtime.auth import Authenticator, AuthSettings
from services.runtime.clock import Clock, SimulatedClock
from services.runtime.consumer import UnitOfWork
from services.runtime.health import HttpServer
from tests.kafka_tools import eventually

# A machine key holding the collector role and every portfolio, for tests of the routes'
# behaviour; tests of who may do what use people (tests/identity_provider.py).
COLLECTOR_KEY = "collector-key-for-notifier-tests"
AS_COLLECTOR = {"X-API-Key": COLLECTOR_KEY}


def authenticator(clock: Clock, settings: AuthSettings | None = None) -> Authenticator:
    keys = SecretStr(f"collector:notifier-tests:{COLLECTOR_KEY}")
    return Authenticator("notifier", settings or AuthSettings(api_keys=keys), clock)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def serve(*routers: APIRouter, port: int = 0) -> HttpServer:
    """Serve the notifier's routers on 127.0.0.1 as the service does (``server.port``)."""
    app = FastAPI()
    for router in routers:
        app.include_router(router)
    server = HttpServer(app, "127.0.0.1", port)
    await server.start()
    return server


@dataclasses.dataclass
class Notifier:
    pool: asyncpg.Pool
    clock: SimulatedClock
    dispatcher: Dispatcher
    topic: str

    async def consume(self, *events: Event) -> None:
        async with self.pool.acquire() as connection, connection.transaction():
            await handle(UnitOfWork(connection, self.clock), events)

    async def published(self) -> list[dict[str, Any]]:
        rows = await self.pool.fetch("SELECT topic, value FROM outbox ORDER BY id")
        assert all(r["topic"] == self.topic for r in rows)
        return [json.loads(r["value"]) for r in rows]

    async def delivery(self, reminder_id: uuid.UUID) -> asyncpg.Record:
        row = await self.pool.fetchrow(
            "SELECT * FROM deliveries WHERE reminder_id = $1", reminder_id
        )
        assert row is not None
        return row


class Mailbox:
    """An aiosmtpd handler keeping what it receives; ``reply`` makes it refuse messages."""

    def __init__(self) -> None:
        self.received: list[tuple[Envelope, EmailMessage]] = []
        self.reply: str | None = None

    async def handle_DATA(  # noqa: N802 (aiosmtpd hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.reply is not None:
            return self.reply
        assert isinstance(envelope.content, bytes)
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append((envelope, message))
        return "250 OK queued"


async def listening(
    pool: asyncpg.Pool,
    dispatcher: Dispatcher,
    other_than: int = 0,
    channel: str = "relance_deliveries_",
) -> int:
    """Until the dispatcher listens on a backend (not ``other_than``) that PostgreSQL shows
    listening on ``channel`` (a prefix); its pid. The listener's application name is
    ``listener``."""

    async def found() -> int:
        pid = dispatcher.listening_pid
        if pid is None or pid == other_than:
            return 0
        channels = await pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND application_name = "
            "'listener' AND query LIKE $2",
            pid,
            f"LISTEN %{channel}%",
        )
        return pid if channels else 0

    return int(await eventually(found, timeout_s=10, interval_s=0.05))
