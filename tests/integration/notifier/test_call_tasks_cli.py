"""Call tasks listed and closed from the command line, on the notifier's real tables."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import pytest
from typer.testing import CliRunner

from contracts.topics import NOTIFIER_DELIVERIES
from services.notifier.cli import app
from services.notifier.composing.composer import EmailComposer
from services.notifier.dispatcher import Dispatcher
from services.notifier.settings import NotifierSettings
from services.runtime.clock import SimulatedClock
from tests.integration.notifier.harness import Notifier
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration


@pytest.fixture
def notifier(pool: asyncpg.Pool) -> Notifier:
    settings = NotifierSettings()
    clock = SimulatedClock(samples.NOW)
    composer = EmailComposer.load(settings)
    dispatcher = Dispatcher(pool, clock, settings, {}, composer)
    return Notifier(pool, clock, dispatcher, NOTIFIER_DELIVERIES.name)


async def cli(database_url: str, *args: str) -> tuple[int, str]:
    runner = CliRunner()
    env = {"DATABASE_URL": database_url, "RELANCE_NOTIFIER_CLOCK": "system"}
    result = await asyncio.to_thread(runner.invoke, app, list(args), env=env)
    return result.exit_code, result.output


async def test_call_tasks_are_listed_and_closed_from_the_command_line(
    notifier: Notifier, database_url: str
) -> None:
    due = samples.reminder("INV-1", "INV-2", channel="phone_call", level="level_1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    assert await notifier.dispatcher.dispatch_all() == 1

    code, output = await cli(database_url, "list", "--json")
    assert code == 0, output
    (task,) = json.loads(output)
    assert task["customer_id"] == samples.CUSTOMER
    assert task["invoice_ids"] == ["FR01/INV-1", "FR01/INV-2"]

    code, output = await cli(
        database_url, "close", task["task_id"], "--outcome", "promise_to_pay", "--by", "eve"
    )
    assert code == 1
    assert "promised_date" in output or "promise" in output

    code, output = await cli(
        database_url,
        "close",
        task["task_id"],
        "--outcome",
        "promise_to_pay",
        "--date",
        "2026-03-15",
        "--amount",
        "1400.00",
        "--by",
        "eve",
    )
    assert code == 0, output
    assert "closed" in output
    row = await notifier.pool.fetchrow("SELECT status, outcome FROM call_tasks")
    assert row is not None
    assert row["status"] == "closed"
    assert row["outcome"]["promised_amount"] == {"amount": "1400.00", "currency": "EUR"}
    events = [
        json.loads(r["value"])["event_type"]
        for r in await notifier.pool.fetch("SELECT value FROM outbox ORDER BY id")
    ]
    assert events[-1] == "call_task.closed"

    code, output = await cli(database_url, "list", "--status", "closed")
    assert code == 0
    assert "1 closed task(s)" in output
    code, _ = await cli(
        database_url, "close", str(uuid.uuid4()), "--outcome", "no_answer", "--by", "eve"
    )
    assert code == 2
