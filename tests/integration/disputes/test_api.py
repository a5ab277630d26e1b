"""The HTTP API served by the service's own loop: auth, validation, concurrency, commands."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from services.disputes.app import DEFINITION
from services.disputes.settings import DisputesSettings
from services.runtime.auth import AuthSettings
from services.runtime.clock import SimulatedClock
from services.runtime.outbox import KafkaRecordSender
from services.runtime.service import ServiceContext
from tests.integration.disputes.harness import Disputes
from tests.integration.notifier.harness import free_port
from tests.integration.scheduler.fixtures import customer, opened

pytestmark = pytest.mark.integration

COLLECTOR = "collector-key-0123456789"
READER = "reader-key-0123456789ab"
DUE = date(2026, 12, 1)


@dataclass
class Api:
    client: httpx.AsyncClient
    disputes: Disputes


async def _serve(
    pool: asyncpg.Pool, clock: SimulatedClock, api_keys: str, auth: AuthSettings | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    port = free_port()
    settings = DisputesSettings(
        api_port=port, api_keys=SecretStr(api_keys), auth=auth or AuthSettings()
    )
    context = ServiceContext(
        "disputes", settings, pool, clock, KafkaRecordSender.__new__(KafkaRecordSender)
    )
    parts = await DEFINITION.build(context)
    stop = asyncio.Event()
    task = asyncio.create_task(parts.loops["api"](stop))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(100):
                try:
                    await client.get("/openapi.json")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            yield client
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


@pytest.fixture
async def api(disputes: Disputes, clock: SimulatedClock) -> AsyncIterator[Api]:
    await disputes.feed([customer("C1"), opened("C1", "F1", DUE), opened("C1", "F2", DUE)])
    keys = f"collector:{COLLECTOR},reader:{READER}"
    async for client in _serve(disputes.pool, clock, keys):
        yield Api(client, disputes)


def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _dispute(invoices: list[str]) -> dict[str, object]:
    return {
        "dispute_id": str(uuid.uuid4()),
        "customer_id": "C1",
        "invoice_ids": invoices,
        "category": "quality",
        "text": "Two pallets arrived broken.",
        "raised_by": "customer",
    }


async def test_without_a_configured_key_every_request_is_refused(
    disputes_pool: asyncpg.Pool, clock: SimulatedClock
) -> None:
    async for client in _serve(disputes_pool, clock, ""):
        response = await client.get("/disputes", headers=_as(COLLECTOR))
        assert response.status_code == 401
        assert response.json()["error"] == "api_not_configured"


async def test_unknown_or_missing_keys_and_roles_are_refused(api: Api) -> None:
    client = api.client
    assert (await client.get("/disputes")).json()["error"] == "unauthenticated"
    assert (await client.get("/disputes", headers=_as("nope"))).status_code == 401
    assert (await client.get("/disputes", headers={"X-API-Key": READER})).status_code == 200
    refused = await client.post("/disputes", json=_dispute(["FR01/F1"]), headers=_as(READER))
    assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")
    assert await api.disputes.events() == []


async def test_the_openapi_document_lists_the_endpoints(api: Api) -> None:
    document = (await api.client.get("/openapi.json")).json()
    assert {"/disputes", "/disputes/{dispute_id}/resolve", "/promises", "/payment-plans"} <= set(
        document["paths"]
    )


async def test_validation_errors_name_the_field_and_state_errors_the_reason(api: Api) -> None:
    client = api.client
    body = _dispute(["FR01/F1"])
    body["category"] = "weather"
    invalid = await client.post("/disputes", json=body, headers=_as(COLLECTOR))
    assert invalid.status_code == 422
    assert invalid.json()["error"] == "invalid_request"
    assert any(p["field"] == "body.category" for p in invalid.json()["detail"])

    unknown = await client.post("/disputes", json=_dispute(["FR01/F7"]), headers=_as(COLLECTOR))
    assert unknown.status_code == 409
    assert unknown.json() == {
        "error": "unknown_invoice",
        "detail": "invoice FR01/F7 is not in the ledger",
    }
    assert await api.disputes.events() == []


async def test_resolving_needs_the_current_version(api: Api) -> None:
    client = api.client
    body = _dispute(["FR01/F1"])
    created = await client.post("/disputes", json=body, headers=_as(COLLECTOR))
    assert created.status_code == 201
    assert created.headers["ETag"] == '"1"'
    assert created.json()["owner_role"] == "technical"
    url = f"/disputes/{body['dispute_id']}"
    resolution = {"customer_id": "C1", "outcome": "rejected", "by": "anna@creditor.example"}

    missing = await client.post(f"{url}/resolve", json=resolution, headers=_as(COLLECTOR))
    assert (missing.status_code, missing.json()["error"]) == (428, "version_required")
    stale = await client.post(
        f"{url}/resolve", json=resolution, headers={**_as(COLLECTOR), "If-Match": '"7"'}
    )
    assert (stale.status_code, stale.json()["error"]) == (409, "version_conflict")
    correction = {"kind": "credit_note", "reference": "AV-1"}
    not_justified = await client.post(
        f"{url}/resolve",
        json={**resolution, "correction": correction},
        headers={**_as(COLLECTOR), "If-Match": '"1"'},
    )
    assert not_justified.status_code == 422  # a correction only when justified
    done = await client.post(
        f"{url}/resolve", json=resolution, headers={**_as(COLLECTOR), "If-Match": '"1"'}
    )
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["version"]) == ("resolved", 2)
    again = await client.post(
        f"{url}/resolve", json={**resolution, "expected_version": 2}, headers=_as(COLLECTOR)
    )
    assert (again.status_code, again.json()["error"]) == (409, "dispute_not_open")

    reopened = await client.post(
        f"{url}/reopen",
        json={
            "customer_id": "C1",
            "by": "anna@creditor.example",
            "reason": "More damage found",
            "expected_version": 2,
        },
        headers=_as(COLLECTOR),
    )
    assert reopened.status_code == 200
    detail = (await client.get(url, headers=_as(READER))).json()
    assert [(h["action"], h["actor"]) for h in detail["history"]] == [
        ("opened", "api-key:collector"),
        ("resolved", "api-key:collector"),
        ("reopened", "api-key:collector"),
    ]
    types = [e.event_type for e in await api.disputes.events()]
    assert types == ["dispute.opened", "dispute.resolved", "dispute.reopened"]


async def test_promises_and_plans_through_the_api(api: Api) -> None:
    client = api.client
    promise = {
        "promise_id": str(uuid.uuid4()),
        "customer_id": "C1",
        "invoice_ids": ["FR01/F1"],
        "promised_date": "2026-11-30",
        "amount": {"amount": "500.00", "currency": "EUR"},
        "channel": "phone_call",
        "recorded_by": "anna@creditor.example",
    }
    made = await client.post("/promises", json=promise, headers=_as(COLLECTOR))
    assert made.status_code == 201
    assert made.json()["status"] == "open"
    overlapping = await client.post(
        "/promises", json={**promise, "promise_id": str(uuid.uuid4())}, headers=_as(COLLECTOR)
    )
    assert (overlapping.status_code, overlapping.json()["error"]) == (409, "overlapping_promise")
    plan = {
        "plan_id": str(uuid.uuid4()),
        "customer_id": "C1",
        "invoice_ids": ["FR01/F2"],
        "agreed_on": "2026-11-16",
        "instalments": [
            {"due_date": "2026-11-16", "amount": {"amount": "200.00", "currency": "EUR"}},
            {"due_date": "2026-12-16", "amount": {"amount": "1000.00", "currency": "EUR"}},
        ],
        "agreed_by": "anna@creditor.example",
    }
    agreed = await client.post("/payment-plans", json=plan, headers=_as(COLLECTOR))
    assert agreed.status_code == 201, agreed.text
    listed = await client.get("/payment-plans?customer_id=C1", headers=_as(READER))
    assert [p["plan_id"] for p in listed.json()] == [plan["plan_id"]]
    record = await client.get("/customers/C1/promise-record", headers=_as(READER))
    assert record.json() == {
        "customer_id": "C1",
        "made": 1,
        "kept": 0,
        "broken": 0,
        "broken_rate": None,
    }
    types = [e.event_type for e in await api.disputes.events()]
    assert types == ["promise.made", "payment_plan.agreed"]


async def test_the_owner_sees_open_call_back_requests(api: Api) -> None:
    from contracts.topics import DISPUTE_COMMANDS

    request = DISPUTE_COMMANDS.adapter.validate_python(
        {
            "event_id": str(uuid.uuid4()),
            "event_type": "callback.request",
            "occurred_at": "2026-11-15T09:30:00Z",
            "source": "portal",
            "payload": {
                "request_id": str(uuid.uuid4()),
                "customer_id": "C1",
                "company_code": "FR01",
                "phone": "+33612345678",
                "on": "2026-11-17",
                "slot": "afternoon",
                "invoice_ids": ["FR01/F1"],
                "requested_by": "portal:C1",
            },
        }
    )
    past = request.model_copy(
        update={"payload": request.payload.model_copy(update={"on": date(2026, 11, 14)})}
    )
    await api.disputes.feed([request, past])
    assert api.disputes.rejected[-1][0] == "callback_day_in_past"
    listed = await api.client.get("/callbacks?customer_id=C1", headers=_as(READER))
    assert listed.status_code == 200, listed.text
    assert [(c["phone"], c["on_day"], c["slot"], c["status"]) for c in listed.json()] == [
        ("+33612345678", "2026-11-17", "afternoon", "open")
    ]
    refused = await api.client.get("/callbacks")
    assert refused.status_code == 401


async def test_proposed_plans_are_listed_with_who_decided(api: Api) -> None:
    from contracts.topics import DISPUTE_COMMANDS

    proposal_id = str(uuid.uuid4())

    def command(event_type: str, payload: dict[str, object]) -> object:
        return DISPUTE_COMMANDS.adapter.validate_python(
            {
                "event_id": str(uuid.uuid4()),
                "event_type": event_type,
                "occurred_at": "2026-11-15T09:30:00Z",
                "source": "portal",
                "payload": payload,
            }
        )

    proposed = command(
        "payment_plan.propose",
        {
            "proposal_id": proposal_id,
            "customer_id": "C1",
            "company_code": "FR01",
            "invoice_ids": ["FR01/F1"],
            "proposed_on": "2026-11-15",
            "instalments": [
                {"due_date": "2026-11-18", "amount": {"amount": "600", "currency": "EUR"}},
                {"due_date": "2026-12-18", "amount": {"amount": "600", "currency": "EUR"}},
            ],
            "proposed_by": "portal:C1",
        },
    )
    refused = command(
        "payment_plan.refuse",
        {
            "proposal_id": proposal_id,
            "customer_id": "C1",
            "actor": {"subject": "local:claire", "roles": ["credit_manager"]},
            "requested_at": "2026-11-15T10:00:00Z",
            "reason": "Two instalments of 600 in November.",
        },
    )
    await api.disputes.feed([proposed])  # type: ignore[list-item]
    pending = await api.client.get("/plan-proposals?customer_id=C1", headers=_as(READER))
    assert pending.status_code == 200, pending.text
    assert [(p["proposal_id"], p["status"]) for p in pending.json()] == [(proposal_id, "pending")]
    await api.disputes.feed([refused])  # type: ignore[list-item]
    assert api.disputes.rejected == []
    listed = await api.client.get("/plan-proposals?status=refused", headers=_as(READER))
    ((decided),) = listed.json()
    assert (decided["decided_by"], decided["decided_role"], decided["reason"]) == (
        "local:claire",
        "credit_manager",
        "Two instalments of 600 in November.",
    )
    assert (await api.client.get("/plan-proposals")).status_code == 401
