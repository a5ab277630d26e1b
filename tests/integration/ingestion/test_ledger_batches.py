"""The ingestion handler through the runtime kit's BatchProcessor, on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY

from contracts import erp
from contracts.envelope import Event
from contracts.topics import ERP_CREDIT_NOTES, ERP_CUSTOMERS, ERP_INVOICES, ERP_PAYMENTS, Topic
from services.ingestion.app import DEFINITION
from services.ingestion.handler import LedgerHandler
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import BatchOutcome, BatchProcessor, Handler, UnitOfWork
from services.runtime.dead_letter import IncomingRecord
from tests.unit.ingestion.erp_events import (
    cancellation,
    credit_note,
    customer,
    invoice,
    payment,
    with_new_id,
)

pytestmark = pytest.mark.integration

CLOCK = SimulatedClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
TOPIC_OF = {
    "erp.customer.upserted": ERP_CUSTOMERS,
    "erp.invoice.issued": ERP_INVOICES,
    "erp.invoice.updated": ERP_INVOICES,
    "erp.invoice.cancelled": ERP_INVOICES,
    "erp.payment.received": ERP_PAYMENTS,
    "erp.credit_note.issued": ERP_CREDIT_NOTES,
}


class Feed:
    """Turns events and raw bytes into Kafka-like records with growing offsets."""

    def __init__(self) -> None:
        self.offset = 0

    def records(self, items: Sequence[Event | tuple[Topic, bytes]]) -> list[IncomingRecord]:
        out = []
        for item in items:
            if isinstance(item, tuple):
                topic, value = item
            else:
                topic, value = TOPIC_OF[item.event_type], item.model_dump_json().encode()
            out.append(IncomingRecord(topic.name, 0, self.offset, b"C1", value))
            self.offset += 1
        return out


def processor(
    pool: asyncpg.Pool, companies: frozenset[str] = frozenset(), *, by_offsets: bool = False
) -> BatchProcessor:
    handler = LedgerHandler(known_companies=companies)
    return BatchProcessor(
        "ingestion",
        DEFINITION.consumes,
        handler.handle,
        pool,
        CLOCK,
        dead_letter_max_ratio=1.0,
        dedupe_by_offsets=by_offsets,
    )


async def outbox(pool: asyncpg.Pool, topic: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT topic, value, headers::jsonb AS headers FROM outbox ORDER BY id"
    )
    return [
        {"value": json.loads(bytes(r["value"])), "headers": r["headers"]}
        for r in rows
        if r["topic"] == topic
    ]


async def dead_reasons(pool: asyncpg.Pool, *topics: str) -> list[str]:
    rows = await pool.fetch("SELECT topic, headers::jsonb AS headers FROM outbox ORDER BY id")
    return [
        base64.b64decode(dict(r["headers"])["dlq.reason"]).decode()
        for r in rows
        if r["topic"] in topics
    ]


async def totals(pool: asyncpg.Pool) -> list[tuple[Any, ...]]:
    rows = await pool.fetch(
        "SELECT customer_id, currency, sum(amount)::text, sum(open_amount)::text, count(*) "
        "FROM invoices GROUP BY 1, 2 UNION ALL "
        "SELECT customer_id, currency, balance::text, 'credit', 0 FROM credit_balances "
        "ORDER BY 1, 2, 4"
    )
    return [tuple(r) for r in rows]


async def test_payment_before_its_invoice_is_parked_then_applied(pool: asyncpg.Pool) -> None:
    feed, batches = Feed(), processor(pool)
    await batches.process(feed.records([payment("P1", "30", allocations=(("F1", "30"),))]))
    assert await pool.fetchval("SELECT count(*) FROM parked_documents") == 1
    assert await pool.fetchval("SELECT count(*) FROM invoices") == 0
    recorded = await outbox(pool, "ledger.events.v1")
    assert [e["value"]["event_type"] for e in recorded] == ["ledger.unmatched_cash.recorded"]

    await batches.process(feed.records([invoice("F1", "100")]))

    assert await pool.fetchval("SELECT count(*) FROM parked_documents") == 0
    assert await pool.fetchval("SELECT open_amount FROM invoices") == Decimal("70")
    assert await pool.fetchval("SELECT status FROM documents") == "applied"
    events = (await outbox(pool, "ledger.events.v1"))[1:]
    assert [e["value"]["event_type"] for e in events] == [
        "ledger.invoice.opened",
        "ledger.invoice.open_amount_changed",
        "ledger.unmatched_cash.cleared",
    ]
    assert Decimal(events[0]["value"]["payload"]["open_amount"]["amount"]) == 100
    changed = events[1]["value"]
    assert (changed["schema_version"], changed["payload"]["value_date"]) == (2, "2026-02-10")
    assert Decimal(changed["payload"]["open_amount"]["amount"]) == 70


async def test_duplicates_and_conflicts(pool: asyncpg.Pool) -> None:
    feed, batches = Feed(), processor(pool)
    first = invoice("F1", "100")
    await batches.process(feed.records([first, customer(version=2)]))
    outcome = await batches.process(
        feed.records(
            [
                with_new_id(first),  # same content, new event id: no-op
                invoice("F1", "90", version=1, updated=True),  # same version, other content
                invoice("F1", "120", version=2, updated=True),  # newer: an update
                customer(version=1, name="Old name"),  # older: ignored
            ]
        )
    )
    assert outcome == BatchOutcome(applied=3, duplicates=0, dead_lettered=1)
    assert await pool.fetchval("SELECT amount FROM invoices") == Decimal("120")
    assert await pool.fetchval("SELECT name FROM customers") == "Dupont SA"
    assert await dead_reasons(pool, "erp.invoices.v1.dlq") == ["invoice_conflict"]


RACES = {
    "invoice": (
        invoice("F1", "100", customer_id="C1"),
        invoice("F1", "999", customer_id="C2"),
        "invoices",
        "invoice_conflict",
    ),
    "payment": (
        payment("P1", "100", customer_id="C1"),
        payment("P1", "999", customer_id="C2"),
        "documents",
        "document_conflict",
    ),
}


@pytest.mark.parametrize("kind", RACES)
async def test_two_customers_racing_on_one_document_number_leave_the_first_one_whole(
    pool: asyncpg.Pool, kind: str
) -> None:
    """Two replicas, two customers' partitions, one invoice number (or payment id) of one
    company written by both at once: each batch read it absent; the second's insert waits
    for the first's commit, fails on the key, and its batch is retried, reads the first
    customer's row and dead-letters its own as a conflict. The first stays whole, and the
    second customer's document changed nothing (no second payment applied as credit)."""
    first_event, second_event, table, reason = RACES[kind]
    topic = TOPIC_OF[first_event.event_type]
    handler = LedgerHandler()
    first_written, release_first = asyncio.Event(), asyncio.Event()

    async def first_handler(work: UnitOfWork, events: Sequence[Event]) -> None:
        await handler.handle(work, events)  # C1's row inserted, not committed yet
        first_written.set()
        await release_first.wait()

    def replica(handle: Handler) -> BatchProcessor:
        return BatchProcessor(
            "ingestion",
            DEFINITION.consumes,
            handle,
            pool,
            CLOCK,
            dead_letter_max_ratio=1.0,
            partition_locks=True,
            retry_for_s=30.0,
        )

    def record(event: Event, partition: int) -> IncomingRecord:
        value = event.model_dump_json().encode()
        return IncomingRecord(topic.name, partition, 0, event.payload.customer_id.encode(), value)

    def retries() -> float:
        sample = REGISTRY.get_sample_value(
            "relance_batch_retries_total", {"service": "ingestion", "error": "WriteConflict"}
        )
        return sample or 0.0

    retried_before = retries()
    first = asyncio.create_task(replica(first_handler).process([record(first_event, 0)]))
    await asyncio.wait_for(first_written.wait(), 10)
    second = asyncio.create_task(replica(handler.handle).process([record(second_event, 1)]))
    for _ in range(200):  # the second's insert waits on the first's row
        waiting = await pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        if waiting:
            break
        await asyncio.sleep(0.05)
    assert waiting == 1
    release_first.set()
    assert await asyncio.wait_for(first, 10) == BatchOutcome(
        applied=1, duplicates=0, dead_lettered=0
    )
    assert await asyncio.wait_for(second, 30) == BatchOutcome(
        applied=0, duplicates=0, dead_lettered=1
    )
    assert retries() == retried_before + 1  # counted (and logged as batch_retried)
    rows = await pool.fetch(f"SELECT customer_id, amount FROM {table}")
    assert [tuple(r) for r in rows] == [("C1", Decimal("100"))]
    assert await dead_reasons(pool, f"{topic.name}.dlq") == [reason]
    emitted = await outbox(pool, "ledger.events.v1")
    assert emitted
    assert {e["value"]["payload"]["customer_id"] for e in emitted} == {"C1"}
    assert await pool.fetchval("SELECT count(*) FROM credit_balances WHERE customer_id = 'C2'") == 0


