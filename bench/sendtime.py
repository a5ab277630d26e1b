"""Notifier: the send-time window left between the final check and the provider.

Run with ``python -m bench.sendtime [--emails N] [--disputes-per-s R] [--email-rate E]``.
In a fresh database (dropped afterwards) it records N reminder-due events (one customer each,
three invoices) through the notifier's handler, then runs the real dispatcher (the shared
rate limiter at E emails a second, off by default) against a real SMTP server on loopback
(aiosmtpd) while another task opens disputes on random customers' whole accounts through the
same handler, R a second. It prints ``uptime`` before and after (the machine is shared), and:

* emails/s with every send-time control on (suspension, window, promises and plans,
  opt-outs, the final check);
* *check to call*: for each email, the time from the final check's answer to the adapter's
  ``send`` being entered (p50, p99, max): what the final check cannot see by construction;
* *check to accepted*: from the final check's answer to the SMTP server accepting the
  message, the whole window in which a dispute or a payment recorded meanwhile is not seen;
* *slipped*: emails accepted by the SMTP server although a dispute on one of their invoices
  was committed before the acceptance (those the window let through), and *caught*: the
  deliveries the final check sent back to the claim (then suppressed).

Nothing is asserted: these are measurements.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import socket
import subprocess
import time
import uuid
from typing import Any

import asyncpg
from aiosmtpd.controller import Controller

from bench.limits import DEFAULT_DATABASE_URL
from bench.notifier import DEMO_COMPANIES, NOW, Accepting, _database, events
from bench.pipeline import pydantic_reference
from contracts import disputes
from services.notifier.app import DEFINITION, channel_adapters
from services.notifier.channels.adapter import ChannelAdapter, Outgoing, Receipt
from services.notifier.composing.composer import EmailComposer
from services.notifier.dispatcher import Claimed, Dispatcher
from services.notifier.domain.sending_time import Place
from services.notifier.handler import handle
from services.notifier.rate_limit import SharedRateLimiter
from services.notifier.settings import NotifierSettings, SmtpSettings
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import UnitOfWork
from services.runtime.database import Connection, create_pool
from services.runtime.settings import DatabaseSettings

INVOICES = 3


class TimedAdapter:
    """The real email adapter, noting when ``send`` is entered, by Message-ID."""

    def __init__(self, inner: ChannelAdapter) -> None:
        self.inner = inner
        self.provider = inner.provider
        self.entered_at: dict[str, float] = {}

    def prepare(self, *args: Any, **kwargs: Any) -> Outgoing:
        return self.inner.prepare(*args, **kwargs)

    async def send(self, outgoing: Outgoing) -> Receipt:
        if outgoing.tracking_id is not None:
            self.entered_at[outgoing.tracking_id] = time.perf_counter()
        return await self.inner.send(outgoing)


class TimedDispatcher(Dispatcher):
    """The real dispatcher, noting when each final check answered."""

    checked_at: dict[str, float]
    refused: int = 0

    async def final_check(
        self, claimed: Claimed, place: Place, *, connection: Connection | None = None
    ) -> bool:
        passed = await super().final_check(claimed, place, connection=connection)
        if claimed.outgoing.tracking_id is not None and passed:
            self.checked_at[claimed.outgoing.tracking_id] = time.perf_counter()
        if not passed:
            self.refused += 1
        return passed


def _dispute(customer: int) -> disputes.DisputeOpened:
    return disputes.DisputeOpened(
        event_id=uuid.uuid4(),
        occurred_at=NOW,
        source="disputes",
        payload=disputes.OpenedDispute(
            dispute_id=uuid.uuid4(),
            customer_id=f"C{customer:06d}",
            invoice_ids=(),
            whole_account=True,
            owner_role="sales",
            due_date=NOW.date(),
            category="pricing",
            text="bench",
            raised_by="customer",
        ),
    )


async def open_disputes(
    pool: asyncpg.Pool,
    clock: SimulatedClock,
    emails: int,
    per_s: float,
    stop: asyncio.Event,
    committed: dict[str, float],
) -> None:
    rng = random.Random(7)
    while not stop.is_set() and per_s > 0:
        customer = rng.randrange(emails)
        async with pool.acquire() as connection, connection.transaction():
            await handle(UnitOfWork(connection, clock), [_dispute(customer)])
        committed.setdefault(f"C{customer:06d}", time.perf_counter())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0 / per_s)


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    if not values:
        return 0.0, 0.0, 0.0
    values = sorted(values)
    return (
        values[len(values) // 2],
        values[min(len(values) - 1, int(0.99 * len(values)))],
        values[-1],
    )


async def run(
    emails: int, disputes_per_s: float, database_url: str, email_rate: float = 0.0
) -> dict[str, float]:
    name = f"bench_sendtime_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = _database(database_url, name)
    accepting = Accepting()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(accepting, hostname="127.0.0.1", port=port)
    controller.start()
    committed: dict[str, float] = {}
    try:
        await migrations.apply_async(url, DEFINITION.schema, DEFINITION.migrations)
        pool = await create_pool(DatabaseSettings(url=url), DEFINITION.schema, max_size=6)
        rates = {"email": email_rate} if email_rate > 0 else {}
        settings = NotifierSettings(
            channel_rates_per_s=rates,
            smtp=SmtpSettings(host="127.0.0.1", port=port, security="none"),
            companies_file=DEMO_COMPANIES,
        )
        composer = EmailComposer.load(settings)
        clock = SimulatedClock(NOW)
        async with pool.acquire() as connection, connection.transaction():
            await handle(UnitOfWork(connection, clock), events(emails, INVOICES))
        adapter = TimedAdapter(channel_adapters(settings, composer)["email"])
        dispatcher = TimedDispatcher(
            pool,
            clock,
            settings,
            {"email": adapter},
            composer,
            limiter=SharedRateLimiter(pool, rates) if rates else None,
        )
        dispatcher.checked_at = {}
        stop = asyncio.Event()
        writer = asyncio.create_task(
            open_disputes(pool, clock, emails, disputes_per_s, stop, committed)
        )
        started = time.perf_counter()
        await dispatcher.dispatch_all()
        elapsed = time.perf_counter() - started
        stop.set()
        await writer
        sent = await pool.fetch(
            "SELECT customer_id, message_id FROM deliveries WHERE status = 'sent'"
        )
        statuses = {
            r["status"]: r["n"]
            for r in await pool.fetch(
                "SELECT status, count(*) AS n FROM deliveries GROUP BY status"
            )
        }
        await pool.close()
    finally:
        controller.stop()
        admin = await asyncpg.connect(database_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    to_call = [
        (adapter.entered_at[m] - checked) * 1000
        for m, checked in dispatcher.checked_at.items()
        if m in adapter.entered_at
    ]
    to_accepted = [
        (accepting.accepted_at[m] - checked) * 1000
        for m, checked in dispatcher.checked_at.items()
        if m in accepting.accepted_at
    ]
    slipped = sum(
        1
        for r in sent
        if r["customer_id"] in committed
        and committed[r["customer_id"]] < accepting.accepted_at.get(r["message_id"], 0.0)
    )
    call = _percentiles(to_call)
    accepted = _percentiles(to_accepted)
    return {
        "emails_sent": float(statuses.get("sent", 0)),
        "suppressed": float(statuses.get("suppressed", 0)),
        "emails_per_s": statuses.get("sent", 0) / elapsed,
        "disputes_opened": float(len(committed)),
        "caught_by_final_check": float(dispatcher.refused),
        "check_to_call_ms_p50": call[0],
        "check_to_call_ms_p99": call[1],
        "check_to_call_ms_max": call[2],
        "check_to_accepted_ms_p50": accepted[0],
        "check_to_accepted_ms_p99": accepted[1],
        "check_to_accepted_ms_max": accepted[2],
        "slipped": float(slipped),
    }


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=300)
    parser.add_argument("--disputes-per-s", type=float, default=20.0)
    parser.add_argument(
        "--email-rate", type=float, default=0.0, help="the shared rate limit (0: none)"
    )
    parser.add_argument(
        "--pydantic-events",
        type=int,
        default=50_000,
        help="events for the same-run bench.limits pydantic figure (0: skip it)",
    )
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    print(f"before: {_uptime()}")
    if args.pydantic_events:
        reference = pydantic_reference(args.pydantic_events)
        print(f"bench.limits pydantic_validate, same run: {reference:,.0f} events/s")
    figures = asyncio.run(run(args.emails, args.disputes_per_s, database_url, args.email_rate))
    print(f" after: {_uptime()}")
    for key, value in figures.items():
        print(f"{key:>26}: {value:,.3f}")


if __name__ == "__main__":
    main()
