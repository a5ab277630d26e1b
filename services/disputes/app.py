"""Wiring of the disputes service: what it consumes, owns and runs.

It owns the PostgreSQL schema ``disputes`` and reads no other service's tables.
"""

from __future__ import annotations

from services.disputes.settings import DisputesSettings
from services.runtime.service import ServiceContext, ServiceDefinition, ServiceParts


async def build(context: ServiceContext) -> ServiceParts:
    return ServiceParts()


DEFINITION = ServiceDefinition(
    name="disputes",
    schema="disputes",
    migrations=None,
    consumes=(),
    settings_class=DisputesSettings,
    build=build,
)
