"""The console's pages under load: My day, a customer page and search, with 100,000
customers and 1,000,000 open invoices in the read model.

Run with ``python -m bench.console [--customers N] [--invoices N] [--workers N]
[--requests N]``. In a fresh database (dropped afterwards) it loads the console's read
model straight with SQL (customers with trigram-searchable names, open invoices with their
scenario step, one timeline entry per invoice, broken promises, plans with missed
instalments, overdue disputes, failed deliveries, unmatched cash, calls due, the latest
EUR/USD rate (a tenth of the invoices are in dollars); the Team
page's aggregates rebuilt once at the end), then serves
the console's real pages over HTTP (the kit's server, a signed session cookie as after
sign-in) and has ``--workers`` clients ask, each in turn:

* ``my_day_collector``: My day of a collector whose portfolio is one collector code;
* ``my_day_manager``: My day of a credit manager who sees every customer;
* ``customer``: a random customer's page (header, open items with ageing, timeline);
* ``search_name``: a customer's name with a typo (trigram similarity);
* ``search_invoice``: an invoice number.

Then, one at a time after the load, five times each: the Disputes, Promises and plans and
Team pages of the credit manager (shown in brackets: they are not part of the load).

It prints, per page, the median, the 95th percentile and the worst time from request to
the last byte, the requests per second of the whole run, the load average before and
after, and how fast the host validates events right now (``bench.limits``' pydantic figure,
measured before and after, with its ratio to the reference in ``.cache/bench/limits.json``);
and, measured alone before the load, the time of ``GET /healthz`` (no database, no
template): the floor any answer pays on this machine's loopback. The clients run in the
same process as the server, so on a small machine they take part of its CPU: the figures
are an upper bound. The target is 300 ms at the 95th percentile. ``--keep`` leaves the
database for ``--reuse NAME`` (measure again without loading). Nothing is asserted: these
are measurements.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import urllib.parse
import uuid
from collections import defaultdict
from datetime import UTC, datetime

import asyncpg
import httpx

from bench.limits import DEFAULT_DATABASE_URL, PYDANTIC_VALIDATE, load_limits, measure_pydantic
from services.console.app import DEFINITION, SCHEMA
from services.console.settings import ConsoleSettings
from services.console.web.pages import Console
from services.runtime import migrations
from services.runtime.auth import Authenticator, AuthSettings
from services.runtime.clock import SimulatedClock
from services.runtime.database import create_pool
from services.runtime.health import HealthState, HttpServer, build_app
from services.runtime.identity import Identity, Portfolio
from services.runtime.settings import DatabaseSettings

NOW = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
COMPANIES = ("FR01", "FR02", "DE02", "ES03", "IT04")
COLLECTORS = 40
WORDS = [
    "Atelier",
    "Boulangerie",
    "Menuiserie",
    "Garage",
    "Transports",
    "Pharmacie",
    "Imprimerie",
    "Librairie",
    "Fromagerie",
    "Quincaillerie",
    "Brasserie",
    "Serrurerie",
    "Plomberie",
    "Electricité",
    "Jardinerie",
]
NAMES = [
    "Dubois",
    "Martin",
    "Bernard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "Andre",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
]


def _database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


LOAD = [
    # customers: C-000001 ..., a name of two words and a number, a company, a collector code
    """
    INSERT INTO customers (customer_id, company_code, version, name, country, language,
                           customer_type, market, risk_rating, payer_profile,
                           collector_code, contacts)
    SELECT 'C-' || lpad(n::text, 6, '0'), ($3::text[])[1 + n % 5], 1,
           ($4::text[])[1 + n % 15] || ' ' || ($5::text[])[1 + (n / 15) % 24] || ' ' || n,
           'FR', 'fr', 'company', CASE WHEN n % 7 = 0 THEN 'export' ELSE 'domestic' END,
           'medium', 'regular', 'C' || lpad((1 + n % $2)::text, 2, '0'),
           jsonb_build_array(jsonb_build_object('role', 'accounts_payable',
               'email', 'ap' || n || '@example.com', 'phone', '+3315550' || lpad(n::text, 6, '0')))
    FROM generate_series(1, $1) n
    """,
    # open invoices: $1 per customer, due dates from 200 days ago to 60 days ahead
    """
    INSERT INTO invoices (invoice_id, customer_id, company_code, invoice_number, issue_date,
                          due_date, currency, amount, open_amount, status, scenario_id,
                          step_name, level, next_action_at)
    SELECT c.company_code || '/INV-' || lpad((c.n * $1 + k)::text, 8, '0'), c.customer_id,
           c.company_code, 'INV-' || lpad((c.n * $1 + k)::text, 8, '0'),
           $2::date - (((c.n * 7 + k * 13) % 260) + 30), $2::date - ((c.n * 7 + k * 13) % 260) + 60,
           CASE WHEN k % 10 = 0 THEN 'USD' ELSE 'EUR' END,
           100 + (c.n * 31 + k * 17) % 9900, 100 + (c.n * 31 + k * 17) % 9900, 'open',
           'standard', 'level_1_email', CASE WHEN k % 3 = 0 THEN 'level_2' ELSE 'level_1' END,
           $3::timestamptz + make_interval(days => k)
    FROM (SELECT customer_id, company_code, substr(customer_id, 3)::int AS n FROM customers) c
    CROSS JOIN generate_series(0, $1 - 1) k
    """,
    """
    INSERT INTO customer_segments (company_code, collector_code, market)
    SELECT DISTINCT company_code, coalesce(collector_code, ''), market FROM customers
    """,
    # one timeline entry per invoice
    """
    INSERT INTO timeline (event_id, customer_id, at, kind, facts)
    SELECT gen_random_uuid(), customer_id, issue_date::timestamptz, 'invoice.opened',
           jsonb_build_object('number', invoice_number,
               'amount', jsonb_build_object('amount', amount::text, 'currency', currency))
    FROM invoices
    """,
]

WORK = [
    """
    INSERT INTO promises (promise_id, customer_id, invoice_ids, promised_date, currency, amount,
                          state, closed_at, made_at, recorded_by)
    SELECT gen_random_uuid(), customer_id, ARRAY[invoice_id], $1::date - 3, currency,
           open_amount, 'broken', $2, $2, 'local:camille'
    FROM invoices WHERE invoice_id LIKE '%0' ORDER BY invoice_id LIMIT 5000
    """,
    """
    INSERT INTO disputes (dispute_id, customer_id, invoice_ids, whole_account, category,
                          owner_role, owner, due_date, state, opened_at, at_risk_currency,
                          at_risk)
    SELECT gen_random_uuid(), customer_id, ARRAY[invoice_id], false, 'quality', 'sales', NULL,
           $1::date - 5, 'open', $2::timestamptz - interval '40 days', currency, open_amount
    FROM invoices WHERE invoice_id LIKE '%3' ORDER BY invoice_id LIMIT 4000
    """,
    """
    INSERT INTO plans (plan_id, customer_id, invoice_ids, state, missed, agreed_on,
                       instalments, last_missed_on, missed_currency, missed_amount)
    SELECT gen_random_uuid(), customer_id, ARRAY[invoice_id], 'agreed', 1, $1::date - 60,
           '[]', $1::date - 2, currency, open_amount / 3
    FROM invoices WHERE invoice_id LIKE '%5' ORDER BY invoice_id LIMIT 1000
    """,
    """
    INSERT INTO deliveries (delivery_id, reminder_id, customer_id, channel, outcome, reason,
                            invoice_ids, at, at_risk_currency, at_risk)
    SELECT gen_random_uuid(), gen_random_uuid(), customer_id, 'email', 'bounced', '550',
           ARRAY[invoice_id], $2::timestamptz - interval '1 day', currency, open_amount
    FROM invoices WHERE invoice_id LIKE '%7' ORDER BY invoice_id LIMIT 3000
    """,
    """
    INSERT INTO reminders (reminder_id, customer_id, company_code, channel, level, step_name,
                           scheduled_for, invoice_ids, scenario_id, template,
                           at_risk_currency, at_risk)
    SELECT gen_random_uuid(), customer_id, company_code, 'phone_call', 'level_2', 'call',
           $2::timestamptz - interval '1 hour', ARRAY[invoice_id], 'standard', 'call_script',
           currency, open_amount
    FROM invoices WHERE invoice_id LIKE '%9' ORDER BY invoice_id LIMIT 5000
    """,
    # the latest exchange rate: My day ranks the USD items by their amount in EUR
    """
    INSERT INTO fx_rates (base_currency, quote_currency, valid_on, rate)
    VALUES ('EUR', 'USD', $1::date - 1, 1.0825)
    """,
    """
    INSERT INTO unmatched_cash (kind, document_id, customer_id, company_code, currency, amount,
                                value_date, awaiting, recorded_at)
    SELECT 'payment', 'PAY-' || customer_id, customer_id, company_code, 'EUR', 1234, $1::date,
           ARRAY['INV-X'], $2
    FROM customers ORDER BY customer_id LIMIT 500
    """,
]


async def load(url: str, customers: int, per_customer: int) -> float:
    started = time.perf_counter()
    connection = await asyncpg.connect(url, server_settings={"search_path": SCHEMA})
    try:
        # The Team page's aggregates are rebuilt once at the end, set-based, rather than
        # kept row by row by their triggers while a million invoices are inserted.
        for table in TRACKED:
            await connection.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        await connection.execute(LOAD[0], customers, COLLECTORS, list(COMPANIES), WORDS, NAMES)
        await connection.execute(LOAD[1], per_customer, NOW.date(), NOW)
        await connection.execute(LOAD[2])
        await connection.execute(LOAD[3])
        for statement in WORK:  # $1 today, $2 now; a statement with only now numbers it $1
            if "$1" not in statement:
                await connection.execute(statement.replace("$2", "$1"), NOW)
            elif "$2" not in statement:
                await connection.execute(statement, NOW.date())
            else:
                await connection.execute(statement, NOW.date(), NOW)
        for table in TRACKED:
            await connection.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        await connection.execute("SELECT team_rebuild()")
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()
    return time.perf_counter() - started


TRACKED = ("customers", "invoices", "reminders")  # the tables the Team triggers watch


def host_now() -> str:
    """How fast this host validates events right now (as ``bench.limits --only pydantic``
    measures it, 50,000 events), beside the reference figure of ``bench.limits``."""
    now = measure_pydantic(50_000)[0].value
    reference = (load_limits() or {}).get(PYDANTIC_VALIDATE)
    ratio = f" = {now / reference:.2f} x the bench.limits figure" if reference else ""
    return f"pydantic {now:,.0f} events/s{ratio}"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def run_load(
    url: str, customers: int, per_customer: int, workers: int, requests: int
) -> tuple[dict[str, list[float]], float]:
    pool = await create_pool(DatabaseSettings(url=url, pool_max_size=max(4, workers)), SCHEMA)
    clock = SimulatedClock(NOW)
    auth = AuthSettings(signing_keys="k1:" + "b" * 40)
    console = Console(
        pool, clock, ConsoleSettings(auth=auth), Authenticator("console", auth, clock)
    )
    server = HttpServer(build_app(HealthState("console"), [console.router()]), "127.0.0.1", 0)
    await server.start()
    tokens = console.auth.tokens
    assert tokens is not None
    collector = Identity(
        "local:camille", "Camille", frozenset({"collector"}), Portfolio.of(collector_codes=["C07"])
    )
    manager = Identity("local:dominique", "Dominique", frozenset({"credit_manager"}))
    cookie = console.cookies.session
    as_collector = {cookie: tokens.issue(collector, NOW.timestamp())}
    as_manager = {cookie: tokens.issue(manager, NOW.timestamp())}
    timings: dict[str, list[float]] = defaultdict(list)
    rng = random.Random(17)

    def pick() -> tuple[str, str, dict[str, str]]:
        kind = rng.choice(
            ["my_day_collector", "my_day_manager", "customer", "search_name", "search_invoice"]
        )
        n = rng.randint(1, customers)
        if kind == "my_day_collector":
            return kind, "/my-day", as_collector
        if kind == "my_day_manager":
            return kind, "/my-day", as_manager
        if kind == "customer":
            return kind, f"/customers/C-{n:06d}", as_manager
        if kind == "search_name":
            name = f"{WORDS[n % 15]} {NAMES[(n // 15) % 24]}"[:-1] + "x"  # a typo at the end
            return kind, "/search?q=" + urllib.parse.quote(name), as_manager
        number = f"INV-{(n * per_customer + rng.randrange(per_customer)):08d}"
        return kind, "/search?q=" + number, as_manager

    async def worker(client: httpx.AsyncClient, count: int) -> None:
        for _ in range(count):
            kind, path, cookies = pick()
            started = time.perf_counter()
            response = await client.get(path, cookies=cookies)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code}")
            timings[kind].append(elapsed)

    base = f"http://127.0.0.1:{server.port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            for kind in ("/my-day", "/customers/C-000001", "/search?q=Atelier"):  # warm up
                await client.get(kind, cookies=as_manager)
            for _ in range(20):  # what any answer costs here: the transport's floor
                started = time.perf_counter()
                await client.get("/healthz")
                timings["(GET /healthz)"].append(time.perf_counter() - started)
            started = time.perf_counter()
            await asyncio.gather(*(worker(client, requests // workers) for _ in range(workers)))
            elapsed = time.perf_counter() - started
            for path in ("/disputes", "/promises", "/team"):  # the other pages, one at a time
                for _ in range(5):
                    started_one = time.perf_counter()
                    response = await client.get(path, cookies=as_manager)
                    if response.status_code != 200:
                        raise RuntimeError(f"{path}: {response.status_code}")
                    timings[f"({path}, alone)"].append(time.perf_counter() - started_one)
    finally:
        await server.stop()
        await pool.close()
    return timings, elapsed


async def main(args: argparse.Namespace) -> None:
    name = args.reuse or f"bench_console_{uuid.uuid4().hex[:8]}"
    url = _database(args.database_url, name)
    per_customer = max(1, args.invoices // args.customers)
    if not args.reuse:
        admin = await asyncpg.connect(args.database_url)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
    try:
        if not args.reuse:
            await migrations.apply_async(url, SCHEMA, DEFINITION.migrations)
            print(
                f"loading {args.customers:,} customers, {args.customers * per_customer:,} "
                f"invoices into {name}"
            )
            load_s = await load(url, args.customers, per_customer)
            print(f"loaded in {load_s:.0f} s")
        host_before = host_now()
        before = os.getloadavg()
        timings, elapsed = await run_load(
            url, args.customers, per_customer, args.workers, args.requests
        )
        after = os.getloadavg()
        host_after = host_now()
    finally:
        if not args.keep:
            admin = await asyncpg.connect(args.database_url)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    total = sum(len(v) for kind, v in timings.items() if not kind.startswith("("))
    print(f"{'page':<18} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for kind in sorted(timings):
        values = timings[kind]
        print(
            f"{kind:<18} {len(values):>8} {statistics.median(values) * 1000:>8.0f} "
            f"{percentile(values, 0.95) * 1000:>8.0f} {max(values) * 1000:>8.0f}"
        )
    print(
        f"{total} requests by {args.workers} concurrent clients in {elapsed:.1f} s "
        f"({total / elapsed:.1f}/s)"
    )
    print(
        f"load average before: {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}; "
        f"after: {after[0]:.2f} {after[1]:.2f} {after[2]:.2f} ({os.cpu_count()} cores)"
    )
    print(f"host before: {host_before}; after: {host_after}")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--requests", type=int, default=800)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", metavar="NAME", help="measure a kept database, no load")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
