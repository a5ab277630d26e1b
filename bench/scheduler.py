"""The scheduler's tick on large dunning books: time to emit what is due, and an empty tick.

Run with ``python -m bench.scheduler [--sizes 10000 100000 1000000] [--due-share 0.05]
[--replicas N] [--concurrency C] [--batch B]``. For each size it loads that many open
invoices (five per customer) into a fresh schema with set-based INSERTs, a ``--due-share``
of them due now (each for a different customer), the rest due in the coming weeks. It then
times ticks until nothing is due (every due invoice becomes a ``dunning.reminder.due`` in
the outbox, with its state moved on and its ``dunning.state.changed``), and the median of
``--empty-ticks`` ticks with nothing due, which must not grow with the number of open
invoices. ``--replicas N`` drains with N scheduler processes at once (``FOR UPDATE SKIP
LOCKED`` shares the work); each runs ``--concurrency`` ticks side by side, as the service's
``tick_concurrency`` does (default: the service's), and with ``--deciding-process`` decides
in a process of its own as ``tick_deciding_process`` does (its CPU counted with the
scheduler's). Each line states the replicas and ticks
in flight, the scheduler processes' CPU time during the drain and that of their own
PostgreSQL backends (by pid, from ``/proc``: PostgreSQL's shared writers are not counted),
what the whole server wrote to its WAL meanwhile (bytes, full-page images, checkpoints
begun: a checkpoint during the drain makes every page's first change after it costlier),
the load average before and after it and ``bench.limits``' pydantic figure measured just
before it, since other work on the machine moves the figures. ``--statements`` drains the
book one tick at a time instead and prints, per tick, each statement's wall time and the CPU
its PostgreSQL backend spent on it (``/proc/PID/schedstat``). ``--used-book`` measures a
book as a service's is after months (its free room spread across the table, not at its end):
the loaded book is drained once unmeasured, its due invoices set back as they were loaded,
what the drain wrote emptied (outbox, reminders kept, skipped steps, last contacts), the
tables vacuumed, and then drained again, measured. Nothing is asserted: these are
measurements.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg

from bench.limits import DEFAULT_DATABASE_URL, measure_pydantic
from services.runtime import gc_tuning, migrations
from services.runtime.clock import SimulatedClock
from services.runtime.database import Connection, create_pool
from services.runtime.settings import DatabaseSettings
from services.scheduler.app import MIGRATIONS_PATH, policy_of
from services.scheduler.settings import SchedulerSettings
from services.scheduler.tick import DecidingProcess, Ticker, TickOutcome, load_calendars

# The bench's book lives in this schema, dropped and loaded again at each run; two benches
# running at once on one server each need their own (BENCH_SCHEDULER_SCHEMA).
SCHEMA = os.environ.get("BENCH_SCHEDULER_SCHEMA", "bench_scheduler")
NOW = datetime(2026, 12, 8, 9, 30, tzinfo=UTC)  # a Tuesday, 10:30 in Paris
PER_CUSTOMER = 5
SEGMENT = '{"payer_profile": "negligent"}'


CUSTOMERS_SQL = """
INSERT INTO customer (customer_id, company_code, country, time_zone, language, segment, version)
SELECT 'C' || g, 'FR01', 'FR', 'Europe/Paris', 'fr', $1::jsonb, 1
FROM generate_series(0, $2 - 1) AS g
"""

# Invoice g is due now when g % every = 0 (one per customer at most), else in 1 to 40 days.
INVOICES_SQL = """
INSERT INTO dunning_invoice (invoice_id, customer_id, company_code, invoice_number, due_date,
    currency, amount, open_amount, scenario_id, next_step, status, last_step_name, last_level,
    last_action_at, next_action_at)
SELECT 'FR01/F' || g, 'C' || (g / $2), 'FR01', 'F' || g,
       CASE WHEN due THEN $3::date ELSE $4::date END, 'EUR', 1200.00, 1200.00, 'negligent',
       'friendly',
       'active', 'courtesy', 'preventive', $5::timestamptz - interval '8 days',
       CASE WHEN due THEN $5::timestamptz - interval '1 hour'
            ELSE $5::timestamptz + (1 + g % 40) * interval '1 day' END
