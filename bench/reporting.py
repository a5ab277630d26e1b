"""Reporting: projection throughput, freshness, and the aged balance over many open items.

Run with ``python -m bench.reporting [--events N] [--open-items N] [--fresh N]``. In a fresh
database (dropped afterwards) it measures:

* ``projection``: ledger events/s applied by the reporting handler through the runtime
  kit's batch processor (batches of 500, one transaction each, inbox dedupe), no Kafka;
* ``freshness``: for single ledger events produced one at a time into a fresh Kafka topic
  consumed by the reporting handler, the time from produce to the invoice being visible in
  ``open_items`` (p50, p99, max); the target is under 2 s;
* ``aged_balance``: with ``--open-items`` open invoices loaded by COPY (12,000 customers,
  three currencies, due dates over 18 months), the time of ``SELECT * FROM aged_balance``
  (today, all rows fetched) and of a roll-up per company and bucket, read from the
  maintained aged balance (``aged_balance_full_s``, ``aged_balance_rollup_s``; the target is
  under 1 s for 5,000,000 open items) and recomputed from the open invoices as when the
  maintained one is not of today (``recompute_*``); the time to rebuild the maintained
  aged balance (``aging_rebuild_s``, at start) and to roll it one day forward
  (``aging_roll_s``, once a day).

The projection runs with the maintained aged balance on (rolled to today first), as the
service does. The load average is printed before and after, with ``bench.limits``' pydantic
figure measured in the same run (``--pydantic-events``), so that a noisy host shows in the
output.

Nothing is asserted: these are measurements.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import statistics
import time
import urllib.parse
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.limits import DEFAULT_BOOTSTRAP, DEFAULT_DATABASE_URL
from bench.pipeline import load_average, pydantic_reference
from contracts import ledger
from contracts.envelope import Event
from contracts.money import PositiveMoney
from contracts.topics import LEDGER_EVENTS
from services.reporting.app import DEFINITION, SCHEMA
from services.reporting.projection import apply_events
from services.reporting.refresh import analyze_small_tables
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import BatchProcessor
from services.runtime.database import create_pool
from services.runtime.dead_letter import IncomingRecord
from services.runtime.service import Supervisor, make_broker, subscribe
from services.runtime.settings import DatabaseSettings, KafkaSettings, ServiceSettings

START = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
CLOCK = SimulatedClock(START)


def opened(n: int, customers: int = 2_000) -> ledger.InvoiceOpened:
    issue = date(2025, 6, 1) + timedelta(days=n % 200)
    amount = PositiveMoney(amount=Decimal(100 + n % 900), currency="EUR")
    return ledger.InvoiceOpened(
        event_id=uuid.uuid4(),
        occurred_at=START,
        source="bench",
        payload=ledger.OpenedInvoice(
            company_code="FR01",
            customer_id=f"C{n % customers}",
            invoice_id=f"FR01/B{n}",
            invoice_number=f"B{n}",
            issue_date=issue,
            due_date=issue + timedelta(days=30),
            amount=amount,
            open_amount=amount,
        ),
    )


def paid(n: int) -> ledger.OpenAmountChanged:
    event = opened(n)
    p = event.payload
    return ledger.OpenAmountChanged(
        event_id=uuid.uuid4(),
        occurred_at=START + timedelta(days=1),
        source="bench",
        payload=ledger.OpenAmountChange(
            company_code=p.company_code,
            customer_id=p.customer_id,
            invoice_id=p.invoice_id,
            invoice_number=p.invoice_number,
            previous_open_amount=p.amount.model_dump(),
            open_amount=PositiveMoney(amount=p.amount.amount / 2, currency="EUR"),
            cause="payment",
            cause_document_id=f"P{n}",
            due_date=p.due_date,
            amount=p.amount,
        ),
    )


def _database(url: str, name: str) -> str:
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path="/" + name))


async def projection(url: str, count: int) -> dict[str, float]:
    half = count // 2
    events: list[Event] = [opened(n) for n in range(half)] + [paid(n) for n in range(half)]
    records = [
        IncomingRecord(LEDGER_EVENTS.name, 0, i, LEDGER_EVENTS.key(e), LEDGER_EVENTS.value(e))
        for i, e in enumerate(events)
    ]
    pool = await create_pool(DatabaseSettings(url=url), SCHEMA)
    processor = BatchProcessor("reporting", DEFINITION.consumes, apply_events, pool, CLOCK)
    started = time.perf_counter()
    for start in range(0, len(records), 500):
        await processor.process(records[start : start + 500])
    elapsed = time.perf_counter() - started
    await pool.close()
    return {"events": float(len(records)), "events_per_s": len(records) / elapsed}


async def freshness(url: str, bootstrap: str, count: int) -> dict[str, float]:
    topic = dataclasses.replace(LEDGER_EVENTS, name=f"bench-{uuid.uuid4().hex[:8]}.ledger")
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(n, num_partitions=6, replication_factor=1)
                for n in (topic.name, topic.dead_letter)
            ]
        )
    finally:
        await admin.close()
    pool = await create_pool(DatabaseSettings(url=url), SCHEMA)
    settings = ServiceSettings(
        kafka=KafkaSettings(bootstrap_servers=bootstrap), batch_timeout_ms=50
    )
    processor = BatchProcessor("reporting", [topic], apply_events, pool, CLOCK)
    supervisor = Supervisor("bench")
    broker = make_broker(settings.kafka, "bench-reporting", graceful_timeout=10)
    subscribe(broker, processor, group_id=topic.name, settings=settings, on_fatal=supervisor.fail)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    await producer.start()
    await broker.start()
    delays: list[float] = []
    try:
        await asyncio.sleep(3)  # let the consumer join its group
        for n in range(10_000_000, 10_000_000 + count):
            event = opened(n)
            sent = time.perf_counter()
            await producer.send_and_wait(topic.name, topic.value(event), key=topic.key(event))
            while not await pool.fetchval(
                "SELECT 1 FROM open_items WHERE invoice_id = $1", event.payload.invoice_id
            ):
                if supervisor.failure is not None:
                    raise supervisor.failure
                await asyncio.sleep(0.005)
            delays.append(time.perf_counter() - sent)
            await asyncio.sleep(random.uniform(0.01, 0.1))
    finally:
        await broker.stop()
        await producer.stop()
        await supervisor.shutdown(grace_s=5)
        await pool.close()
    delays.sort()
    return {
        "p50_s": statistics.median(delays),
        "p99_s": delays[min(len(delays) - 1, int(len(delays) * 0.99))],
        "max_s": delays[-1],
    }


def _rows(count: int) -> list[tuple[object, ...]]:
    rng = random.Random(5)
    today = datetime.now(UTC).date()
    rows: list[tuple[object, ...]] = []
    for n in range(count):
        due = today - timedelta(days=rng.randrange(-120, 420))
        amount = Decimal(rng.randrange(1_000, 1_000_000)) / 100
        rows.append(
            (
                f"FR{n % 3}/L{n}",
                f"FR0{n % 3}",
                f"L{n % 12_000}",
                f"L{n}",
                due - timedelta(days=30),
                due,
                ("EUR", "EUR", "USD", "GBP")[n % 4],
                amount,
                amount,
                "open",
                START,
            )
        )
    return rows


async def aged_balance(url: str, count: int) -> dict[str, float]:
    connection = await asyncpg.connect(url, server_settings={"search_path": SCHEMA})
    try:
        await connection.execute(
            "INSERT INTO fx_rates VALUES ('EUR', 'USD', '2025-01-01', 1.1), "
            "('GBP', 'EUR', '2025-01-01', 1.17)"
        )
        columns = [
            "invoice_id",
            "company_code",
            "customer_id",
            "invoice_number",
            "issue_date",
            "due_date",
            "currency",
            "amount",
            "open_amount",
            "status",
            "updated_at",
        ]
        # loaded without the trigger's upkeep, then rebuilt at once (as at a service start)
        await connection.execute("UPDATE report_parameters SET aging_day = NULL")
        loaded = time.perf_counter()
        chunk = 250_000
        for start in range(0, count, chunk):
            rows = _rows(min(chunk, count - start))
            rows = [(f"{r[0]}-{start}", *r[1:]) for r in rows]
            await connection.copy_records_to_table("invoices", records=rows, columns=columns)
        await connection.execute("ANALYZE invoices")
        await analyze_small_tables(connection)  # as the service does at start and hourly
        load_s = time.perf_counter() - loaded
        timings: dict[str, list[float]] = {}

        async def measure(label: str) -> int:
            rows = 0
            for _ in range(3):
                started = time.perf_counter()
                rows = len(await connection.fetch("SELECT * FROM aged_balance"))
                timings.setdefault(f"{label}full_s", []).append(time.perf_counter() - started)
                started = time.perf_counter()
                await connection.fetch(
                    "SELECT company_code, bucket, sum(open_amount_reporting) FROM aged_balance "
                    "GROUP BY 1, 2"
                )
                timings.setdefault(f"{label}rollup_s", []).append(time.perf_counter() - started)
            return rows

        # not of today: the view groups the open invoices itself
        recomputed_rows = await measure("recompute_")
        today = await connection.fetchval("SELECT current_date")
        started = time.perf_counter()
        await connection.fetchval("SELECT roll_aged_balance($1)", today - timedelta(days=1))
        rebuild_s = time.perf_counter() - started
        started = time.perf_counter()
        assert await connection.fetchval("SELECT roll_aged_balance($1)", today) == "rolled"
        roll_s = time.perf_counter() - started
        await connection.execute("ANALYZE aged_balance_current")
        row_count = await measure("")
        assert row_count == recomputed_rows
    finally:
        await connection.close()
    return {
        "open_items": float(count),
        "load_s": load_s,
        "aged_balance_rows": float(row_count),
        "aged_balance_full_s": min(timings["full_s"]),
        "aged_balance_rollup_s": min(timings["rollup_s"]),
        "recompute_full_s": min(timings["recompute_full_s"]),
        "recompute_rollup_s": min(timings["recompute_rollup_s"]),
        "aging_rebuild_s": rebuild_s,
        "aging_roll_s": roll_s,
    }


async def main(args: argparse.Namespace) -> None:
    print(f"before: {load_average()}")
    if args.pydantic_events:
        reference = pydantic_reference(args.pydantic_events)
        print(f"bench.limits pydantic_validate, same run: {reference:,.0f} events/s")
    name = f"bench_reporting_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(args.database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = _database(args.database_url, name)
    try:
        await migrations.apply_async(url, SCHEMA, DEFINITION.migrations)
        connection = await asyncpg.connect(url, server_settings={"search_path": SCHEMA})
        await connection.fetchval("SELECT roll_aged_balance(current_date)")
        await connection.close()
        results = {
            "projection": await projection(url, args.events),
            "freshness": await freshness(url, args.bootstrap, args.fresh),
            "aged_balance": await aged_balance(url, args.open_items),
        }
    finally:
        admin = await asyncpg.connect(args.database_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    print(f" after: {load_average()}")
    for family, figures in results.items():
        for metric, value in figures.items():
            print(f"{family:<14} {metric:<24} {value:>14,.3f}")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--fresh", type=int, default=100)
    parser.add_argument("--open-items", type=int, default=5_000_000)
    parser.add_argument("--bootstrap", default=DEFAULT_BOOTSTRAP)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument(
        "--pydantic-events",
        type=int,
        default=50_000,
        help="events for the same-run pydantic figure (0: skip it)",
    )
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
