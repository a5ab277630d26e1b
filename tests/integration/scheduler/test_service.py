"""The scheduler's wiring: its definition, and its tick loop as the runtime runs it."""

from __future__ import annotations

import asyncio
import getpass
from datetime import UTC, date, datetime, timedelta

import pytest
from typer.testing import CliRunner

from contracts.dunning import SendingResumed, SendingSuspended
from contracts.topics import (
    DISPUTE_EVENTS,
    DUNNING_ACTIONS,
    DUNNING_COMMANDS,
    LEDGER_EVENTS,
    NOTIFIER_DELIVERIES,
)
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.database import create_pool
from services.runtime.outbox import KafkaRecordSender
from services.runtime.service import ServiceContext
from services.runtime.settings import DatabaseSettings
from services.scheduler.app import DEFINITION
from services.scheduler.cli import app as scheduler_cli
from services.scheduler.cli import set_suspended
from services.scheduler.errors import SuspensionRefused
from services.scheduler.settings import SchedulerSettings
from tests.integration.scheduler.fixtures import Scheduler, customer, opened
from tests.kafka_tools import eventually

pytestmark = pytest.mark.integration


def test_the_definition_consumes_the_ledger_and_the_disputes() -> None:
    assert DEFINITION.schema == "scheduler"
    assert DEFINITION.consumes == (
        LEDGER_EVENTS,
        DISPUTE_EVENTS,
        NOTIFIER_DELIVERIES,
        DUNNING_COMMANDS,
    )
    assert DEFINITION.migrations is not None
    assert sorted(p.name for p in DEFINITION.migrations.glob("*.sql")) == [
        "0001_dunning_state.sql",
        "0003_campaigns.sql",
        "0004_sent_reminders.sql",
        "0005_controls.sql",
        "0006_commands.sql",
        "0007_command_outcomes_and_calls.sql",
        "0008_library_versions.sql",
        "0009_proposals.sql",
        "0010_deferred_sends.sql",
        "0012_operator_commands.sql",
        "0013_sent_reminder_payload_json.sql",
        "0014_no_scenario_index.sql",
    ]


async def test_the_tick_loop_emits_what_is_due_and_stops(database_url: str) -> None:
    await migrations.apply_async(database_url, DEFINITION.schema, DEFINITION.migrations)
    pool = await create_pool(DatabaseSettings(url=database_url), DEFINITION.schema)
    try:
        clock = SimulatedClock(datetime(2026, 11, 26, 9, 30, tzinfo=UTC))
        settings = SchedulerSettings(tick_interval_s=0.01)
        parts = await DEFINITION.build(
            ServiceContext(
                "scheduler", settings, pool, clock, KafkaRecordSender.__new__(KafkaRecordSender)
            )
        )
        assert parts.handler is not None
        served = {route.path for router in parts.routes for route in router.routes}  # type: ignore[attr-defined]
        assert {"/v1/commands/hold", "/v1/commands/{command_id}", "/auth/sign-in"} <= served
        scheduler = Scheduler.of(pool, clock)
        await scheduler.feed([customer("C1"), opened("C1", "F1", date(2026, 12, 1))])

        stop = asyncio.Event()
        loop = asyncio.create_task(parts.loops["tick"](stop))
        (reminder,) = await eventually(scheduler.reminders, interval_s=0.01)
        stop.set()
        await asyncio.wait_for(loop, 5)

        assert reminder.step_name == "courtesy"
    finally:
        await pool.close()


async def test_suspend_and_resume_are_recorded_and_announced(database_url: str) -> None:
    await migrations.apply_async(database_url, DEFINITION.schema, DEFINITION.migrations)
    pool = await create_pool(DatabaseSettings(url=database_url), DEFINITION.schema)
    clock = SimulatedClock(datetime(2026, 12, 4, 17, tzinfo=UTC))
    try:
        await set_suspended(
            database_url, True, company_code="FR01", by="alice", reason="ERP migration", clock=clock
        )
        with pytest.raises(SuspensionRefused, match="already suspended for company FR01"):
            await set_suspended(database_url, True, company_code="FR01", by="bob", reason="again")
        # the autoscaler's query reads the old flag: every company suspended, or not
        assert await pool.fetchval("SELECT suspended FROM global_suspension") is False
        await set_suspended(database_url, True, by="bob", reason="incident", clock=clock)
        assert await pool.fetchval("SELECT suspended FROM global_suspension") is True
        clock.advance(timedelta(days=3))
        await set_suspended(database_url, False, company_code="FR01", by="carol", clock=clock)
        with pytest.raises(SuspensionRefused, match="not suspended for company FR01"):
            await set_suspended(database_url, False, company_code="FR01", by="carol")

        rows = await pool.fetch("SELECT * FROM sending_suspension ORDER BY suspended_by")
        assert [
            (r["company_code"], r["suspended_by"], r["reason"], r["resumed_by"]) for r in rows
        ] == [("FR01", "alice", "ERP migration", "carol"), (None, "bob", "incident", None)]
        assert rows[0]["resumed_at"] == clock.now()
        events = [
            (r["key"], DUNNING_ACTIONS.parse(r["value"]))
            for r in await pool.fetch("SELECT key, value FROM outbox ORDER BY id")
        ]
        assert [(key, e.event_type) for key, e in events] == [
            (b"FR01", "dunning.sending.suspended"),
            (b"*", "dunning.sending.suspended"),
            (b"FR01", "dunning.sending.resumed"),
        ]
        suspended, _, resumed = (e for _, e in events)
        assert isinstance(suspended, SendingSuspended)
        assert isinstance(resumed, SendingResumed)
        assert suspended.payload.by == "alice"
        assert suspended.payload.reason == "ERP migration"
        assert resumed.payload.suspension_id == suspended.payload.suspension_id
        assert resumed.payload.by == "carol"
    finally:
        await pool.close()


async def test_the_commands_suspend_and_resume_with_the_operator_as_actor(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await migrations.apply_async(database_url, DEFINITION.schema, DEFINITION.migrations)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setattr(getpass, "getuser", lambda: "operator1")
    runner = CliRunner()
    pool = await create_pool(DatabaseSettings(url=database_url), DEFINITION.schema)
    try:
        result = await asyncio.to_thread(
            runner.invoke, scheduler_cli, ["suspend", "--company", "FR01", "--reason", "ERP"]
        )
        assert result.exit_code == 0, result.output
        assert "sending suspended for company FR01" in result.output
        result = await asyncio.to_thread(runner.invoke, scheduler_cli, ["suspend"])
        assert result.exit_code != 0  # --reason is required
        result = await asyncio.to_thread(
            runner.invoke, scheduler_cli, ["resume", "--company", "FR01", "--by", "carol"]
        )
        assert result.exit_code == 0, result.output
        result = await asyncio.to_thread(runner.invoke, scheduler_cli, ["resume"])
        assert result.exit_code == 1
        assert "not suspended for every company" in result.output
        row = await pool.fetchrow("SELECT suspended_by, resumed_by FROM sending_suspension")
        assert row is not None
        assert (row["suspended_by"], row["resumed_by"]) == ("operator1", "carol")
    finally:
        await pool.close()
