"""Notifier: emails with a one-page PDF statement per second, and the duplicate window.

Run with ``python -m bench.notifier [--emails N] [--invoices K] [--concurrency C]
[--look-ahead A] [--workers W] [--smtp-connections S]``. In a fresh database (dropped
afterwards) it records N reminder-due events (each for K invoices of its own customer)
through the notifier's handler, then runs the real dispatcher (C lanes side by side, each
composing A deliveries ahead while it sends one, W composing processes, S SMTP sessions
kept; the service's defaults unless given, and ``--concurrency 1 --look-ahead 0 --workers 0
--smtp-connections 0`` is the dispatcher of before: one delivery at a time, composed on its
event loop, a new SMTP session per message) against a real SMTP server on loopback
(aiosmtpd, in a process of its own as a real server would be) until every delivery is sent,
and prints:

* emails/s from the first claim to the last delivery recorded as sent;
* the share of that time spent rendering PDF statements (fpdf2) in the dispatcher's own
  process (none when workers compose);
* the CPU seconds of the dispatcher's process, of its composing workers and of the SMTP
  server's process, the load average before and after, and ``bench.limits``' pydantic
  figure measured in the same run (the host is shared: a loaded one shows here);
* the *duplicate window*: for each email, the time from the SMTP server accepting it to the
  delivery being committed as ``sent`` (p50, p99, max). A crash inside that window is the
  one case where a reminder is sent twice (see ``services/notifier/dispatcher.py``).

Nothing is asserted: these are measurements.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import socket
import statistics
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import asyncpg
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from bench.limits import DEFAULT_DATABASE_URL, measure_pydantic
from contracts import dunning, erp, ledger
from contracts.money import PositiveMoney
from services.notifier.app import DEFINITION, channel_adapters
from services.notifier.channels.adapter import Receipt
from services.notifier.composing import composer as composer_module
from services.notifier.composing.composer import EmailComposer
from services.notifier.composing.workers import ComposingWorkers, default_workers
from services.notifier.dispatcher import Claimed, Dispatcher
from services.notifier.handler import handle
from services.notifier.settings import NotifierSettings, SmtpSettings
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import UnitOfWork
from services.runtime.database import Connection, create_pool
from services.runtime.settings import DatabaseSettings

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
# the demo's companies (FR01 among them): without an identity every delivery fails
DEMO_COMPANIES = Path(__file__).resolve().parents[1] / "simulation" / "companies.yaml"


class Accepting:
    """An aiosmtpd handler noting when it accepted each message, by Message-ID."""

    def __init__(self) -> None:
        self.accepted_at: dict[str, float] = {}

    async def handle_DATA(  # noqa: N802 (aiosmtpd hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        accepted = time.perf_counter()
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        headers = BytesHeaderParser(policy=policy.default).parsebytes(content)
        self.accepted_at[str(headers["Message-ID"]).strip()] = accepted
        return "250 OK queued"


def _serve(port: int, ready: Any, stop: Any, results: Any) -> None:
    """The SMTP server's process: accept until ``stop``, then send back when it accepted
    each message (``perf_counter`` is the system's monotonic clock: comparable across
    processes) and its CPU time."""
    handler = Accepting()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()
    results.put((handler.accepted_at, time.process_time()))


class TimedDispatcher(Dispatcher):
    """The real dispatcher, noting when each delivery's outcome was committed."""

    recorded_at: dict[str, float]

    async def _sent(self, connection: Connection, claimed: Claimed, receipt: Receipt) -> None:
        await super()._sent(connection, claimed, receipt)
        if receipt.tracking_id is not None:
            self.recorded_at[receipt.tracking_id] = time.perf_counter()


@contextlib.contextmanager
def timing_pdfs() -> Iterator[list[float]]:
    """Time every PDF statement rendered through the composer."""
    spent: list[float] = []
    original = composer_module.statement_pdf  # type: ignore[attr-defined]

    def timed(*args: Any, **kwargs: Any) -> bytes:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    setattr(composer_module, "statement_pdf", timed)  # noqa: B010 (patching for timing)
    try:
        yield spent
    finally:
        setattr(composer_module, "statement_pdf", original)  # noqa: B010


