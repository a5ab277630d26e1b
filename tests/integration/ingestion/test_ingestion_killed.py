"""SIGKILL at a random point of a replay: the restarted service ends with the same ledger."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from contracts.envelope import Event
from contracts.topics import ERP_TOPICS, LEDGER_EVENTS
from tests.kafka_tools import consume, create_topics, eventually, produce
from tests.unit.ingestion.erp_events import invoice, payment

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def stream(invoices: int) -> tuple[list[Event], dict[str, Decimal]]:
    """Invoices and explicitly allocated partial payments: the outcome is order-independent."""
    rng = random.Random(3)
    events: list[Event] = []
    expected: dict[str, Decimal] = {}
    for n in range(invoices):
        number, customer = f"F{n}", f"C{n % 17}"
        amount = Decimal(rng.randrange(1000, 100000)) / 100
        events.append(invoice(number, str(amount), customer_id=customer))
        paid = Decimal(0)
        for k in range(rng.randrange(3)):
            part = (amount / 4).quantize(Decimal("0.01"))
            events.append(
                payment(
                    f"P{n}-{k}", str(part), customer_id=customer, allocations=((number, str(part)),)
                )
            )
            paid += part
        expected[number] = amount - paid
    rng.shuffle(events)
    return events, expected


async def start(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.ingestion.ingestion_process",
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def test_killed_and_restarted_service_loses_and_duplicates_nothing(
    kafka_bootstrap: str, database_url: str
) -> None:
    prefix = f"test-{uuid.uuid4().hex[:10]}."
    await create_topics(
        kafka_bootstrap,
        [prefix + t.name for t in ERP_TOPICS]
        + [prefix + t.dead_letter for t in ERP_TOPICS]
        + [prefix + LEDGER_EVENTS.name],
    )
    events, expected = stream(1500)
    by_type = {"erp.invoice.issued": "erp.invoices.v1", "erp.payment.received": "erp.payments.v1"}
    for name in set(by_type.values()):
        await produce(
            kafka_bootstrap,
            prefix + name,
            [
                (e.customer_id.encode(), e.model_dump_json().encode())
                for e in events
                if by_type[e.event_type] == name
            ],
        )
    env = {
        **os.environ,
        "INGESTION_TEST_PREFIX": prefix,
        "RELANCE_INGESTION_HTTP_PORT": "0",
        "RELANCE_INGESTION_BATCH_MAX_RECORDS": "100",
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(ROOT),
    }
    connection = await asyncpg.connect(database_url)

    async def applied_count() -> int:
        """Records applied: the offsets kept with the ledger (fresh topics start at 0)."""
        try:
            return int(
                await connection.fetchval(
                    "SELECT coalesce(sum(next_offset), 0) FROM ledger.consumed_offsets"
                )
            )
        except asyncpg.UndefinedTableError:
            return 0

    try:
        for _ in range(2):  # kill it twice, at whatever point it reached
            process = await start(env)
            before = await applied_count()
            await eventually(lambda b=before: _grew(applied_count, b), timeout_s=60)
            process.kill()
            await process.wait()
        assert 0 < await applied_count() < len(events)  # killed mid-stream
        final = await start(env)
        try:
            await eventually(lambda: _reached(applied_count, len(events)), timeout_s=120)
            await eventually(lambda: _outbox_empty(connection), timeout_s=60)
        finally:
            final.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(final.wait(), 30) == 0
        rows = await connection.fetch("SELECT invoice_number, open_amount FROM ledger.invoices")
        assert {r[0]: r[1] for r in rows} == expected
        assert await connection.fetchval("SELECT count(*) FROM ledger.parked_documents") == 0
    finally:
        await connection.close()

    # read the whole ledger topic: more records than there can be, until the timeout
    published = await consume(
        kafka_bootstrap, prefix + LEDGER_EVENTS.name, expected=10 * len(events), timeout_s=15
    )
    last_open: dict[str, Decimal] = {}
    unmatched: set[str] = set()
    seen: set[str] = set()
    for record in published:  # downstream dedupe by event id, in partition order
        event = json.loads(record.value)
        if event["event_id"] in seen:
            continue
        seen.add(event["event_id"])
        payload = event["payload"]
        if event["event_type"] == "ledger.invoice.settled":
            last_open[payload["invoice_number"]] = Decimal(0)
        elif event["event_type"] == "ledger.unmatched_cash.recorded":
            unmatched.add(payload["document_id"])
        elif event["event_type"] == "ledger.unmatched_cash.cleared":
            assert payload["outcome"] == "matched"
            unmatched.remove(payload["document_id"])
        else:
            last_open[payload["invoice_number"]] = Decimal(payload["open_amount"]["amount"])
    assert last_open == expected
    # every payment that waited for its invoice was published waiting, then matched
    assert unmatched == set()


async def _grew(count: object, before: int) -> bool:
    assert callable(count)
    return bool(await count() > before + 100)


async def _reached(count: object, total: int) -> bool:
    assert callable(count)
    return bool(await count() >= total)


async def _outbox_empty(connection: asyncpg.Connection) -> bool:
    return bool(await connection.fetchval("SELECT count(*) = 0 FROM ledger.outbox"))
