"""The asyncpg pool of a service, bound to the service's own schema."""

from __future__ import annotations

import json
from typing import Any, TypeAlias

import asyncpg
import asyncpg.pool

from services.runtime.errors import TransientError, WriteConflict
from services.runtime.settings import DatabaseSettings

Pool: TypeAlias = "asyncpg.Pool[asyncpg.Record]"
# A connection of its own or one borrowed from a pool: the same API.
Connection: TypeAlias = (
    "asyncpg.Connection[asyncpg.Record] | asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"
)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.AdminShutdownError,
    # "cannot switch to state 12; another operation (2) is in progress": a pooled connection
    # used in the moment between the FATAL error of a server ending it (PostgreSQL restarting)
    # and the close of its socket, which asyncpg reads one after the other; a moment later
    # the same connection raises ConnectionDoesNotExistError. The system test with faults
    # met it in the notifier's dispatcher, notices and previews and the scheduler's tick.
    asyncpg.exceptions.InternalClientError,
    # raised by a service's own code for a unique violation that another transaction's
    # commit caused (ingestion's new invoices): retrying reads what that one wrote
    WriteConflict,
)

CONNECT_TIMEOUT_S = 10.0  # a connection of its own (:func:`connect`) that takes longer fails


async def _init_connection(connection: Connection) -> None:
    await connection.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )
    await connection.set_type_codec(
        "json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )


# asyncpg resets a connection released to its pool with a round trip of its own
# (``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``), about a fifth of
# an idle loop's statements and 5 % of the notifier's CPU in the demo. The services take no
# session state on a pooled connection (transaction-level advisory locks, ``SET LOCAL``,
# cursors inside transactions) except the outbox relay (a session advisory lock and a
# ``LISTEN``), which marks its connection with :func:`holds_session_state`: only a marked
# connection gets that query. asyncpg still rolls back a transaction left open and drops
# the listener callbacks of every connection it takes back, before :func:`_reset_connection`.
_SESSION_STATE: set[int] = set()  # server pids of pooled connections to reset in full


def holds_session_state(connection: Connection) -> None:
    """Mark ``connection`` (borrowed from a pool) as taking session state (a session-level
    advisory lock, ``LISTEN``, ``SET``): the pool resets it in full when it is released."""
    _SESSION_STATE.add(connection.get_server_pid())


async def _reset_connection(connection: Connection) -> None:
    pid = connection.get_server_pid()
    if pid in _SESSION_STATE:
        _SESSION_STATE.discard(pid)
        query = connection.get_reset_query()
        if query:
            await connection.execute(query)


async def create_pool(settings: DatabaseSettings, schema: str, **overrides: Any) -> Pool:
    """A pool whose connections see ``schema`` first. Fails with :class:`TransientError`."""
    try:
        pool = await asyncpg.create_pool(
            dsn=settings.url.get_secret_value(),
            min_size=overrides.get("min_size", settings.pool_min_size),
            max_size=overrides.get("max_size", settings.pool_max_size),
            command_timeout=settings.command_timeout_s,
            server_settings={"search_path": f'"{schema}", public', "application_name": schema},
            init=_init_connection,
            reset=_reset_connection,
        )
    except TRANSIENT_ERRORS as exc:
        raise TransientError(f"cannot connect to PostgreSQL: {exc}") from exc
    assert pool is not None
    return pool


async def connect(
    settings: DatabaseSettings, schema: str, application_name: str | None = None
) -> asyncpg.Connection[asyncpg.Record]:
    """A connection of its own, outside any pool, that sees ``schema`` first as the pool's
    connections do: for a session that lives as long as the service (a ``LISTEN``), which
    would otherwise keep one of the pool's connections for good and hand it back, when it
    breaks, to the pool's reset. Its owner closes or terminates it; asyncpg's errors (and
    ``OSError``) reach the caller as they are."""
    return await asyncpg.connect(
        dsn=settings.url.get_secret_value(),
        command_timeout=settings.command_timeout_s,
        timeout=CONNECT_TIMEOUT_S,
        server_settings={
            "search_path": f'"{schema}", public',
            "application_name": application_name or schema,
        },
    )
