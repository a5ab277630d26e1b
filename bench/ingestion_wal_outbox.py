"""Ledger events through the outbox table or through the WAL: CPU per event, both sides.

Run with ``python -m bench.ingestion_wal_outbox [--batches N] [--erp N] [--rounds N]
[--modes a,b] [--work-mem 128MB]``. In a fresh database (logical slots belong to one
database; the bench drops its slots and its database at the end), each batch is a
transaction that upserts ``--erp`` ledger-like rows (the ERP events' effect, which logical
decoding must read and skip too) and hands over 1.8 ledger events per ERP event, 600-byte
values as ingestion's, by one of the modes:

- ``outbox``: today's ``COPY`` into the outbox table (:func:`enqueue`), read back and deleted
  by :meth:`OutboxRelay.relay_once` in batches of 5,000; ``outbox_truncate``: the same
  ``COPY``, read in id order, then the table emptied by one ``TRUNCATE``;
- ``outbox_chunk``: the outbox in chunks, as ingestion writes it (``enqueue(...,
  chunks=True)``: about 8 KB of ledger events per row, ``outbox.frames``), read back and
  deleted by :meth:`OutboxRelay.relay_once` 5,000 ledger events at a time;
- ``wal_each``: one ``pg_logical_emit_message(true, ...)`` per ledger event; ``wal_chunk``:
  one per 500 ledger events; ``wal_batch``: one per batch carrying every record
  (length-prefixed frames), and ``wal_batch_td``, the same read through ``test_decoding``
  instead of ``pgoutput``; each read back by ``pg_logical_slot_peek_binary_changes`` and
  acknowledged by ``pg_replication_slot_advance``, as a relay would after Kafka
  acknowledged, then peeked once more (the relay's next, empty, look);
- ``wal_stream``: as ``wal_chunk``, streamed by a walsender to ``pg_recvlogical`` (each WAL
  record decoded once); its reading figures are the walsender's (the client is C);
- ``wal_none``: no ledger events, a slot peeked: the decoding of the ledger rows alone;
- ``base``: the ledger-like rows alone, subtracted from the writer's figures of the others.

Each batch is read right after it committed. The sender publishes nothing (Kafka's side is
the same for every mode). Per mode it prints the microseconds of CPU per ledger event of the
writing client (``process_time`` around its transaction), of the writer's PostgreSQL
backend, of the reading client and of the reading backend (``/proc/<pid>/stat`` of
``pg_backend_pid()``: the decoding runs in the backend that calls the SQL function), the
WAL written (cluster-wide, so others' writes show in it) and where the reading backend's
time went; with the load average, a ``bench.limits`` pydantic figure and the cluster's WAL
rate before and after. Multiply by 1.8 for a figure per ERP event. Needs ``wal_level =
logical`` and a role with REPLICATION.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import struct
import time
import urllib.parse
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from bench.ingestion import process_cpu_s
from bench.ingestion_relay import NoSender, ledger_like
from bench.limits import DEFAULT_DATABASE_URL, measure_pydantic
from services.runtime import migrations
from services.runtime.database import create_pool
from services.runtime.outbox import (
    OutboxRelay,
    OutgoingRecord,
    _decode_headers,
    _encode_headers,
    enqueue,
)
from services.runtime.settings import DatabaseSettings

LEDGER_PER_ERP = 1.8
MODES = (
    "base",
    "outbox",
    "outbox_truncate",
    "outbox_chunk",
    "wal_none",
    "wal_each",
    "wal_chunk",
    "wal_stream",
    "wal_batch",
    "wal_batch_td",
)
CHUNK = 500  # records per message of wal_chunk

PREFIX = "relance.outbox"
PUBLICATION = "relance_no_tables"

_HEAD = struct.Struct(">HiIH")


def frames(records: Sequence[OutgoingRecord]) -> bytes:
    """Records as consecutive frames: lengths of topic, key (-1: none), value, headers."""
    parts: list[bytes] = []
    append = parts.append
    pack = _HEAD.pack
    for r in records:
        topic = r.topic.encode()
        headers = _encode_headers(tuple(r.headers)).encode()
        key = r.key
        append(pack(len(topic), -1 if key is None else len(key), len(r.value), len(headers)))
        append(topic)
        if key is not None:
            append(key)
        append(r.value)
        append(headers)
    return b"".join(parts)


def unframe(content: bytes) -> list[tuple[str, bytes | None, bytes, str]]:
    view = memoryview(content)
    out = []
    at = 0
    unpack = _HEAD.unpack_from
    size = _HEAD.size
    end = len(content)
    while at < end:
        t, k, v, h = unpack(view, at)
        at += size
        topic = bytes(view[at : at + t]).decode()
        at += t
        key = None
        if k >= 0:
            key = bytes(view[at : at + k])
            at += k
        value = bytes(view[at : at + v])
        at += v
        headers = bytes(view[at : at + h]).decode()
        at += h
        out.append((topic, key, value, headers))
    return out


def messages_of_pgoutput(rows: Sequence[asyncpg.Record]) -> tuple[list[bytes], int | None]:
    """The contents of the 'M' messages of ``rows`` and the LSN of the last commit."""
    contents = []
    last_commit = None
    for lsn, data in rows:
        kind = data[0:1]
        if kind == b"M":
            # flags (1), lsn (8), prefix (NUL-terminated), length (4), content
            nul = data.index(b"\0", 10)
            (length,) = struct.unpack_from(">i", data, nul + 1)
            contents.append(data[nul + 5 : nul + 5 + length])
        elif kind == b"C":
            last_commit = lsn
    return contents, last_commit


def messages_of_test_decoding(rows: Sequence[asyncpg.Record]) -> tuple[list[bytes], int | None]:
    contents = []
    last_commit = None
    for lsn, data in rows:
        if data.startswith(b"message:"):
            # "message: transactional: 1 prefix: P, sz: N content:" then the bytes
            at = data.index(b"content:") + 8
            contents.append(data[at:])
        elif data.startswith(b"COMMIT"):
            last_commit = lsn
    return contents, last_commit


FETCH_AFTER = "SELECT topic, key, value, headers, id FROM outbox WHERE id > $1 ORDER BY id LIMIT $2"
PEEK_PGOUTPUT = (
    "SELECT lsn, data FROM pg_logical_slot_peek_binary_changes($1, NULL, $2, "
    "'proto_version', '1', 'publication_names', $3, 'messages', 'true')"
)
PEEK_TEST_DECODING = (
    "SELECT lsn, data FROM pg_logical_slot_peek_binary_changes($1, NULL, $2, "
    "'include-xids', '0', 'skip-empty-xacts', '1')"
)
ADVANCE = "SELECT pg_replication_slot_advance($1, $2::pg_lsn)"

LEDGER_TABLE = """
CREATE TABLE bench_ledger (
    company_code text, invoice_number text, customer_id text, version bigint,
    currency char(3), amount numeric, open_amount numeric, status text, extra jsonb,
    PRIMARY KEY (company_code, invoice_number)
);
CREATE INDEX ON bench_ledger (customer_id) WHERE status = 'open';
"""
UPSERT_LEDGER = """
INSERT INTO bench_ledger SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[],
    $5::text[], $6::numeric[], $7::numeric[], $8::text[], $9::jsonb[])
