"""A service's consumption of ledger events alone: CPU per ledger event, no Kafka.

Run with ``python -m bench.ledger_consumers [--service S] [--events N] [--batch N]
[--profile]``, S one of notifier (the default), scheduler, reporting, disputes, console. It
runs ``bench.ingestion``'s mix of N ERP events through ingestion's rules in memory (as
``bench.ingestion_apply`` does) to get the ledger events they publish, in their order and
with their bytes, then hands them to the service's own consumer plumbing (the runtime kit's
``BatchProcessor`` with the service's handler, its inbox and its outbox: the notifier's
views of the ledger, the scheduler's tracker with the default scenario library, or the
handler the other services' ``build`` gives with default settings, their loops not started)
in batches of ``--batch`` records against a fresh database migrated with the service's
schema. It prints the ledger events by type, the rate, and the CPU per ledger event of this
process and of its PostgreSQL backend (by pid, from ``/proc``), with the load average
before and after and a ``bench.limits``-style pydantic figure of the same moment, so that a
noisy host shows.

Every one of them follows every ledger event ingestion publishes (about 1.8 per ERP event):
the notifier's consumer is its side of payment → suppression (``bench.suppression``: a
settlement suppresses a reminder only once it is written there), the scheduler's tracker
what stops the next reminders of a settled invoice and plans the new ones, reporting's
projection what BI reads, the console's what collectors see.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import importlib
import os
import pstats
import time
import urllib.parse
import uuid
from datetime import UTC, datetime
from typing import Any, cast

import asyncpg

from bench.ingestion import erp_mix, loadavg, process_cpu_s
from bench.ingestion_apply import Ledger
from bench.limits import measure_pydantic
from services.notifier.app import DEFINITION as NOTIFIER
from services.notifier.handler import DEFAULT_RULES, handler_for
from services.runtime import gc_tuning, migrations
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import BatchProcessor, Handler
from services.runtime.database import Pool, create_pool
from services.runtime.dead_letter import IncomingRecord
from services.runtime.service import ServiceContext, ServiceDefinition
from services.runtime.settings import DatabaseSettings
from services.scheduler.app import DEFINITION as SCHEDULER
from services.scheduler.app import policy_of
from services.scheduler.commands import CommandDesk
from services.scheduler.commands import handler as scheduler_handler
from services.scheduler.library_store import reload_library
from services.scheduler.settings import SchedulerSettings
from services.scheduler.tracking import Tracker

START = datetime(2026, 3, 1, tzinfo=UTC)

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://relance:relance@127.0.0.1:5433/relance")


def ledger_records(erp_events: int, batch: int = 500) -> list[IncomingRecord]:
    """The ledger events ingestion's rules publish for ``bench.ingestion``'s mix, in order,
    as the notifier's consumer receives them (one partition, offsets in order)."""
    mix = erp_mix(erp_events)
    ledger = Ledger()
    records: list[IncomingRecord] = []
    for start in range(0, len(mix), batch):
        events = [event for _, event in mix[start : start + batch]]
        book = ledger.load(events)
        book.apply_all(events)
        for out in book.emitted:
            records.append(
                IncomingRecord(out.topic, 0, len(records), out.key, out.value, tuple(out.headers))
            )
        ledger.save(book)
    return records


def _with_database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


# Services built the way they start (their ``build`` with default settings), beside the two
# wired by hand above them.
BUILT = ("reporting", "disputes", "console")


def _definition(service: str) -> ServiceDefinition:
    if service == "notifier":
        return NOTIFIER
    if service == "scheduler":
        return SCHEDULER
    definition: ServiceDefinition = importlib.import_module(f"services.{service}.app").DEFINITION
    return definition


