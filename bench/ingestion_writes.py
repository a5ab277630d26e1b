"""Ingestion's writes alone: CPU per ERP event of ``LedgerHandler.save``, client and server.

Run with ``python -m bench.ingestion_writes [--events N] [--batch N] [--rounds N]``. It
applies ``bench.ingestion``'s mix in memory, batch by batch (``bench.ingestion_apply``'s
ledger, so that the batches write what a replica's would: invoices opened and paid,
documents, credit balances and their lots, allocations), keeps each batch's book, then in
a fresh schema, migrated as the service's, writes every book with
:meth:`LedgerHandler.save` in a transaction rolled back afterwards, round after round (the
tables vacuumed before each, uncounted).
It counts the process CPU of the writing client (``process_time``) and of its PostgreSQL
backend (``/proc/<pid>/stat`` of ``pg_backend_pid()``, so the server must run on this
host), per ERP event of the batches, and prints each round, the best and the median, the
load average and a ``bench.limits``-style pydantic figure before and after.

The books are written into empty tables (every upsert inserts, nothing conflicts): a
replica's server work differs, its client's encoding does not. The ledger events'
outbox rows are not written here (``bench.ingestion_relay`` measures the outbox).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from bench.ingestion import erp_mix, process_cpu_s
from bench.ingestion_apply import Ledger
from bench.ingestion_relay import rounds_in_fresh_schema
from services.ingestion.app import DEFINITION
from services.ingestion.domain.book import Book
from services.ingestion.handler import LedgerHandler
from services.ingestion.settings import IngestionSettings
from services.runtime import gc_tuning
from services.runtime.clock import SystemClock
from services.runtime.consumer import UnitOfWork
from services.runtime.database import create_pool
from services.runtime.settings import DatabaseSettings


class _Rollback(Exception):
    """Ends a round's transaction without committing it."""


def books_of(events: int, batch: int) -> list[Book]:
    """The books of the mix's batches, applied in memory, each as it stands after its batch."""
    mix = erp_mix(events)
    records = [(topic, topic.value(event)) for topic, event in mix]
    ledger = Ledger()
    books: list[Book] = []
    for start in range(0, len(records), batch):
        parsed = [topic.parse(value) for topic, value in records[start : start + batch]]
        book = ledger.load(parsed)
        book.apply_all(parsed)
        if book.rejected or book.parked:
            raise SystemExit("the mix's batches should neither reject nor park anything")
        ledger.save(book)
        books.append(book)
    return books


async def one_round(
    database_url: str, schema: str, books: Sequence[Book], events: int
) -> tuple[float, float]:
    """(client CPU µs per ERP event, backend CPU µs per ERP event) of writing ``books``."""
    pool = await create_pool(DatabaseSettings(url=database_url), schema, max_size=1)
    handler = LedgerHandler()
    try:
        async with pool.acquire() as connection:
            # what the last round rolled back is dead rows: vacuumed, not counted
            for table in ("customers", "invoices", "credit_balances", "documents", "allocations"):
                await connection.execute(f"VACUUM {table}")
            backend = await connection.fetchval("SELECT pg_backend_pid()")
            server_before = process_cpu_s(backend)
            client_before = time.process_time()
            try:
                async with connection.transaction():
                    work = UnitOfWork(connection, SystemClock())
                    for book in books:
                        await handler.save(work, book)
                    raise _Rollback
            except _Rollback:
                pass
            client = time.process_time() - client_before
            server_after = process_cpu_s(backend)
        if server_before is None or server_after is None:
            raise SystemExit("the PostgreSQL backend is not a process of this host")
        return client / events * 1e6, (server_after - server_before) / events * 1e6
    finally:
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    books = books_of(args.events, args.batch)
    gc_tuning.tune(IngestionSettings().gc_gen0_threshold)  # as the service does at start
    rounds_in_fresh_schema(
        "bench_writes",
        DEFINITION.migrations,
        lambda url, schema: one_round(url, schema, books, args.events),
        args.rounds,
        ("client", "PostgreSQL"),
        "ERP event",
    )


if __name__ == "__main__":
    main()
