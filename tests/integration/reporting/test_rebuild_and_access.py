"""Rebuilding from the events gives the same tables; the BI role reads reporting only."""

from __future__ import annotations

import asyncpg
import pytest

from services.reporting import refresh
from services.reporting.app import SCHEMA
from services.reporting.bi_role import ensure_bi_role
from services.reporting.domain.dso import months_back
from tests.integration.reporting.conftest import feed, migrated_pool
from tests.integration.reporting.generated_ledger import TODAY, dso, generate

pytestmark = pytest.mark.integration

PROJECTED_TABLES = (
    "customers",
    "invoices",
    "invoice_open_amounts",
    "invoice_dunning",
    "disputes",
    "dispute_invoices",
    "credit_balances",
    "fx_rates",
    "promises",
    "payment_plans",
    "escalations",
    "promise_invoices",
    "reminder_invoices",
    "deliveries",
    "sent_invoices",
    "call_outcomes",
    "dso_monthly",
    "aged_balance_snapshots",
)
BI_PASSWORD = "bi-test-password"


# The open-amount history's `seq` orders each invoice's rows; its numbers depend on how the
# consumer's batches fell (a run of ledger events is written invoice by invoice in layers)
# and on the replicas, so the rebuilt table is compared by each row's place in its invoice.
OPEN_AMOUNTS = """
    SELECT (invoice_id, event_id, effective_on, occurred_at, open_amount, due_date, cause, delta,
            rank() OVER (PARTITION BY invoice_id ORDER BY seq))::text
    FROM invoice_open_amounts ORDER BY 1"""


async def _dump(pool: asyncpg.Pool) -> dict[str, list[str]]:
    dump = {}
    for table in PROJECTED_TABLES:
        query = (
            OPEN_AMOUNTS
            if table == "invoice_open_amounts"
            else f"SELECT t::text FROM {table} AS t ORDER BY 1"
        )
        rows = await pool.fetch(query)
        dump[table] = [row[0] for row in rows]
    return dump


async def _build(pool: asyncpg.Pool, batch_size: int, twice: bool) -> dict[str, list[str]]:
    generated = generate(11, invoice_count=150)
    await feed(pool, generated.events, batch_size)
    if twice:  # a replay of the whole topic changes nothing
        await feed(pool, generated.events, batch_size * 3)
    async with pool.acquire() as connection:
        await refresh.refresh_dso(connection, TODAY, 6)
        await refresh.snapshot_aged_balance(connection, TODAY)
    return await _dump(pool)


async def test_dropping_the_schema_and_replaying_gives_identical_tables(
    database_url: str,
) -> None:
    pool = await migrated_pool(database_url)
    try:
        first = await _build(pool, batch_size=7, twice=True)
    finally:
        await pool.close()
    assert all(first[table] for table in PROJECTED_TABLES if table != "credit_balances")

    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
    finally:
        await admin.close()
    pool = await migrated_pool(database_url)
    try:
        second = await _build(pool, batch_size=200, twice=False)
    finally:
        await pool.close()
    assert second == first


async def test_dso_table_matches_the_countback_of_the_model(database_url: str) -> None:
    pool = await migrated_pool(database_url)
    try:
        generated = generate(12, invoice_count=150)
        await feed(pool, generated.events)
        async with pool.acquire() as connection:
            await refresh.refresh_dso(connection, TODAY, 3)
        rows = await pool.fetch(
            "SELECT company_code, month, receivables, dso_days FROM dso_monthly"
        )
    finally:
        await pool.close()
    expected = {
        (company, month): dso(generated.invoices, company, month, refresh.COUNTBACK_MONTHS)
        for company in ("FR01", "DE01")
        for month in months_back(TODAY, 3)
    }
    assert all(days > 0 for _, days in expected.values())
    assert {(r["company_code"], r["month"]): (r["receivables"], r["dso_days"]) for r in rows} == (
        expected
    )


async def test_the_bi_role_reads_reporting_and_nothing_else(database_url: str) -> None:
    pool = await migrated_pool(database_url)
    try:
        await feed(pool, generate(13, invoice_count=10).events)
        await pool.execute("CREATE SCHEMA ledger")
        await pool.execute("CREATE TABLE ledger.secrets (x int)")
        await pool.execute("CREATE TABLE public.secrets (x int)")
        async with pool.acquire() as connection:
            await ensure_bi_role(connection, "relance_bi", SCHEMA, BI_PASSWORD)
            await ensure_bi_role(connection, "relance_bi", SCHEMA, BI_PASSWORD)  # idempotent
        # a table created after the grants is readable too (default privileges)
        await pool.execute("CREATE TABLE reporting.later (x int)")
    finally:
        await pool.close()

    bi = await asyncpg.connect(database_url, user="relance_bi", password=BI_PASSWORD)
    try:
        assert await bi.fetchval("SELECT count(*) FROM reporting.invoices") == 10
        assert await bi.fetchval("SELECT count(*) FROM reporting.later") == 0
        assert await bi.fetch("SELECT * FROM reporting.aged_balance_as_of('2026-03-01')")
        for forbidden in (
            "ledger.secrets",
            "public.secrets",
            "reporting.outbox",
            "reporting.inbox",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await bi.fetch(f"SELECT * FROM {forbidden}")
        for view in ("open_disputes", "dispute_resolution", "promise_rates", "deliveries"):
            await bi.fetch(f"SELECT * FROM reporting.{view}")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await bi.fetchval("SELECT reporting.roll_aged_balance('2026-03-01')")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await bi.execute("DELETE FROM reporting.invoices")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await bi.execute("CREATE TABLE reporting.mine (x int)")
    finally:
        await bi.close()
