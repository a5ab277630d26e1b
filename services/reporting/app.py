"""Wiring of the reporting service: what it consumes, owns and runs.

It owns the PostgreSQL schema ``reporting`` and reads no other service's tables.
"""

from __future__ import annotations

from services.reporting.settings import ReportingSettings
from services.runtime.service import ServiceContext, ServiceDefinition, ServiceParts


async def build(context: ServiceContext) -> ServiceParts:
    return ServiceParts()


DEFINITION = ServiceDefinition(
    name="reporting",
    schema="reporting",
    migrations=None,
    consumes=(),
    settings_class=ReportingSettings,
    build=build,
)
