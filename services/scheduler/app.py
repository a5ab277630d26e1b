"""Wiring of the scheduler service: what it consumes, owns and runs.

It owns the PostgreSQL schema ``scheduler`` and reads no other service's tables.
"""

from __future__ import annotations

from services.runtime.service import ServiceContext, ServiceDefinition, ServiceParts
from services.scheduler.settings import SchedulerSettings


async def build(context: ServiceContext) -> ServiceParts:
    return ServiceParts()


DEFINITION = ServiceDefinition(
    name="scheduler",
    schema="scheduler",
    migrations=None,
    consumes=(),
    settings_class=SchedulerSettings,
    build=build,
)