ON CONFLICT (company_code, invoice_number) DO UPDATE SET version = EXCLUDED.version,
    open_amount = EXCLUDED.open_amount, status = EXCLUDED.status
"""


def ledger_columns(batch: int, erp: int) -> list[list[Any]]:
    """``erp`` ledger-like rows: new invoices half the time, updates of earlier ones else."""
    numbers = [
        f"INV{(batch * erp + n) if n % 2 else (n * 7919) % (erp * 4):08d}" for n in range(erp)
    ]
    numbers = list(dict.fromkeys(numbers))
    count = len(numbers)
    return [
        ["FR01"] * count,
        numbers,
        [f"C{n % 2500}" for n in range(count)],
        [batch] * count,
        ["EUR"] * count,
        ["1250.00"] * count,
        ["750.00"] * count,
        ["open"] * count,
        ['{"po": "PO-1234", "terms": "30 days net"}'] * count,
    ]


@dataclass
class Cost:
    writer_client: float = 0.0
    writer_server: float = 0.0
    reader_client: float = 0.0
    reader_server: float = 0.0
    wal: int = 0
    events: int = 0
    extra: dict[str, float] = field(default_factory=dict)


async def run_mode(
    database_url: str,
    mode: str,
    batches: int,
    erp: int,
    work_mem: str | None,
) -> Cost:
    schema = f"bench_{mode}_{uuid.uuid4().hex[:6]}"
    await migrations.apply_async(database_url, schema, None)
    writers = await create_pool(DatabaseSettings(url=database_url), schema, max_size=1)
    readers = await create_pool(DatabaseSettings(url=database_url), schema, max_size=1)
    slot = f"bench_{uuid.uuid4().hex[:10]}"
    cost = Cost()
    try:
        async with writers.acquire() as writer, readers.acquire() as reader:
            await writer.execute(LEDGER_TABLE)
            if mode.startswith("wal"):
                plugin = "test_decoding" if mode.endswith("_td") else "pgoutput"
                await reader.execute(
                    "SELECT pg_create_logical_replication_slot($1, $2)", slot, plugin
                )
            if work_mem is not None:  # the peek's result is a tuplestore: on disk past it
                await reader.execute(f"SET work_mem = '{work_mem}'")
            writer_pid = await writer.fetchval("SELECT pg_backend_pid()")
            reader_pid = await reader.fetchval("SELECT pg_backend_pid()")
            if mode == "wal_stream":
                stream, reader_pid = await start_stream(reader, database_url, slot)
            relay = OutboxRelay("bench", readers, NoSender(), batch_size=5000)
            peek = PEEK_TEST_DECODING if mode.endswith("_td") else PEEK_PGOUTPUT
            options = () if mode.endswith("_td") else (PUBLICATION,)
            parse = messages_of_test_decoding if mode.endswith("_td") else messages_of_pgoutput
            ledger_events = round(erp * LEDGER_PER_ERP)
            wal_before = await reader.fetchval("SELECT pg_current_wal_lsn()")
            w0, r0 = process_cpu_s(writer_pid), process_cpu_s(reader_pid)
            for batch in range(batches):
                records = ledger_like(ledger_events)  # made by the rules: not timed
                columns = ledger_columns(batch, erp)
                started = time.process_time()
                async with writer.transaction():
                    await writer.execute(UPSERT_LEDGER, *columns)
                    if mode.startswith("outbox"):
                        await enqueue(writer, records, chunks=mode == "outbox_chunk")
                    elif mode == "wal_each":
                        await writer.execute(
                            "SELECT count(pg_logical_emit_message(true, $1, m)) "
                            "FROM unnest($2::bytea[]) AS m",
                            PREFIX,
                            [frames((r,)) for r in records],
                        )
                    elif mode in ("wal_chunk", "wal_stream"):
                        await writer.execute(
                            "SELECT count(pg_logical_emit_message(true, $1, m)) "
                            "FROM unnest($2::bytea[]) AS m",
                            PREFIX,
                            [
                                frames(records[at : at + CHUNK])
                                for at in range(0, len(records), CHUNK)
                            ],
                        )
                    elif mode.startswith("wal_batch"):
                        await writer.execute(
                            "SELECT pg_logical_emit_message(true, $1, $2::bytea)",
                            PREFIX,
                            frames(records),
                        )
                cost.writer_client += time.process_time() - started
                started = time.process_time()
                read = 0
                if mode in ("outbox", "outbox_chunk"):
                    while True:
                        sent = await relay.relay_once(reader)
                        read += sent
                        if sent < relay.batch_size:
                            break
                elif mode == "outbox_truncate":
                    # read as the relay does, then empty the table at once instead of
                    # deleting row by row (a relay would alternate two tables: TRUNCATE
                    # waits for the writers' locks)
                    last = 0
                    while rows := await reader.fetch(FETCH_AFTER, last, 5000):
                        records_read = [
                            OutgoingRecord(r[0], r[1], r[2], _decode_headers(r[3])) for r in rows
                        ]
                        read += len(records_read)
                        last = rows[-1][4]
                    await reader.execute("TRUNCATE outbox")
                elif mode == "wal_stream":
                    # the walsender decodes as the WAL comes: wait until it sent this batch
                    target = await writer.fetchval("SELECT pg_current_wal_lsn()")
                    while await writer.fetchval(CONFIRMED, slot) < target:  # noqa: ASYNC110
                        await asyncio.sleep(0.02)
                    read = ledger_events  # pg_recvlogical writes them to /dev/null
                elif mode.startswith("wal"):
                    p0 = process_cpu_s(reader_pid) or 0.0
                    rows = await reader.fetch(peek, slot, 5000, *options)
                    p1 = process_cpu_s(reader_pid) or 0.0
                    contents, last_commit = parse(rows)
                    for content in contents:
                        read += len(unframe(content))
                    if last_commit is not None:
                        await reader.execute(ADVANCE, slot, last_commit)
                    p2 = process_cpu_s(reader_pid) or 0.0
                    # the relay's next (empty) look, as after each batch
                    assert not await reader.fetch(peek, slot, 5000, *options)
                    p3 = process_cpu_s(reader_pid) or 0.0
                    for name, spent in (
                        ("peek", p1 - p0),
                        ("advance", p2 - p1),
                        ("empty", p3 - p2),
                    ):
                        cost.extra[name] = cost.extra.get(name, 0.0) + spent
                cost.reader_client += time.process_time() - started
                if mode not in ("base", "wal_none"):
                    assert read == ledger_events, (mode, read, ledger_events)
                cost.events += ledger_events
            w1, r1 = process_cpu_s(writer_pid), process_cpu_s(reader_pid)
            if mode == "wal_stream":
                cost.extra["pg_recvlogical"] = process_cpu_s(stream.pid) or 0.0
                stream.terminate()
                await stream.wait()
                await asyncio.sleep(0.5)  # the walsender exits, the slot becomes inactive
            if mode.startswith("wal"):
                # WAL that every peek reads again: from the restart point to the confirmed one
                cost.extra["reread_MB"] = (
                    await reader.fetchval(
                        "SELECT pg_wal_lsn_diff(confirmed_flush_lsn, restart_lsn)::float8 "
                        "FROM pg_replication_slots WHERE slot_name = $1",
                        slot,
                    )
                    / 1e6
                    * cost.events
                    / 1e6
                )
            cost.wal = await reader.fetchval("SELECT pg_current_wal_lsn()") - wal_before
            assert None not in (w0, w1, r0, r1), "the PostgreSQL backends are not on this host"
            cost.writer_server = w1 - w0  # type: ignore[operator]
            cost.reader_server = r1 - r0  # type: ignore[operator]
    finally:
        async with readers.acquire() as reader:
            await reader.execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                "WHERE slot_name = $1",
                slot,
            )
            await reader.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await writers.close()
        await readers.close()
    return cost


# pg_stat_replication's positions are shown to pg_read_all_stats only: the slot's, to anyone
CONFIRMED = "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1"


async def start_stream(
    observer: Any, database_url: str, slot: str
) -> tuple[asyncio.subprocess.Process, int]:
    """``pg_recvlogical`` streaming ``slot`` to /dev/null, and its walsender's pid.

    The streaming protocol decodes each WAL record once, as it comes, and never reads it
    again: the best case of logical decoding, whatever client reads the stream.
    """
    name = f"bench_stream_{slot}"
    separator = "&" if "?" in database_url else "?"
    stream = await asyncio.create_subprocess_exec(
        "pg_recvlogical",
        "-d",
        f"{database_url}{separator}application_name={name}",
        "--slot",
        slot,
        "--start",
        "-o",
        "proto_version=1",
        "-o",
        f"publication_names={PUBLICATION}",
        "-o",
        "messages=true",
        "-f",
        "/dev/null",
        "--fsync-interval=1",
        "--status-interval=1",
    )
    for _ in range(200):
        pid = await observer.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1 "
            "AND backend_type = 'walsender'",
            name,
        )
        if pid is not None:
            return stream, pid
        await asyncio.sleep(0.05)
    stream.terminate()
    raise SystemExit("pg_recvlogical did not start streaming")


async def cluster_wal_rate(url: str, seconds: float = 5.0) -> float:
    """MB/s of WAL the whole cluster writes while the bench waits: others' work, which every
    logical decoder of the cluster reads too (a slot filters by database after reading)."""
    connection = await asyncpg.connect(url)
    try:
        before = await connection.fetchval("SELECT pg_current_wal_lsn()")
        await asyncio.sleep(seconds)
        after = await connection.fetchval("SELECT pg_current_wal_lsn()")
    finally:
        await connection.close()
    return float(after - before) / seconds / 1e6


def loadavg() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _with_database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


async def _admin(url: str, statement: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _drop_database(url: str, database: str) -> None:
    """Drop the bench's database and any slot left on it (a slot forbids DROP DATABASE)."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
            "WHERE database = $1 AND active_pid IS NOT NULL",
            database,
        )
        await connection.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
            "WHERE database = $1",
            database,
        )
        await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=8, help="batches per mode and round")
    parser.add_argument("--erp", type=int, default=5000, help="ERP events per batch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--work-mem", help="the reading session's work_mem, e.g. 64MB")
    args = parser.parse_args()
    modes = args.modes.split(",")
    admin_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    database = f"bench_wal_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{database}"'))
    url = _with_database(admin_url, database)
    asyncio.run(_admin(url, f"CREATE PUBLICATION {PUBLICATION}"))
    print(f"load average before: {loadavg()}")
    print(f"cluster WAL before: {asyncio.run(cluster_wal_rate(url)):.1f} MB/s")
    print(f"pydantic_validate now: {measure_pydantic(50_000)[0].value:,.0f}/s", flush=True)
    results: dict[str, list[Cost]] = {mode: [] for mode in modes}
    try:
        for n in range(args.rounds):
            for mode in modes:  # alternately, so that the host's noise spreads over all
                cost = asyncio.run(run_mode(url, mode, args.batches, args.erp, args.work_mem))
                results[mode].append(cost)
                e = cost.events / 1e6
                print(
                    f"round {n + 1} {mode:>12}: writer {cost.writer_client / e:6.2f} + "
                    f"{cost.writer_server / e:6.2f}, reader {cost.reader_client / e:6.2f} + "
                    f"{cost.reader_server / e:6.2f} µs/ledger event (client + PostgreSQL), "
                    f"WAL {cost.wal / cost.events:,.0f} B/event  [load {loadavg()}]"
                    + "".join(f"; {k} {v / e:.2f}" for k, v in cost.extra.items()),
                    flush=True,
                )
    finally:
        asyncio.run(_drop_database(admin_url, database))
    print(f"pydantic_validate now: {measure_pydantic(50_000)[0].value:,.0f}/s")
    print(f"load average after: {loadavg()}")
    print(f"cluster WAL after: {asyncio.run(cluster_wal_rate(admin_url)):.1f} MB/s")
    base = results.get("base")
    print("median per ledger event (writer minus base), µs of CPU; x1.8 per ERP event:")
    for mode, costs in results.items():

        def median(attribute: str, costs: list[Cost] = costs) -> float:
            return float(statistics.median(getattr(c, attribute) / c.events * 1e6 for c in costs))

        writer_c, writer_s = median("writer_client"), median("writer_server")
        if base and mode != "base":
            writer_c -= statistics.median(c.writer_client / c.events * 1e6 for c in base)
            writer_s -= statistics.median(c.writer_server / c.events * 1e6 for c in base)
        reader_c, reader_s = median("reader_client"), median("reader_server")
        client, server = writer_c + reader_c, writer_s + reader_s
        print(
            f"{mode:>12}: client {writer_c:.2f} + {reader_c:.2f} = {client:.2f}, "
            f"PostgreSQL {writer_s:.2f} + {reader_s:.2f} = {server:.2f}, total "
            f"{client + server:.2f} µs/ledger event = {(client + server) * LEDGER_PER_ERP:.1f} "
            "µs/ERP event"
        )


if __name__ == "__main__":
    main()
