"""The maintained aged balance: changes applied by trigger, days rolled, same as recomputed."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import asyncpg
import pytest

from services.reporting import refresh
from services.reporting.domain.aging import buckets
from tests.integration.reporting.conftest import feed
from tests.integration.reporting.generated_ledger import TODAY, aged_balance, generate

pytestmark = pytest.mark.integration

MAINTAINED = """
SELECT company_code, customer_id, currency, bucket_order, invoice_count, open_amount
FROM aged_balance_current WHERE invoice_count > 0
"""
RECOMPUTED = """
SELECT company_code, customer_id, currency,
       width_bucket($1::date - due_date, bucket_lower_edges()) AS bucket_order,
       count(*) AS invoice_count, sum(open_amount) AS open_amount
FROM invoices WHERE status = 'open' GROUP BY 1, 2, 3, 4
"""


async def _rows(pool: asyncpg.Pool, sql: str, *args: object) -> set[tuple[object, ...]]:
    return {tuple(r) for r in await pool.fetch(sql, *args)}


async def _roll(pool: asyncpg.Pool, day: date) -> str:
    async with pool.acquire() as connection:
        return await refresh.roll_aged_balance(connection, day)


async def test_changes_and_day_rolls_keep_it_equal_to_a_recomputation(
    pool: asyncpg.Pool,
) -> None:
    generated = generate(41, invoice_count=200)
    start = TODAY - timedelta(days=45)  # the generated invoices fall due around then
    half = len(generated.events) // 2
    await feed(pool, generated.events[:half])
    assert await _roll(pool, start) == "rebuilt"
    assert await _rows(pool, MAINTAINED) == await _rows(pool, RECOMPUTED, start)
    await feed(pool, generated.events[half:])  # applied by the trigger, as of `start`
    assert await _rows(pool, MAINTAINED) == await _rows(pool, RECOMPUTED, start)
    day, moves = start, 0
    while day < TODAY:
        step = 1 if day < start + timedelta(days=35) else 5
        day = min(TODAY, day + timedelta(days=step))
        before = await _rows(pool, MAINTAINED)
        assert await _roll(pool, day) == "rolled"
        after = await _rows(pool, MAINTAINED)
        assert after == await _rows(pool, RECOMPUTED, day), day
        moves += after != before
    assert moves > 10  # invoices did cross bucket edges on the way
    assert await _roll(pool, TODAY) == "current"

    today: date = await pool.fetchval("SELECT current_date")
    assert await _roll(pool, today) == "rebuilt"  # more than 31 days ahead

    # the view of today reads it, and gives the model's figures
    rows = await pool.fetch("SELECT * FROM aged_balance")
    view = {
        (r["company_code"], r["customer_id"], r["currency"].strip(), r["bucket"]): (
            r["invoice_count"],
            r["open_amount"],
            r["open_amount_reporting"],
        )
        for r in rows
    }
    assert view == aged_balance(generated.invoices, today)
    await pool.execute("UPDATE aged_balance_current SET open_amount = open_amount + 1")
    shifted = await pool.fetchval("SELECT sum(open_amount) FROM aged_balance")
    assert shifted == sum(v[1] for v in view.values()) + len(view)


async def test_new_buckets_or_a_day_backwards_rebuild_it(pool: asyncpg.Pool) -> None:
    generated = generate(42, invoice_count=120)
    await feed(pool, generated.events)
    today: date = await pool.fetchval("SELECT current_date")
    assert await _roll(pool, today) == "rebuilt"
    async with pool.acquire() as connection:
        await refresh.configure(connection, "EUR", buckets((10, 20)))
    assert await pool.fetchval("SELECT aging_day FROM report_parameters") is None
    # until it is rolled again, the view groups the invoices itself
    rows = await pool.fetch("SELECT bucket, sum(open_amount) AS s FROM aged_balance GROUP BY 1")
    expected = aged_balance(generated.invoices, today, (10, 20))
    totals: dict[str, Decimal] = {}
    for (_, _, _, bucket), (_, amount, _) in expected.items():
        totals[bucket] = totals.get(bucket, Decimal(0)) + amount
    assert {r["bucket"]: r["s"] for r in rows} == totals
    assert await _roll(pool, today) == "rebuilt"
    assert await _rows(pool, MAINTAINED) == await _rows(pool, RECOMPUTED, today)
    assert await _roll(pool, today - timedelta(days=3)) == "rebuilt"
    assert await _rows(pool, MAINTAINED) == await _rows(pool, RECOMPUTED, today - timedelta(days=3))