def scenario() -> list[Event]:
    events: list[Event] = [customer("C1"), customer("C2")]
    for n in range(30):
        events.append(invoice(f"F{n}", f"{100 + n}.25", customer_id=f"C{n % 2 + 1}"))
    events += [
        payment("P1", "150", customer_id="C1"),
        payment("P2", "1000.10", customer_id="C2", reference="F9"),
        credit_note("A1", "20", "F4", customer_id="C1"),
        credit_note("A2", "7.5", customer_id="C2"),
        cancellation("F6", customer_id="C1"),
        payment("P3", "99", customer_id="C1", allocations=(("F40", "50"),)),
        invoice("F40", "60", customer_id="C1"),
    ]
    return events


@pytest.mark.parametrize("by_offsets", [False, True], ids=["inbox", "offsets"])
async def test_replaying_the_stream_twice_leaves_identical_totals(
    pool: asyncpg.Pool, database_url: str, by_offsets: bool
) -> None:
    events = scenario()
    feed, batches = Feed(), processor(pool, by_offsets=by_offsets)
    for start in range(0, len(events), 7):
        await batches.process(feed.records(events[start : start + 7]))
    first = await totals(pool)
    emitted = await pool.fetchval("SELECT count(*) FROM outbox")
    assert first  # something was booked

    replay = Feed()  # the same records from offset 0, and the same ERP documents re-sent
    for start in range(0, len(events), 11):
        await batches.process(replay.records(events[start : start + 11]))
    resent = [with_new_id(e) for e in events if isinstance(e, erp.InvoiceIssued)]
    await batches.process(feed.records(resent))
    assert await totals(pool) == first
    assert await pool.fetchval("SELECT count(*) FROM outbox") == emitted
    if by_offsets:
        # the same events (same ids) published again at new offsets: no inbox says they
        # were applied, the ledger's own keys do; nothing emitted, nothing dead-lettered
        assert await pool.fetchval("SELECT count(*) FROM inbox") == 0
        outcomes = [
            await batches.process(feed.records(events[start : start + 9]))
            for start in range(0, len(events), 9)
        ]
        assert sum(o.applied for o in outcomes) == len(events)
        assert sum(o.dead_lettered for o in outcomes) == 0
        assert await totals(pool) == first
        assert await pool.fetchval("SELECT count(*) FROM outbox") == emitted
    paid = await pool.fetchval("SELECT sum(amount) FROM allocations")
    credit = await pool.fetchval("SELECT sum(balance) FROM credit_balances")
    documents = await pool.fetchval("SELECT sum(amount) FROM documents")
    cancelled_paid = Decimal(0)  # F6 had nothing paid when cancelled
    assert paid + credit == documents + cancelled_paid


