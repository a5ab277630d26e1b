"""An idle dispatcher claims a new delivery when the consumer commits it (the NOTIFY of
``RECORD_DELIVERY``), not when its interval is up; the interval still finds the rest.

Nothing of the listening side ends the dispatcher: its backend terminated, its connection
broken by asyncpg's protocol error, its connector failing, its callback failing, each is
counted, the connection discarded, and the dispatcher listens again and is woken again."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from contracts.topics import NOTIFIER_DELIVERIES
from services.notifier.channels.email.adapter import EmailAdapter
from services.notifier.channels.email.smtp import SmtpChannel
from services.notifier.composing.composer import SAMPLE_RATES, EmailComposer
from services.notifier.dispatcher import Claim, Dispatcher, ListenConnection
from services.notifier.metrics import LISTENER_ERRORS
from services.notifier.reference_rates import RateBook
from services.notifier.settings import NotifierSettings, SmtpSettings
from services.runtime.clock import SimulatedClock
from services.runtime.database import connect
from services.runtime.loops import Wakeup
from services.runtime.settings import DatabaseSettings
from tests.integration.notifier.harness import Mailbox, Notifier, listening
from tests.kafka_tools import eventually, unique
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration

INTERVAL_S = 60.0  # far longer than the test waits: only the wake can send in time


def _connector(database_url: str) -> ListenConnection:
    return functools.partial(connect, DatabaseSettings(url=database_url), "notifier", "listener")


def _notifier(pool: asyncpg.Pool, port: int, listen_connection: ListenConnection) -> Notifier:
    settings = NotifierSettings(
        smtp=SmtpSettings(host="127.0.0.1", port=port, security="none", timeout_s=5),
        dispatch_interval_s=INTERVAL_S,
    )
    clock = SimulatedClock(samples.NOW)
    topic = dataclasses.replace(NOTIFIER_DELIVERIES, name=unique(NOTIFIER_DELIVERIES.name))
    adapter = EmailAdapter(
        EmailComposer.load(settings, RateBook(SAMPLE_RATES)), SmtpChannel(settings)
    )
    dispatcher = Dispatcher(
        pool,
        clock,
        settings,
        {"email": adapter},
        adapter.composer,
        topic=topic,
        listen_connection=listen_connection,
    )
    return Notifier(pool, clock, dispatcher, topic.name)


@contextlib.asynccontextmanager
async def _dispatching(dispatcher: Dispatcher) -> AsyncIterator[asyncio.Task[None]]:
    """The dispatcher running (lanes and listener) until the block ends, then stopped."""
    stop = asyncio.Event()
    running = asyncio.create_task(dispatcher.run(stop))
    try:
        yield running
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=15)


async def _received(box: Mailbox, count: int, within_s: float = 15.0) -> None:
    async def arrived() -> bool:
        return len(box.received) >= count

    await eventually(arrived, timeout_s=within_s, interval_s=0.05)
    assert len(box.received) == count


async def _sent(notifier: Notifier, reminder_id: uuid.UUID) -> None:
    """Until the delivery is recorded sent (just after the mail server accepted it)."""

    async def sent() -> bool:
        return bool((await notifier.delivery(reminder_id))["status"] == "sent")

    await eventually(sent, timeout_s=10, interval_s=0.02)


def _errors(error: str) -> float:
    return float(LISTENER_ERRORS.labels("notifier", error)._value.get())


async def _idle(box: Mailbox) -> None:
    await asyncio.sleep(0.3)  # every lane has claimed nothing and sleeps its 60 s
    assert box.received == []


async def test_an_idle_dispatcher_sends_a_new_reminder_at_once(
    pool: asyncpg.Pool, mailbox: tuple[Mailbox, int], database_url: str
) -> None:
    box, port = mailbox
    notifier = _notifier(pool, port, _connector(database_url))
    await notifier.consume(samples.customer_upserted())
    async with _dispatching(notifier.dispatcher):
        await listening(pool, notifier.dispatcher)
        await _idle(box)

        first = samples.reminder("INV-1")
        await notifier.consume(samples.reminder_due(first))  # committed: NOTIFY
        await _received(box, 1)
        await _sent(notifier, first.reminder_id)

        # the same reminder again records nothing, and a second one wakes the lanes again
        await notifier.consume(samples.reminder_due(first))
        second = samples.reminder("INV-2")
        await notifier.consume(samples.reminder_due(second))
        await _received(box, 2)
        await _sent(notifier, second.reminder_id)
    assert notifier.dispatcher.listening_pid is None  # closed at stop


async def test_a_delivery_recorded_before_the_dispatcher_starts_is_sent_at_start(
    pool: asyncpg.Pool, mailbox: tuple[Mailbox, int], database_url: str
) -> None:
    box, port = mailbox
    notifier = _notifier(pool, port, _connector(database_url))
    due = samples.reminder("INV-1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    async with _dispatching(notifier.dispatcher):
        await _received(box, 1)


async def test_the_listening_backend_terminated_the_dispatcher_listens_again(
    pool: asyncpg.Pool, mailbox: tuple[Mailbox, int], database_url: str
) -> None:
    box, port = mailbox
    notifier = _notifier(pool, port, _connector(database_url))
    await notifier.consume(samples.customer_upserted())
    stop = asyncio.Event()
    running = asyncio.create_task(notifier.dispatcher.run(stop))
    lost_before = _errors("ListeningLost") + _errors("AdminShutdownError")
    try:
        first_pid = await listening(pool, notifier.dispatcher)
        await _idle(box)
        first = samples.reminder("INV-1")
        await notifier.consume(samples.reminder_due(first))
        await _received(box, 1)

        # PostgreSQL ends the listening backend (as a restart or an administrator does)
        assert await pool.fetchval("SELECT pg_terminate_backend($1)", first_pid)
        second_pid = await listening(pool, notifier.dispatcher, other_than=first_pid)
        assert second_pid != first_pid
        assert not running.done()  # the dispatcher kept running through it
        assert _errors("ListeningLost") + _errors("AdminShutdownError") > lost_before

        # a later delivery wakes the lanes again: sent long before their 60 s interval
        second = samples.reminder("INV-2")
        await notifier.consume(samples.reminder_due(second))
        await _received(box, 2)
        await _sent(notifier, second.reminder_id)

        # and again, twice in a row, the backend ended at once after it listens
        for _ in range(2):
            pid = await listening(pool, notifier.dispatcher)
            assert await pool.fetchval("SELECT pg_terminate_backend($1)", pid)
            await listening(pool, notifier.dispatcher, other_than=pid)
        third = samples.reminder("INV-3")
        await notifier.consume(samples.reminder_due(third))
        await _received(box, 3)
        assert not running.done()
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=15)


async def test_unexpected_errors_of_the_listening_connection_do_not_end_the_dispatcher(
    pool: asyncpg.Pool, mailbox: tuple[Mailbox, int], database_url: str
) -> None:
    """The connector failing outright, then a connection whose LISTEN meets the protocol
    error the system test met at a PostgreSQL restart: both counted, that connection
    terminated (not reused), and the third attempt listens and wakes the lanes."""
    box, port = mailbox
    real = _connector(database_url)
    opened: list[asyncpg.Connection] = []

    async def flaky() -> asyncpg.Connection:
        if not opened:
            opened.append(None)  # type: ignore[arg-type]
            raise RuntimeError("the connector failed")
        connection = await real()
        opened.append(connection)
        return _BrokenListen(connection) if len(opened) == 2 else connection  # type: ignore[return-value]

    notifier = _notifier(pool, port, flaky)
    await notifier.consume(samples.customer_upserted())
    runtime_before = _errors("RuntimeError")
    internal_before = _errors("InternalClientError")
    async with _dispatching(notifier.dispatcher) as running:
        await listening(pool, notifier.dispatcher)
        assert len(opened) == 3
        assert opened[1].is_closed()  # the broken one terminated, never reused
        assert _errors("RuntimeError") == runtime_before + 1
        assert _errors("InternalClientError") == internal_before + 1
        await _idle(box)
        due = samples.reminder("INV-1")
        await notifier.consume(samples.reminder_due(due))
        await _received(box, 1)
        assert not running.done()
    assert opened[2].is_closed()


class _BrokenListen:
    """A connection whose LISTEN meets asyncpg's protocol error."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    def __getattr__(self, name: str) -> object:
        return getattr(self._connection, name)

    async def add_listener(self, *_: object) -> None:
        raise asyncpg.exceptions.InternalClientError(
            "cannot switch to state 12; another operation (2) is in progress"
        )


