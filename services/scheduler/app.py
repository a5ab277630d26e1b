"""Wiring of the scheduler service: what it consumes, owns and runs.

It owns the PostgreSQL schema ``scheduler`` and reads no other service's tables. It follows
the ledger and the pauses from the disputes service, executes collectors' commands
(:mod:`services.scheduler.commands`) and serves their HTTP API (:mod:`services.scheduler.api`),
and a tick loop emits what falls due (or proposes it, for steps to confirm:
:mod:`services.scheduler.proposals`, whose loop applies the timeouts).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from contracts.topics import DISPUTE_EVENTS, DUNNING_COMMANDS, LEDGER_EVENTS, NOTIFIER_DELIVERIES
from services.runtime.auth import Authenticator
from services.runtime.business_days import SendingWindow
from services.runtime.logs import get_logger
from services.runtime.loops import every
from services.runtime.service import ServiceContext, ServiceDefinition, ServiceParts
from services.scheduler.api import CommandsApi
from services.scheduler.commands import CommandDesk, handler
from services.scheduler.domain.library import load_library
from services.scheduler.domain.state import Policy
from services.scheduler.library_store import LibraryWatch, reload_library
from services.scheduler.operations_api import OperationsApi
from services.scheduler.proposals import Timeouts
from services.scheduler.settings import SchedulerSettings
from services.scheduler.tick import DecidingProcess, Ticker, load_calendars
from services.scheduler.tracking import Tracker

MIGRATIONS_PATH = Path(__file__).parent / "migrations"
log = get_logger(__name__)


def policy_of(settings: SchedulerSettings) -> Policy:
    return Policy(
        library=load_library(settings.scenarios_path),
        window=SendingWindow(settings.window_start, settings.window_end),
        min_gap=timedelta(hours=settings.min_contact_gap_hours),
        fallbacks={str(k): str(v) for k, v in settings.channel_fallbacks.items()},
        notice_delay=timedelta(days=settings.formal_notice_delay_days),
        call_retry_business_days=settings.call_retry_business_days,
        call_attempts=settings.call_attempts,
        notice_sent_channels=frozenset(settings.formal_notice_served_when_sent_channels),
        notice_sent_providers=frozenset(settings.formal_notice_served_when_sent_providers),
    )


async def build(context: ServiceContext) -> ServiceParts:
    settings = context.settings
    assert isinstance(settings, SchedulerSettings)
    policy = policy_of(settings)  # refuses to start with a library that has problems
    # the folder's library becomes the stored one (a new version if it changed meanwhile)
    started = await reload_library(
        context.pool, policy, settings.scenarios_path, by="scheduler", now=context.clock.now()
    )
    watch = LibraryWatch(
        context.pool,
        policy,
        settings.scenarios_path if settings.library_watch_folder else None,
        context.clock,
        seen=started.digest,
    )
    tracker = Tracker(policy)
    deciding = None
    if settings.tick_deciding_process:
        deciding = DecidingProcess(settings.gc_gen0_threshold)
        await deciding.warm_up()
    load_calendars(context.clock.now().date())
    ticker = Ticker(
        context.pool,
        context.clock,
        policy,
        settings.tick_batch_size,
        settings.tick_concurrency,
        deciding,
    )

    async def tick() -> None:
        await ticker.run_until_idle()  # everything due now, then wait for the next interval

    timeouts = Timeouts(context.pool, context.clock, policy)

    async def proposals_past_deadline() -> None:
        await timeouts.run_until_idle()  # each proposal nobody decided follows its policy

    loops = {
        "tick": every(settings.tick_interval_s, tick, name="tick"),
        "library": every(settings.library_check_interval_s, watch.check, name="library"),
        "proposal_timeouts": every(
            settings.tick_interval_s, proposals_past_deadline, name="proposal_timeouts"
        ),
    }
    auth = Authenticator("scheduler", settings.auth, context.clock)
    if not auth.configured:
        log.warning("api_closed", reason="no RELANCE_AUTH_* credential: the commands API refuses")
    api = CommandsApi(context.pool, context.clock, auth)
    return ServiceParts(
        handler=handler(tracker.apply, CommandDesk(policy)),
        loops=loops,
        routes=[
            api.router(),
            OperationsApi(context.pool, context.clock, policy, auth).router(),
            auth.sign_in_router(),
        ],
        on_stop=None if deciding is None else _closing(deciding),
    )


def _closing(deciding: DecidingProcess) -> Callable[[], Awaitable[None]]:
    async def close() -> None:
        await asyncio.to_thread(deciding.close)

    return close


DEFINITION = ServiceDefinition(
    name="scheduler",
    schema="scheduler",
    migrations=MIGRATIONS_PATH,
    consumes=(LEDGER_EVENTS, DISPUTE_EVENTS, NOTIFIER_DELIVERIES, DUNNING_COMMANDS),
    settings_class=SchedulerSettings,
    build=build,
)
