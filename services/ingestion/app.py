"""Wiring of the ingestion service: what it consumes, owns and runs.

It owns the PostgreSQL schema ``ledger`` and reads no other service's tables.
"""

from __future__ import annotations

from services.ingestion.settings import IngestionSettings
from services.runtime.service import ServiceContext, ServiceDefinition, ServiceParts


async def build(context: ServiceContext) -> ServiceParts:
    return ServiceParts()


DEFINITION = ServiceDefinition(
    name="ingestion",
    schema="ledger",
    migrations=None,
    consumes=(),
    settings_class=IngestionSettings,
    build=build,
)