async def test_bad_inputs_are_dead_lettered_with_reasons_and_every_record_is_counted(
    pool: asyncpg.Pool,
) -> None:
    valid: list[Event] = [
        invoice("F1", "100"),
        invoice("F2", "50", currency="USD"),
        payment("P1", "10"),
        payment("P9", "10", allocations=(("F77", "10"),)),  # parked
        cancellation("F404"),  # parked until F404 arrives
        credit_note("A1", "5", "F1"),
    ]
    good_invoice = invoice("F3", "10").model_dump_json()
    bad: list[tuple[Topic, bytes, str]] = [
        (ERP_INVOICES, b"{not json", "malformed_json"),
        (ERP_INVOICES, good_invoice.replace('"EUR"', '"ZZZ"').encode(), "unknown_currency"),
        (
            ERP_INVOICES,
            good_invoice.replace('"amount":"10"', '"amount":"-10"').encode(),
            "non_positive_amount",
        ),
        (
            ERP_INVOICES,
            good_invoice.replace("2026-02-01", "2025-12-01").encode(),
            "due_before_issue",
        ),
        (
            ERP_INVOICES,
            good_invoice.replace('"customer_id"', '"client"').encode(),
            "schema_invalid",
        ),
    ]
    inapplicable: list[tuple[Event, str]] = [
        (payment("P2", "50", currency="USD", allocations=(("F1", "50"),)), "currency_mismatch"),
        (invoice("F5", company="ZZ99"), "unknown_company"),
        (invoice("F1", "101"), "invoice_conflict"),
    ]
    items: list[Event | tuple[Topic, bytes]] = [*valid]
    items[1:1] = [(t, v) for t, v, _ in bad]
    items += [e for e, _ in inapplicable]
    outcome = await processor(pool, frozenset({"FR01"})).process(Feed().records(items))

    dead = await dead_reasons(pool, "erp.invoices.v1.dlq", "erp.payments.v1.dlq")
    assert sorted(dead) == sorted([r for _, _, r in bad] + [r for _, r in inapplicable])
    parked = await pool.fetchval("SELECT count(*) FROM parked_documents")
    booked = await pool.fetchval(
        "SELECT (SELECT count(*) FROM invoices) + "
        "(SELECT count(*) FROM documents WHERE status = 'applied')"
    )
    assert parked == 2
    assert booked == len(valid) - parked
    assert outcome.applied == len(valid)
    assert len(items) == booked + parked + outcome.dead_lettered


