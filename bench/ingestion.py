"""Ingestion end to end: ERP topics in Kafka -> committed ledger rows -> published ledger events.

Run with ``python -m bench.ingestion [--events N] [--batch N] [--consumers N]``. It produces
a realistic mix (60% invoices, 35% payments, 5% customers and credit notes) into fresh
12-partition topics, then runs ``--consumers`` ingestion replicas, one process each, in one
consumer group: each is the runtime kit's consumer (batches, one transaction each, offsets
committed after) with the ingestion handler, and an outbox relay (one active at a time, as
in production), on a fresh schema. It times from the moment the replicas start consuming
until every record is committed (offsets committed after the batch transaction) and every
ledger event is published, and prints
events/s, the ratio to the ``bench.limits`` figures, the p50/p99 batch latency, and each
replica's resident memory at 10%, 50% and the end of the run and its peak (the generated
events live in the parent process, not in the replicas). It also prints where the CPU
went: CPU microseconds per event spent by the replicas, by PostgreSQL and by Kafka, and the
rate at which that work would saturate every core of the machine (``cpu_bound_events_per_s``),
which is the ceiling no tuning of waits or batch sizes can pass. Nothing is asserted: these
are measurements.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import multiprocessing
import os
import random
import resource
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.limits import DEFAULT_BOOTSTRAP, DEFAULT_DATABASE_URL, load_limits
from contracts import erp
from contracts.envelope import Event
from contracts.money import PositiveMoney
from contracts.topics import ERP_TOPICS, LEDGER_EVENTS, Topic
from services.ingestion.app import DEFINITION
from services.ingestion.handler import LedgerHandler
from services.ingestion.settings import IngestionSettings
from services.runtime import gc_tuning, migrations
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import BatchOutcome, BatchProcessor
from services.runtime.database import create_pool
from services.runtime.dead_letter import IncomingRecord
from services.runtime.outbox import KafkaRecordSender, OutboxRelay
from services.runtime.service import Supervisor, make_broker, subscribe
from services.runtime.settings import DatabaseSettings, KafkaSettings, ServiceSettings

START = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
PARTITIONS = 12  # as the ERP topics in production (docs/contracts.md)


def erp_mix(count: int, seed: int = 7) -> list[tuple[Topic, Event]]:
    """A month of ERP traffic: 60% invoices, 35% payments, 5% customers and credit notes."""
    rng = random.Random(seed)
    customers = max(10, count // 40)
    by_name = {t.name: t for t in ERP_TOPICS}
    out: list[tuple[Topic, Event]] = []
    invoices: list[tuple[str, Decimal]] = []
    currencies = ("EUR", "EUR", "EUR", "USD", "GBP")

    def currency_of(customer_id: str) -> str:
        # from the customer's number, not hash(): str hashes change from run to run, and
        # so would the mix
        return currencies[int(customer_id[1:]) % len(currencies)]

    def envelope(n: int) -> dict[str, Any]:
        return {
            "event_id": uuid.UUID(int=rng.getrandbits(128)),
            "occurred_at": START + timedelta(seconds=n),
            "source": "bench-erp",
        }

    for n in range(count):
        cid = f"C{rng.randrange(customers)}"
        currency = currency_of(cid)
        roll = rng.random()
        if roll < 0.60 or not invoices:
            number = f"F{n:08d}"
            amount = Decimal(rng.randrange(1000, 500000)) / 100
            issue = date(2026, 1, 1) + timedelta(days=rng.randrange(60))
            event: Event = erp.InvoiceIssued(
                **envelope(n),
                payload=erp.InvoicePayload(
                    company_code="FR01" if rng.random() < 0.8 else "DE02",
                    customer_id=cid,
                    invoice_number=number,
                    version=1,
                    issue_date=issue,
                    due_date=issue + timedelta(days=30),
                    amount=PositiveMoney(amount=amount, currency=currency),
                ),
            )
            invoices.append((cid, amount))
            out.append((by_name["erp.invoices.v1"], event))
        elif roll < 0.95:
            payer, owed = invoices[rng.randrange(len(invoices))]
            paid = (owed * Decimal(rng.choice(("1", "1", "0.5", "1.1")))).quantize(Decimal("0.01"))
            event = erp.PaymentReceived(
                **envelope(n),
                payload=erp.PaymentPayload(
                    payment_id=f"P{n:08d}",
                    company_code="FR01",
                    customer_id=payer,
                    received_on=date(2026, 2, 1) + timedelta(days=rng.randrange(30)),
                    amount=PositiveMoney(amount=paid, currency=currency_of(payer)),
                ),
            )
            out.append((by_name["erp.payments.v1"], event))
        elif roll < 0.975:
            event = erp.CustomerUpserted(
                **envelope(n),
                payload=erp.CustomerPayload(
                    customer_id=cid,
                    version=n,
                    company_code="FR01",
                    name=f"Customer {cid}",
                    country="FR",
                    time_zone="Europe/Paris",
                ),
            )
            out.append((by_name["erp.customers.v1"], event))
        else:
            event = erp.CreditNoteIssued(
                **envelope(n),
                payload=erp.CreditNotePayload(
                    credit_note_number=f"A{n:08d}",
                    company_code="FR01",
                    customer_id=cid,
                    issue_date=date(2026, 2, 1),
                    amount=PositiveMoney(amount=Decimal("25.00"), currency=currency),
                ),
            )
            out.append((by_name["erp.credit-notes.v1"], event))
    return out


async def produce_all(bootstrap: str, records: list[tuple[str, bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        for start in range(0, len(records), 5000):
            futures = [
                await producer.send(topic, value=value, key=key)
                for topic, key, value in records[start : start + 5000]
            ]
            await asyncio.gather(*futures)
    finally:
        await producer.stop()


class TimedBatchProcessor(BatchProcessor):
    """The kit's processor, noting each batch's latency and dead letters."""

    latencies: list[float]
    dead_lettered: int

    def __post_init__(self) -> None:
        super().__post_init__()
        self.latencies = []
        self.dead_lettered = 0

    async def process(self, records: Sequence[IncomingRecord]) -> BatchOutcome:
        started = time.perf_counter()
        outcome = await super().process(records)
        self.latencies.append(time.perf_counter() - started)
        self.dead_lettered += outcome.dead_lettered
        return outcome


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def rss_mib() -> float:
    """This process's resident set size now (not its peak), in MiB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def server_cpu_s() -> dict[str, float]:
    """CPU seconds (user + system) used so far by the PostgreSQL and Kafka processes here.

    Read from ``/proc`` (Linux): every process named ``postgres`` and every ``java`` process
    whose command line runs Kafka. Other clients of the same servers count too, so the
    figures are only clean on an otherwise idle machine.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    used = {"postgres": 0.0, "kafka": 0.0}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                name, _, rest = stat.read().partition(" (")[2].rpartition(")")
                fields = rest.split()
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read()
        except OSError:
            continue  # the process ended meanwhile
        # utime, stime, and cutime, cstime: the CPU of children already reaped (a
        # PostgreSQL backend that ended is counted in its postmaster)
        seconds = sum(int(f) for f in fields[11:15]) / ticks
        if name == "postgres":
            used["postgres"] += seconds
        elif name == "java" and b"kafka" in command:
            used["kafka"] += seconds
    return used


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclasses.dataclass(frozen=True)
class Setup:
    """What one consumer process needs to join the run."""

    bootstrap: str
    database_url: str
    schema: str
    suffix: str
    count: int
    batch: int
    start_at: float  # wall clock: every process starts consuming then
    tune_gc: bool = True  # as services do (services.runtime.gc_tuning)


@dataclasses.dataclass
class ConsumerFigures:
    latencies: list[float]
    dead_lettered: int
    published: int
    rss_samples: list[tuple[float, float]]  # (seconds since start, RSS MiB)
    consumed_s: float  # seconds from start until every record's offset was committed
    cpu_s: float  # CPU seconds the replica used while consuming


async def consume(setup: Setup) -> ConsumerFigures:
    """One ingestion replica (consumer + outbox relay) until the whole run is done.

    Every replica joins the same consumer group; only one relay is active at a time (the
    outbox's advisory lock), as in production.
    """
    topics = [dataclasses.replace(t, name=f"bench-{setup.suffix}.{t.name}") for t in ERP_TOPICS]
    ledger = dataclasses.replace(LEDGER_EVENTS, name=f"bench-{setup.suffix}.{LEDGER_EVENTS.name}")
    pool = await create_pool(DatabaseSettings(url=setup.database_url), setup.schema, max_size=4)
    settings = ServiceSettings(
        kafka=KafkaSettings(bootstrap_servers=setup.bootstrap),
        batch_max_records=setup.batch,
        batch_timeout_ms=100,
    )
    handler = LedgerHandler(ledger_topic=ledger)
    processor = TimedBatchProcessor(
        "ingestion", topics, handler.handle, pool, SimulatedClock(START), dead_letter_max_ratio=1.0
    )
    supervisor = Supervisor("bench")
    broker = make_broker(settings.kafka, "bench-ingestion", graceful_timeout=10)
    subscribe(
        broker,
        processor,
        group_id=f"bench-{setup.suffix}",
        settings=settings,
        on_fatal=supervisor.fail,
    )
    sender = KafkaRecordSender(settings.kafka.client_options(), "bench-ingestion")
    await sender.start()
    relay = OutboxRelay(
        "bench",
        pool,
        sender,
        batch_size=IngestionSettings().outbox_batch_size,
        poll_interval_s=0.05,
    )
    if setup.tune_gc:
        gc_tuning.tune(settings.gc_gen0_threshold)
    await asyncio.sleep(max(0.0, setup.start_at - time.time()))
    samples: list[tuple[float, float]] = []
    consumed_s = 0.0
    cpu_at_start = own_cpu_s()
    supervisor.start("outbox-relay", relay.run)
    await broker.start()
    # Progress is read from the group's committed offsets (committed after each batch's
    # transaction) rather than by counting the inbox: a count(*) over a million rows every
    # half second was PostgreSQL work of the bench's own, charged to ingestion's figures.
    admin = AIOKafkaAdminClient(bootstrap_servers=setup.bootstrap)
    await admin.start()
    try:
        while True:
            samples.append((time.time() - setup.start_at, rss_mib()))
            committed = await admin.list_consumer_group_offsets(f"bench-{setup.suffix}")
            done = sum(max(0, c.offset) for c in committed.values())
            # the outbox is only looked at once everything is consumed (the same reason)
            pending = done < setup.count or await pool.fetchval(
                "SELECT EXISTS (SELECT 1 FROM outbox)"
            )
            if supervisor.failure is not None:
                raise supervisor.failure
            if done >= setup.count and not consumed_s:
                consumed_s = time.time() - setup.start_at
            if done >= setup.count and not pending:
                break
            await asyncio.sleep(0.5)
    finally:
        await admin.close()
        await broker.stop()
        await supervisor.shutdown(grace_s=10)
        await sender.stop()
        await pool.close()
    return ConsumerFigures(
        processor.latencies,
        processor.dead_lettered,
        relay.published,
        samples,
        consumed_s,
        own_cpu_s() - cpu_at_start,
    )


def replica(setup: Setup) -> ConsumerFigures:
    return asyncio.run(consume(setup))


async def prepare(count: int, bootstrap: str, database_url: str) -> tuple[str, str]:
    """Fresh topics holding ``count`` ERP events, and a fresh ledger schema."""
    suffix = uuid.uuid4().hex[:8]
    topics = [dataclasses.replace(t, name=f"bench-{suffix}.{t.name}") for t in ERP_TOPICS]
    ledger = dataclasses.replace(LEDGER_EVENTS, name=f"bench-{suffix}.{LEDGER_EVENTS.name}")
    renamed = {t.name.split(".", 1)[1]: t for t in topics}
    print(f"generating {count} ERP events...", flush=True)
    mix = erp_mix(count)
    records = [
        (renamed[topic.name].name, topic.key(event), topic.value(event)) for topic, event in mix
    ]
    del mix
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [t.name for t in topics] + [t.dead_letter for t in topics] + [ledger.name]
        await admin.create_topics(
            [NewTopic(n, num_partitions=PARTITIONS, replication_factor=1) for n in names]
        )
    finally:
        await admin.close()
    print("producing...", flush=True)
    await produce_all(bootstrap, records)
    del records
    schema = f"bench_ingestion_{suffix}"
    await migrations.apply_async(database_url, schema, DEFINITION.migrations)
    return suffix, schema


async def leftovers(database_url: str, schema: str) -> int:
    """Documents still parked at the end; drops the schema."""
    connection = await asyncpg.connect(database_url, server_settings={"search_path": schema})
    try:
        parked: int = await connection.fetchval("SELECT count(*) FROM parked_documents")
        await connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
        return parked
    finally:
        await connection.close()


def run(
    count: int, batch: int, consumers: int, bootstrap: str, database_url: str, tune_gc: bool
) -> dict[str, float]:
    suffix, schema = asyncio.run(prepare(count, bootstrap, database_url))
    print(f"consuming with {consumers} replica(s)...", flush=True)
    start_at = time.time() + 5.0  # every replica has started and connected by then
    setups = [
        Setup(bootstrap, database_url, schema, suffix, count, batch, start_at, tune_gc)
        for _ in range(consumers)
    ]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(consumers, mp_context=context) as executor:
        pending = executor.map(replica, setups)
        time.sleep(max(0.0, start_at - time.time()))
        servers_before = server_cpu_s()
        runs = list(pending)
        servers_after = server_cpu_s()
    elapsed = max(r.rss_samples[-1][0] for r in runs)
    latencies = [s for r in runs for s in r.latencies]
    parked = asyncio.run(leftovers(database_url, schema))
    figures = {
        "events": float(count),
        "consumers": float(consumers),
        "elapsed_s": elapsed,
        "events_per_s": count / elapsed,
        "all_consumed_s": min(r.consumed_s for r in runs),
        "p99_batch_s": percentile(latencies, 0.99),
        "p50_batch_s": percentile(latencies, 0.50),
        "batches": float(len(latencies)),
        "published_records": float(sum(r.published for r in runs)),
        "dead_lettered": float(sum(r.dead_lettered for r in runs)),
        "parked_left": float(parked),
    }
    # Where the CPU went, per event: the machine's ceiling is its cores over their sum.
    replicas_cpu = sum(r.cpu_s for r in runs)
    figures["cpu_us_per_event_replicas"] = replicas_cpu / count * 1e6
    for server in ("postgres", "kafka"):
        used = servers_after[server] - servers_before[server]
        figures[f"cpu_us_per_event_{server}"] = used / count * 1e6
    total_us = sum(v for k, v in figures.items() if k.startswith("cpu_us_per_event_"))
    figures["cpu_bound_events_per_s"] = (os.cpu_count() or 1) * 1e6 / total_us
    # Memory of each replica over the run: at 10%, 50% and the end, and its peak.
    for n, r in enumerate(runs):
        samples = r.rss_samples
        for share in (0.1, 0.5, 1.0):
            at = samples[min(len(samples) - 1, int(share * (len(samples) - 1)))]
            figures[f"replica{n}_rss_{int(share * 100)}%_mib"] = at[1]
        figures[f"replica{n}_peak_rss_mib"] = max(m for _, m in samples)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=IngestionSettings().batch_max_records)
    parser.add_argument(
        "--consumers", type=int, default=1, help="ingestion replicas, one process each"
    )
    parser.add_argument(
        "--default-gc",
        action="store_true",
        help="leave CPython's garbage collector as it is (services tune it at start)",
    )
    args = parser.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_BOOTSTRAP)
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    figures = run(
        args.events, args.batch, args.consumers, bootstrap, database_url, not args.default_gc
    )
    for name, value in figures.items():
        print(f"{name:>18}: {value:,.3f}")
    limits = load_limits() or {}
    for metric in ("kafka_consume", "kafka_produce", "postgres_copy", "pydantic_validate"):
        if metric in limits:
            ratio = figures["events_per_s"] / limits[metric]
            print(f"{'ratio to ' + metric:>30}: {ratio:.3f}  ({limits[metric]:,.0f}/s)")
    print(f"target 30,000 events/s: {figures['events_per_s'] / 30_000:.2f} of it")


if __name__ == "__main__":
    main()
