"""Wiring of the ingestion service: what it consumes, owns and runs.

It owns the PostgreSQL schema ``ledger`` and reads no other service's tables.
"""

from __future__ import annotations

from pathlib import Path

from contracts.topics import ERP_TOPICS
from services.ingestion import metrics, queries
from services.ingestion.handler import LedgerHandler
from services.ingestion.settings import IngestionSettings
from services.runtime.loops import every
from services.runtime.service import ServiceContext, ServiceDefinition, ServiceParts


async def build(context: ServiceContext) -> ServiceParts:
    settings = context.settings
    assert isinstance(settings, IngestionSettings)
    handler = LedgerHandler(
        context.name, frozenset(settings.company_codes), apply_credit=settings.apply_credit
    )

    async def measure_unmatched_cash() -> bool:
        # after operators' decisions too, which happen outside the service's batches
        async with context.pool.acquire() as connection:
            count, oldest = await queries.unmatched_cash(connection)
        metrics.record_unmatched(
            context.name, count, None if oldest is None else oldest.timestamp()
        )
        return False

    return ServiceParts(
        handler=handler.handle,
        # a batch reads a customer's rows, applies in memory and writes them back: during a
        # rebalance the old and the new owner of a partition must not both do so at once
        partition_locks=True,
        # the ledger recognises a repeated ERP event by its own keys (an invoice's content,
        # a document's id and content, a customer's version): Kafka's redeliveries are
        # skipped by the offsets kept in the batch's transaction, no inbox row per event
        dedupe_by_offsets=True,
        # a batch emits 1.5 ledger events per ERP event, thousands: a dozen to an outbox row
        # (docs/ingestion.md, thirteenth round)
        outbox_chunks=True,
        # a batch's parsed events, rows and ledger events are alive until it ends: the
        # collector's runs in between walked them all and freed none (docs/ingestion.md,
        # issue 22's tenth round)
        gc_paused=True,
        loops={
            "unmatched_cash": every(
                settings.unmatched_cash_interval_s, measure_unmatched_cash, name="unmatched_cash"
            )
        },
    )


DEFINITION = ServiceDefinition(
    name="ingestion",
    schema="ledger",
    migrations=Path(__file__).parent / "migrations",
    consumes=ERP_TOPICS,
    settings_class=IngestionSettings,
    build=build,
)
