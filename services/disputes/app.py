"""Wiring of the disputes service: what it consumes, owns and runs.

It owns the PostgreSQL schema ``disputes`` and reads no other service's tables. It consumes
commands (``disputes.commands.v1``), the ledger (to know invoices, their open amounts and
the payments on them) and the collectors' call outcomes (``notifier.deliveries.v1``); it
runs the timers (owner reminders, promise deadlines, instalment checks) and the HTTP API
on its own port (``api_port``), next to the health server (``http_port``).
"""

from __future__ import annotations

from pathlib import Path

from contracts.topics import DISPUTE_COMMANDS, LEDGER_EVENTS, NOTIFIER_DELIVERIES
from services.disputes.api import ApiServer, build_api
from services.disputes.casebook import Casebook
from services.disputes.domain.policy import Policy
from services.disputes.handler import CommandHandler
from services.disputes.settings import DisputesSettings
from services.disputes.tick import Timers
from services.runtime.logs import get_logger
from services.runtime.service import ServiceContext, ServiceDefinition, ServiceParts

MIGRATIONS_PATH = Path(__file__).parent / "migrations"
log = get_logger(__name__)


def policy_of(settings: DisputesSettings) -> Policy:
    return Policy(
        routing=settings.routing(),
        reminders=settings.reminder_policy(),
        time_zone=settings.time_zone,
        promise_grace_days=settings.promise_grace_days,
        promise_max_days=settings.promise_max_days,
        instalment_grace_days=settings.instalment_grace_days,
        plan_first_within_days=settings.plan_first_within_days,
        announced_payment_days=settings.announced_payment_days,
        plan_proposal_days=settings.plan_proposal_days,
    )


async def build(context: ServiceContext) -> ServiceParts:
    settings = context.settings
    assert isinstance(settings, DisputesSettings)
    casebook = Casebook(policy_of(settings))
    handler = CommandHandler(casebook, settings.call_dispute_category)
    timers = Timers(context.pool, context.clock, casebook, settings.tick_batch_size)
    keys = settings.secret_keys()
    auth = settings.auth
    if not (keys or auth.api_keys.get_secret_value() or auth.oidc_issuer or auth.users_file):
        log.warning("api_closed", reason="no credential configured: every request is refused")
    api = ApiServer(
        build_api(context.pool, context.clock, casebook, keys, auth),
        settings.api_host,
        settings.api_port,
    )
    return ServiceParts(
        handler=handler.handle,
        loops={"tick": timers.loop(settings.tick_interval_s), "api": api.run},
    )


DEFINITION = ServiceDefinition(
    name="disputes",
    schema="disputes",
    migrations=MIGRATIONS_PATH,
    consumes=(DISPUTE_COMMANDS, LEDGER_EVENTS, NOTIFIER_DELIVERIES),
    settings_class=DisputesSettings,
    build=build,
)
