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
went: CPU microseconds per event spent by the replicas, by the PostgreSQL backends serving
them and by the Kafka broker, each counted by process id (the replicas' own rusage, the
backends found in ``pg_stat_activity`` by the run's ``application_name``, the process
listening on the bootstrap address's port), and the rate at which that work would saturate
every core of the machine (``cpu_bound_events_per_s``), which is the ceiling no tuning of
waits or batch sizes can pass. PostgreSQL's background processes (WAL writer, checkpointer,
autovacuum) serve every database client on the host, so they are printed apart, host-wide,
not charged.

Every ``--window-s`` seconds (10 by default) it also prints what the run and the server did
in that window (class ``Windows``): the ERP events committed, the CPU per event of each of
those processes, the checkpoints begun, the WAL bytes and full-page images per event (both
cluster-wide), the run's tables' blocks hit and read per event, the outbox's live and dead
rows and the autovacuums of the run's tables, and the load; at the end, each table's size,
rows written, dead rows, autovacuums and blocks. A long run's figures can then be told
apart from a short one's: the book's size, the relay's backlog, the server's checkpoints.

Because the host is shared, it prints the load average before and after the run, and the
``bench.limits`` pydantic figure measured in the same run (right before consuming), so that
a noisy host shows in the output. At the end it reconciles the ledger with the generator to
the cent, per company, customer and currency (the invoices' amounts less the payments and
credit notes against the open amounts less the credit balances), and exits non-zero when
any of them differs or an event was dead-lettered or left parked. Nothing else is asserted:
the rest are measurements.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import gc
import multiprocessing
import os
import random
import resource
import sys
import threading
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
from aiokafka.errors import KafkaError

from bench.limits import DEFAULT_BOOTSTRAP, DEFAULT_DATABASE_URL, load_limits, measure_pydantic
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


