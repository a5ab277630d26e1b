"""Reference ceilings of this machine, for later benchmarks to report ratios against.

Run with ``python -m bench.limits`` (``--quick`` for a 10x smaller smoke run, ``--only
kafka|postgres|pydantic`` for one family). It measures:

* ``kafka_produce``: raw aiokafka produce rate of ~420-byte records (acks=all, idempotent,
  linger 5 ms) into a fresh 6-partition topic, awaiting the send futures in chunks;
* ``kafka_consume``: raw aiokafka consume rate reading them back with ``getmany`` under a
  fresh consumer group, timed from partition assignment to the last record;
* ``postgres_copy``: asyncpg ``copy_records_to_table`` rows/s of invoice-like rows into a
  plain (logged, index-free) table in a fresh schema that is dropped afterwards;
* ``pydantic_validate``: ``contracts.topics.ERP_INVOICES.parse`` events/s on ~420-byte
  JSON ``InvoiceIssued`` events, on one core.

Figures are printed as a table and written as JSON to ``.cache/bench/limits.json`` (a
``--quick`` run writes ``limits-quick.json`` instead, so that a smoke test never replaces
the reference figures). :func:`load_limits` reads them back as ``{metric: value}``.
No timing is asserted anywhere: these are measurements, not tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from contracts.erp import InvoiceIssued, InvoicePayload
from contracts.money import PositiveMoney
from contracts.topics import ERP_INVOICES

DEFAULT_BOOTSTRAP: Final = "127.0.0.1:9092"
DEFAULT_DATABASE_URL: Final = "postgresql://relance:relance@127.0.0.1:5433/relance"
ROOT: Final = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT: Final = ROOT / ".cache" / "bench" / "limits.json"
QUICK_OUTPUT: Final = ROOT / ".cache" / "bench" / "limits-quick.json"
FORMAT_VERSION: Final = 1

PAYLOAD_BYTES: Final = 420  # ~400: the leanest realistic InvoiceIssued JSON is ~410
KAFKA_MESSAGES: Final = 200_000
COPY_ROWS: Final = 500_000
PYDANTIC_EVENTS: Final = 200_000
QUICK_FACTOR: Final = 10
KAFKA_PARTITIONS: Final = 6
KAFKA_LINGER_MS: Final = 5
KAFKA_MAX_BATCH_BYTES: Final = 16_384  # aiokafka's default max_batch_size
SEND_CHUNK: Final = 10_000
PAYLOAD_POOL: Final = 1_000
CUSTOMERS: Final = 1_000
FAMILIES: Final = ("kafka", "postgres", "pydantic")

# The metric names later benchmarks look up in ``load_limits()``.
KAFKA_PRODUCE: Final = "kafka_produce"
KAFKA_CONSUME: Final = "kafka_consume"
POSTGRES_COPY: Final = "postgres_copy"
PYDANTIC_VALIDATE: Final = "pydantic_validate"

_EPOCH: Final = datetime(2025, 1, 6, 8, 30, tzinfo=UTC)
_ISSUE_DAY: Final = date(2025, 1, 6)


# ---------------------------------------------------------------------------------------
# Pure pieces: payloads, rates, results and their JSON file.
# ---------------------------------------------------------------------------------------


def customer_id(index: int) -> str:
    return f"C{index % CUSTOMERS:05d}"


def invoice_event(index: int, reference_length: int = 0) -> InvoiceIssued:
    """A realistic, valid ``erp.invoice.issued`` event.

    Its purchase-order reference is padded with ``-`` to ``reference_length`` characters
    (at most 100, the contract's limit), which lets :func:`invoice_payload` size the JSON.
    """
    reference = f"PO-{index % 50_000:06d}"
    reference = reference.ljust(min(max(reference_length, len(reference)), 100), "-")
    issue = _ISSUE_DAY + timedelta(days=index % 365)
    return InvoiceIssued(
        event_id=uuid.UUID(int=index + 1, version=4),
        occurred_at=_EPOCH + timedelta(seconds=index),
        source="erp-sap",
        payload=InvoicePayload(
            company_code="FR01",
            customer_id=customer_id(index),
            invoice_number=f"FA25-{index:07d}",
            version=1,
            issue_date=issue,
            due_date=issue + timedelta(days=30),
            amount=PositiveMoney(
                amount=Decimal(1000 + index % 997) + Decimal("0.45"), currency="EUR"
            ),
            purchase_order=reference,
            extra={},
        ),
    )


def invoice_payload(index: int, size: int = PAYLOAD_BYTES) -> bytes:
    """The JSON of :func:`invoice_event`, padded to ``size`` bytes when it fits."""
    bare = event_json(invoice_event(index))
    missing = size - len(bare)
    if missing <= 0:
        return bare
    reference = invoice_event(index).payload.purchase_order or ""
    return event_json(invoice_event(index, len(reference) + missing))


def event_json(event: InvoiceIssued) -> bytes:
    """The JSON the benchmark's ERP sends for ``event``."""
    # without the optional copy reference (schema version 2) and public bodies' platform
    # references (version 3) and contract interest rate (version 4), which the benchmark's
    # ERP does not send: its payloads stay the size they were measured at
    return event.model_dump_json(
        exclude={"payload": {"document", "service_code", "commitment_number", "late_interest_rate"}}
    ).encode()


def payload_pool(count: int = PAYLOAD_POOL, size: int = PAYLOAD_BYTES) -> list[bytes]:
    """Distinct payloads to cycle through, so that measurements do not build models."""
    return [invoice_payload(index, size) for index in range(count)]


def copy_rows(count: int) -> list[tuple[str, str, date, Decimal, str, datetime]]:
    """Invoice-like rows for the COPY measurement (shared date/amount objects, unique ids)."""
    days = [_ISSUE_DAY + timedelta(days=d) for d in range(365)]
    amounts = [Decimal(1000 + a) + Decimal("0.4500") for a in range(997)]
    customers = [customer_id(c) for c in range(CUSTOMERS)]
    stamps = [_EPOCH + timedelta(seconds=s) for s in range(3_600)]
    return [
        (
            f"FA25-{index:07d}",
            customers[index % CUSTOMERS],
            days[index % 365],
            amounts[index % 997],
            "EUR",
            stamps[index % 3_600],
        )
        for index in range(count)
    ]


def rate(count: int, elapsed: float) -> float:
    """Items per second; 0.0 when nothing was measured."""
    if count <= 0 or elapsed <= 0:
        return 0.0
    return count / elapsed


@dataclass(frozen=True)
class Figure:
    """One measured ceiling."""

    metric: str
    value: float
    unit: str
    elapsed_s: float
    count: int
    notes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, metric: str, unit: str, count: int, elapsed: float, **notes: Any) -> Figure:
        return cls(metric, rate(count, elapsed), unit, elapsed, count, dict(notes))