async def _handler(service: str, pool: Pool) -> tuple[ServiceDefinition, Handler]:
    if service == "notifier":
        return NOTIFIER, handler_for(DEFAULT_RULES)
    if service == "scheduler":
        settings = SchedulerSettings()
        policy = policy_of(settings)
        await reload_library(pool, policy, settings.scenarios_path, by="bench", now=START)
        return SCHEDULER, scheduler_handler(Tracker(policy).apply, CommandDesk(policy))
    definition = _definition(service)
    context = ServiceContext(
        service, definition.settings_class(), pool, SimulatedClock(START), cast(Any, None)
    )
    parts = await definition.build(context)  # its loops are not started: consumption only
    if parts.handler is None:
        raise SystemExit(f"{service} consumes nothing")
    return definition, parts.handler


async def _backend(pool: Pool) -> tuple[int, float | None]:
    """The pool's connection's backend and the CPU seconds it has used so far."""
    async with pool.acquire() as connection:
        pid: int = await connection.fetchval("SELECT pg_backend_pid()")
    return pid, process_cpu_s(pid)


async def run(service: str, erp_events: int, batch: int, profile: bool) -> None:
    records = ledger_records(erp_events)
    kinds = collections.Counter(dict(r.headers).get("event_type", b"?").decode() for r in records)
    print(f"{len(records):,} ledger events from {erp_events:,} ERP events:")
    for kind, count in kinds.most_common():
        print(f"  {kind:45} {count:>8,}")
    name = f"bench_ledger_consumers_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(DATABASE_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = _with_database(DATABASE_URL, name)
    try:
        definition = _definition(service)
        await migrations.apply_async(url, definition.schema, definition.migrations)
        pool = await create_pool(
            DatabaseSettings(url=url), definition.schema, min_size=1, max_size=1
        )
        try:
            definition, handler = await _handler(service, pool)
            processor = BatchProcessor(
                service=service,
                topics=definition.consumes,
                handler=handler,
                pool=pool,
                clock=SimulatedClock(START),
            )
            gc_tuning.tune()  # as the services do once started (the records are frozen too)
            profiler = cProfile.Profile() if profile else None
            load_before = loadavg()
            # The pool's one connection is replaced after asyncpg's max_queries (50,000)
            # statements, and its backend with it: the backend's CPU is read before and after
            # each batch, and a batch whose backend was replaced is left out of that figure.
            backend_cpu, measured = 0.0, 0
            wall0, cpu0 = time.perf_counter(), time.process_time()
            backend, backend0 = await _backend(pool)
            for start in range(0, len(records), batch):
                chunk = records[start : start + batch]
                if profiler is not None:
                    profiler.enable()
                await processor.process(chunk)
                if profiler is not None:
                    profiler.disable()
                after, after_cpu = await _backend(pool)
                if after == backend and backend0 is not None and after_cpu is not None:
                    backend_cpu += after_cpu - backend0
                    measured += len(chunk)
                backend, backend0 = after, after_cpu
            wall = time.perf_counter() - wall0
            cpu = time.process_time() - cpu0
        finally:
            await pool.close()
    finally:
        admin = await asyncpg.connect(DATABASE_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
    count = len(records)
    pydantic = measure_pydantic(100_000)[0]
    print(f"load average before {load_before}, after {loadavg()}")
    print(f"pydantic (bench.limits) now: {pydantic.value:,.0f} events/s")
    print(f"the {service}'s consumer:")
    print(
        f"{count:,} ledger events in {wall:.2f} s: {count / wall:,.0f} ledger events/s, "
        f"CPU per ledger event: this process {cpu / count * 1e6:.1f} µs, "
        f"its PostgreSQL backend {backend_cpu / max(measured, 1) * 1e6:.1f} µs"
        + ("" if measured == count else f" (over {measured:,} of them: backend replaced)")
        + (" (under cProfile)" if profile else "")
    )
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", choices=("notifier", "scheduler", *BUILT), default="notifier")
    parser.add_argument("--events", type=int, default=20_000, help="ERP events (default 20,000)")
    parser.add_argument("--batch", type=int, default=500, help="records per batch (default 500)")
    parser.add_argument("--profile", action="store_true", help="cProfile the consumption")
    args = parser.parse_args()
    asyncio.run(run(args.service, args.events, args.batch, args.profile))


if __name__ == "__main__":
    main()
