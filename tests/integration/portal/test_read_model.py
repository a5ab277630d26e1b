"""The portal's read model, built through the kit's batch processor on a fresh database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import asyncpg
import pytest

from contracts import disputes, ledger
from contracts.money import Money
from services.portal import queries
from services.portal.app import DEFINITION, SCHEMA
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.database import create_pool
from services.runtime.settings import DatabaseSettings
from tests.integration.portal.conftest import feed
from tests.unit.portal import samples

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    await migrations.apply_async(database_url, SCHEMA, DEFINITION.migrations)
    pool = await create_pool(DatabaseSettings(url=database_url), SCHEMA)
    yield pool
    await pool.close()


async def test_migrating_an_empty_database_gives_the_declared_tables(pool: asyncpg.Pool) -> None:
    tables = {
        r["table_name"]
        for r in await pool.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", SCHEMA
        )
    }
    assert {"customers", "invoices", "receipts", "pauses", "revoked_links"} <= tables
    assert {"inbox", "outbox"} <= tables  # the kit's


async def open_numbers(pool: asyncpg.Pool) -> dict[str, str]:
    rows = await pool.fetch(queries.OPEN_INVOICES, samples.CUSTOMER, samples.COMPANY)
    return {r["invoice_number"]: str(r["open_amount"]) for r in rows}


async def test_invoices_open_change_and_close_and_receipts_are_listed(pool: asyncpg.Pool) -> None:
    clock = SimulatedClock(samples.NOW)
    await feed(pool, clock, samples.account_events())
    assert await open_numbers(pool) == {
        "F-2026-001": "700.00",
        "F-2026-002": "480.00",
        "F-2026-003": "950.00",
        "F-2026-004": "300.00",
        "F-2026-005": "800.00",
        "US-2026-010": "2500.00",
    }
    cancelled = ledger.LedgerInvoiceCancelled(
        event_id=uuid.uuid4(),
        occurred_at=samples.NOW,
        source="ingestion",
        payload=ledger.Cancellation(
            company_code=samples.COMPANY,
            customer_id=samples.CUSTOMER,
            invoice_id="FR01/F-2026-002",
            invoice_number="F-2026-002",
            previous_open_amount=Money(amount=Decimal("480.00"), currency="EUR"),
        ),
    )
    await feed(pool, clock, [cancelled])
    assert "F-2026-002" not in await open_numbers(pool)
    receipts = await pool.fetch(
        queries.RECEIPTS_SINCE, samples.CUSTOMER, samples.COMPANY, date(2026, 1, 1)
    )
    assert [(r["cause"], r["invoice_number"], str(r["amount"])) for r in receipts] == [
        ("payment", "F-2026-001", "500.00"),
        ("credit_note", "F-2025-090", "150.00"),
    ]  # a cancellation is not money received


async def test_pauses_end_with_their_dispute_promise_or_plan(pool: asyncpg.Pool) -> None:
    clock = SimulatedClock(samples.NOW)
    events = samples.account_events()
    await feed(pool, clock, events)
    assert {r["kind"] for r in await pool.fetch(queries.PAUSES, samples.CUSTOMER)} == {
        "dispute",
        "promise",
        "plan",
    }
    opened = next(e for e in events if isinstance(e, disputes.DisputeOpened))
    made = next(e for e in events if isinstance(e, disputes.PromiseMade))
    resolved = disputes.DisputeResolved(
        event_id=uuid.uuid4(),
        occurred_at=samples.NOW,
        source="disputes",
        payload=disputes.ResolvedDispute(
            customer_id=samples.CUSTOMER,
            invoice_ids=opened.payload.invoice_ids,
            dispute_id=opened.payload.dispute_id,
            outcome="rejected",
            by="sales@example.com",
        ),
    )
    kept = disputes.PromiseKept(
        event_id=uuid.uuid4(),
        occurred_at=samples.NOW,
        source="disputes",
        payload=disputes.KeptPromise(
            promise_id=made.payload.promise_id,
            customer_id=samples.CUSTOMER,
            invoice_ids=made.payload.invoice_ids,
            kept_on=date(2026, 3, 10),
        ),
    )
    await feed(pool, clock, [resolved, kept])
    assert {r["kind"] for r in await pool.fetch(queries.PAUSES, samples.CUSTOMER)} == {"plan"}


async def test_an_older_customer_version_does_not_overwrite_a_newer_one(
    pool: asyncpg.Pool,
) -> None:
    clock = SimulatedClock(samples.NOW)
    newer = samples.customer(language="de", name="Dupont GmbH", version=3)
    await feed(pool, clock, [newer, samples.customer(language="fr")])
    row = await pool.fetchrow(queries.CUSTOMER, samples.CUSTOMER, samples.COMPANY)
    assert row is not None
    assert (row["language"], row["name"]) == ("de", "Dupont GmbH")
