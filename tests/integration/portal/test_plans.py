"""A payment plan proposed on the page: the firm's rules beside the fields, the command on
Kafka, the disputes service's answer back on the page (real PostgreSQL and Kafka)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from contracts import disputes
from contracts.actors import CommandActor
from contracts.topics import DISPUTE_COMMANDS
from services.disputes.app import DEFINITION as DISPUTES
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.database import create_pool
from services.runtime.settings import DatabaseSettings
from tests.integration.disputes.harness import Disputes
from tests.integration.portal.conftest import Site, feed
from tests.kafka_tools import consume
from tests.unit.portal import samples

pytestmark = pytest.mark.integration

PLAN = {
    "invoice": ["FR01/F-2026-001", "FR01/F-2026-002"],  # 700.00 + 480.00 open
    "instalment_date_1": "2026-03-05",
    "instalment_amount_1": "580,00",
    "instalment_date_2": "2026-04-02",
    "instalment_amount_2": "600",
}


@pytest.fixture
async def disputes_service(database_url: str) -> AsyncIterator[Disputes]:
    await migrations.apply_async(database_url, DISPUTES.schema, DISPUTES.migrations)
    pool = await create_pool(DatabaseSettings(url=database_url), DISPUTES.schema)
    service = Disputes(pool, SimulatedClock(samples.NOW))
    await service.feed([e for e in samples.account_events() if e.event_type.startswith("ledger.")])
    yield service
    await pool.close()


async def test_a_plan_breaking_the_rules_comes_back_with_what_was_typed(site: Site) -> None:
    typed = {**PLAN, "instalment_date_1": "2026-03-20", "instalment_amount_2": "599"}
    async with httpx.AsyncClient() as client:
        response = await client.post(site.account_url + "/plan", data=typed)
    assert response.status_code == 422
    assert "La première échéance doit tomber sous 7 jours." in response.text
    assert 'id="instalment-date-1-error"' in response.text
    assert 'value="2026-03-20"' in response.text
    assert 'value="580,00"' in response.text
    async with httpx.AsyncClient() as client:
        short = await client.post(
            site.account_url + "/plan", data={**PLAN, "instalment_amount_2": "599"}
        )
    assert short.status_code == 422
    assert "Les échéances totalisent 1179.00 EUR" in short.text
    assert await site.outbox() == []


async def test_a_proposed_plan_waits_then_the_page_tells_the_answer(
    site: Site, disputes_service: Disputes
) -> None:
    async with httpx.AsyncClient() as client:
        sent = await client.post(site.account_url + "/plan", data=PLAN)
        again = await client.post(site.account_url + "/plan", data=PLAN)
        thanked = await client.get(site.account_url + "?done=plan")
    assert sent.status_code == again.status_code == 303
    assert "votre échéancier est transmis" in thanked.text
    first, second = await consume(site.bootstrap, site.commands.name, expected=2)
    command = DISPUTE_COMMANDS.parse(first.value)
    assert DISPUTE_COMMANDS.parse(second.value) == command  # the same form: one proposal
    assert isinstance(command, disputes.ProposePaymentPlan)
    assert command.payload.invoice_ids == ("FR01/F-2026-001", "FR01/F-2026-002")
    assert [str(i.amount.amount) for i in command.payload.instalments] == ["580.00", "600"]
    assert command.payload.proposed_by == f"portal:{samples.CUSTOMER}"

    await disputes_service.feed([command, command])
    assert disputes_service.rejected == []
    (proposed,) = await disputes_service.events()
    assert isinstance(proposed, disputes.PaymentPlanProposed)
    await feed(site.pool, site.clock, [proposed])
    async with httpx.AsyncClient() as client:
        waiting = await client.get(site.account_url)
    assert waiting.text.count('data-status="plan_proposed"') == 2
    assert "en attente de notre réponse" in waiting.text

    manager = CommandActor(subject="local:claire", roles=("credit_manager",))
    refusal = DISPUTE_COMMANDS.adapter.validate_python(
        {
            "event_id": "5b0c3c1e-0000-4000-8000-000000000001",
            "event_type": "payment_plan.refuse",
            "occurred_at": samples.NOW,
            "source": "console",
            "payload": {
                "proposal_id": command.payload.proposal_id,
                "customer_id": samples.CUSTOMER,
                "actor": manager,
                "requested_at": datetime(2026, 3, 2, 9, tzinfo=UTC),
                "reason": "Deux échéances de 590 € au plus tard fin mars.",
            },
        }
    )
    await disputes_service.feed([refusal])
    refused = (await disputes_service.events())[-1]
    assert isinstance(refused, disputes.PaymentPlanRefused)
    await feed(site.pool, site.clock, [refused])
    async with httpx.AsyncClient() as client:
        answered = await client.get(site.account_url)
    assert 'data-status="plan_proposed"' not in answered.text
    assert "refusé. Deux échéances de 590 € au plus tard fin mars." in answered.text
