"""Wiring of the notifier service: what it consumes, owns and runs.

It owns the PostgreSQL schema ``notifier`` and reads no other service's tables.
"""

from __future__ import annotations

from services.notifier.settings import NotifierSettings
from services.runtime.service import ServiceContext, ServiceDefinition, ServiceParts


async def build(context: ServiceContext) -> ServiceParts:
    return ServiceParts()


DEFINITION = ServiceDefinition(
    name="notifier",
    schema="notifier",
    migrations=None,
    consumes=(),
    settings_class=NotifierSettings,
    build=build,
)