class _WedgedProbe:
    """A connection that still looks open but whose protocol is stuck mid-operation: its
    probe meets asyncpg's protocol error."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    def __getattr__(self, name: str) -> object:
        return getattr(self._connection, name)

    async def fetchval(self, query: str, *args: Any, **kwargs: Any) -> Any:
        if query == "SELECT 1":
            raise asyncpg.exceptions.InternalClientError(
                "cannot switch to state 12; another operation (2) is in progress"
            )
        return await self._connection.fetchval(query, *args, **kwargs)


async def test_a_listening_connection_whose_probe_fails_is_replaced(
    pool: asyncpg.Pool, mailbox: tuple[Mailbox, int], database_url: str
) -> None:
    box, port = mailbox
    real = _connector(database_url)
    opened: list[asyncpg.Connection] = []

    async def wedged_first() -> asyncpg.Connection:
        connection = await real()
        opened.append(connection)
        return _WedgedProbe(connection) if len(opened) == 1 else connection  # type: ignore[return-value]

    notifier = _notifier(pool, port, wedged_first)
    notifier.dispatcher.listen_probe_s = 0.2
    await notifier.consume(samples.customer_upserted())
    before = _errors("InternalClientError")
    async with _dispatching(notifier.dispatcher) as running:

        async def replaced() -> bool:
            return len(opened) >= 2 and notifier.dispatcher.listening_pid == (
                opened[1].get_server_pid()
            )

        await eventually(replaced, timeout_s=10, interval_s=0.02)
        await listening(pool, notifier.dispatcher)
        assert opened[0].is_closed()  # terminated at its failed probe, not reused
        assert _errors("InternalClientError") == before + 1
        await _idle(box)
        due = samples.reminder("INV-1")
        await notifier.consume(samples.reminder_due(due))
        await _received(box, 1)
        assert not running.done()


class _FailingOnce(Wakeup):
    """A wake whose ring fails once, when the ``fail_at``-th ring comes."""

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.fail_at = fail_at
        self.calls = 0

    def ring(self) -> None:
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("the callback failed")
        super().ring()


async def test_a_failing_callback_discards_the_connection_and_listens_again(
    pool: asyncpg.Pool, mailbox: tuple[Mailbox, int], database_url: str
) -> None:
    _, port = mailbox
    notifier = _notifier(pool, port, _connector(database_url))
    await notifier.consume(samples.customer_upserted())
    wake = _FailingOnce(fail_at=2)  # the first ring follows the LISTEN, the second a NOTIFY
    stop = asyncio.Event()
    before = _errors("RuntimeError")
    task = asyncio.create_task(notifier.dispatcher.listen(wake, stop))
    try:
        first_pid = await listening(pool, notifier.dispatcher)
        await notifier.consume(samples.reminder_due(samples.reminder("INV-1")))  # fails
        await listening(pool, notifier.dispatcher, other_than=first_pid)
        assert _errors("RuntimeError") == before + 1
        rings = wake.rings
        await notifier.consume(samples.reminder_due(samples.reminder("INV-2")))

        async def rung() -> bool:
            return wake.rings > rings

        await eventually(rung, timeout_s=10, interval_s=0.02)
        assert not task.done()
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15)


async def test_a_lane_meeting_asyncpgs_protocol_error_waits_it_out(
    pool: asyncpg.Pool, mailbox: tuple[Mailbox, int], database_url: str
) -> None:
    """A pooled connection used between a restarting server's error and its close raises
    asyncpg's InternalClientError: the lane logs it and waits (here for the next wake), the
    dispatcher goes on."""
    box, port = mailbox
    notifier = _notifier(pool, port, _connector(database_url))
    dispatcher = notifier.dispatcher
    claim = dispatcher._claim
    failed: list[int] = []

    async def claim_failing_once() -> Claim:
        if not failed:
            failed.append(1)
            raise asyncpg.exceptions.InternalClientError(
                "cannot switch to state 12; another operation (2) is in progress"
            )
        return await claim()

    dispatcher._claim = claim_failing_once  # type: ignore[method-assign]
    await notifier.consume(samples.customer_upserted())
    async with _dispatching(dispatcher) as running:
        await listening(pool, dispatcher)
        await _idle(box)
        assert failed
        due = samples.reminder("INV-1")
        await notifier.consume(samples.reminder_due(due))
        await _received(box, 1)
        assert not running.done()
