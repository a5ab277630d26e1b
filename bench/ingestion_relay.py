"""The outbox relay's database work alone: CPU per published row, client and server.

Run with ``python -m bench.ingestion_relay [--rows N] [--batch N] [--rounds N]``. On a fresh
schema holding only the runtime kit's tables, each round writes ``--rows`` outbox rows the
size of ingestion's ledger events (as a batch's ``COPY`` does, not timed), then relays them
with :meth:`OutboxRelay.relay_once` in batches of ``--batch`` (ingestion's 5,000) until the
outbox is empty. The sender publishes nothing (the Kafka side of the relay is measured by
``bench.ingestion``): what is timed is what the relay asks of PostgreSQL and what asyncpg
costs the replica, the part that reads and deletes the rows.

It prints, per round and as best and median, the microseconds of CPU per row of the
relaying process (its own ``process_time``) and of the PostgreSQL backend serving it
(``/proc/<pid>/stat`` of ``pg_backend_pid()``, so the server must run on this host), with
the load average and a ``bench.limits``-style pydantic figure before and after, so that a
noisy host shows. Ingestion publishes about 1.5 ledger events per ERP event: multiply by
that for the figure per ERP event.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from bench.ingestion import process_cpu_s
from bench.limits import DEFAULT_DATABASE_URL, print_host
from services.runtime import migrations
from services.runtime.database import create_pool
from services.runtime.outbox import OutboxRelay, OutgoingRecord, enqueue
from services.runtime.settings import DatabaseSettings


class NoSender:
    """Acknowledges every record at once: the relay's database work alone is timed."""

    async def send_all(self, records: Sequence[OutgoingRecord]) -> None:
        return None


def ledger_like(count: int) -> list[OutgoingRecord]:
    """Rows the size and shape of ingestion's ledger events (about 600 bytes each)."""
    body = b'{"payload":"' + b"x" * 560 + b'"}'
    return [
        OutgoingRecord(
            "bench.ledger.events.v1",
            f"C{n % 2500}".encode(),
            body,
            (("event_type", b"ledger.invoice.opened"),),
            uuid.uuid4(),
        )
        for n in range(count)
    ]


async def one_round(database_url: str, schema: str, rows: int, batch: int) -> tuple[float, float]:
    """(relay CPU µs per row, backend CPU µs per row) of relaying ``rows`` outbox rows."""
    pool = await create_pool(DatabaseSettings(url=database_url), schema, max_size=1)
    try:
        async with pool.acquire() as connection:
            for start in range(0, rows, 5000):
                async with connection.transaction():
                    await enqueue(connection, ledger_like(min(5000, rows - start)))
            await connection.execute("VACUUM ANALYZE outbox")
            backend = await connection.fetchval("SELECT pg_backend_pid()")
            relay = OutboxRelay("bench", pool, NoSender(), batch_size=batch)
            server_before = process_cpu_s(backend)
            client_before = time.process_time()
            published = 0
            while sent := await relay.relay_once(connection):
                published += sent
            client = time.process_time() - client_before
            server_after = process_cpu_s(backend)
        assert published == rows, (published, rows)
        if server_before is None or server_after is None:
            raise SystemExit("the PostgreSQL backend is not a process of this host")
        return client / rows * 1e6, (server_after - server_before) / rows * 1e6
    finally:
        await pool.close()


def rounds_in_fresh_schema(
    prefix: str,
    service_migrations: Path | None,
    one_round: Callable[[str, str], Coroutine[Any, Any, tuple[float, float]]],
    rounds: int,
    names: tuple[str, str],
    unit: str,
) -> None:
    """Run ``one_round(database_url, schema)`` ``rounds`` times in a schema made for the run
    (``<prefix>_<random>``, migrated with the kit's and ``service_migrations``, dropped at the
    end), between the host's figures, then print each round's and the best and median of the
    two CPU figures it returns, named ``names``, in µs of CPU per ``unit``."""
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    migrations.apply(database_url, schema, service_migrations)
    print_host("before")
    figures: tuple[list[float], list[float]] = ([], [])
    try:
        for n in range(rounds):
            pair = asyncio.run(one_round(database_url, schema))
            for values, value in zip(figures, pair, strict=True):
                values.append(value)
            print(
                f"round {n + 1}: {names[0]} {pair[0]:.2f}, {names[1]} {pair[1]:.2f} µs/{unit}",
                flush=True,
            )
    finally:
        asyncio.run(_drop(database_url, schema))
    print_host("after")
    for name, values in zip(names, figures, strict=True):
        print(
            f"{name}: best {min(values):.2f}, median {statistics.median(values):.2f} µs of CPU "
            f"per {unit} over {len(values)} round(s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rounds_in_fresh_schema(
        "bench_relay",
        None,
        lambda url, schema: one_round(url, schema, args.rows, args.batch),
        args.rounds,
        ("relay", "PostgreSQL"),
        "row",
    )


async def _drop(database_url: str, schema: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await connection.close()


if __name__ == "__main__":
    main()
