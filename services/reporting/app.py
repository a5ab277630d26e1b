"""Wiring of the reporting service: what it consumes, owns and runs.

It owns the PostgreSQL schema ``reporting`` and reads no other service's tables. It
consumes the public topics it projects (ledger, dunning actions, deliveries, dispute
events, exchange rates); events of types it does not use on those topics are ignored.
Projecting a new event type later means rebuilding: drop the schema and replay the topics.
"""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

from contracts.topics import (
    DISPUTE_EVENTS,
    DUNNING_ACTIONS,
    FX_RATES,
    LEDGER_EVENTS,
    NOTIFIER_DELIVERIES,
)
from services.reporting import refresh
from services.reporting.bi_role import ensure_bi_role
from services.reporting.domain.aging import buckets
from services.reporting.projection import apply_events
from services.reporting.settings import ReportingSettings
from services.runtime import logs
from services.runtime.loops import every
from services.runtime.service import Loop, ServiceContext, ServiceDefinition, ServiceParts

SCHEMA = "reporting"
MIGRATIONS = Path(__file__).parent / "migrations"

log = logs.get_logger(__name__)


async def build(context: ServiceContext) -> ServiceParts:
    settings = context.settings
    assert isinstance(settings, ReportingSettings)
    password = settings.bi_password.get_secret_value() if settings.bi_password else None
    async with context.pool.acquire() as connection:
        await refresh.configure(
            connection,
            settings.reporting_currency,
            buckets(settings.bucket_edges),
            settings.unmatched_alert_days,
        )
        await ensure_bi_role(connection, settings.bi_role, SCHEMA, password)
        today = context.clock.now().astimezone(UTC).date()
        outcome = await refresh.roll_aged_balance(connection, today)
        log.info("aged_balance_rolled", day=str(today), outcome=outcome)
    return ServiceParts(
        handler=apply_events,
        loops={
            "refresh": _refresh_loop(context, settings),
            "aging": _aging_loop(context, settings),
        },
    )


def _aging_loop(context: ServiceContext, settings: ReportingSettings) -> Loop:
    """Roll the maintained aged balance to the clock's day soon after the day changes."""

    async def roll() -> None:
        today = context.clock.now().astimezone(UTC).date()
        async with context.pool.acquire() as connection:
            outcome = await refresh.roll_aged_balance(connection, today)
        if outcome != "current":
            log.info("aged_balance_rolled", day=str(today), outcome=outcome)

    return every(settings.aging_roll_interval_s, roll, name="aging")


def _refresh_loop(context: ServiceContext, settings: ReportingSettings) -> Loop:
    async def refresh_figures() -> None:
        today = context.clock.now().astimezone(UTC).date()
        async with context.pool.acquire() as connection:
            await refresh.snapshot_aged_balance(connection, today)
            written = await refresh.refresh_dso(connection, today, settings.dso_months)
        log.info("reporting_refreshed", day=str(today), dso_rows=written)

    return every(settings.refresh_interval_s, refresh_figures, name="refresh")


DEFINITION = ServiceDefinition(
    name="reporting",
    schema=SCHEMA,
    migrations=MIGRATIONS,
    consumes=(LEDGER_EVENTS, DUNNING_ACTIONS, NOTIFIER_DELIVERIES, DISPUTE_EVENTS, FX_RATES),
    settings_class=ReportingSettings,
    build=build,
)
