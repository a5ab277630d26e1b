"""The ingestion service as a real process on real Kafka and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
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
from tests.unit.ingestion.erp_events import customer, invoice, payment

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
TOPIC_OF = {
    "erp.customer.upserted": "erp.customers.v1",
    "erp.invoice.issued": "erp.invoices.v1",
    "erp.payment.received": "erp.payments.v1",
}


async def test_service_builds_the_ledger_from_kafka_and_publishes_ledger_events(
    kafka_bootstrap: str, database_url: str
) -> None:
    prefix = f"test-{uuid.uuid4().hex[:10]}."
    names = [prefix + t.name for t in ERP_TOPICS] + [prefix + LEDGER_EVENTS.name]
    await create_topics(kafka_bootstrap, names + [prefix + t.dead_letter for t in ERP_TOPICS])
    events: list[Event] = [
        customer("C1"),
        payment("P0", "25", allocations=(("F9", "25"),)),  # before its invoice
        *[invoice(f"F{n}", "100") for n in range(10)],
        payment("P1", "250"),
        invoice("F99", company="ZZ99"),
    ]
    for event in events:
        await produce(
            kafka_bootstrap,
            prefix + TOPIC_OF[event.event_type],
            [(b"C1", event.model_dump_json().encode())],
        )
    await produce(kafka_bootstrap, prefix + "erp.invoices.v1", [(b"C1", b"{broken")])

    env = {
        **os.environ,
        "INGESTION_TEST_PREFIX": prefix,
        "RELANCE_INGESTION_HTTP_PORT": "0",
        "RELANCE_INGESTION_COMPANY_CODES": '["FR01"]',
        "RELANCE_INGESTION_DEAD_LETTER_MAX_RATIO": "1.0",
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(ROOT),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.ingestion.ingestion_process",
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    connection = await asyncpg.connect(database_url)
    try:

        async def booked() -> bool:
            try:
                # 14 events and the broken record, each consumed once: the offsets kept with
                # the ledger, and no inbox row per event
                return bool(
                    await connection.fetchval(
                        "SELECT coalesce(sum(next_offset), 0) = 15 "
                        "AND NOT EXISTS (SELECT 1 FROM ledger.inbox) FROM ledger.consumed_offsets"
                    )
                )
            except asyncpg.UndefinedTableError:
                return False

        await eventually(booked, timeout_s=60)
        # topics are not ordered with each other: P1 may come before the invoices (then it
        # is credit balance) or after (then it pays the oldest due); the totals hold either way
        open_total = await connection.fetchval("SELECT sum(open_amount) FROM ledger.invoices")
        credit = await connection.fetchval(
            "SELECT coalesce(sum(balance), 0) FROM ledger.credit_balances"
        )
        assert open_total - credit == Decimal(1000 - 25 - 250)
        to_f9 = await connection.fetchval(
            "SELECT sum(amount) FROM ledger.allocations WHERE document_id = 'P0'"
        )
        assert to_f9 == Decimal(25)
        assert await connection.fetchval("SELECT count(*) FROM ledger.parked_documents") == 0
        published = await consume(kafka_bootstrap, prefix + LEDGER_EVENTS.name, expected=12)
        types = [json.loads(r.value)["event_type"] for r in published]
        assert types.count("ledger.invoice.opened") == 10
        assert types.count("ledger.customer.upserted") == 1
        dead = await consume(kafka_bootstrap, prefix + "erp.invoices.v1.dlq", expected=2)
        reasons = sorted(dict(r.headers)["dlq.reason"].decode() for r in dead)
        assert reasons == ["malformed_json", "unknown_company"]
    finally:
        await connection.close()
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