def erp_mix(count: int, seed: int = 7, customers: int | None = None) -> list[tuple[Topic, Event]]:
    """A month of ERP traffic: 60% invoices, 35% payments, 5% customers and credit notes.

    ``customers`` (by default one per 40 events: 25,000 in a million) sets how many
    customers the events are spread over, so how many distinct customers a batch names.
    """
    rng = random.Random(seed)
    customers = customers or max(10, count // 40)
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


Balances = dict[tuple[str, str, str], Decimal]


def expected_balances(mix: Sequence[tuple[Topic, Event]]) -> Balances:
    """What each (company, customer, currency) owes once every event is applied.

    Invoices' amounts less payments and credit notes: the mix neither cancels nor corrects,
    so however the topics interleave, the money each customer owes in a company and a
    currency is this sum (its open invoices less its credit balance).
    """
    owed: Balances = {}
    for _, event in mix:
        payload = getattr(event, "payload", None)
        if isinstance(event, erp.InvoiceIssued | erp.PaymentReceived | erp.CreditNoteIssued):
            assert payload is not None
            key = (payload.company_code, payload.customer_id, payload.amount.currency)
            sign = 1 if isinstance(event, erp.InvoiceIssued) else -1
            owed[key] = owed.get(key, Decimal(0)) + sign * payload.amount.amount
    return owed


async def ledger_balances(database_url: str, schema: str) -> Balances:
    """What the ledger says each (company, customer, currency) owes: open less credit."""
    connection = await asyncpg.connect(database_url, server_settings={"search_path": schema})
    try:
        rows = await connection.fetch(
            """
            SELECT company_code, customer_id, currency, sum(owed) AS owed FROM (
                SELECT company_code, customer_id, currency::text, open_amount AS owed
                  FROM invoices WHERE status = 'open'
                UNION ALL
                SELECT company_code, customer_id, currency::text, -balance
                  FROM credit_balances
            ) AS parts GROUP BY company_code, customer_id, currency
            """
        )
    finally:
        await connection.close()
    return {(r["company_code"], r["customer_id"], r["currency"]): r["owed"] for r in rows}


def reconcile(expected: Balances, ledger: Balances) -> list[str]:
    """Every (company, customer, currency) whose ledger balance differs, to the cent."""
    cent = Decimal("0.01")
    differences = []
    for key in sorted(expected.keys() | ledger.keys()):
        want = expected.get(key, Decimal(0)).quantize(cent)
        got = ledger.get(key, Decimal(0)).quantize(cent)
        if want != got:
            differences.append(f"{'/'.join(key)}: generator {want}, ledger {got}")
    return differences


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
    """The kit's processor, noting each batch's latency and dead letters, and where the
    replica's time went: in its batches (on the CPU or waiting) and between them."""

    latencies: list[float]
    dead_lettered: int
    # (wall, process CPU) at each batch's start and end; batches may overlap
    spans: list[tuple[float, float, float, float]]
    records: int  # ERP records this replica's batches took
    first_started_at: float  # time.time() when its first batch began
    last_ended_at: float  # time.time() when its last batch ended

    def __post_init__(self) -> None:
        super().__post_init__()
        self.latencies = []
        self.dead_lettered = 0
        self.spans = []
        self.records = 0
        self.first_started_at = 0.0
        self.last_ended_at = 0.0

    async def process(self, records: Sequence[IncomingRecord]) -> BatchOutcome:
        self.first_started_at = self.first_started_at or time.time()
        started = time.perf_counter()
        cpu_started = time.process_time()
        outcome = await super().process(records)
        ended = time.perf_counter()
        self.latencies.append(ended - started)
        self.spans.append((started, cpu_started, ended, time.process_time()))
        self.dead_lettered += outcome.dead_lettered
        self.records += len(records)
        self.last_ended_at = time.time()
        return outcome


def time_shares(spans: Sequence[tuple[float, float, float, float]]) -> dict[str, float]:
    """Seconds of a replica's consuming (first batch's start to last batch's end): with at
    least one batch under way (``in_batches``) and the process's CPU then (``in_batches_cpu``,
    the relay's and fetcher's included), and between batches (likewise)."""
    if not spans:
        return {}
    ordered = sorted(spans)
    first, last_end = ordered[0][0], max(s[2] for s in ordered)
    covered = 0.0
    covered_cpu = 0.0
    run_start, run_end = ordered[0][0], ordered[0][2]
    run_cpu = (ordered[0][1], ordered[0][3])
    for start, cpu_start, end, cpu_end in ordered[1:]:
        if start <= run_end:
            if end > run_end:
                run_end, run_cpu = end, (run_cpu[0], cpu_end)
            continue
        covered += run_end - run_start
        covered_cpu += run_cpu[1] - run_cpu[0]
        run_start, run_end, run_cpu = start, end, (cpu_start, cpu_end)
    covered += run_end - run_start
    covered_cpu += run_cpu[1] - run_cpu[0]
    total_cpu = max(s[3] for s in ordered) - ordered[0][1]
    return {
        "wall": last_end - first,
        "in_batches": covered,
        "in_batches_cpu": covered_cpu,
        "between": last_end - first - covered,
        "between_cpu": total_cpu - covered_cpu,
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def rss_mib() -> float:
    """This process's resident set size now (not its peak), in MiB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def process_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by process ``pid``; None if it is gone.

    Read from ``/proc`` (Linux). Children already reaped are not counted.
    """
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def listening_pids(port: int) -> list[int]:
    """The processes listening on TCP ``port`` here (the Kafka broker of the bootstrap address).

    Found through ``/proc/net/tcp*`` (the socket's inode) and each process's open files: a
    second broker or a Kafka command-line tool on the same host is not counted.
    """
    sockets = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as lines:
                next(lines)
                for line in lines:
                    fields = line.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        sockets.add(f"socket:[{fields[9]}]")
        except OSError:
            continue
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            descriptors = os.listdir(f"/proc/{entry}/fd")
            if any(os.readlink(f"/proc/{entry}/fd/{fd}") in sockets for fd in descriptors):
                pids.append(int(entry))
        except OSError:
            continue  # another user's process, or it ended meanwhile
    return pids


def postgres_host_cpu_s() -> float:
    """CPU seconds of every ``postgres`` process here, reaped children included.

    Host-wide: other clients count too. Printed only as an upper bound next to the
    attributed figure, never charged to the run.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    used = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                name, _, rest = stat.read().partition(" (")[2].rpartition(")")
        except OSError:
            continue
        if name == "postgres":
            used += sum(int(f) for f in rest.split()[11:15]) / ticks
    return used


BACKEND_LAST_LOOK_S = 1.2  # more than two of BackendCpu's intervals


class BackendCpu:
    """The CPU of the PostgreSQL backends serving the run, found by ``application_name``.

    Every replica's pool names its connections after the schema (the runtime kit's
    ``create_pool``), which is fresh for each run, so ``pg_stat_activity`` tells which
    backends are the run's. A thread looks every ``interval_s`` for new ones and notes each
    one's CPU: what a backend used before :meth:`start` is not counted, and a backend that
    ends loses at most its last ``interval_s`` (the pools keep their connections for the
    whole run).

    With a :class:`Windows` it also notes, every ``windows.seconds``, what the run and the
    server did since the last window (see :class:`Windows`).
    """

    def __init__(
        self,
        database_url: str,
        application_name: str,
        interval_s: float = 0.5,
        windows: Windows | None = None,
    ):
        self.database_url = database_url
        self.application_name = application_name
        self.interval_s = interval_s
        self.windows = windows
        self.baseline: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = threading.Event()
        self.error: Exception | None = None

    def start(self) -> None:
        self._thread.start()
        self._started.wait(10)

    def stop(self) -> float:
        """Stop looking; the CPU seconds the run's backends used since :meth:`start`."""
        self._stop.set()
        self._thread.join()
        if self.error is not None:
            # the backends' CPU stopped being looked at: a figure would be short, not small
            raise RuntimeError(
                f"the PostgreSQL backends' CPU was not watched to the end: {self.error!r}"
            ) from self.error
        return self.used()

    def used(self) -> float:
        return sum(self.last[pid] - self.baseline.get(pid, 0.0) for pid in list(self.last))

    def _run(self) -> None:
        try:
            asyncio.run(self._watch())
        except Exception as exc:
            # said now, and again by :meth:`stop`, which fails the run
            print(f"the backends' CPU watcher stopped: {exc!r}", file=sys.stderr, flush=True)
            self.error = exc
            self._started.set()

    async def _watch(self) -> None:
        connection = await asyncpg.connect(
            self.database_url, server_settings={"application_name": "bench-ingestion-watch"}
        )
        first = True
        next_window = 0.0
        try:
            if self.windows is not None:
                await self.windows.open()
            while True:
                pids = await connection.fetch(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
                    self.application_name,
                )
                for row in pids:
                    used = process_cpu_s(row["pid"])
                    if used is None:
                        continue
                    if first:
                        self.baseline[row["pid"]] = used
                    self.last[row["pid"]] = used
                # every known backend, also one whose connection just closed
                for pid in list(self.last):
                    used = process_cpu_s(pid)
                    if used is not None and used >= self.last[pid]:
                        self.last[pid] = used
                if first:
                    first = False
                    self._started.set()
                if self.windows is not None and (
                    self._stop.is_set() or time.monotonic() >= next_window
                ):
                    try:
                        await self.windows.note(connection, self)
                    except KafkaError as exc:
                        # the group's offsets unreadable for a moment (a coordinator
                        # moving, say): this window joins the next, the CPU is still looked at
                        print(f"  window skipped: {exc!r}", flush=True)
                    next_window = time.monotonic() + self.windows.seconds
                if self._stop.is_set():
                    break  # after one last look
                await asyncio.sleep(self.interval_s)
        finally:
            if self.windows is not None:
                await self.windows.close()
            await connection.close()


class TableVacuum:
    """``VACUUM table`` every ``seconds`` of the run, on a connection named after the schema
    (so :class:`BackendCpu` counts its CPU with the run's backends): how much of a long run's
    cost is a table's dead rows between two of autovacuum's visits (at most one a minute
    per database, ``autovacuum_naptime``). A measurement, not what the service does."""

    def __init__(self, database_url: str, schema: str, seconds: float, table: str) -> None:
        self.database_url = database_url
        self.schema = schema
        self.seconds = seconds
        self.table = table
        self.vacuums = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    async def _run(self) -> None:
        connection = await asyncpg.connect(
            self.database_url,
            server_settings={"search_path": self.schema, "application_name": self.schema},
        )
        try:
            while not self._stop.wait(self.seconds):
                await connection.execute(f"VACUUM {self.table}")
                self.vacuums += 1
        finally:
            await connection.close()


@dataclasses.dataclass
class Windows:
    """What the run and the server did in each window of ``seconds`` of the run.

    Each window's line gives the ERP events applied (the group's committed offsets), the CPU
    microseconds per event of the replicas, their backends and the Kafka broker (by pid, as
    the run's totals) and of every ``postgres`` process of the host (autovacuum,
    checkpoints and others' work included: an upper bound); what the
    whole server did (checkpoints begun, buffers written by checkpoints and by backends, WAL
    bytes and full-page images, all cluster-wide: other people's databases count too); the
    run's tables' blocks read from outside shared buffers and found in them per event; the
    outbox's live and dead rows and every autovacuum of the run's tables; and the load.
    With ``tables``, a second line gives each table's heap and index blocks hit per event.
    """

    schema: str
    group: str
    bootstrap: str
    replica_pids: list[int]
    kafka_pids: list[int]
    seconds: float = 10.0
    tables: bool = False
    rows: list[dict[str, float]] = dataclasses.field(default_factory=list)
    vacuums: list[str] = dataclasses.field(default_factory=list)
    _previous: dict[str, float] | None = None
    _admin: Any = None
    _started_at: float = 0.0
    _autovacuum_counts: dict[str, tuple[int, int]] = dataclasses.field(default_factory=dict)

    async def open(self) -> None:
        self._admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await self._admin.start()
        self._started_at = time.time()

    async def close(self) -> None:
        if self._admin is not None:
            await self._admin.close()

    async def _totals(self, connection: asyncpg.Connection, cpu: BackendCpu) -> dict[str, float]:
        committed = await self._admin.list_consumer_group_offsets(self.group)
        server = await connection.fetchrow(
            "SELECT b.checkpoints_timed + b.checkpoints_req AS checkpoints, "
            "b.buffers_checkpoint, b.buffers_backend, b.buffers_clean, "
            "w.wal_bytes, w.wal_fpi, w.wal_records FROM pg_stat_bgwriter b, pg_stat_wal w"
        )
        assert server is not None
        io = await connection.fetchrow(
            "SELECT coalesce(sum(heap_blks_read + coalesce(idx_blks_read, 0) "
            "+ coalesce(toast_blks_read, 0)), 0) AS read, "
            "coalesce(sum(heap_blks_hit + coalesce(idx_blks_hit, 0) "
            "+ coalesce(toast_blks_hit, 0)), 0) AS hit "
            "FROM pg_statio_all_tables WHERE schemaname = $1",
            self.schema,
        )
        assert io is not None
        tables = await connection.fetch(
            "SELECT relname, n_live_tup, n_dead_tup, n_tup_ins, n_tup_del, autovacuum_count, "
            "autoanalyze_count FROM pg_stat_all_tables WHERE schemaname = $1",
            self.schema,
        )
        by_table: dict[str, float] = {}
        if self.tables:
            for t in await connection.fetch(
                "SELECT relname, heap_blks_hit, coalesce(idx_blks_hit, 0) AS idx_blks_hit "
                "FROM pg_statio_all_tables WHERE schemaname = $1",
                self.schema,
            ):
                by_table[f"heap:{t['relname']}"] = float(t["heap_blks_hit"])
                by_table[f"index:{t['relname']}"] = float(t["idx_blks_hit"])
        at = time.time() - self._started_at
        for t in tables:
            counts = (t["autovacuum_count"], t["autoanalyze_count"])
            before = self._autovacuum_counts.get(t["relname"], (0, 0))
            if counts[0] > before[0]:
                self.vacuums.append(f"{at:6.1f} s: autovacuum of {t['relname']}")
            if counts[1] > before[1]:
                self.vacuums.append(f"{at:6.1f} s: autoanalyze of {t['relname']}")
            self._autovacuum_counts[t["relname"]] = counts
        outbox = next((t for t in tables if t["relname"] == "outbox"), None)
        return {
            "t": at,
            "events": float(sum(max(0, c.offset) for c in committed.values())),
            "replicas": sum(process_cpu_s(pid) or 0.0 for pid in self.replica_pids),
            "postgres": cpu.used(),
            "kafka": sum(process_cpu_s(pid) or 0.0 for pid in self.kafka_pids),
            "postgres_host": postgres_host_cpu_s(),
            "checkpoints": float(server["checkpoints"]),
            "buffers_checkpoint": float(server["buffers_checkpoint"]),
            "buffers_backend": float(server["buffers_backend"]),
            "wal_bytes": float(server["wal_bytes"]),
            "wal_fpi": float(server["wal_fpi"]),
            "blocks_read": float(io["read"]),
            "blocks_hit": float(io["hit"]),
            "outbox_live": float(outbox["n_live_tup"]) if outbox else 0.0,
            "outbox_dead": float(outbox["n_dead_tup"]) if outbox else 0.0,
            "outbox_written": float(outbox["n_tup_ins"]) if outbox else 0.0,
            "outbox_published": float(outbox["n_tup_del"]) if outbox else 0.0,
            "vacuums": float(sum(c[0] for c in self._autovacuum_counts.values())),
            **by_table,
        }

    async def note(self, connection: asyncpg.Connection, cpu: BackendCpu) -> None:
        now = await self._totals(connection, cpu)
        before, self._previous = self._previous, now
        if before is None:
            return
        events = now["events"] - before["events"]

        def per_event(name: str, scale: float = 1e6) -> float:
            return (now[name] - before[name]) / events * scale if events else float("nan")

        row = {
            "t": now["t"],
            "events_done": now["events"],
            "events_per_s": events / (now["t"] - before["t"]),
            "replicas": per_event("replicas"),
            "postgres": per_event("postgres"),
            "kafka": per_event("kafka"),
            "postgres_host": per_event("postgres_host"),
            "replicas_s": now["replicas"] - before["replicas"],
            "postgres_s": now["postgres"] - before["postgres"],
            "kafka_s": now["kafka"] - before["kafka"],
            "postgres_host_s": now["postgres_host"] - before["postgres_host"],
            "checkpoints": now["checkpoints"] - before["checkpoints"],
            "wal_bytes": per_event("wal_bytes", 1.0),
            "wal_fpi": per_event("wal_fpi", 1.0),
            "buffers_backend": now["buffers_backend"] - before["buffers_backend"],
            "blocks_read": per_event("blocks_read", 1.0),
            "blocks_hit": per_event("blocks_hit", 1.0),
            "outbox_live": now["outbox_live"],
            "outbox_dead": now["outbox_dead"],
            "seconds": now["t"] - before["t"],
            "outbox_written_delta": now["outbox_written"] - before["outbox_written"],
            "outbox_published_delta": now["outbox_published"] - before["outbox_published"],
            "outbox_written_per_s": (now["outbox_written"] - before["outbox_written"])
            / (now["t"] - before["t"]),
            "outbox_published_per_s": (now["outbox_published"] - before["outbox_published"])
            / (now["t"] - before["t"]),
            "vacuums": now["vacuums"] - before["vacuums"],
            "load": os.getloadavg()[0],
        }
        self.rows.append(row)
        if len(self.rows) == 1:
            print(WINDOW_HEADER, flush=True)
        print(window_line(row), flush=True)
        if self.tables and events:
            hits = {
                name.split(":", 1)[1]: (per_event(f"heap:{name.split(':', 1)[1]}", 1.0), per)
                for name in now
                if name.startswith("index:") and name in before
                for per in (per_event(name, 1.0),)
            }
            print(
                "  blocks hit per event, heap + index: "
                + ", ".join(
                    f"{table} {heap:.1f}+{index:.1f}"
                    for table, (heap, index) in sorted(hits.items(), key=lambda h: -sum(h[1]))
                    if heap + index >= 0.05
                ),
                flush=True,
            )


WINDOW_HEADER = (
    "window: end s, ERP events done, events/s | CPU µs/event: replicas, PostgreSQL "
    "backends, Kafka, every postgres process (host) | "
    "checkpoints begun, WAL bytes/event and full-page images/event (cluster), buffers "
    "written by backends | run's blocks read/event, hit/event | outbox live, dead rows, "
    "autovacuums | outbox rows written/s, published (deleted)/s by the relay | load 1 min"
)


def window_line(row: dict[str, float]) -> str:
    if row["events_per_s"]:
        cpu = (
            f"{row['replicas']:6.1f} {row['postgres']:5.1f} {row['kafka']:5.1f} "
            f"{row['postgres_host']:5.1f}"
        )
    else:  # no batch committed (the start, or the relay draining the outbox): CPU seconds
        cpu = (
            f"no batch, CPU s: {row['replicas_s']:.2f} {row['postgres_s']:.2f} "
            f"{row['kafka_s']:.2f} {row['postgres_host_s']:.2f}"
        )
    return (
        f"window {row['t']:6.1f} s {row['events_done']:9,.0f} {row['events_per_s']:7,.0f}/s | "
        f"{cpu} | "
        f"{row['checkpoints']:.0f} {row['wal_bytes']:6,.0f} {row['wal_fpi']:5.2f} "
        f"{row['buffers_backend']:6,.0f} | {row['blocks_read']:5.2f} {row['blocks_hit']:6.1f} | "
        f"{row['outbox_live']:7,.0f} {row['outbox_dead']:8,.0f} {row['vacuums']:.0f} | "
        f"{row['outbox_written_per_s']:6,.0f} {row['outbox_published_per_s']:6,.0f} | "
        f"{row['load']:.2f}"
    )


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
    profile: str | None = None  # write the replica's cProfile statistics to this path
    dedupe_by_offsets: bool = True  # as the service; False: an inbox row per event
    relay_batch: int = IngestionSettings().outbox_batch_size  # records the relay reads at once
    # as the service: a backlog read in the order produced (services.runtime.time_order)
    time_order: bool = IngestionSettings().time_order
    outbox_chunks: bool = True  # as the service: a batch's ledger events in outbox chunks


@dataclasses.dataclass
class ConsumerFigures:
    latencies: list[float]
    dead_lettered: int
    published: int
    rss_samples: list[tuple[float, float]]  # (seconds since start, RSS MiB)
    consumed_s: float  # seconds from start until every record's offset was committed
    cpu_s: float  # CPU seconds the replica used while consuming
    gc_s: float = 0.0  # of which in CPython's cyclic collector (gc.callbacks)
    gc_collections: int = 0
    shares: dict[str, float] = dataclasses.field(default_factory=dict)  # time_shares
    records: int = 0  # ERP records its batches took
    first_batch_s: float = 0.0  # seconds from start until its first batch began
    last_batch_s: float = 0.0  # seconds from start until its last batch ended


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
        time_order=setup.time_order,
    )
    handler = LedgerHandler(ledger_topic=ledger)
    processor = TimedBatchProcessor(
        "ingestion",
        topics,
        handler.handle,
        pool,
        SimulatedClock(START),
        dead_letter_max_ratio=1.0,
        partition_locks=True,  # as the service (services/ingestion/app.py)
        dedupe_by_offsets=setup.dedupe_by_offsets,
        outbox_chunks=setup.outbox_chunks,
        gc_paused=True,  # as the service
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
        batch_size=setup.relay_batch,
        poll_interval_s=0.05,
    )
    if setup.tune_gc:
        gc_tuning.tune(IngestionSettings().gc_gen0_threshold)  # as the service
    await asyncio.sleep(max(0.0, setup.start_at - time.time()))
    samples: list[tuple[float, float]] = []
    consumed_s = 0.0
    cpu_at_start = own_cpu_s()
    # the collector's own CPU, timed by its callbacks around each collection
    gc_started: list[float] = []
    gc_spent = [0.0, 0.0]  # seconds, collections

    def on_collection(phase: str, _: dict[str, int]) -> None:
        if phase == "start":
            gc_started.append(time.process_time())
        elif gc_started:
            gc_spent[0] += time.process_time() - gc_started.pop()
            gc_spent[1] += 1

    gc.callbacks.append(on_collection)
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
        # the parent's BackendCpu reads the backends' CPU every 0.5 s and cannot once they
        # have ended: give it a last look at this replica's before the pool closes them (a
        # run of a few thousand events is over between two of its looks)
        await asyncio.sleep(BACKEND_LAST_LOOK_S)
        await pool.close()
    return ConsumerFigures(
        processor.latencies,
        processor.dead_lettered,
        relay.published,
        samples,
        consumed_s,
        own_cpu_s() - cpu_at_start,
        gc_spent[0],
        int(gc_spent[1]),
        time_shares(processor.spans),
        processor.records,
        processor.first_started_at - setup.start_at,
        processor.last_ended_at - setup.start_at,
    )


