"""Ad-hoc campaigns on a real scheduler database: selection, emission, no double reach."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from typer.testing import CliRunner

from contracts import dunning
from contracts.erp import Segment
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.database import create_pool
from services.runtime.settings import DatabaseSettings
from services.scheduler import suspensions
from services.scheduler.app import policy_of
from services.scheduler.campaigns import load_campaign, run_campaign
from services.scheduler.cli import app as scheduler_cli
from services.scheduler.domain.campaign import Campaign
from services.scheduler.errors import CampaignRefused, InvalidScenarios
from services.scheduler.settings import SchedulerSettings
from tests.integration.scheduler.fixtures import (
    SCHEMA,
    Scheduler,
    customer,
    dispute_opened,
    opened,
)

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "scheduler" / "migrations"
NOW = datetime(2026, 12, 15, 9, 30, tzinfo=UTC)  # a Tuesday, 10:30 in Paris
POLICY = policy_of(SchedulerSettings())

CAMPAIGN = Campaign.model_validate(
    {
        "id": "year-end-2026",
        "step": {
            "name": "year-end-email",
            "level": "level_1",
            "channel": "email",
            "template": "reminder_firm",
        },
        "select": {
            "customers": {"payer_profile": ["negligent", "good_payer"]},
            "min_days_overdue": 1,
            "min_customer_total": "1000.00",
        },
    }
)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    await migrations.apply_async(database_url, SCHEMA, MIGRATIONS)
    pool = await create_pool(DatabaseSettings(url=database_url), SCHEMA)
    yield pool
    await pool.close()


async def book(pool: asyncpg.Pool) -> Scheduler:
    scheduler = Scheduler.of(pool, SimulatedClock(NOW - timedelta(days=60)))
    await scheduler.feed(
        [
            customer("C1"),  # negligent: two overdue invoices, one not yet due
            opened("C1", "F1", date(2026, 11, 20)),
            opened("C1", "F2", date(2026, 12, 1), "300.00"),
            opened("C1", "F3", date(2027, 1, 10)),
            customer("C2", Segment(payer_profile="good_payer")),  # no scenario, still reached
            opened("C2", "G1", date(2026, 12, 5), "5000.00"),
            customer("C3"),  # below the customer total
            opened("C3", "H1", date(2026, 12, 1), "400.00"),
            customer("C4", Segment(payer_profile="negligent", tags=("no-dunning",))),
            opened("C4", "K1", date(2026, 12, 1)),
            customer("C5"),  # its only overdue invoice is disputed
            opened("C5", "L1", date(2026, 12, 1)),
            dispute_opened("C5", "L1", uuid.uuid4()),
            customer("C6", Segment(payer_profile="bad_payer")),  # not selected by profile
            opened("C6", "M1", date(2026, 12, 1)),
        ]
    )
    scheduler.clock.set(NOW)
    return scheduler


async def campaign_reminders(scheduler: Scheduler) -> list[dunning.Reminder]:
    return [r for r in await scheduler.reminders() if r.campaign_id is not None]


async def test_a_campaign_reaches_the_selected_customers_once(pool: asyncpg.Pool) -> None:
    scheduler = await book(pool)
    report = await run_campaign(pool, scheduler.clock, POLICY, CAMPAIGN, by="jeanne")

    assert sorted(report.reached) == [("C1", 2), ("C2", 1)]
    (launched,) = [
        e.payload for e in await scheduler.emitted() if isinstance(e, dunning.CampaignLaunched)
    ]
    assert (launched.campaign_id, launched.by, launched.at, launched.template) == (
        "year-end-2026",
        "jeanne",
        NOW,
        "reminder_firm",
    )
    assert (launched.customers_reached, launched.invoices_reached) == (2, 3)
    assert launched.skipped == {"nothing_selected": 2, "opted_out": 1}
    assert report.skipped == {"C3": "nothing_selected", "C4": "opted_out", "C5": "nothing_selected"}
    reminders = {r.customer_id: r for r in await campaign_reminders(scheduler)}
    c1 = reminders["C1"]
    assert [i.invoice_number for i in c1.invoices] == ["F1", "F2"]
    assert (c1.campaign_id, c1.scenario_id, c1.step_name) == (
        "year-end-2026",
        "year-end-2026",
        "year-end-email",
    )
    assert (c1.level, c1.channel, c1.template, c1.language) == (
        "level_1",
        "email",
        "reminder_firm",
        "fr",
    )
    assert c1.scheduled_for == NOW
    assert c1.invoices[0].days_overdue == 25
    contact = await pool.fetchval("SELECT last_contact_at FROM customer WHERE customer_id = 'C1'")
    assert contact == NOW

    again = await run_campaign(pool, scheduler.clock, POLICY, CAMPAIGN)
    assert again.reached == []
    assert again.skipped["C1"] == "already_reached"
    assert len(await campaign_reminders(scheduler)) == 2


async def test_the_scenario_waits_the_minimum_gap_after_a_campaign(pool: asyncpg.Pool) -> None:
    scheduler = await book(pool)
    await run_campaign(pool, scheduler.clock, POLICY, CAMPAIGN)
    await scheduler.ticker.run_until_idle()
    same_day = [
        r
        for r in await scheduler.reminders()
        if r.customer_id == "C1" and r.campaign_id is None and r.scheduled_for.date() == NOW.date()
    ]
    assert same_day == []


async def test_a_dry_run_sends_nothing_and_a_recent_contact_is_skipped(
    pool: asyncpg.Pool,
) -> None:
    scheduler = await book(pool)
    await pool.execute(
        "UPDATE customer SET last_contact_at = $1 WHERE customer_id = 'C2'",
        NOW - timedelta(hours=2),
    )
    report = await run_campaign(pool, scheduler.clock, POLICY, CAMPAIGN, dry_run=True)
    assert report.reached == [("C1", 2)]
    assert not [e for e in await scheduler.emitted() if isinstance(e, dunning.CampaignLaunched)]
    assert report.skipped["C2"] == "min_gap"
    assert await campaign_reminders(scheduler) == []
    assert await pool.fetchval("SELECT count(*) FROM campaign_contact") == 0


async def test_a_suspension_refuses_the_campaigns_that_would_reach_it(pool: asyncpg.Pool) -> None:
    scheduler = await book(pool)
    async with pool.acquire() as connection, connection.transaction():
        await suspensions.suspend(
            connection, company_code="BE01", by="alice", reason="ERP", now=scheduler.clock.now()
        )
    for_fr01 = CAMPAIGN.model_copy(
        update={"select": CAMPAIGN.select.model_copy(update={"company_codes": ("FR01",)})}
    )
    report = await run_campaign(pool, scheduler.clock, POLICY, for_fr01, dry_run=True)
    assert report.reached  # another company's suspension does not hold FR01
    with pytest.raises(CampaignRefused, match=r"suspended \(BE01\)"):
        await run_campaign(pool, scheduler.clock, POLICY, CAMPAIGN)  # every company: BE01 too
    async with pool.acquire() as connection, connection.transaction():
        await suspensions.suspend(
            connection, company_code=None, by="alice", reason="all", now=scheduler.clock.now()
        )
    with pytest.raises(CampaignRefused, match="suspended"):
        await run_campaign(pool, scheduler.clock, POLICY, for_fr01)


def test_campaign_files_are_checked_with_located_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "id: spring\n"
        "step: {name: s, level: level_1, channel: pigeon, template: nope}\n"
        "select: {min_days_overdue: 10, max_days_overdue: 5}\n"
    )
    with pytest.raises(InvalidScenarios) as raised:
        load_campaign(path, POLICY.library.templates)
    assert any("step.channel" in str(p) for p in raised.value.problems)
    path.write_text(
        "id: spring\n"
        "step: {name: s, level: level_1, channel: email, template: nope}\n"
        "select: {min_days_overdue: 10, max_days_overdue: 5}\n"
    )
    with pytest.raises(InvalidScenarios) as raised:
        load_campaign(path, POLICY.library.templates)
    messages = [p.message for p in raised.value.problems]
    assert messages == [
        "unknown template 'nope'",
        "min_days_overdue 10 is above max_days_overdue 5",
    ]


async def test_the_campaign_command_shows_who_a_dry_run_would_reach(
    pool: asyncpg.Pool, database_url: str, tmp_path: Path
) -> None:
    await book(pool)
    path = tmp_path / "year-end.yaml"
    path.write_text(
        "id: year-end-2026\n"
        "step: {name: year-end-email, level: level_1, channel: email, template: reminder_firm}\n"
        "select: {customers: {payer_profile: [negligent]}, min_days_overdue: 1}\n"
    )
    clock_file = tmp_path / "clock"
    clock_file.write_text(NOW.isoformat())
    env = {"DATABASE_URL": database_url, "RELANCE_SCHEDULER_CLOCK": f"file:{clock_file}"}
    result = await asyncio.to_thread(
        CliRunner().invoke, scheduler_cli, ["campaign", str(path), "--dry-run"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "would reach 2 customer(s), 3 invoice(s)" in result.output
    assert "skipped 1: opted_out" in result.output
    assert await pool.fetchval("SELECT count(*) FROM campaign_contact") == 0
