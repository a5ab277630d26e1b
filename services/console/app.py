"""Wiring of the console: what it consumes, owns and serves.

It owns the PostgreSQL schema ``console`` and reads no other service's tables: its read
model (customers, open items, disputes, promises, plans, reminders, deliveries and each
customer's timeline) is built from the public topics. Its pages are served by the kit's
HTTP server beside ``/healthz``, ``/readyz`` and ``/metrics``; who may sign in is the
installation's ``RELANCE_AUTH_*`` (local accounts, the firm's OpenID Connect tokens).
"""

from __future__ import annotations

from pathlib import Path

from contracts.topics import (
    DISPUTE_EVENTS,
    DUNNING_ACTIONS,
    FX_RATES,
    INTEREST_RATES,
    LEDGER_EVENTS,
    NOTIFIER_DELIVERIES,
)
from services.console.dead_letters import DeadLetterCensus
from services.console.projection import apply_events
from services.console.settings import ConsoleSettings
from services.console.web.pages import Console
from services.runtime.auth import Authenticator
from services.runtime.errors import TransientError
from services.runtime.loops import every
from services.runtime.service import ServiceContext, ServiceDefinition, ServiceParts

SCHEMA = "console"
MIGRATIONS = Path(__file__).parent / "migrations"


def console_of(context: ServiceContext) -> Console:
    settings = context.settings
    assert isinstance(settings, ConsoleSettings)
    authenticator = Authenticator("console", settings.auth, context.clock)
    return Console(context.pool, context.clock, settings, authenticator)


async def build(context: ServiceContext) -> ServiceParts:
    settings = context.settings
    assert isinstance(settings, ConsoleSettings)
    loops = {}
    if settings.census_interval_s > 0:
        census = DeadLetterCensus(context.pool, settings.kafka.client_options())
        loops["dead_letter_census"] = every(
            settings.census_interval_s,
            census.step,
            name="dead_letter_census",
            tolerate=(TransientError,),
        )
    return ServiceParts(handler=apply_events, loops=loops, routes=[console_of(context).router()])


DEFINITION = ServiceDefinition(
    name="console",
    schema=SCHEMA,
    migrations=MIGRATIONS,
    consumes=(
        LEDGER_EVENTS,
        DUNNING_ACTIONS,
        NOTIFIER_DELIVERIES,
        DISPUTE_EVENTS,
        INTEREST_RATES,
        FX_RATES,
    ),
    settings_class=ConsoleSettings,
    build=build,
)
