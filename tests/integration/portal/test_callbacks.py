"""Ask to be called back: from the page to the disputes service's open requests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest

from contracts import disputes
from contracts.topics import DISPUTE_COMMANDS
from services.disputes.app import DEFINITION as DISPUTES
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.database import create_pool
from services.runtime.settings import DatabaseSettings
from tests.integration.disputes.harness import Disputes
from tests.integration.portal.conftest import Site
from tests.kafka_tools import consume
from tests.unit.portal import samples

pytestmark = pytest.mark.integration


@pytest.fixture
async def disputes_service(database_url: str) -> AsyncIterator[Disputes]:
    await migrations.apply_async(database_url, DISPUTES.schema, DISPUTES.migrations)
    pool = await create_pool(DatabaseSettings(url=database_url), DISPUTES.schema)
    service = Disputes(pool, SimulatedClock(samples.NOW))
    await service.feed([e for e in samples.account_events() if e.event_type.startswith("ledger.")])
    yield service
    await pool.close()


async def test_a_call_back_request_reaches_the_disputes_service(
    site: Site, disputes_service: Disputes
) -> None:
    form = {"phone": "+33 6 12 34 56 78", "callback_date": "2026-03-03", "slot": "morning"}
    async with httpx.AsyncClient() as client:
        sent = await client.post(site.account_url + "/callback", data=form)
        thanked = await client.get(site.account_url + "?done=callback")
    assert sent.status_code == 303
    assert sent.headers["location"].endswith("?done=callback")
    assert "nous vous appellerons" in thanked.text
    (record,) = await consume(site.bootstrap, site.commands.name, expected=1)
    command = DISPUTE_COMMANDS.parse(record.value)
    assert isinstance(command, disputes.RequestCallback)
    assert command.payload.phone == "+33612345678"
    await disputes_service.feed([command, command])  # redelivered: one request
    rows = await disputes_service.pool.fetch("SELECT * FROM callback_request")
    assert [(r["customer_id"], r["company_code"], r["on_day"], r["slot"]) for r in rows] == [
        (samples.CUSTOMER, samples.COMPANY, date(2026, 3, 3), "morning")
    ]
    assert rows[0]["status"] == "open"
    assert disputes_service.rejected == []
    (published,) = await disputes_service.events()  # for the console's My day, once
    assert isinstance(published, disputes.CallbackRequested)
    assert published.payload == command.payload

    def closure(request_id: uuid.UUID) -> disputes.CloseCallback:
        return disputes.CloseCallback(
            event_id=uuid.uuid4(),
            occurred_at=samples.NOW,
            source="console",
            payload=disputes.CallbackClosure(
                request_id=request_id, customer_id=samples.CUSTOMER, closed_by="local:camille"
            ),
        )

    await disputes_service.feed([closure(command.payload.request_id), closure(uuid.uuid4())])
    done = await disputes_service.pool.fetchrow("SELECT status, closed_by FROM callback_request")
    assert done is not None
    assert (done["status"], done["closed_by"]) == ("done", "local:camille")
    assert [reason for reason, _ in disputes_service.rejected] == ["unknown_callback"]


async def test_a_request_with_errors_comes_back_with_what_was_typed(site: Site) -> None:
    form = {"phone": "06 12 34 56 78", "callback_date": "2026-03-03"}
    async with httpx.AsyncClient() as client:
        response = await client.post(site.account_url + "/callback", data=form)
    assert response.status_code == 422
    assert "format international" in response.text
    assert "Choisissez un créneau" in response.text
    assert 'value="06 12 34 56 78"' in response.text
    assert 'value="2026-03-03"' in response.text
    assert await site.outbox() == []
