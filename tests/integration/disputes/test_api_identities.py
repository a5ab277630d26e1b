"""The disputes API with people: roles, portfolios by company, and the actor recorded."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client import REGISTRY

from contracts.envelope import Event
from services.runtime.auth import AuthSettings
from services.runtime.clock import SimulatedClock
from tests.identity_provider import AUDIENCE, IdentityProvider, identity_provider
from tests.integration.disputes.harness import Disputes
from tests.integration.disputes.test_api import COLLECTOR, DUE, _dispute, _serve
from tests.integration.scheduler.fixtures import customer, opened

pytestmark = pytest.mark.integration


@dataclass
class People:
    client: httpx.AsyncClient
    disputes: Disputes
    provider: IdentityProvider
    clock: SimulatedClock

    def token(self, subject: str, role: str, *companies: str) -> dict[str, str]:
        token = self.provider.token(subject, (role,), companies, now=self.clock.now().timestamp())
        return {"Authorization": f"Bearer {token}"}


def in_company(event: Event, company: str) -> Event:
    payload = event.payload
    number = payload.invoice_number
    moved = payload.model_copy(
        update={"company_code": company, "invoice_id": f"{company}/{number}"}
    )
    return event.model_copy(update={"payload": moved})


@pytest.fixture
async def people(disputes: Disputes, clock: SimulatedClock) -> AsyncIterator[People]:
    await disputes.feed(
        [
            customer("C1"),
            opened("C1", "F1", DUE),
            customer("C2"),
            in_company(opened("C2", "G1", DUE), "DE02"),
        ]
    )
    async with identity_provider() as provider:
        auth = AuthSettings(oidc_issuer=provider.issuer, oidc_audience=AUDIENCE)
        async for client in _serve(disputes.pool, clock, f"collector:{COLLECTOR}", auth):
            yield People(client, disputes, provider, clock)


def refusals(route: str) -> float:
    labels = {"service": "disputes", "route": route, "reason": "portfolio"}
    return REGISTRY.get_sample_value("relance_authorization_refusals_total", labels) or 0.0


def c2_dispute() -> dict[str, object]:
    return {**_dispute(["DE02/G1"]), "customer_id": "C2"}


async def test_a_collector_acts_in_their_portfolio_only_and_refusals_are_counted(
    people: People,
) -> None:
    client, anna = people.client, people.token("anna", "collector", "FR01")
    before = refusals("/disputes")
    outside = await client.post("/disputes", json=c2_dispute(), headers=anna)
    assert outside.status_code == 403
    assert outside.json() == {
        "error": "forbidden",
        "reason": "portfolio",
        "detail": "company DE02 is outside oidc:anna's portfolio",
    }
    assert refusals("/disputes") == before + 1
    inside = await client.post("/disputes", json=_dispute(["FR01/F1"]), headers=anna)
    assert inside.status_code == 201, inside.text
    assert await people.disputes.events() != []

    # a whole-account dispute needs every company the customer has invoices with
    whole = {**c2_dispute(), "invoice_ids": [], "whole_account": True}
    assert (await client.post("/disputes", json=whole, headers=anna)).status_code == 403


async def test_reads_show_only_the_portfolio_and_a_viewer_cannot_act(people: People) -> None:
    client = people.client
    manager = people.token("maud", "credit_manager")  # no portfolio: everything
    c1 = _dispute(["FR01/F1"])
    c2 = c2_dispute()
    for body in (c1, c2):
        assert (await client.post("/disputes", json=body, headers=manager)).status_code == 201

    vic = people.token("vic", "viewer", "DE02")
    listed = await client.get("/disputes", headers=vic)
    assert [d["dispute_id"] for d in listed.json()] == [c2["dispute_id"]]
    seen = await client.get(f"/disputes/{c1['dispute_id']}", headers=vic)
    assert (seen.status_code, seen.json()["reason"]) == (403, "portfolio")
    record = await client.get("/customers/C1/promise-record", headers=vic)
    assert record.status_code == 403
    acting = await client.post("/disputes", json=_dispute(["FR01/F1"]), headers=vic)
    assert (acting.status_code, acting.json()["reason"]) == (403, "role")
    everything = await client.get("/disputes", headers=manager)
    assert len(everything.json()) == 2
    nobody = people.token("nora", "collector")  # a collector without portfolio sees nothing
    assert (await client.get("/disputes", headers=nobody)).json() == []


async def test_the_actor_is_the_authenticated_identity_never_the_body(people: People) -> None:
    client, anna = people.client, people.token("anna", "collector", "FR01")
    body = _dispute(["FR01/F1"])
    assert (await client.post("/disputes", json=body, headers=anna)).status_code == 201
    url = f"/disputes/{body['dispute_id']}"
    resolution = {"customer_id": "C1", "outcome": "rejected", "by": "the-ceo@creditor.example"}
    resolved = await client.post(
        f"{url}/resolve", json=resolution, headers={**anna, "If-Match": '"1"'}
    )
    assert resolved.status_code == 200, resolved.text
    history = (await client.get(url, headers=anna)).json()["history"]
    assert [(h["action"], h["actor"]) for h in history] == [
        ("opened", "oidc:anna"),
        ("resolved", "oidc:anna"),
    ]
    promise = {
        "promise_id": str(uuid.uuid4()),
        "customer_id": "C1",
        "invoice_ids": ["FR01/F1"],
        "promised_date": "2026-11-30",
        "amount": {"amount": "500.00", "currency": "EUR"},
        "channel": "phone_call",
        "recorded_by": "someone-else@creditor.example",
    }
    made = await client.post("/promises", json=promise, headers=anna)
    assert made.status_code == 201, made.text
    assert made.json()["recorded_by"] == "oidc:anna"
    (event,) = [e for e in await people.disputes.events() if e.event_type == "promise.made"]
    assert event.payload.recorded_by == "oidc:anna"


async def test_machine_keys_keep_working_beside_people(people: People) -> None:
    machine = {"X-API-Key": COLLECTOR}
    created = await people.client.post("/disputes", json=c2_dispute(), headers=machine)
    assert created.status_code == 201
    forged = {"Authorization": "Bearer not.a.token"}
    assert (await people.client.get("/disputes", headers=forged)).status_code == 401