def _workers_cpu(workers: ComposingWorkers | None) -> float:
    """CPU seconds the composing workers used so far (by pid, from ``/proc``)."""
    if workers is None:
        return 0.0
    ticks = 0
    for pid in workers.pids():
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def reminder(n: int, invoices: int, now: datetime) -> dunning.Reminder:
    """The benchmark's ``n``-th reminder: customer ``C{n:06d}``, ``invoices`` invoices."""
    dunned = tuple(
        dunning.DunnedInvoice(
            invoice_id=f"FR01/F{n:06d}-{k}",
            invoice_number=f"F{n:06d}-{k}",
            days_overdue=29,
            due_date=date(2026, 2, 1),
            amount=PositiveMoney(amount=Decimal("1250.00") + k, currency="EUR"),
            open_amount=PositiveMoney(amount=Decimal("1250.00") + k, currency="EUR"),
        )
        for k in range(invoices)
    )
    return dunning.Reminder(
        reminder_id=uuid.uuid4(),
        customer_id=f"C{n:06d}",
        company_code="FR01",
        scenario_id="bench",
        step_name="d+15-email",
        level="level_1",
        channel="email",
        recipient_role="billing",
        template="level_1",
        language="fr",
        include_penalties=True,
        escalating=False,
        scheduled_for=now,
        invoices=dunned,
    )


def events(emails: int, invoices: int) -> list[Any]:
    now = NOW
    out: list[Any] = []
    for n in range(emails):
        customer = f"C{n:06d}"
        out.append(
            ledger.LedgerCustomerUpserted(
                event_id=uuid.uuid4(),
                occurred_at=now,
                source="ingestion",
                payload=ledger.LedgerCustomer(
                    customer_id=customer,
                    company_code="FR01",
                    version=1,
                    name=f"Client {n} SAS",
                    country="FR",
                    time_zone="Europe/Paris",
                    language="fr" if n % 3 else "en",
                    contacts=(
                        erp.Contact(role="billing", email=f"compta{n}@client.example"),
                        erp.Contact(role="buyer", email=f"achats{n}@client.example"),
                    ),
                ),
            )
        )
        out.append(
            dunning.ReminderDue(
                event_id=uuid.uuid4(),
                occurred_at=now,
                source="scheduler",
                payload=reminder(n, invoices, now),
            )
        )
    return out


def _database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


