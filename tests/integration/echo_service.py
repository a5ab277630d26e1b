"""A tiny service on the runtime kit, run as a process by the tests.

It consumes one invoice topic (named by ``ECHO_TOPIC``) and records each invoice in its
schema after ``ECHO_DELAY_S`` seconds per batch. Its one route, ``POST /invoices/{number}``,
writes an invoice to the outbox for that same topic (what an API does: a state change and
its event in one transaction), so that a test can emit while Kafka is away.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from fastapi import APIRouter
from pydantic_settings import SettingsConfigDict

from contracts import erp
from contracts.envelope import Event
from contracts.money import PositiveMoney
from contracts.topics import ERP_INVOICES
from services.runtime import outbox
from services.runtime.consumer import UnitOfWork
from services.runtime.service import ServiceContext, ServiceDefinition, ServiceParts, run
from services.runtime.settings import ServiceSettings, load


class EchoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ECHO_", extra="ignore")

    delay_s: float = 0.0


async def build(context: ServiceContext) -> ServiceParts:
    delay = float(os.environ.get("ECHO_DELAY_S", "0"))
    # a slow start-up (a long migration, say), for the test of SIGTERM during start-up
    await asyncio.sleep(float(os.environ.get("ECHO_BUILD_DELAY_S", "0")))
    await context.pool.execute(
        "CREATE TABLE IF NOT EXISTS seen (event_id uuid PRIMARY KEY, invoice_number text)"
    )

    async def handle(work: UnitOfWork, events: Sequence[Event]) -> None:
        await asyncio.sleep(delay)
        await work.connection.executemany(
            "INSERT INTO seen VALUES ($1, $2)",
            [
                (e.event_id, e.payload.invoice_number)
                for e in events
                if isinstance(e, erp.InvoiceIssued)
            ],
        )

    topic = os.environ["ECHO_TOPIC"]
    router = APIRouter()

    @router.post("/invoices/{number}")
    async def emit(number: str) -> dict[str, str]:
        event = invoice(number)
        async with context.pool.acquire() as connection, connection.transaction():
            await outbox.enqueue(
                connection,
                [
                    outbox.OutgoingRecord(
                        topic, number.encode(), event.model_dump_json().encode(), (), event.event_id
                    )
                ],
            )
        return {"event_id": str(event.event_id)}

    return ServiceParts(handler=handle, routes=[router])


def invoice(number: str) -> erp.InvoiceIssued:
    return erp.InvoiceIssued(
        event_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        source="test-erp",
        payload=erp.InvoicePayload(
            company_code="FR01",
            customer_id="C1",
            invoice_number=number,
            version=1,
            issue_date=date(2026, 1, 5),
            due_date=date(2026, 2, 4),
            amount=PositiveMoney(amount=Decimal("10.00"), currency="EUR"),
        ),
    )


def definition() -> ServiceDefinition:
    topic = dataclasses.replace(ERP_INVOICES, name=os.environ["ECHO_TOPIC"])
    return ServiceDefinition(
        name="echo",
        schema="echo",
        migrations=None,
        consumes=(topic,),
        settings_class=EchoSettings,
        build=build,
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    found = definition()
    sys.exit(asyncio.run(run(found, load(found.settings_class))))