def replica(setup: Setup) -> ConsumerFigures:
    if setup.profile is None:
        return asyncio.run(consume(setup))
    profiler = cProfile.Profile()
    try:
        return profiler.runcall(asyncio.run, consume(setup))
    finally:
        profiler.dump_stats(f"{setup.profile}.{os.getpid()}")


def run_topic_names(suffix: str) -> list[str]:
    """The topics of the run ``suffix``: its ERP topics, their dead-letter topics, its ledger."""
    topics = [dataclasses.replace(t, name=f"bench-{suffix}.{t.name}") for t in ERP_TOPICS]
    return (
        [t.name for t in topics]
        + [t.dead_letter for t in topics]
        + [f"bench-{suffix}.{LEDGER_EVENTS.name}"]
    )


async def delete_run_topics(bootstrap: str, suffix: str) -> None:
    """Delete the run's topics: a million-event run left about 2 GB of them in the broker
    (a week's retention), and a developer's benchmarks filled the disk."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(run_topic_names(suffix))
    finally:
        await admin.close()


async def prepare(
    count: int, bootstrap: str, database_url: str, customers: int | None = None
) -> tuple[str, str, Balances]:
    """Fresh topics holding ``count`` ERP events, a fresh ledger schema, the balances due."""
    suffix = uuid.uuid4().hex[:8]
    topics = [dataclasses.replace(t, name=f"bench-{suffix}.{t.name}") for t in ERP_TOPICS]
    renamed = {t.name.split(".", 1)[1]: t for t in topics}
    print(f"topics: bench-{suffix}.* (deleted at the end)", flush=True)
    print(f"generating {count} ERP events...", flush=True)
    mix = erp_mix(count, customers=customers)
    records = [
        (renamed[topic.name].name, topic.key(event), topic.value(event)) for topic, event in mix
    ]
    expected = expected_balances(mix)
    del mix
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = run_topic_names(suffix)
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
    return suffix, schema, expected


async def print_tables(database_url: str, schema: str) -> None:
    """The run's tables at the end: sizes, rows written, dead rows, vacuums."""
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT s.relname, pg_relation_size(s.relid) AS heap, "
            "pg_indexes_size(s.relid) AS indexes, pg_total_relation_size(s.relid) AS total, "
            "s.n_live_tup, s.n_dead_tup, s.n_tup_ins, s.n_tup_upd, s.n_tup_hot_upd, "
            "s.n_tup_del, s.autovacuum_count, s.autoanalyze_count, s.last_autovacuum, "
            "io.heap_blks_hit + coalesce(io.idx_blks_hit, 0) AS hit, "
            "io.heap_blks_read + coalesce(io.idx_blks_read, 0) AS read "
            "FROM pg_stat_all_tables s JOIN pg_statio_all_tables io USING (relid) "
            "WHERE s.schemaname = $1 ORDER BY total DESC",
            schema,
        )
    finally:
        await connection.close()
    print(
        "table: heap MiB, indexes MiB, total MiB | live, dead rows | inserted, updated "
        "(HOT), deleted | autovacuums, autoanalyzes, last autovacuum | blocks hit, read "
        "(heap and indexes)"
    )
    mib = 2**20
    for r in rows:
        if not (r["n_tup_ins"] or r["n_live_tup"]):
            continue
        last = r["last_autovacuum"]
        print(
            f"  {r['relname']:>20}: {r['heap'] / mib:7.1f} {r['indexes'] / mib:7.1f} "
            f"{r['total'] / mib:7.1f} | {r['n_live_tup']:9,} {r['n_dead_tup']:9,} | "
            f"{r['n_tup_ins']:9,} {r['n_tup_upd']:9,} ({r['n_tup_hot_upd']:,}) "
            f"{r['n_tup_del']:9,} | {r['autovacuum_count']} {r['autoanalyze_count']} "
            f"{last.strftime('%H:%M:%S') if last else '-'} | {r['hit']:,} {r['read']:,}"
        )


