"""Paying by bank transfer (GoCardless Instant Bank Pay) over HTTP, against the loopback
GoCardless stand-in: a billing request with a payment request only, in the currency's
scheme, one per double click; a currency without a scheme refused beside the field; the
signed webhook announcing the payment once (a forged one changing nothing), and the
invoices never offered for payment again."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from services.portal.gocardless import GoCardlessDirectDebit
from services.portal.pages import Pages
from services.runtime.health import HealthState, HttpServer, build_app
from tests.integration.portal.conftest import Site
from tests.integration.portal.test_announced_payments import PAID
from tests.kafka_tools import consume

pytestmark = pytest.mark.integration

CHOSEN = {"invoice": list(PAID)}


@pytest.fixture
async def transfers(site: Site) -> AsyncIterator[str]:
    """The site's portal with bank transfer offered (GBP by Faster Payments, EUR by SEPA
    credit transfer); its base URL."""
    gocardless = site.settings.gocardless.model_copy(
        update={
            "bank_transfer": True,
            "transfer_schemes": {"GBP": "faster_payments", "EUR": "sepa_credit_transfer"},
        }
    )
    settings = site.settings.model_copy(update={"gocardless": gocardless})
    adapter = GoCardlessDirectDebit(gocardless)
    pages = Pages(
        site.pool, site.clock, settings, site.links, topic=site.commands, direct_debit=adapter
    )
    server = HttpServer(build_app(HealthState("portal"), [pages.routes()]), "127.0.0.1", 0)
    await server.start()
    yield f"http://127.0.0.1:{server.port}"
    await server.stop()
    await adapter.close()


def _account(site: Site, base: str) -> str:
    return site.account_url.replace(site.base_url, base)


async def test_a_double_click_creates_one_billing_request_without_a_mandate(
    site: Site, transfers: str
) -> None:
    account = _account(site, transfers)
    async with httpx.AsyncClient() as client:
        page = await client.get(account)
        first, second = await asyncio.gather(
            client.post(f"{account}/transfer", data=CHOSEN),
            client.post(f"{account}/transfer", data=CHOSEN),
        )
        hosted = await client.get(first.headers["location"])
    assert "Payer par virement" in page.text
    assert f'action="{account.removeprefix(transfers)}/transfer"' in page.text
    assert first.status_code == second.status_code == 303
    assert first.headers["location"].startswith(f"{site.gocardless.base_url}/flow/BRF")
    assert site.gocardless.created == 1  # the second request met the same Idempotency-Key
    (request,) = site.gocardless.billing_requests.values()
    assert request["mandate_request"] is None
    assert request["payment_request"]["scheme"] == "sepa_credit_transfer"
    assert request["payment_request"]["amount"] == 118000  # 700.00 + 480.00, minor units
    assert request["payment_request"]["currency"] == "EUR"
    assert "Bank transfer of 118000 EUR" in hosted.text
    flow = next(iter(site.gocardless.flows.values()))
    assert flow["redirect_uri"].endswith("?done=transfer")


async def test_a_currency_without_a_transfer_scheme_is_refused_beside_the_field(
    site: Site, transfers: str
) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{_account(site, transfers)}/transfer", data={"invoice": ["FR01/US-2026-010"]}
        )
    assert response.status_code == 422
    assert "Le virement n&#39;est proposé que dans ces devises : GBP, EUR." in response.text
    assert site.gocardless.requests == 0


async def test_the_signed_webhook_announces_the_transfer_once(site: Site, transfers: str) -> None:
    account = _account(site, transfers)
    webhook = f"{transfers}/portal/webhooks/gocardless"
    async with httpx.AsyncClient() as client:
        started = await client.post(f"{account}/transfer", data=CHOSEN)
        flow_id = started.headers["location"].rsplit("/", 1)[-1]
        request_id = str(site.gocardless.flows[flow_id]["links"]["billing_request"])
        payment_id = site.gocardless.fulfil(request_id)
        events = (
            site.gocardless.event("billing_requests", "fulfilled", request_id),
            site.gocardless.event("payments", "confirmed", request_id),
        )
        forged = site.gocardless.webhook(*events, secret="a-guessed-secret")
        assert (await client.post(webhook, content=forged[0], headers=forged[1])).status_code == 498
        assert await site.outbox() == []
        body, headers = site.gocardless.webhook(*events)
        for _ in range(2):  # a redelivery is harmless
            assert (await client.post(webhook, content=body, headers=headers)).status_code == 204
        again = await client.post(f"{account}/transfer", data=CHOSEN)
        by_debit = await client.post(f"{account}/debit", data=CHOSEN)
    assert again.headers["location"].endswith("?done=transfer_paid")
    assert by_debit.status_code == 422  # being paid: never a second payment
    assert site.gocardless.created == 1
    rows = await site.pool.fetch("SELECT kind, status, payment_id FROM direct_debits")
    assert [tuple(r) for r in rows] == [("transfer", "announced", payment_id)]
    records = await consume(site.bootstrap, site.commands.name, expected=2, timeout_s=3)
    assert len(records) == 1
    command = json.loads(records[0].value)
    assert command["event_type"] == "promise.record"
    assert command["payload"]["kind"] == "payment_announced"
    assert command["payload"]["amount"] == {"amount": "1180.00", "currency": "EUR"}
    assert command["payload"]["recorded_by"] == f"gocardless:{payment_id}"
    assert sorted(command["payload"]["invoice_ids"]) == sorted(PAID)
