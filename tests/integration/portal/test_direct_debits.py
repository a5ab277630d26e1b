"""Paying by SEPA direct debit over HTTP, against the loopback GoCardless stand-in: one
billing request per double click and per choice, webhooks refused unless GoCardless signed
them (counted, nothing changed), a submitted payment announced once, a failed one
withdrawn; and, with the disputes service and the scheduler on one clock, dunning paused by
the announcement and resumed at once by the failure."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from contracts import disputes
from contracts.topics import DISPUTE_COMMANDS
from services.portal import metrics
from tests.integration.disputes.harness import Timeline
from tests.integration.portal.conftest import Site
from tests.integration.portal.test_announced_payments import PAID, _pauses
from tests.integration.portal.test_announced_payments import timeline as timeline
from tests.kafka_tools import consume
from tests.unit.portal import samples

pytestmark = pytest.mark.integration

CHOSEN = {"invoice": list(PAID)}


def webhook_url(site: Site) -> str:
    return f"{site.base_url}/portal/webhooks/gocardless"


async def debit(
    client: httpx.AsyncClient, site: Site, form: dict[str, list[str]]
) -> httpx.Response:
    return await client.post(f"{site.account_url}/debit", data=form)


def refused() -> float:
    return float(metrics.WEBHOOKS.labels("portal", "gocardless", "refused")._value.get())


async def debits(site: Site) -> list[dict[str, Any]]:
    rows = await site.pool.fetch("SELECT * FROM direct_debits ORDER BY attempt")
    return [dict(r) for r in rows]


async def a_fulfilled_debit(site: Site, client: httpx.AsyncClient) -> str:
    """The customer chooses, GoCardless's flow is authorised; the billing request's id."""
    response = await debit(client, site, CHOSEN)
    assert response.status_code == 303
    flow_id = response.headers["location"].rsplit("/", 1)[-1]
    request_id = str(site.gocardless.flows[flow_id]["links"]["billing_request"])
    site.gocardless.fulfil(request_id)
    return request_id


async def test_a_double_click_creates_one_billing_request(site: Site) -> None:
    async with httpx.AsyncClient() as client:
        first, second = await asyncio.gather(
            debit(client, site, CHOSEN), debit(client, site, CHOSEN)
        )
        page = await client.get(site.account_url)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"].startswith(f"{site.gocardless.base_url}/flow/BRF")
    assert site.gocardless.created == 1  # the second request met the same Idempotency-Key
    (request,) = site.gocardless.billing_requests.values()
    assert request["payment_request"]["amount"] == 118000  # 700.00 + 480.00 EUR in cents
    assert request["payment_request"]["currency"] == "EUR"
    assert request["payment_request"]["description"] == "F-2026-001 F-2026-002"
    assert request["mandate_request"]["scheme"] == "sepa_core"
    (row,) = await debits(site)
    assert request["metadata"]["relance_debit"] == str(row["debit_id"])
    assert row["billing_request_id"] == request["id"]
    flows = list(site.gocardless.flows.values())
    assert {f["links"]["billing_request"] for f in flows} == {request["id"]}
    assert flows[0]["redirect_uri"] == f"{site.account_url}?done=debit"
    assert flows[0]["language"] == "fr"
    assert f"{site.gocardless.base_url}" in page.headers["content-security-policy"]
    assert '/debit" novalidate>' in page.text


async def test_a_currency_the_scheme_does_not_collect_is_refused_beside_the_field(
    site: Site,
) -> None:
    async with httpx.AsyncClient() as client:
        response = await debit(client, site, {"invoice": ["FR01/US-2026-010"]})
    assert response.status_code == 422
    assert "Le prélèvement ne porte que sur ces devises : EUR." in response.text
    assert site.gocardless.requests == 0
    assert await debits(site) == []


async def test_a_refused_access_token_shows_a_page_and_never_the_token(site: Site) -> None:
    assert site.pages.direct_debit is not None
    site.pages.direct_debit._token = SecretStr("live_revoked_token_0000000000")
    async with httpx.AsyncClient() as client:
        response = await debit(client, site, CHOSEN)
    assert response.status_code == 502
    assert "Paiement indisponible" in response.text
    assert "live_revoked" not in response.text
    assert site.gocardless.created == 0


async def test_forged_webhooks_are_refused_counted_and_change_nothing(site: Site) -> None:
    async with httpx.AsyncClient() as client:
        request_id = await a_fulfilled_debit(site, client)
        events = (
            site.gocardless.event("billing_requests", "fulfilled", request_id),
            site.gocardless.event("payments", "submitted", request_id),
        )
        body, headers = site.gocardless.webhook(*events)
        forged_body, forged = site.gocardless.webhook(*events, secret="a-guessed-secret")
        before = refused()
        attempts = [
            (forged_body, forged),
            (body, {"Content-Type": "application/json"}),  # unsigned
            (body.replace(b"submitted", b"confirmed"), headers),  # altered after signing
        ]
        for content, sent in attempts:
            response = await client.post(webhook_url(site), content=content, headers=sent)
            assert response.status_code == 498
        assert refused() == before + 3
        assert [r["status"] for r in await debits(site)] == ["started"]
        genuine = await client.post(webhook_url(site), content=body, headers=headers)
    assert genuine.status_code == 204
    (record,) = await consume(site.bootstrap, site.commands.name, expected=1)
    command = DISPUTE_COMMANDS.parse(record.value)
    assert isinstance(command, disputes.RecordPromise)
    assert command.payload.kind == "payment_announced"
    assert command.payload.channel == "portal"
    assert command.payload.recorded_by == "gocardless:PM000STANDIN001"
    assert command.payload.invoice_ids == tuple(PAID)
    assert str(command.payload.amount.amount) == "1180.00"
    assert command.payload.promised_date == samples.TODAY


async def test_a_payment_is_announced_once_and_never_paid_twice(site: Site) -> None:
    async with httpx.AsyncClient() as client:
        request_id = await a_fulfilled_debit(site, client)
        fulfilled = site.gocardless.event("billing_requests", "fulfilled", request_id)
        body, headers = site.gocardless.webhook(fulfilled)
        assert (await client.post(webhook_url(site), content=body, headers=headers)).is_success
        # the customer comes back: the choice is paid, no second billing request
        again = await debit(client, site, CHOSEN)
        assert again.headers["location"].endswith("?done=debit_paid")
        notice = await client.get(site.base_url + again.headers["location"])
        assert "déjà en cours de paiement par prélèvement" in notice.text
        # nor part of it again, by debit or by card
        part = await debit(client, site, {"invoice": ["FR01/F-2026-001"]})
        by_card = await client.post(
            f"{site.account_url}/pay", data={"invoice": ["FR01/F-2026-002"]}
        )
        for refused_page in (part, by_card):
            assert refused_page.status_code == 422
            assert "Ces factures sont déjà en cours de paiement" in refused_page.text
        assert site.stripe.requests == 0
        for action in ("submitted", "confirmed", "submitted"):  # later states, a redelivery
            batch = site.gocardless.webhook(site.gocardless.event("payments", action, request_id))
            response = await client.post(webhook_url(site), content=batch[0], headers=batch[1])
            assert response.status_code == 204
    assert site.gocardless.created == 1
    assert [r["status"] for r in await debits(site)] == ["announced"]
    records = await consume(site.bootstrap, site.commands.name, expected=2, timeout_s=3)
    assert len(records) == 1  # the announcement, once
    assert json.loads(records[0].value)["event_type"] == "promise.record"


async def test_a_failure_before_submission_announces_nothing_and_allows_a_new_debit(
    site: Site,
) -> None:
    async with httpx.AsyncClient() as client:
        request_id = await a_fulfilled_debit(site, client)
        failed = site.gocardless.event("payments", "failed", request_id, cause="mandate_cancelled")
        body, headers = site.gocardless.webhook(
            site.gocardless.event("billing_requests", "fulfilled", request_id), failed
        )
        assert (await client.post(webhook_url(site), content=body, headers=headers)).is_success
        retried = await debit(client, site, CHOSEN)
    assert retried.status_code == 303
    assert site.gocardless.created == 2  # a new attempt, a new key
    rows = await debits(site)
    assert [(r["attempt"], r["status"]) for r in rows] == [(0, "failed"), (1, "started")]
    assert rows[0]["reason"] == "failed: mandate_cancelled"
    assert await consume(site.bootstrap, site.commands.name, expected=1, timeout_s=3) == []


async def test_a_failed_debit_resumes_dunning_at_once(site: Site, timeline: Timeline) -> None:
    async with httpx.AsyncClient() as client:
        request_id = await a_fulfilled_debit(site, client)
        body, headers = site.gocardless.webhook(
            site.gocardless.event("billing_requests", "fulfilled", request_id),
            site.gocardless.event("payments", "submitted", request_id),
        )
        assert (await client.post(webhook_url(site), content=body, headers=headers)).is_success
        (announced,) = await consume(site.bootstrap, site.commands.name, expected=1)
        await timeline.command(DISPUTE_COMMANDS.parse(announced.value))
        assert set((await _pauses(timeline)).values()) == {"promise_to_pay"}

        body, headers = site.gocardless.webhook(
            site.gocardless.event("payments", "failed", request_id, cause="insufficient_funds")
        )
        assert (await client.post(webhook_url(site), content=body, headers=headers)).is_success
    records = await consume(site.bootstrap, site.commands.name, expected=2)
    failure = DISPUTE_COMMANDS.parse(records[-1].value)
    assert isinstance(failure, disputes.RecordPaymentFailure)
    await timeline.command(failure)
    await timeline.command(failure)  # redelivered: nothing more
    broken = [e for e in await timeline.disputes.events() if isinstance(e, disputes.PromiseBroken)]
    assert len(broken) == 1
    assert broken[0].payload.kind == "payment_announced"
    assert broken[0].payload.announced_by == "gocardless:PM000STANDIN001"
    assert broken[0].payload.failure == "failed: insufficient_funds"
    assert broken[0].payload.customer_record is None
    assert set((await _pauses(timeline)).values()) == {None}  # dunning resumed