FROM (SELECT g, $6 > 0 AND g % $6 = 0 AS due FROM generate_series(0, $1 - 1) AS g) AS s
"""


async def load(connection: Connection, invoices: int, due_share: float) -> int:
    """Load the book; return how many invoices are due now."""
    customers = (invoices + PER_CUSTOMER - 1) // PER_CUSTOMER
    await connection.execute(CUSTOMERS_SQL, SEGMENT, customers)
    every = max(1, round(1 / due_share / PER_CUSTOMER)) * PER_CUSTOMER if due_share else 0
    # D+3 reached on the due ones: the "friendly" step of `negligent` is due.
    await connection.execute(
        INVOICES_SQL, invoices, PER_CUSTOMER, date(2026, 12, 5), date(2027, 1, 10), NOW, every
    )
    await connection.execute("ANALYZE dunning_invoice; ANALYZE customer")
    return len(range(0, invoices, every)) if every else 0


async def prepare(url: str, invoices: int, due_share: float) -> tuple[int, float]:
    """A fresh schema holding the book; return how many invoices are due and the load time."""
    admin = await asyncpg.connect(url)
    await admin.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
    await admin.close()
    await migrations.apply_async(url, SCHEMA, MIGRATIONS_PATH)
    connection = await asyncpg.connect(url, server_settings={"search_path": SCHEMA})
    try:
        started = time.perf_counter()
        due = await load(connection, invoices, due_share)
        return due, time.perf_counter() - started
    finally:
        await connection.close()


def backend_cpu(pids: list[int]) -> float | None:
    """The CPU time (user and system, in seconds) PostgreSQL's backends ``pids`` used so far,
    from ``/proc`` (None where PostgreSQL runs elsewhere or the figures cannot be read)."""
    ticks = 0
    try:
        for pid in pids:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    except (OSError, IndexError, ValueError):
        return None
    return ticks / os.sysconf("SC_CLK_TCK")


async def drain(
    url: str, batch: int, concurrency: int, start_at: float, deciding_process: bool = False
) -> tuple[int, float, float, float, float | None]:
    """One scheduler replica: tick until nothing is due.

    Returns the reminders it emitted, when (wall clock) it started and finished, so that the
    start-up of the replicas' processes is not counted, the CPU time it used meanwhile (its
    deciding process's included), and the CPU time its PostgreSQL backends used meanwhile.
    """
    size = concurrency + 1
    pool = await create_pool(DatabaseSettings(url=url), SCHEMA, min_size=size, max_size=size)
    deciding = None
    if deciding_process:
        deciding = DecidingProcess(SchedulerSettings().gc_gen0_threshold)
        await deciding.warm_up()
    try:
        ticker = Ticker(
            pool, SimulatedClock(NOW), policy_of(SchedulerSettings()), batch, concurrency, deciding
        )
        load_calendars(NOW.date())  # as the service does at start-up
        gc_tuning.tune(SchedulerSettings().gc_gen0_threshold)  # as services do once built
        held = [await pool.acquire() for _ in range(size)]  # every connection, for its pid
        pids = [c.get_server_pid() for c in held]
        for connection in held:
            await pool.release(connection)
        await asyncio.sleep(max(0.0, start_at - time.time()))
        workers = [] if deciding is None else deciding.pids()
        idle = _IdleTimer(asyncio.get_running_loop())
        ticks: list[float] = []  # each tick's time, its transaction's included
        tick = ticker.tick

        async def timed_tick() -> TickOutcome:
            started = time.perf_counter()
            try:
                return await tick()
            finally:
                ticks.append(time.perf_counter() - started)

        ticker.tick = timed_tick  # type: ignore[method-assign]
        started, cpu, backends = time.time(), time.process_time(), backend_cpu(pids)
        workers_cpu = backend_cpu(workers)
        with idle:
            reminders = sum(o.reminders for o in await ticker.run_until_idle())
        backends_after = backend_cpu(pids)
        database = None if backends is None or backends_after is None else backends_after - backends
        workers_used = (backend_cpu(workers) or 0.0) - (workers_cpu or 0.0)
        own = time.process_time() - cpu + workers_used
        if deciding is not None:
            print(f"  .. of the scheduler's CPU, its deciding process: {workers_used:.2f} s")
        print(f"  .. the scheduler's event loop idle (waiting in select): {idle.seconds:.2f} s")
        if ticks:
            # a payment for an invoice a tick holds waits for that tick's commit
            ticks.sort()
            print(
                f"  .. {len(ticks)} ticks, each from its claim to its commit: median "
                f"{statistics.median(ticks) * 1000:.0f} ms, 95th percentile "
                f"{ticks[int(0.95 * (len(ticks) - 1))] * 1000:.0f} ms, "
                f"max {ticks[-1] * 1000:.0f} ms"
            )
        return reminders, started, time.time(), own, database
    finally:
        await pool.close()
        if deciding is not None:
            deciding.close()


class _IdleTimer:
    """The time the event loop spends waiting for something to do (in its selector's
    ``select``): what the replica waits on PostgreSQL (or its deciding process) with nothing
    else to run. A diagnosis (the loop's selector is a private attribute)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.selector = loop._selector  # type: ignore[attr-defined]
        self.seconds = 0.0

    def __enter__(self) -> None:
        select = self.selector.select

        def timed(timeout: float | None = None) -> object:
            started = time.perf_counter()
            try:
                return select(timeout)
            finally:
                self.seconds += time.perf_counter() - started

        self.selector.select = timed

    def __exit__(self, *exc: object) -> None:
        del self.selector.select  # the class's own again


# The book's due invoices as loaded, kept to set them back after a first drain (--used-book).
KEEP_DUE_SQL = """
CREATE TABLE bench_due_as_loaded AS
SELECT * FROM dunning_invoice WHERE next_action_at IS NOT NULL AND next_action_at <= $1
"""
SET_BACK_SQL = """
UPDATE dunning_invoice AS d SET
    next_step = b.next_step, status = b.status, resumed = b.resumed,
    last_step_name = b.last_step_name, last_level = b.last_level,
    last_action_at = b.last_action_at, next_action_at = b.next_action_at,
    scenario_version = b.scenario_version, awaiting_delivery = b.awaiting_delivery
FROM bench_due_as_loaded AS b WHERE d.invoice_id = b.invoice_id
"""


async def _connect(url: str) -> Connection:
    return await asyncpg.connect(url, server_settings={"search_path": SCHEMA})


async def keep_due(url: str) -> None:
    connection = await _connect(url)
    try:
        await connection.execute(KEEP_DUE_SQL, NOW)
    finally:
        await connection.close()


async def set_back(url: str) -> float:
    """The drained book as a used one: its due invoices due again, what the drain wrote
    emptied, the tables vacuumed (their free room where the old row versions were)."""
    connection = await _connect(url)
    try:
        started = time.perf_counter()
        await connection.execute(SET_BACK_SQL)
        await connection.execute(
            "UPDATE customer SET last_contact_at = NULL WHERE last_contact_at IS NOT NULL"
        )
        await connection.execute("TRUNCATE outbox, sent_reminder, skipped_step, proposal")
        await connection.execute("VACUUM (ANALYZE) dunning_invoice, customer")
        return time.perf_counter() - started
    finally:
        await connection.close()


def used_book(url: str, batch: int, concurrency: int) -> None:
    """The loaded book drained once (not measured), set back and vacuumed."""
    asyncio.run(keep_due(url))
    print("  .. the book drained once (not measured), to be used:")
    reminders = replica(url, batch, concurrency, 0.0)[0]
    print(
        f"  .. {reminders:,} reminders; set back and vacuumed in {asyncio.run(set_back(url)):.1f} s"
    )


def replica(
    url: str, batch: int, concurrency: int, start_at: float, deciding_process: bool = False
) -> tuple[int, float, float, float, float | None]:
    return asyncio.run(drain(url, batch, concurrency, start_at, deciding_process))


# What the whole server wrote to its WAL and how many checkpoints it began: a checkpoint
# during a drain makes each page's first change after it write the whole page to the WAL
# (full-page images), which a host running other people's tests does every few seconds.
WAL_SQL = """
SELECT w.wal_bytes, w.wal_fpi, b.checkpoints_timed + b.checkpoints_req AS checkpoints
FROM pg_stat_wal w, pg_stat_bgwriter b
"""


async def wal_figures(url: str) -> tuple[float, int, int] | None:
    """The server's WAL bytes and full-page images so far, and its checkpoints (None where
    the statistics cannot be read)."""
    connection = await asyncpg.connect(url)
    try:
        row = await connection.fetchrow(WAL_SQL)
    except asyncpg.PostgresError:
        return None
    finally:
        await connection.close()
    if row is None:
        return None
    return float(row["wal_bytes"]), row["wal_fpi"], row["checkpoints"]


async def empty_ticks(url: str, count: int) -> tuple[int, list[float]]:
    """The outbox size, and the duration of ``count`` ticks with nothing due."""
    pool = await create_pool(DatabaseSettings(url=url), SCHEMA, max_size=2)
    try:
        ticker = Ticker(pool, SimulatedClock(NOW), policy_of(SchedulerSettings()), 500)
        durations = []
        for _ in range(count):
            started = time.perf_counter()
            outcome = await ticker.tick()
            durations.append(time.perf_counter() - started)
            assert outcome.empty, "something was still due"
        return await pool.fetchval("SELECT count(*) FROM outbox"), durations
    finally:
        await pool.close()


def measure(
    url: str,
    invoices: int,
    due_share: float,
    ticks: int,
    batch: int,
    replicas: int,
    concurrency: int,
    deciding_process: bool = False,
    used: bool = False,
) -> None:
    due, loaded_s = asyncio.run(prepare(url, invoices, due_share))
    if used:
        used_book(url, batch, concurrency)
    # bench.limits' pure-CPU figure, now: what share of a core this host gives (148,151
    # events/s on the quiet reference host)
    pydantic_now = measure_pydantic(50_000)[0].value
    load_before = os.getloadavg()[0]
    wal_before = asyncio.run(wal_figures(url))
    if replicas == 1:
        runs = [replica(url, batch, concurrency, 0.0, deciding_process)]
    else:
        context = multiprocessing.get_context("spawn")
        start_at = time.time() + 5.0  # every replica has started and connected by then
        with ProcessPoolExecutor(replicas, mp_context=context) as executor:
            runs = list(
                executor.map(
                    replica,
                    [url] * replicas,
                    [batch] * replicas,
                    [concurrency] * replicas,
                    [start_at] * replicas,
                    [deciding_process] * replicas,
                )
            )
    load_after = os.getloadavg()[0]
    wal_after = asyncio.run(wal_figures(url))
    wal = (
        "?"
        if wal_before is None or wal_after is None
        else f"{(wal_after[0] - wal_before[0]) / 1e6:,.0f} MB, "
        f"{wal_after[1] - wal_before[1]:,} full pages, {wal_after[2] - wal_before[2]} checkpoints"
    )
    reminders = sum(r[0] for r in runs)
    drain_s = max(r[2] for r in runs) - min(r[1] for r in runs)
    cpu_s = sum(r[3] for r in runs)
    backends = [r[4] for r in runs]
    database = (
        "?"
        if any(b is None for b in backends)
        else f"{sum(b for b in backends if b is not None):5.2f} s"
    )
    emitted, empty = asyncio.run(empty_ticks(url, ticks))
    print(
        f"{invoices:>9,} open invoices (loaded in {loaded_s:5.1f} s) | {due:>6,} due, "
        f"{replicas} replica(s) x {concurrency} tick(s) at once, batch {batch}"
        f"{', deciding process' if deciding_process else ''}"
        f"{', used book' if used else ''}: "
        f"{reminders:>6,} reminders ({emitted:>7,} outbox events) in {drain_s:6.2f} s = "
        f"{reminders / drain_s if drain_s else 0:,.0f}/s, scheduler CPU {cpu_s:5.2f} s, "
        f"its PostgreSQL backends' CPU {database}, server WAL meanwhile {wal} | "
        f"empty tick: median {statistics.median(empty) * 1000:.2f} ms, "
        f"max {max(empty) * 1000:.2f} ms | load average {load_before:.2f} -> {load_after:.2f}"
        f" | pydantic now {pydantic_now:,.0f} events/s"
    )


def _backend_ns(pid: int) -> int:
    """The nanoseconds of CPU PostgreSQL's backend ``pid`` ran so far (``/proc/PID/schedstat``:
    ``/proc/PID/stat`` counts in hundredths of a second, too coarse for one statement)."""
    with open(f"/proc/{pid}/schedstat") as stat:
        return int(stat.read().split()[0])


class _TimedStatements:
    """A connection whose statements are timed, by name: the wall time the tick waits for each
    and the CPU its backend spent on it (a diagnosis for ``--statements``)."""

    TIMED = ("fetch", "fetchrow", "fetchval", "execute", "copy_records_to_table")

    def __init__(
        self, connection: Connection, names: dict[str, str], figures: dict[str, list[float]]
    ) -> None:
        self._connection = connection
        self._pid = connection.get_server_pid()
        self._names = names
        self._figures = figures

    def measured(self, name: str, cpu_ns: int, wall_s: float) -> None:
        figures = self._figures.setdefault(name, [0, 0, 0.0])  # times, CPU ns, wall s
        figures[0] += 1
        figures[1] += cpu_ns
        figures[2] += wall_s

    def __getattr__(self, attribute: str) -> object:
        method = getattr(self._connection, attribute)
        if attribute not in self.TIMED:
            return method

        async def timed(*args: object, **kwargs: object) -> object:
            if attribute == "copy_records_to_table":
                name = f"COPY {args[0]}"
            else:
                text = str(args[0])
                name = self._names.get(text) or " ".join(text.split())[:40]
            cpu, started = _backend_ns(self._pid), time.perf_counter()
            try:
                return await method(*args, **kwargs)
            finally:
                self.measured(name, _backend_ns(self._pid) - cpu, time.perf_counter() - started)

        return timed


async def statements(url: str, batch: int) -> None:
    """The drain one tick at a time, each statement's backend CPU and wall time per tick."""
    from services.scheduler import queries

    names = {v: k for k, v in vars(queries).items() if k.isupper() and isinstance(v, str)}
    pool = await create_pool(DatabaseSettings(url=url), SCHEMA, min_size=1, max_size=1)
    figures: dict[str, list[float]] = {}
    try:
        ticker = Ticker(pool, SimulatedClock(NOW), policy_of(SchedulerSettings()), batch)
        load_calendars(NOW.date())
        gc_tuning.tune(SchedulerSettings().gc_gen0_threshold)
        reminders = ticks = 0
        started = time.perf_counter()
        while True:
            async with pool.acquire() as connection:
                timed = _TimedStatements(connection, names, figures)
                cpu, at = _backend_ns(timed._pid), time.perf_counter()
                transaction = connection.transaction()
                await transaction.start()
                timed.measured("BEGIN", _backend_ns(timed._pid) - cpu, time.perf_counter() - at)
                outcome, _ = await ticker._tick_in(timed)  # type: ignore[arg-type]
                cpu, at = _backend_ns(timed._pid), time.perf_counter()
                await transaction.commit()
                timed.measured("COMMIT", _backend_ns(timed._pid) - cpu, time.perf_counter() - at)
            ticks += 1
            reminders += outcome.reminders
            if outcome.empty:
                break
        wall = time.perf_counter() - started
    finally:
        await pool.close()
    print(
        f"{reminders:,} reminders in {ticks} ticks of {batch}, one at a time: {wall:.2f} s | "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(f"  {'statement':<40} {'times':>5} {'backend CPU/tick':>17} {'wall/tick':>10}")
    for name, (count, cpu_ns, wall_s) in sorted(figures.items(), key=lambda f: -f[1][1]):
        print(
            f"  {name:<40} {count:5d} {cpu_ns / 1e6 / ticks:14.2f} ms "
            f"{wall_s * 1e3 / ticks:7.2f} ms"
        )
    total_cpu = sum(f[1] for f in figures.values()) / 1e9
    total_wall = sum(f[2] for f in figures.values())
    print(f"  {'all':<40} {total_cpu:15.2f} s {total_wall:8.2f} s")


def rule_only(reminders: int, rounds: int = 5) -> None:
    """The tick's Python work without PostgreSQL: the bench's due invoices (one per customer,
    as read from the database) through the contact rule and the writes' building (events,
    progress rows), batch by batch; the best of ``rounds`` CPU times per reminder. Less
    noisy than a drain on a shared host, and the same work as its Python side."""
    from services.scheduler.domain.contact_rule import decide
    from services.scheduler.domain.state import Customer, InvoiceState
    from services.scheduler.tick import _dumps, _progress, _Writes

    policy = policy_of(SchedulerSettings())
    gc_tuning.tune(SchedulerSettings().gc_gen0_threshold)
    rows = [
        (
            {
                "customer_id": f"C{g}",
                "company_code": "FR01",
                "country": "FR",
                "time_zone": "Europe/Paris",
                "language": "fr",
                "segment": json.loads(SEGMENT),  # as the connection's codec reads it
                "last_contact_at": None,
            },
            {
                "invoice_id": f"FR01/F{g * PER_CUSTOMER}",
                "customer_id": f"C{g}",
                "company_code": "FR01",
                "invoice_number": f"F{g * PER_CUSTOMER}",
                "due_date": date(2026, 12, 5),
                "currency": "EUR",
                "amount": Decimal("1200.00"),
                "open_amount": Decimal("1200.00"),
                "scenario_id": "negligent",
                "next_step": "friendly",
                "scenario_version": None,
                "status": "active",
                "pause_reason": None,
                "resumed": False,
                "last_step_name": "courtesy",
                "last_level": "preventive",
                "last_action_at": NOW - timedelta(days=8),
                "next_action_at": NOW - timedelta(hours=1),
                "formal_notice_at": None,
                "held_until": None,
                "awaiting_delivery": None,
            },
        )
        for g in range(reminders)
    ]
    account = [("EUR", Decimal("6000.00"), PER_CUSTOMER)]
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for first in range(0, reminders, 500):
            writes = _Writes()
            for customer_row, invoice_row in rows[first : first + 500]:
                customer = Customer.of(customer_row)
                decision = decide(policy, customer, [InvoiceState.of(invoice_row)], NOW)
                writes.add(decision, NOW, account, policy)
            _dumps([_progress(s) for s in writes.states])
        best = min(best, time.process_time() - started)
    print(
        f"rule only: {reminders:,} reminders, best of {rounds}: "
        f"{best * 1e6 / reminders:.1f} us of CPU each | load average {os.getloadavg()[0]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--due-share", type=float, default=0.05)
    parser.add_argument("--empty-ticks", type=int, default=50)
    parser.add_argument(
        "--replicas", type=int, default=1, help="scheduler replicas, one process each"
    )
    parser.add_argument("--batch", type=int, default=SchedulerSettings().tick_batch_size)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=SchedulerSettings().tick_concurrency,
        help="ticks each replica runs side by side (the service's tick_concurrency)",
    )
    parser.add_argument(
        "--deciding-process",
        action=argparse.BooleanOptionalAction,
        default=SchedulerSettings().tick_deciding_process,
        help="each replica decides in a process of its own (the service's "
        "tick_deciding_process); its CPU is counted in the scheduler's",
    )
    parser.add_argument(
        "--rule-only",
        type=int,
        metavar="N",
        help="no database: N due invoices through the tick's Python work (rule_only)",
    )
    parser.add_argument(
        "--statements",
        action="store_true",
        help="drain one tick at a time and print each statement's backend CPU and wall time "
        "per tick (statements)",
    )
    parser.add_argument(
        "--used-book",
        action="store_true",
        help="drain the loaded book once unmeasured, set its due invoices back and vacuum, "
        "then measure (a book whose free room is spread across the table, as a service's)",
    )
    args = parser.parse_args()
    if args.statements:
        for size in args.sizes:
            due, loaded_s = asyncio.run(prepare(args.database_url, size, args.due_share))
            print(f"{size:,} open invoices (loaded in {loaded_s:.1f} s), {due:,} due")
            if args.used_book:
                used_book(args.database_url, args.batch, args.concurrency)
            asyncio.run(statements(args.database_url, args.batch))
        return
    if args.rule_only:
        rule_only(args.rule_only)
        return
    for size in args.sizes:
        measure(
            args.database_url,
            size,
            args.due_share,
            args.empty_ticks,
            args.batch,
            args.replicas,
            args.concurrency,
            args.deciding_process,
            args.used_book,
        )


if __name__ == "__main__":
    main()
