"""Phone reminders become call tasks, listed and closed through the HTTP API."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest

from contracts.topics import NOTIFIER_DELIVERIES
from services.notifier.channels.phone.tasks import CallTasks
from services.notifier.composing.composer import EmailComposer
from services.notifier.dispatcher import Dispatcher
from services.notifier.settings import NotifierSettings
from services.runtime.clock import SimulatedClock
from tests.integration.notifier.harness import AS_COLLECTOR, Notifier, authenticator, serve
from tests.kafka_tools import unique
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration


@pytest.fixture
def notifier(pool: asyncpg.Pool) -> Notifier:
    settings = NotifierSettings()
    topic = dataclasses.replace(NOTIFIER_DELIVERIES, name=unique(NOTIFIER_DELIVERIES.name))
    clock = SimulatedClock(samples.NOW)
    composer = EmailComposer.load(settings)
    dispatcher = Dispatcher(pool, clock, settings, {}, composer, topic=topic)
    return Notifier(pool, clock, dispatcher, topic.name)


@pytest.fixture
async def api(notifier: Notifier) -> AsyncIterator[str]:
    tasks = CallTasks(
        notifier.pool,
        notifier.clock,
        dataclasses.replace(NOTIFIER_DELIVERIES, name=notifier.topic),
    )
    server = await serve(tasks.routes(authenticator(notifier.clock)))
    port = server.port
    yield f"http://127.0.0.1:{port}"
    await server.stop()


async def test_phone_reminder_is_a_call_task_closed_with_a_promise(
    notifier: Notifier, api: str
) -> None:
    due = samples.reminder("INV-1", "INV-2", channel="phone_call", level="level_1")
    await notifier.consume(
        samples.customer_upserted(), samples.reminder_due(due), samples.reminder_due(due)
    )
    assert await notifier.dispatcher.dispatch_all() == 1

    async with aiohttp.ClientSession(headers=AS_COLLECTOR) as http:
        listed = await (await http.get(f"{api}/call-tasks")).json()
        (task,) = listed["tasks"]
        assert task["customer_id"] == samples.CUSTOMER
        assert task["invoice_ids"] == ["FR01/INV-1", "FR01/INV-2"]
        assert {c["role"] for c in task["contacts"]} == {"billing", "buyer", "accounting"}
        assert "INV-1" in task["script"]

        close = f"{api}/call-tasks/{task['task_id']}/close"
        invalid = await http.post(close, json={"outcome": "promise_to_pay", "closed_by": "eve"})
        assert invalid.status == 422
        outcome = {
            "outcome": "promise_to_pay",
            "promised_date": "2026-03-15",
            "promised_amount": {"amount": "1400.00", "currency": "EUR"},
            "closed_by": "eve",
        }
        closed = await http.post(close, json=outcome)
        assert closed.status == 200
        again = await http.post(close, json=outcome)
        assert again.status == 200
        other = await http.post(close, json={"outcome": "no_answer", "closed_by": "eve"})
        assert other.status == 409
        assert (await (await http.get(f"{api}/call-tasks")).json())["tasks"] == []

    events = await notifier.published()
    assert [e["event_type"] for e in events] == ["delivery.sent", "call_task.closed"]
    assert events[0]["payload"]["provider_tracking_id"] == task["task_id"]
    assert events[1]["payload"]["promised_date"] == "2026-03-15"
    assert events[1]["payload"]["reminder_id"] == str(due.reminder_id)


async def test_closing_an_unknown_task_is_not_found(api: str) -> None:
    async with aiohttp.ClientSession(headers=AS_COLLECTOR) as http:
        response = await http.post(
            f"{api}/call-tasks/00000000-0000-0000-0000-000000000000/close",
            json={"outcome": "no_answer", "closed_by": "eve"},
        )
        assert response.status == 404
