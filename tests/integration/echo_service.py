"""A tiny service on the runtime kit, run as a process by the tests.

It consumes one invoice topic (named by ``ECHO_TOPIC``), records each invoice in its
schema after ``ECHO_DELAY_S`` seconds per batch, and emits nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic_settings import SettingsConfigDict

from contracts import erp
from contracts.envelope import Event
from contracts.topics import ERP_INVOICES
from services.runtime.consumer import UnitOfWork
from services.runtime.service import ServiceContext, ServiceDefinition, ServiceParts, run
from services.runtime.settings import ServiceSettings, load


class EchoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ECHO_", extra="ignore")

    delay_s: float = 0.0


async def build(context: ServiceContext) -> ServiceParts:
    delay = float(os.environ.get("ECHO_DELAY_S", "0"))
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

    return ServiceParts(handler=handle)


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
