"""Unmatched money is never silent: published, measured, shown by reporting, decided on.

A payment naming an invoice that never arrives goes through ingestion's handler on
PostgreSQL: it is published as unmatched, counted by the gauges, listed by reporting's
``unmatched_cash`` (flagged once older than the alert age), and an operator releases it
(it pays the customer's open invoice) or dead-letters it (its event goes to the
dead-letter topic, nothing applied); either way it leaves the view and the gauges.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest
from prometheus_client import REGISTRY

from contracts.topics import LEDGER_EVENTS
from services.ingestion import metrics, queries
from services.ingestion.app import DEFINITION
from services.ingestion.errors import NotUnmatched
from services.ingestion.unmatched import decide
from services.reporting.app import DEFINITION as REPORTING
from services.reporting.domain.aging import buckets
from services.reporting.html_report import render
from services.reporting.projection import apply_events
from services.reporting.refresh import configure
from services.reporting.report_data import gather
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import BatchProcessor
from services.runtime.database import create_pool
from services.runtime.dead_letter import IncomingRecord
from services.runtime.settings import DatabaseSettings
from tests.integration.ingestion.test_ledger_batches import Feed, processor
from tests.unit.ingestion.erp_events import AT, invoice, payment

pytestmark = pytest.mark.integration

KEY = ("FR01", "payment", "P9")


@pytest.fixture
async def pools(database_url: str) -> AsyncIterator[tuple[asyncpg.Pool, asyncpg.Pool]]:
    await migrations.apply_async(database_url, DEFINITION.schema, DEFINITION.migrations)
    await migrations.apply_async(database_url, REPORTING.schema, REPORTING.migrations)
    ledger_pool = await create_pool(DatabaseSettings(url=database_url), DEFINITION.schema)
    reporting_pool = await create_pool(DatabaseSettings(url=database_url), REPORTING.schema)
    async with reporting_pool.acquire() as connection:
        await configure(connection, "EUR", buckets(), unmatched_alert_days=7)
    yield ledger_pool, reporting_pool
    await ledger_pool.close()
    await reporting_pool.close()


async def _publish(ledger_pool: asyncpg.Pool, reporting_pool: asyncpg.Pool) -> list[str]:
    """Project every ledger event of the outbox into reporting; their types."""
    rows = await ledger_pool.fetch(
        "SELECT value FROM outbox WHERE topic = 'ledger.events.v1' ORDER BY id"
    )
    records = [
        IncomingRecord(LEDGER_EVENTS.name, 0, n, b"C1", bytes(r["value"]))
        for n, r in enumerate(rows)
    ]
    clock = SimulatedClock(AT)
    await BatchProcessor(
        "reporting", REPORTING.consumes, apply_events, reporting_pool, clock
    ).process(records)
    return [LEDGER_EVENTS.parse(r.value).event_type for r in records]


async def _count(pool: asyncpg.Pool) -> tuple[int, datetime | None]:
    async with pool.acquire() as connection:
        return await queries.unmatched_cash(connection)


async def _row(pool: asyncpg.Pool, sql: str) -> asyncpg.Record:
    row = await pool.fetchrow(sql)
    assert row is not None
    return row


def _gauge(name: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"service": "ingestion"})


async def _unmatched(pool: asyncpg.Pool, day: object) -> list[tuple[object, ...]]:
    rows = await pool.fetch(
        "SELECT document_id, amount, awaiting, age_days, over_alert_age "
        "FROM unmatched_cash_as_of($1)",
        day,
    )
    return [tuple(r) for r in rows]


async def _park(ledger_pool: asyncpg.Pool) -> None:
    feed, batches = Feed(), processor(ledger_pool)
    await batches.process(feed.records([invoice("F1", "100")]))
    await batches.process(feed.records([payment("P9", "30", allocations=(("F-TYPO", "30"),))]))


async def test_parked_money_is_published_measured_and_listed(
    pools: tuple[asyncpg.Pool, asyncpg.Pool],
) -> None:
    ledger_pool, reporting_pool = pools
    await _park(ledger_pool)
    parked_at = await ledger_pool.fetchval("SELECT parked_at FROM parked_documents")
    assert _gauge("relance_ingestion_unmatched_documents") == 1
    assert _gauge("relance_ingestion_unmatched_oldest_parked_timestamp_seconds") == (
        parked_at.timestamp()
    )
    assert (_gauge("relance_ingestion_unmatched_oldest_age_seconds") or 0) > 0
    assert await _count(ledger_pool) == (1, parked_at)

    types = await _publish(ledger_pool, reporting_pool)
    assert types[-1] == "ledger.unmatched_cash.recorded"
    day = parked_at.astimezone(UTC).date()
    assert await _unmatched(reporting_pool, day - timedelta(days=1)) == []
    assert await _unmatched(reporting_pool, day) == [("P9", Decimal("30"), ["F-TYPO"], 0, False)]
    # flagged once it has waited the alert age (7 days by default)
    assert await _unmatched(reporting_pool, day + timedelta(days=6)) == [
        ("P9", Decimal("30"), ["F-TYPO"], 6, False)
    ]
    assert await _unmatched(reporting_pool, day + timedelta(days=7)) == [
        ("P9", Decimal("30"), ["F-TYPO"], 7, True)
    ]
    # and the HTML report shows it
    async with reporting_pool.acquire() as connection:
        data = await gather(connection, day + timedelta(days=8))
    html = render(data)
    section = html[html.index('id="unmatched-cash-table"') :]
    assert "<td>P9</td>" in section
    assert "<td>F-TYPO</td>" in section
    assert "over alert age" in section.split("</table>")[0]


async def test_an_operator_releases_it_onto_the_customers_open_invoice(
    pools: tuple[asyncpg.Pool, asyncpg.Pool],
) -> None:
    ledger_pool, reporting_pool = pools
    await _park(ledger_pool)
    clock = SimulatedClock(AT + timedelta(days=9))
    async with ledger_pool.acquire() as connection:
        book = await decide(connection, KEY, "release", clock)
    assert not book.dead_parked
    assert await ledger_pool.fetchval("SELECT open_amount FROM invoices") == Decimal("70")
    assert await ledger_pool.fetchval("SELECT count(*) FROM parked_documents") == 0
    assert await ledger_pool.fetchval("SELECT status FROM documents") == "applied"
    types = await _publish(ledger_pool, reporting_pool)
    assert types[-2:] == ["ledger.invoice.open_amount_changed", "ledger.unmatched_cash.cleared"]
    cleared = await _row(reporting_pool, "SELECT status, cleared_at FROM unmatched_cash_documents")
    assert tuple(cleared) == ("released", clock.now())
    assert await _unmatched(reporting_pool, clock.now().date()) == []
    # the payment counts from its value date in past balances
    open_items = await reporting_pool.fetch(
        "SELECT open_amount FROM open_items_as_of('2026-02-10')"
    )
    assert [r[0] for r in open_items] == [Decimal("70")]
    with pytest.raises(NotUnmatched):
        async with ledger_pool.acquire() as connection:
            await decide(connection, KEY, "release", clock)


async def test_an_operator_dead_letters_it_and_nothing_of_it_is_applied(
    pools: tuple[asyncpg.Pool, asyncpg.Pool],
) -> None:
    ledger_pool, reporting_pool = pools
    await _park(ledger_pool)
    clock = SimulatedClock(datetime(2026, 3, 20, 10, 0, tzinfo=UTC))
    async with ledger_pool.acquire() as connection:
        await decide(connection, KEY, "dead_letter", clock, "refunded to the customer")
    assert await ledger_pool.fetchval("SELECT open_amount FROM invoices") == Decimal("100")
    assert await ledger_pool.fetchval("SELECT status FROM parked_documents") == "rejected"
    assert await _count(ledger_pool) == (0, None)
    dead = await _row(
        ledger_pool,
        "SELECT value, headers::jsonb AS headers FROM outbox WHERE topic = 'erp.payments.v1.dlq'",
    )
    headers = {k: base64.b64decode(v).decode() for k, v in dead["headers"]}
    assert (headers["dlq.reason"], headers["dlq.detail"]) == (
        "operator_dead_lettered",
        "refunded to the customer",
    )
    assert b'"P9"' in bytes(dead["value"])
    await _publish(ledger_pool, reporting_pool)
    row = await _row(reporting_pool, "SELECT status, reason FROM unmatched_cash_documents")
    assert tuple(row) == ("dead_lettered", "operator_dead_lettered")
    assert await _unmatched(reporting_pool, clock.now().date()) == []
    count, _ = await _count(ledger_pool)
    metrics.record_unmatched("ingestion", count, None)
    assert _gauge("relance_ingestion_unmatched_documents") == 0
    assert _gauge("relance_ingestion_unmatched_oldest_age_seconds") == 0