async def test_parked_events_found_inapplicable_later_are_dead_lettered_then(
    pool: asyncpg.Pool,
) -> None:
    feed, batches = Feed(), processor(pool)
    early_payment = payment("P1", "30", currency="USD", allocations=(("F1", "30"),))
    early_cancel = cancellation("F2", customer_id="C9")
    first = await batches.process(feed.records([early_payment, early_cancel]))
    assert (first.applied, first.dead_lettered) == (2, 0)
    assert await dead_reasons(pool, "erp.payments.v1.dlq", "erp.invoices.v1.dlq") == []

    second = await batches.process(feed.records([invoice("F1", "100"), invoice("F2", "80")]))
    assert second.dead_lettered == 0  # the invoices themselves are fine
    rows = await pool.fetch(
        "SELECT topic, value, headers::jsonb AS headers FROM outbox "
        "WHERE topic LIKE '%.dlq' ORDER BY id"
    )
    dead = {r["topic"]: {k: base64.b64decode(v).decode() for k, v in r["headers"]} for r in rows}
    assert dead["erp.payments.v1.dlq"]["dlq.reason"] == "currency_mismatch"
    assert dead["erp.payments.v1.dlq"]["dlq.event_id"] == str(early_payment.event_id)
    assert dead["erp.payments.v1.dlq"]["dlq.offset"] == "-1"
    assert dead["erp.invoices.v1.dlq"]["dlq.reason"] == "invoice_conflict"
    values = {
        r["topic"]: erp.InvoiceCancelled.model_validate_json(r["value"])
        for r in rows
        if r["topic"] == "erp.invoices.v1.dlq"
    }
    assert values["erp.invoices.v1.dlq"] == early_cancel
    statuses = await pool.fetch("SELECT kind, status FROM parked_documents ORDER BY kind")
    assert [tuple(r) for r in statuses] == [("cancellation", "rejected"), ("payment", "rejected")]
    open_amounts = await pool.fetch("SELECT open_amount FROM invoices ORDER BY invoice_number")
    assert [r["open_amount"] for r in open_amounts] == [Decimal(100), Decimal(80)]


