"""What a busy relay's backlog gauge costs PostgreSQL: counting the outbox or reading its ids.

Run with ``python -m bench.ingestion_backlog [--live N] [--dead N] [--rounds N]``. In a
fresh schema it writes an outbox as the runtime kit's (migrations ``kit_0001``-``kit_0002``)
holding ``--dead`` rows already published and deleted (not vacuumed yet, as between two
autovacuums) followed by ``--live`` rows of 600 bytes waiting, then times, ``--rounds``
times each and alternately, the two ways the relay has had of setting
``relance_outbox_backlog`` once a batch comes back full: counting the rows (``count(*)``
over at most a million) and estimating them from the newest id (``max(id)``, one descent of
the primary key). It prints the CPU of the PostgreSQL backend serving it (by pid, from
``/proc``) and the wall time per call, with the load before and after. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid

import asyncpg

from bench.ingestion import process_cpu_s
from bench.limits import DEFAULT_DATABASE_URL, print_host

COUNT = "SELECT count(*) FROM (SELECT 1 FROM outbox LIMIT 1000000) AS backlog"
NEWEST = "SELECT max(id) FROM outbox"


async def measure(database_url: str, live: int, dead: int, rounds: int) -> None:
    schema = f"bench_backlog_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(f'CREATE SCHEMA "{schema}"')
        await connection.execute(f'SET search_path TO "{schema}"')
        await connection.execute(
            "CREATE TABLE outbox (id bigserial PRIMARY KEY, topic text NOT NULL, key bytea, "
            "value bytea NOT NULL, headers text NOT NULL DEFAULT '', event_id uuid, "
            "created_at timestamptz NOT NULL DEFAULT now())"
        )
        await connection.execute(
            "INSERT INTO outbox (topic, key, value, event_id) SELECT 'ledger.events.v1', "
            "convert_to('C' || n, 'UTF8'), convert_to(repeat('x', 600), 'UTF8'), "
            "gen_random_uuid() FROM generate_series(1, $1) AS n",
            live + dead,
        )
        await connection.execute("DELETE FROM outbox WHERE id <= $1", dead)
        pid = connection.get_server_pid()
        print_host("before")
        for query in (COUNT, NEWEST):  # warm the cache and the plans once
            await connection.fetchval(query)
        figures: dict[str, tuple[list[float], list[float]]] = {
            "count": ([], []),
            "max(id)": ([], []),
        }
        for _ in range(rounds):
            for name, query in (("count", COUNT), ("max(id)", NEWEST)):
                cpu = process_cpu_s(pid) or 0.0
                started = time.perf_counter()
                await connection.fetchval(query)
                figures[name][1].append(time.perf_counter() - started)
                figures[name][0].append((process_cpu_s(pid) or 0.0) - cpu)
        print_host("after")
        print(f"outbox: {live:,} rows waiting after {dead:,} published and not vacuumed yet")
        for name, (cpu_s, wall_s) in figures.items():
            print(
                f"{name:>8}: backend CPU {statistics.median(cpu_s) * 1e3:8.2f} ms median "
                f"({min(cpu_s) * 1e3:.2f}-{max(cpu_s) * 1e3:.2f}), wall "
                f"{statistics.median(wall_s) * 1e3:8.2f} ms median, {rounds} calls"
            )
    finally:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live", type=int, default=250_000)
    parser.add_argument("--dead", type=int, default=150_000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    asyncio.run(measure(database_url, args.live, args.dead, args.rounds))


if __name__ == "__main__":
    main()