async def leftovers(database_url: str, schema: str) -> int:
    """Documents still parked at the end; drops the schema."""
    connection = await asyncpg.connect(database_url, server_settings={"search_path": schema})
    try:
        parked: int = await connection.fetchval("SELECT count(*) FROM parked_documents")
        await connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
        return parked
    finally:
        await connection.close()


def loadavg() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def run(
    count: int,
    batch: int,
    consumers: int,
    bootstrap: str,
    database_url: str,
    tune_gc: bool,
    profile: str | None = None,
    dedupe_by_offsets: bool = True,
    window_s: float = 10.0,
    relay_batch: int = IngestionSettings().outbox_batch_size,
    vacuum_outbox_s: float = 0.0,
    vacuum_invoices_s: float = 0.0,
    customers: int | None = None,
    time_order: bool = IngestionSettings().time_order,
    window_tables: bool = False,
    outbox_chunks: bool = True,
) -> tuple[dict[str, float], list[str]]:
    """The figures of one run, and the balances where the ledger and the generator differ;
    the run's topics are deleted at the end (its schema too, by :func:`leftovers`)."""
    suffix, schema, expected = asyncio.run(prepare(count, bootstrap, database_url, customers))
    try:
        # the ceiling of this moment: the same host, a few seconds before consuming
        pydantic_now = measure_pydantic(50_000)[0].value
        load_before = os.getloadavg()
        print(f"load average before: {loadavg()}", flush=True)
        print(f"consuming with {consumers} replica(s)...", flush=True)
        start_at = time.time() + 5.0  # every replica has started and connected by then
        setups = [
            Setup(
                bootstrap,
                database_url,
                schema,
                suffix,
                count,
                batch,
                start_at,
                tune_gc,
                profile,
                dedupe_by_offsets,
                relay_batch,
                time_order,
                outbox_chunks,
            )
            for _ in range(consumers)
        ]
        brokers = listening_pids(int(bootstrap.split(",")[0].rsplit(":", 1)[1]))
        if not brokers:
            print("the Kafka broker's process was not found: its CPU is not counted", flush=True)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(consumers, mp_context=context) as executor:
            pending = executor.map(replica, setups)
            time.sleep(max(0.0, start_at - time.time()))
            windows = None
            if window_s:
                windows = Windows(
                    schema,
                    f"bench-{suffix}",
                    bootstrap,
                    list(executor._processes),  # the replicas' pids
                    brokers,
                    window_s,
                    tables=window_tables,
                )
            backends = BackendCpu(database_url, schema, windows=windows)
            backends.start()
            vacuums = [
                TableVacuum(database_url, schema, seconds, table)
                for table, seconds in (("outbox", vacuum_outbox_s), ("invoices", vacuum_invoices_s))
                if seconds
            ]
            for vacuum in vacuums:
                vacuum.start()
            kafka_before = [process_cpu_s(pid) or 0.0 for pid in brokers]
            postgres_host_before = postgres_host_cpu_s()
            runs = list(pending)
            kafka_after = [process_cpu_s(pid) or 0.0 for pid in brokers]
            postgres_host_after = postgres_host_cpu_s()
            for vacuum in vacuums:
                vacuum.stop()
            postgres_cpu = backends.stop()
        load_after = os.getloadavg()
        print(f"load average after: {loadavg()}", flush=True)
        elapsed = max(r.rss_samples[-1][0] for r in runs)
        latencies = [s for r in runs for s in r.latencies]
        differences = reconcile(expected, asyncio.run(ledger_balances(database_url, schema)))
        if windows is not None:
            for line in windows.vacuums:
                print(line)
            asyncio.run(print_tables(database_url, schema))
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
            "balances_checked": float(len(expected)),
            "balances_differing": float(len(differences)),
            "load_1min_before": load_before[0],
            "load_1min_after": load_after[0],
            "pydantic_validate_now": pydantic_now,
            "dedupe_by_offsets": float(dedupe_by_offsets),
            "relay_batch": float(relay_batch),
            "time_order": float(time_order),
            "outbox_chunks": float(outbox_chunks),
            **{f"{v.table}_vacuums_by_the_bench": float(v.vacuums) for v in vacuums},
        }
        figures["drain_s"] = elapsed - figures["all_consumed_s"]  # the relay alone at the end
        if windows is not None:
            # The relay's rate while the replicas consume (the windows that ended before every
            # event was applied), against the rate at which the batches wrote ledger events
            # into the outbox.
            busy = [
                row for row in windows.rows if row["events_per_s"] and row["events_done"] < count
            ]
            seconds = sum(row["seconds"] for row in busy)
            if seconds:
                figures["outbox_written_per_s_consuming"] = (
                    sum(row["outbox_written_delta"] for row in busy) / seconds
                )
                figures["relay_published_per_s_consuming"] = (
                    sum(row["outbox_published_delta"] for row in busy) / seconds
                )
            figures["outbox_live_max"] = max(
                (row["outbox_live"] for row in windows.rows), default=0
            )
        # Where the CPU went, per event: the machine's ceiling is its cores over their sum.
        replicas_cpu = sum(r.cpu_s for r in runs)
        figures["cpu_us_per_event_replicas"] = replicas_cpu / count * 1e6
        # of the replicas' CPU, in CPython's cyclic collector (timed by gc.callbacks)
        figures["gc_us_per_event_replicas"] = sum(r.gc_s for r in runs) / count * 1e6
        figures["gc_collections_replicas"] = float(sum(r.gc_collections for r in runs))
        figures["cpu_us_per_event_postgres"] = postgres_cpu / count * 1e6
        figures["cpu_us_per_event_kafka"] = (sum(kafka_after) - sum(kafka_before)) / count * 1e6
        total_us = sum(v for k, v in figures.items() if k.startswith("cpu_us_per_event_"))
        figures["cpu_us_per_event_all"] = total_us
        figures["cpu_bound_events_per_s"] = (os.cpu_count() or 1) * 1e6 / total_us
        # not charged: every postgres process of the host, background writers and others' too
        figures["cpu_us_per_event_postgres_host_wide"] = (
            (postgres_host_after - postgres_host_before) / count * 1e6
        )
        # Where each replica's time went while consuming, as shares of its wall time: in a
        # batch on the CPU, in a batch waiting (PostgreSQL, or the CPU taken by others), between
        # batches (Kafka: the commit, the next fetch) on the CPU or waiting.
        for n, r in enumerate(runs):
            shares = r.shares
            if shares.get("wall"):
                wall = shares["wall"]
                figures[f"replica{n}_in_batch_cpu_share"] = shares["in_batches_cpu"] / wall
                figures[f"replica{n}_in_batch_waiting_share"] = (
                    shares["in_batches"] - shares["in_batches_cpu"]
                ) / wall
                figures[f"replica{n}_between_batches_cpu_share"] = shares["between_cpu"] / wall
                figures[f"replica{n}_between_batches_waiting_share"] = (
                    shares["between"] - shares["between_cpu"]
                ) / wall
        # What each replica did and when it was done: the ERP records its batches took, the
        # ledger events its relay published (the active one's work), the end of its last
        # batch. A replica left consuming alone at the end runs on one core.
        for n, r in enumerate(runs):
            figures[f"replica{n}_records"] = float(r.records)
            figures[f"replica{n}_published"] = float(r.published)
            figures[f"replica{n}_first_batch_s"] = r.first_batch_s
            figures[f"replica{n}_last_batch_s"] = r.last_batch_s
        ends = [r.last_batch_s for r in runs]
        figures["replicas_last_batch_spread_s"] = max(ends) - min(ends)
        # how much of the machine's cores the run's processes kept busy: events/s against
        # the rate at which their CPU per event would saturate every core
        figures["cores_busy_share"] = figures["events_per_s"] / figures["cpu_bound_events_per_s"]
        # Memory of each replica over the run: at 10%, 50% and the end, and its peak.
        for n, r in enumerate(runs):
            samples = r.rss_samples
            for share in (0.1, 0.5, 1.0):
                at = samples[min(len(samples) - 1, int(share * (len(samples) - 1)))]
                figures[f"replica{n}_rss_{int(share * 100)}%_mib"] = at[1]
            figures[f"replica{n}_peak_rss_mib"] = max(m for _, m in samples)
        return figures, differences
    finally:
        asyncio.run(delete_run_topics(bootstrap, suffix))


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
    parser.add_argument(
        "--profile",
        metavar="PATH",
        help="run each replica under cProfile and write its statistics to PATH.<pid> "
        "(the profiler's own cost inflates the replicas' CPU: not for figures)",
    )
    parser.add_argument(
        "--inbox",
        action="store_true",
        help="dedupe by an inbox row per event, as before the offsets kept with the ledger",
    )
    parser.add_argument(
        "--window-s",
        type=float,
        default=10.0,
        help="print what the run and the server did every this many seconds (0: never)",
    )
    parser.add_argument(
        "--relay-batch",
        type=int,
        default=IngestionSettings().outbox_batch_size,
        help="ledger events the relay reads, publishes and deletes at once "
        "(the service's RELANCE_INGESTION_OUTBOX_BATCH_SIZE)",
    )
    parser.add_argument(
        "--vacuum-outbox-s",
        type=float,
        default=0.0,
        help="VACUUM the outbox every this many seconds of the run, its CPU counted with the "
        "run's backends (0: autovacuum alone, as a service)",
    )
    parser.add_argument(
        "--vacuum-invoices-s",
        type=float,
        default=0.0,
        help="VACUUM the invoices every this many seconds of the run, as --vacuum-outbox-s",
    )
    parser.add_argument(
        "--customers",
        type=int,
        default=None,
        help="customers the events are spread over (default: one per 40 events)",
    )
    parser.add_argument(
        "--window-tables",
        action="store_true",
        help="print each window's blocks hit per event table by table, heap and indexes",
    )
    parser.add_argument(
        "--no-time-order",
        action="store_true",
        help="each partition as aiokafka fetches it, not in the order produced "
        "(the service's RELANCE_INGESTION_TIME_ORDER=false)",
    )
    parser.add_argument(
        "--no-outbox-chunks",
        action="store_true",
        help="an outbox row per ledger event, not a dozen to a row as the service writes them",
    )
    args = parser.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_BOOTSTRAP)
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    figures, differences = run(
        args.events,
        args.batch,
        args.consumers,
        bootstrap,
        database_url,
        not args.default_gc,
        args.profile,
        not args.inbox,
        args.window_s,
        args.relay_batch,
        args.vacuum_outbox_s,
        args.vacuum_invoices_s,
        args.customers,
        not args.no_time_order,
        args.window_tables,
        not args.no_outbox_chunks,
    )
    for name, value in figures.items():
        print(f"{name:>36}: {value:,.3f}")
    limits = load_limits() or {}
    for metric in ("kafka_consume", "kafka_produce", "postgres_copy", "pydantic_validate"):
        if metric in limits:
            ratio = figures["events_per_s"] / limits[metric]
            print(f"{'ratio to ' + metric:>30}: {ratio:.3f}  ({limits[metric]:,.0f}/s)")
    now = figures["pydantic_validate_now"]
    stored = limits.get("pydantic_validate")
    print(
        f"pydantic_validate in this run: {now:,.0f}/s"
        + (f" ({now / stored:.2f} of the stored figure)" if stored else "")
        + f"; ratio of events/s to it: {figures['events_per_s'] / now:.3f}"
    )
    print(f"target 20,000 events/s: {figures['events_per_s'] / 20_000:.2f} of it")
    print(f"target 100 µs of CPU per event: {figures['cpu_us_per_event_all']:.0f} µs")
    failures = list(differences)
    if figures["dead_lettered"]:
        failures.append(f"{figures['dead_lettered']:.0f} events dead-lettered")
    if figures["parked_left"]:
        failures.append(f"{figures['parked_left']:.0f} documents left parked")
    if failures:
        print(f"LEDGER DOES NOT RECONCILE WITH THE GENERATOR ({len(failures)}):", file=sys.stderr)
        for line in failures[:50]:
            print(f"  {line}", file=sys.stderr)
        sys.exit(1)
    checked = int(figures["balances_checked"])
    print(f"ledger reconciled with the generator to the cent: {checked} balances")


if __name__ == "__main__":
    main()
