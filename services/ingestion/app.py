"""Wiring of the ingestion service: what it consumes, owns and runs.

It owns the PostgreSQL schema ``ledger`` and reads no other service's tables.
"""

from __future__ import annotations

from pathlib import Path

from contracts.topics import ERP_TOPICS
from services.ingestion import metrics, queries
from services.ingestion.handler import LedgerHandler
from services.ingestion.settings import IngestionSettings
from services.runtime.service import ServiceContext, ServiceDefinition, ServiceParts


async def build(context: ServiceContext) -> ServiceParts:
    settings = context.settings
    assert isinstance(settings, IngestionSettings)
    handler = LedgerHandler(
        context.name, frozenset(settings.company_codes), apply_credit=settings.apply_credit
    )
    async with context.pool.acquire() as connection:  # the gauges are right from the start
        count, oldest = await queries.unmatched_cash(connection)
    metrics.record_unmatched(context.name, count, None if oldest is None else oldest.timestamp())
    return ServiceParts(handler=handler.handle)


DEFINITION = ServiceDefinition(
    name="ingestion",
    schema="ledger",
    migrations=Path(__file__).parent / "migrations",
    consumes=ERP_TOPICS,
    settings_class=IngestionSettings,
    build=build,
)