@dataclass(frozen=True)
class Sizes:
    kafka_messages: int = KAFKA_MESSAGES
    copy_rows: int = COPY_ROWS
    pydantic_events: int = PYDANTIC_EVENTS

    def scaled(self, factor: int) -> Sizes:
        return Sizes(
            max(1, self.kafka_messages // factor),
            max(1, self.copy_rows // factor),
            max(1, self.pydantic_events // factor),
        )


def host_info() -> dict[str, Any]:
    return {
        "node": platform.node(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def limits_document(
    figures: Iterable[Figure],
    *,
    quick: bool,
    previous: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The JSON document; figures of ``previous`` not re-measured are kept."""
    stamp = (now or datetime.now(UTC)).isoformat()
    kept: dict[str, Any] = {}
    if previous is not None and isinstance(previous.get("figures"), dict):
        kept.update(previous["figures"])
    for figure in figures:
        entry = asdict(figure)
        del entry["metric"]
        entry["measured_at"] = stamp
        kept[figure.metric] = entry
    return {
        "format": FORMAT_VERSION,
        "quick": quick,
        "updated_at": stamp,
        "host": host_info(),
        "figures": dict(sorted(kept.items())),
    }


def read_document(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("format") != FORMAT_VERSION:
        return None
    return document


def write_limits(figures: Sequence[Figure], path: Path, *, quick: bool) -> dict[str, Any]:
    """Merge ``figures`` into the JSON file at ``path`` (created if needed)."""
    document = limits_document(figures, quick=quick, previous=read_document(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return document


def load_limits(path: Path | None = None) -> dict[str, float] | None:
    """The measured ceilings as ``{metric: value}``, or None when never measured.

    Metrics: ``kafka_produce`` and ``kafka_consume`` (msg/s), ``postgres_copy`` (rows/s),
    ``pydantic_validate`` (events/s). A later benchmark reports ``its_rate / limits[m]``.
    """
    document = read_document(path or DEFAULT_OUTPUT)
    if document is None:
        return None
    figures = document.get("figures")
    if not isinstance(figures, dict):
        return None
    limits: dict[str, float] = {}
    for metric, entry in figures.items():
        if isinstance(entry, dict) and isinstance(entry.get("value"), int | float):
            limits[str(metric)] = float(entry["value"])
    return limits or None


def render_table(figures: Sequence[Figure]) -> str:
    header = ("metric", "value", "unit", "elapsed", "count")
    rows = [
        (f.metric, f"{f.value:,.0f}", f.unit, f"{f.elapsed_s:.2f} s", f"{f.count:,}")
        for f in figures
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    right = {1, 3, 4}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


# ---------------------------------------------------------------------------------------
# Measurements.
# ---------------------------------------------------------------------------------------


def loadavg() -> str:
    """The host's load averages (1, 5, 15 minutes), as every benchmark prints them."""
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def print_host(when: str) -> None:
    """The host's figures a benchmark prints ``"before"`` and ``"after"`` its runs: the load
    average and a ``pydantic_validate`` rate of the moment, so that a noisy host shows in the
    output (the rate is measured after the load is read before, and before it is read after)."""
    if when == "before":
        print(f"load average before: {loadavg()}")
    print(f"pydantic_validate now: {measure_pydantic(50_000)[0].value:,.0f}/s", flush=True)
    if when != "before":
        print(f"load average after: {loadavg()}")


def log(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


async def _create_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name=topic, num_partitions=KAFKA_PARTITIONS, replication_factor=1)]
        )
    finally:
        await admin.close()


async def _delete_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([topic])
    finally:
        await admin.close()


async def _produce(
    bootstrap: str, topic: str, count: int, pool: Sequence[bytes], max_batch_bytes: int
) -> Figure:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=KAFKA_LINGER_MS,
        max_batch_size=max_batch_bytes,
    )
    keys = [customer_id(i).encode() for i in range(CUSTOMERS)]
    await producer.start()
    try:
        # Warm up, one record per partition: metadata and leaders of the fresh topic, and
        # the idempotent producer id, are settled before the clock starts.
        await asyncio.gather(
            *[
                await producer.send(topic, b"warm-up", key=b"warm-up", partition=partition)
                for partition in range(KAFKA_PARTITIONS)
            ]
        )
        started = time.perf_counter()
        pending: list[asyncio.Future[Any]] = []
        for index in range(count):
            future = await producer.send(
                topic, pool[index % len(pool)], key=keys[index % CUSTOMERS]
            )
            pending.append(future)
            if len(pending) >= SEND_CHUNK:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        elapsed = time.perf_counter() - started
    finally:
        await producer.stop()
    return Figure.of(
        KAFKA_PRODUCE,
        "msg/s",
        count,
        elapsed,
        payload_bytes=len(pool[0]),
        acks="all",
        enable_idempotence=True,
        linger_ms=KAFKA_LINGER_MS,
        max_batch_size=max_batch_bytes,
        partitions=KAFKA_PARTITIONS,
        await_chunk=SEND_CHUNK,
        mib_per_s=rate(count * len(pool[0]), elapsed) / 2**20,
    )


async def _consume(bootstrap: str, topic: str, count: int) -> Figure:
    # ``count`` plus the warm-up records of ``_produce``.
    expected = count + KAFKA_PARTITIONS
    assigned = asyncio.Event()

    class Listener(ConsumerRebalanceListener):  # type: ignore[misc]
        async def on_partitions_revoked(self, revoked: object) -> None:
            return None

        async def on_partitions_assigned(self, assigned_partitions: object) -> None:
            assigned.set()

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=f"bench-limits-{uuid.uuid4().hex[:12]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    joined = time.perf_counter()
    consumer.subscribe([topic], listener=Listener())
    await consumer.start()
    try:
        await assigned.wait()
        started = time.perf_counter()
        join_s = started - joined
        seen = 0
        value_bytes = 0
        while seen < expected:
            batches = await consumer.getmany(timeout_ms=1_000)
            for records in batches.values():
                seen += len(records)
                for record in records:
                    value_bytes += len(record.value)
        elapsed = time.perf_counter() - started
    finally:
        await consumer.stop()
    return Figure.of(
        KAFKA_CONSUME,
        "msg/s",
        seen,
        elapsed,
        group_join_s=round(join_s, 3),
        mib_per_s=rate(value_bytes, elapsed) / 2**20,
        timed_from="partition assignment",
    )


async def measure_kafka(
    bootstrap: str, count: int, max_batch_bytes: int = KAFKA_MAX_BATCH_BYTES
) -> list[Figure]:
    topic = f"bench.limits.{datetime.now(UTC):%Y%m%d%H%M%S}.{uuid.uuid4().hex[:8]}"
    pool = payload_pool()
    log(f"kafka: topic {topic}, {count:,} records of {len(pool[0])} bytes")
    await _create_topic(bootstrap, topic)
    try:
        produced = await _produce(bootstrap, topic, count, pool, max_batch_bytes)
        log(f"kafka: produced {produced.value:,.0f} msg/s")
        consumed = await _consume(bootstrap, topic, count)
        log(f"kafka: consumed {consumed.value:,.0f} msg/s")
    finally:
        await _delete_topic(bootstrap, topic)
    return [produced, consumed]


COPY_TABLE_DDL: Final = """
CREATE TABLE {schema}.invoices (
    id          text          NOT NULL,
    customer    text          NOT NULL,
    issue_date  date          NOT NULL,
    amount      numeric(18,4) NOT NULL,
    currency    char(3)       NOT NULL,
    recorded_at timestamptz   NOT NULL
)
"""


async def measure_postgres(database_url: str, count: int) -> list[Figure]:
    schema = f"bench_limits_{uuid.uuid4().hex[:12]}"
    rows = copy_rows(count)
    log(f"postgres: COPY {count:,} rows into {schema}.invoices (plain logged table)")
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(f"CREATE SCHEMA {schema}")
        try:
            await connection.execute(COPY_TABLE_DDL.format(schema=schema))
            started = time.perf_counter()
            await connection.copy_records_to_table(
                "invoices",
                records=rows,
                columns=["id", "customer", "issue_date", "amount", "currency", "recorded_at"],
                schema_name=schema,
            )
            elapsed = time.perf_counter() - started
            copied = await connection.fetchval(f"SELECT count(*) FROM {schema}.invoices")
            size = await connection.fetchval(f"SELECT pg_total_relation_size('{schema}.invoices')")
            server = await connection.fetchval("SHOW server_version")
        finally:
            await connection.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        await connection.close()
    return [
        Figure.of(
            POSTGRES_COPY,
            "rows/s",
            int(copied),
            elapsed,
            table="plain logged table, no index, in a fresh schema dropped afterwards",
            table_mib=round(int(size) / 2**20, 1),
            server_version=str(server),
        )
    ]


def measure_pydantic(count: int) -> list[Figure]:
    pool = payload_pool()
    log(f"pydantic: validating {count:,} events of {len(pool[0])} bytes")
    parse = ERP_INVOICES.parse
    for payload in pool:  # warm up: builds the TypeAdapter, checks every payload is valid
        parse(payload)
    size = len(pool)
    started = time.perf_counter()
    for index in range(count):
        parse(pool[index % size])
    elapsed = time.perf_counter() - started
    return [
        Figure.of(
            PYDANTIC_VALIDATE,
            "events/s",
            count,
            elapsed,
            payload_bytes=len(pool[0]),
            model="contracts.erp.InvoiceIssued via contracts.topics.ERP_INVOICES.parse",
            cores=1,
        )
    ]


# ---------------------------------------------------------------------------------------
# Command line.
# ---------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.limits",
        description="Measure the raw ceilings later benchmarks compare themselves with.",
    )
    parser.add_argument("--quick", action="store_true", help="10x smaller sizes (smoke test)")
    parser.add_argument("--only", choices=FAMILIES, help="measure one family only")
    parser.add_argument("--messages", type=int, help=f"Kafka records (default {KAFKA_MESSAGES:,})")
    parser.add_argument("--rows", type=int, help=f"COPY rows (default {COPY_ROWS:,})")
    parser.add_argument(
        "--events", type=int, help=f"pydantic validations (default {PYDANTIC_EVENTS:,})"
    )
    parser.add_argument(
        "--kafka-batch-bytes",
        type=int,
        default=KAFKA_MAX_BATCH_BYTES,
        help=f"producer max_batch_size (default {KAFKA_MAX_BATCH_BYTES}, aiokafka's default)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measure N rounds and keep each metric's best rate (default 1)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help=f"JSON file (default {DEFAULT_OUTPUT.relative_to(ROOT)}, "
        f"or {QUICK_OUTPUT.relative_to(ROOT)} with --quick)",
    )
    args = parser.parse_args(argv)
    for name in ("messages", "rows", "events", "kafka_batch_bytes", "repeat"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    return args


def sizes_from(args: argparse.Namespace) -> Sizes:
    sizes = Sizes().scaled(QUICK_FACTOR) if args.quick else Sizes()
    return Sizes(
        args.messages or sizes.kafka_messages,
        args.rows or sizes.copy_rows,
        args.events or sizes.pydantic_events,
    )


def best_of(rounds: Iterable[Sequence[Figure]]) -> list[Figure]:
    """Per metric, the figure with the highest rate, in first-seen metric order; each
    figure's notes record every round's rate, so that the spread stays visible."""
    best: dict[str, Figure] = {}
    seen: dict[str, list[float]] = {}
    for figures in rounds:
        for figure in figures:
            seen.setdefault(figure.metric, []).append(round(figure.value, 1))
            if figure.metric not in best or figure.value > best[figure.metric].value:
                best[figure.metric] = figure
    if all(len(values) == 1 for values in seen.values()):
        return list(best.values())
    return [
        replace(figure, notes={**figure.notes, "rounds": seen[metric]})
        for metric, figure in best.items()
    ]


async def run(args: argparse.Namespace) -> list[Figure]:
    rounds: list[list[Figure]] = []
    for round_number in range(args.repeat):
        if args.repeat > 1:
            log(f"round {round_number + 1} of {args.repeat}")
        rounds.append(await run_once(args))
    return best_of(rounds)


async def run_once(args: argparse.Namespace) -> list[Figure]:
    sizes = sizes_from(args)
    families = (args.only,) if args.only else FAMILIES
    figures: list[Figure] = []
    if "kafka" in families:
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or DEFAULT_BOOTSTRAP
        figures += await measure_kafka(bootstrap, sizes.kafka_messages, args.kafka_batch_bytes)
    if "postgres" in families:
        database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
        figures += await measure_postgres(database_url, sizes.copy_rows)
    if "pydantic" in families:
        figures += measure_pydantic(sizes.pydantic_events)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    output: Path = args.output or (QUICK_OUTPUT if args.quick else DEFAULT_OUTPUT)
    figures = asyncio.run(run(args))
    write_limits(figures, output, quick=args.quick)
    cpus = os.cpu_count()
    mode = "quick run" if args.quick else "full run"
    if args.repeat > 1:
        mode += f", best of {args.repeat} rounds"
    print(f"\nRelance reference limits ({mode}, {cpus} CPUs, python {sys.version.split()[0]})")
    print(render_table(figures))
    for figure in figures:
        if figure.metric == POSTGRES_COPY:
            print(f"\n{POSTGRES_COPY}: {figure.notes['table']}")
    print(f"\nwritten to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