async def run(
    emails: int,
    invoices: int,
    database_url: str,
    concurrency: int | None,
    composing: int | None,
    connections: int | None,
    look_ahead: int | None = None,
    nice: int | None = None,
) -> dict[str, float]:
    name = f"bench_notifier_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = _database(database_url, name)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    context = multiprocessing.get_context("spawn")
    ready, stop, results = context.Event(), context.Event(), context.SimpleQueue()
    server = context.Process(target=_serve, args=(port, ready, stop, results), daemon=True)
    server.start()
    ready.wait(30)
    workers: ComposingWorkers | None = None
    try:
        await migrations.apply_async(url, DEFINITION.schema, DEFINITION.migrations)
        settings = NotifierSettings(
            channel_rates_per_s={},
            smtp=SmtpSettings(host="127.0.0.1", port=port, security="none"),
            companies_file=DEMO_COMPANIES,
        )
        if connections is not None:
            settings.smtp.connections = connections
        if nice is not None:
            settings.composing_nice = nice
        concurrency = concurrency or settings.dispatch_concurrency
        if look_ahead is None:
            look_ahead = settings.dispatch_look_ahead
        # a connection per claim in flight and per lane's turn, and two to spare
        pool = await create_pool(
            DatabaseSettings(url=url),
            DEFINITION.schema,
            max_size=concurrency * (look_ahead + 2) + 2,
        )
        composing = default_workers() if composing is None else composing
        composer = EmailComposer.load(settings)
        clock = SimulatedClock(NOW)
        async with pool.acquire() as connection, connection.transaction():
            await handle(UnitOfWork(connection, clock), events(emails, invoices))
        if composing:
            workers = ComposingWorkers(settings, composer.rate_book, composing)
            await workers.warm_up()
        dispatcher = TimedDispatcher(
            pool,
            clock,
            settings,
            channel_adapters(settings, composer),
            composer,
            workers=workers,
        )
        dispatcher.recorded_at = {}
        load_before = os.getloadavg()
        with timing_pdfs() as pdf_times:
            started = time.perf_counter()
            cpu = time.process_time()
            workers_cpu = _workers_cpu(workers)
            sent = await dispatcher.dispatch_all(concurrency, look_ahead)
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu
            workers_cpu = _workers_cpu(workers) - workers_cpu
        load_after = os.getloadavg()
        rows = await pool.fetch("SELECT status, count(*) AS n FROM deliveries GROUP BY status")
        statuses: dict[str, int] = {r["status"]: r["n"] for r in rows}
        await pool.close()
    finally:
        if workers is not None:
            workers.close()
        stop.set()
        accepted_at, server_cpu = results.get()
        server.join(10)
        admin = await asyncpg.connect(database_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    windows = sorted(
        (dispatcher.recorded_at[m] - accepted) * 1000
        for m, accepted in accepted_at.items()
        if m in dispatcher.recorded_at
    )
    pdf_total = sum(pdf_times)
    return {
        "concurrency": float(concurrency),
        "look_ahead": float(look_ahead),
        "composing_nice": float(settings.composing_nice),
        "composing_workers": float(composing),
        "smtp_connections": float(settings.smtp.connections),
        "load_before": load_before[0],
        "load_after": load_after[0],
        "cpu_s_dispatcher": cpu,
        "cpu_s_workers": workers_cpu,
        "cpu_s_smtp_server": server_cpu,
        "emails_sent": float(statuses.get("sent", 0)),
        "dispatched": float(sent),
        "elapsed_s": elapsed,
        "emails_per_s": statuses.get("sent", 0) / elapsed,
        "pdf_ms_mean": 1000 * statistics.fmean(pdf_times) if pdf_times else 0.0,
        "pdf_share_of_time": pdf_total / elapsed,
        "window_ms_p50": windows[len(windows) // 2] if windows else 0.0,
        "window_ms_p99": windows[min(len(windows) - 1, int(0.99 * len(windows)))]
        if windows
        else 0.0,
        "window_ms_max": windows[-1] if windows else 0.0,
        "windows_measured": float(len(windows)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=500)
    parser.add_argument("--invoices", type=int, default=3, help="invoices per statement")
    parser.add_argument(
        "--concurrency", type=int, help="deliveries side by side (dispatch_concurrency)"
    )
    parser.add_argument(
        "--look-ahead", type=int, help="deliveries a lane composes ahead (dispatch_look_ahead)"
    )
    parser.add_argument("--workers", type=int, help="composing processes (composing_workers)")
    parser.add_argument("--nice", type=int, help="the workers' lower CPU priority (composing_nice)")
    parser.add_argument(
        "--smtp-connections", type=int, help="SMTP sessions kept (smtp.connections)"
    )
    parser.add_argument(
        "--pydantic-events", type=int, default=50_000, help="for the same-run pydantic figure"
    )
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    pydantic_now = measure_pydantic(args.pydantic_events)[0].value
    figures = asyncio.run(
        run(
            args.emails,
            args.invoices,
            database_url,
            args.concurrency,
            args.workers,
            args.smtp_connections,
            args.look_ahead,
            args.nice,
        )
    )
    figures["pydantic_validate_now"] = pydantic_now
    for key, value in figures.items():
        print(f"{key:>20}: {value:,.3f}")


if __name__ == "__main__":
    main()
