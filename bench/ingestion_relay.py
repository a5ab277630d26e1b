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
from collections.abc import Sequence

from bench.ingestion import process_cpu_s
from bench.limits import DEFAULT_DATABASE_URL, measure_pydantic
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


def loadavg() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    schema = f"bench_relay_{uuid.uuid4().hex[:8]}"
    migrations.apply(database_url, schema, None)
    print(f"load average before: {loadavg()}")
    print(f"pydantic_validate now: {measure_pydantic(50_000)[0].value:,.0f}/s", flush=True)
    client_us: list[float] = []
    server_us: list[float] = []
    try:
        for n in range(args.rounds):
            client, server = asyncio.run(one_round(database_url, schema, args.rows, args.batch))
            client_us.append(client)
            server_us.append(server)
            print(f"round {n + 1}: relay {client:.2f} µs/row, PostgreSQL {server:.2f} µs/row")
    finally:
        asyncio.run(_drop(database_url, schema))
    print(f"pydantic_validate now: {measure_pydantic(50_000)[0].value:,.0f}/s")
    print(f"load average after: {loadavg()}")
    for name, values in (("relay", client_us), ("PostgreSQL", server_us)):
        print(
            f"{name}: best {min(values):.2f}, median {statistics.median(values):.2f} µs of CPU "
            f"per row over {len(values)} round(s)"
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
