"""Operators' commands executed by the scheduler on a real PostgreSQL, through the consumer
plumbing with its dead letters: a credit manager suspends one company (nothing is sent for
it, the other company goes on) and resumes it; a collector is refused and counted; a
command delivered twice is applied once; a campaign launched with its dry run's
fingerprint, and refused once the selection changed."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY

from contracts import commands, dunning
from contracts.envelope import Event
from services.scheduler.campaigns import plan_campaign
from services.scheduler.domain.operations import campaign_of
from tests.integration.scheduler.fixtures import customer, opened, settled
from tests.integration.scheduler.test_commands import DUE, Desk, paris
from tests.integration.scheduler.test_commands import pool as pool

pytestmark = pytest.mark.integration

MANAGER_FR = commands.CommandActor(
    subject="oidc:dominique", roles=("credit_manager",), company_codes=("FR01",)
)
COLLECTOR = commands.CommandActor(subject="local:marie", roles=("collector",), everything=True)
AT = datetime(2026, 11, 1, tzinfo=UTC)


def operator_command(
    kind: Any,
    payload_kind: type[commands.OperatorCommandBase],
    actor: commands.CommandActor = MANAGER_FR,
    command_id: uuid.UUID | None = None,
    **fields: Any,
) -> Event:
    payload = payload_kind(
        command_id=command_id or uuid.uuid4(), actor=actor, requested_at=AT, **fields
    )
    event: Event = kind(event_id=uuid.uuid4(), occurred_at=AT, source="console", payload=payload)
    return event


def refusals() -> float:
    labels = {"service": "scheduler", "route": "dunning.commands.v1", "reason": "forbidden"}
    return REGISTRY.get_sample_value("relance_authorization_refusals_total", labels) or 0.0


async def test_a_credit_manager_suspends_one_company_and_nothing_is_sent_for_it(
    pool: asyncpg.Pool,
) -> None:
    desk = Desk(pool, paris(date(2026, 11, 20), 10))
    await desk.scheduler.feed(
        [customer("C1"), opened("C1", "F1", DUE), customer("B1"), opened("B1", "B-1", DUE)]
    )
    await pool.execute("UPDATE customer SET company_code = 'BE01' WHERE customer_id = 'B1'")
    await pool.execute("UPDATE dunning_invoice SET company_code = 'BE01' WHERE customer_id = 'B1'")

    before = refusals()
    await desk.command(
        operator_command(
            commands.SuspendSendingCommand,
            commands.SuspendSending,
            COLLECTOR,
            company_code="FR01",
            reason="a collector tries",
        ),
        paris(date(2026, 11, 23), 9),
    )
    assert (await desk.dead_letters())[-1][1]["dlq.reason"] == "forbidden"
    assert refusals() == before + 1
    beyond = operator_command(
        commands.SuspendSendingCommand, commands.SuspendSending, reason="everyone"
    )  # a credit manager held to FR01 may not suspend every company
    await desk.command(beyond)
    assert (await desk.dead_letters())[-1][1]["dlq.reason"] == "forbidden"

    suspend_id = uuid.uuid4()
    suspend = operator_command(
        commands.SuspendSendingCommand,
        commands.SuspendSending,
        command_id=suspend_id,
        company_code="FR01",
        reason="ERP migration weekend",
    )
    await desk.command(suspend)
    await desk.command(suspend)  # delivered twice: applied once
    suspended = [
        e.payload for e in await desk.scheduler.emitted() if isinstance(e, dunning.SendingSuspended)
    ]
    assert [(s.company_code, s.by, s.role, s.reason) for s in suspended] == [
        ("FR01", "oidc:dominique", "credit_manager", "ERP migration weekend")
    ]
    row = await pool.fetchrow("SELECT * FROM executed_operator_command")
    assert row is not None
    assert (row["command_id"], row["command"], row["company_codes"], row["actor_role"]) == (
        suspend_id,
        "suspend_sending",
        ["FR01"],
        "credit_manager",
    )
    dead = len(await desk.dead_letters())
    await desk.command(
        operator_command(
            commands.SuspendSendingCommand,
            commands.SuspendSending,
            company_code="FR01",
            reason="again",
        )
    )
    assert (await desk.dead_letters())[-1][1]["dlq.reason"] == "already_suspended"
    assert len(await desk.dead_letters()) == dead + 1

    await desk.tick(paris(date(2026, 11, 26), 10))  # the courtesy step falls due for both
    reached = {r.customer_id for r in await desk.reminders()}
    assert reached == {"B1"}  # nothing for FR01's customer

    await desk.command(
        operator_command(commands.ResumeSendingCommand, commands.ResumeSending, company_code="FR01")
    )
    resumed = [
        e.payload for e in await desk.scheduler.emitted() if isinstance(e, dunning.SendingResumed)
    ]
    assert [(r.company_code, r.by, r.role) for r in resumed] == [
        ("FR01", "oidc:dominique", "credit_manager")
    ]
    await desk.tick(paris(date(2026, 11, 26), 11))
    assert {r.customer_id for r in await desk.reminders()} == {"B1", "C1"}
    await desk.command(
        operator_command(commands.ResumeSendingCommand, commands.ResumeSending, company_code="FR01")
    )
    assert (await desk.dead_letters())[-1][1]["dlq.reason"] == "not_suspended"


SPEC = commands.CampaignSpec(
    id="year-end-2026",
    step=commands.CampaignStepSpec(
        name="year-end-email", level="level_1", channel="email", template="reminder_firm"
    ),
    select=commands.CampaignSelection(company_codes=("FR01",), min_days_overdue=1),
)


async def test_a_campaign_is_launched_with_its_dry_runs_fingerprint_and_refused_after_a_change(
    pool: asyncpg.Pool,
) -> None:
    now = paris(date(2026, 12, 15), 10)
    desk = Desk(pool, now - timedelta(days=60))
    await desk.scheduler.feed(
        [
            customer("C1"),
            opened("C1", "F1", date(2026, 11, 20)),
            customer("C2"),
            opened("C2", "G1", date(2026, 12, 1), "500.00"),
        ]
    )
    desk.clock.set(now)
    policy = desk.scheduler.tracker.policy
    campaign = campaign_of(SPEC, policy.library.templates)
    async with pool.acquire() as connection, connection.transaction():
        dry = await plan_campaign(connection, policy, campaign, now)
    assert sorted(dry.reached) == [("C1", 1), ("C2", 1)]
    assert {r.customer_id for r in dry.reminders} == {"C1", "C2"}
    assert not [r for r in await desk.reminders() if r.campaign_id]  # a dry run sends nothing

    # C2 pays after the dry run: the launch citing it is refused, nothing is sent
    await desk.scheduler.feed([settled("C2", "G1", date(2026, 12, 1), "500.00")])
    stale = operator_command(
        commands.LaunchCampaignCommand,
        commands.LaunchCampaign,
        campaign=SPEC,
        fingerprint=dry.fingerprint,
    )
    await desk.command(stale, now)
    (_, headers) = (await desk.dead_letters())[-1]
    assert headers["dlq.reason"] == "selection_changed"
    assert not [r for r in await desk.reminders() if r.campaign_id]

    async with pool.acquire() as connection, connection.transaction():
        again = await plan_campaign(connection, policy, campaign, now)
    assert again.reached == [("C1", 1)]
    launch = operator_command(
        commands.LaunchCampaignCommand,
        commands.LaunchCampaign,
        campaign=SPEC,
        fingerprint=again.fingerprint,
    )
    await desk.command(launch, now)
    sent = [r for r in await desk.reminders() if r.campaign_id == "year-end-2026"]
    assert [r.customer_id for r in sent] == ["C1"]
    (audit,) = [
        e.payload for e in await desk.scheduler.emitted() if isinstance(e, dunning.CampaignLaunched)
    ]
    assert (audit.by, audit.role, audit.customers_reached) == (
        "oidc:dominique",
        "credit_manager",
        1,
    )