async def test_invoices_paid_in_later_batches_are_stored_paid_with_the_rest_of_them_kept(
    pool: asyncpg.Pool,
) -> None:
    """An invoice stored by an earlier batch and paid by a later one is written back with
    what the payment changed (open amount, status, settlement day) and the rest of it as it
    was; the next batch reads what it wrote."""
    feed, batches = Feed(), processor(pool)
    await batches.process(feed.records([invoice("F1", "100"), invoice("F2", "50")]))
    columns = (
        "customer_id, version, currency, amount, issue_date, due_date, payment_terms, "
        "purchase_order, extra, content_hash"
    )
    before = {
        r["invoice_number"]: r
        for r in await pool.fetch(f"SELECT invoice_number, {columns} FROM invoices")
    }

    await batches.process(feed.records([payment("P1", "30", allocations=(("F1", "30"),))]))
    assert await _invoice_state(pool, "F1") == (Decimal("70"), "open", None)

    await batches.process(
        feed.records(
            [payment("P2", "70", allocations=(("F1", "70"),)), credit_note("C1", "20", "F2")]
        )
    )
    assert await _invoice_state(pool, "F1") == (Decimal("0"), "settled", date(2026, 2, 10))
    assert await _invoice_state(pool, "F2") == (Decimal("30"), "open", None)

    # a payment without allocations pays the oldest invoice still open, as stored just now
    await batches.process(feed.records([payment("P3", "40")]))
    assert await _invoice_state(pool, "F2") == (Decimal("0"), "settled", date(2026, 2, 10))
    assert await pool.fetchval("SELECT balance FROM credit_balances") == Decimal("10")
    after = {
        r["invoice_number"]: r
        for r in await pool.fetch(f"SELECT invoice_number, {columns} FROM invoices")
    }
    assert after == before  # nothing but what a payment changes was touched


async def _invoice_state(pool: asyncpg.Pool, number: str) -> tuple[Any, ...]:
    row = await pool.fetchrow(
        "SELECT open_amount, status, settled_on FROM invoices WHERE invoice_number = $1", number
    )
    assert row is not None
    return tuple(row)


async def test_only_the_customers_a_batch_upserts_are_read_and_an_older_version_changes_nothing(
    pool: asyncpg.Pool,
) -> None:
    handler = LedgerHandler()
    async with pool.acquire() as connection, connection.transaction():
        work = UnitOfWork(connection, CLOCK)
        await handler.handle(
            work, [customer("C1", version=5), customer("C3", version=1), invoice("F1")]
        )
        stale = customer("C1", version=3, name="Dupont et fils")
        events = [
            invoice("F2", customer_id="C3"),
            payment("P1", "50.00"),
            customer("C2", version=1),
            stale,
        ]
        book = await handler.load(UnitOfWork(connection, CLOCK), events)
        # C3, stored, is named by an invoice alone: no upsert of it compares versions
        assert sorted(book.customers) == ["C1"]
        assert book.customers["C1"].version == 5
        work = UnitOfWork(connection, CLOCK)
        await handler.handle(work, events)
        rows = await connection.fetch(
            "SELECT customer_id, version, name FROM customers ORDER BY customer_id"
        )
        assert [tuple(r) for r in rows] == [
            ("C1", 5, "Dupont SA"),
            ("C2", 1, "Dupont SA"),
            ("C3", 1, "Dupont SA"),
        ]
