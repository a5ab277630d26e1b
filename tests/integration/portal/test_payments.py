"""Paying online over HTTP, against the loopback Stripe stand-in: one session per double
click, webhooks refused unless Stripe signed them recently, a paid session announced once."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from pydantic import SecretStr

from tests.integration.portal.conftest import Site
from tests.integration.portal.stripe_standin import signature
from tests.kafka_tools import consume
from tests.unit.portal import samples

pytestmark = pytest.mark.integration

CHOSEN = {"invoice": ["FR01/F-2026-001", "FR01/F-2026-002"]}


def webhook_url(site: Site) -> str:
    return f"{site.base_url}/portal/webhooks/stripe"


async def pay(client: httpx.AsyncClient, site: Site, form: dict[str, list[str]]) -> httpx.Response:
    return await client.post(f"{site.account_url}/pay", data=form)


async def a_session(site: Site) -> str:
    async with httpx.AsyncClient() as client:
        response = await pay(client, site, CHOSEN)
    assert response.status_code == 303
    return response.headers["location"].rsplit("/", 1)[-1]


async def test_a_double_click_creates_one_checkout_session(site: Site) -> None:
    async with httpx.AsyncClient() as client:
        first, second = await asyncio.gather(pay(client, site, CHOSEN), pay(client, site, CHOSEN))
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert first.headers["location"].startswith(f"{site.stripe.base_url}/c/pay/cs_test_")
    assert site.stripe.requests >= 2  # both reached Stripe (the second got 409, then the first)
    assert site.stripe.created == 1
    (session,) = site.stripe.sessions.values()
    assert session["amount_total"] == 118000  # 700.00 + 480.00 EUR in cents
    assert session["currency"] == "eur"
    assert session["metadata"] == {
        "customer_id": samples.CUSTOMER,
        "company_code": samples.COMPANY,
        "invoice_ids": "FR01/F-2026-001 FR01/F-2026-002",
    }
    assert session["success_url"] == f"{site.account_url}?done=payment"
    assert [item["price_data"]["product_data"]["name"] for item in session["line_items"]] == [
        "F-2026-001",
        "F-2026-002",
    ]
    # another choice is another payment
    async with httpx.AsyncClient() as client:
        other = await pay(client, site, {"invoice": ["FR01/F-2026-001"]})
    assert other.headers["location"] != first.headers["location"]
    assert site.stripe.created == 2


async def test_the_account_page_allows_the_checkout_as_a_form_target(site: Site) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(site.account_url)
    csp = response.headers["content-security-policy"]
    assert f"form-action 'self' {site.stripe.base_url}" in csp  # and GoCardless's flow
    assert '/pay" novalidate>' in response.text


async def test_invoices_in_two_currencies_are_refused_and_nothing_is_created(site: Site) -> None:
    async with httpx.AsyncClient() as client:
        response = await pay(client, site, {"invoice": ["FR01/F-2026-001", "FR01/US-2026-010"]})
    assert response.status_code == 422
    assert "Choisissez des factures d&#39;une seule devise." in response.text
    assert site.stripe.requests == 0


async def test_a_refused_secret_key_shows_a_page_and_never_the_key(site: Site) -> None:
    assert site.pages.checkout is not None
    site.pages.checkout._secret = SecretStr("sk_test_revoked_key_000000000000")
    async with httpx.AsyncClient() as client:
        response = await pay(client, site, CHOSEN)
    assert response.status_code == 502
    assert "Paiement indisponible" in response.text
    assert "sk_test" not in response.text
    assert site.stripe.created == 0


async def test_forged_stale_or_unsigned_webhooks_are_refused_and_nothing_is_sent(
    site: Site,
) -> None:
    payload = site.stripe.completed_event(await a_session(site))
    now = site.clock.now().timestamp()
    attempts = {
        "forged": {"stripe-signature": signature(payload, now, secret="whsec_guessed")},
        "stale": {"stripe-signature": signature(payload, now - 301)},
        "unsigned": {},
        "tampered": {"stripe-signature": signature(payload, now)},
    }
    async with httpx.AsyncClient() as client:
        for name, headers in attempts.items():
            body = (
                payload.replace(b'"amount_total": 118000', b'"amount_total": 1')
                if (name == "tampered")
                else payload
            )
            response = await client.post(webhook_url(site), content=body, headers=headers)
            assert response.status_code == 400, name
        # then the genuine one: it is the only command on the topic
        genuine = {"stripe-signature": signature(payload, now)}
        accepted = await client.post(webhook_url(site), content=payload, headers=genuine)
    assert accepted.status_code == 200
    records = await consume(site.bootstrap, site.commands.name, expected=1)
    assert len(records) == 1
    assert json.loads(records[0].value)["payload"]["amount"]["amount"] == "1180.00"


async def test_a_paid_session_is_announced_once_as_a_portal_promise(site: Site) -> None:
    payload = site.stripe.completed_event(await a_session(site))
    headers = {"stripe-signature": signature(payload, site.clock.now().timestamp())}
    async with httpx.AsyncClient() as client:
        first = await client.post(webhook_url(site), content=payload, headers=headers)
        again = await client.post(webhook_url(site), content=payload, headers=headers)  # retry
        other = json.dumps({"type": "payment_intent.created", "data": {"object": {}}}).encode()
        ignored = await client.post(
            webhook_url(site),
            content=other,
            headers={"stripe-signature": signature(other, site.clock.now().timestamp())},
        )
    assert (first.status_code, again.status_code, ignored.status_code) == (200, 200, 200)
    assert ignored.text == "ignored"
    records = await consume(site.bootstrap, site.commands.name, expected=2)
    assert len(records) == 2
    commands = [json.loads(record.value) for record in records]
    assert commands[0]["event_id"] == commands[1]["event_id"]  # one command, sent twice
    command = commands[0]
    assert command["event_type"] == "promise.record"
    assert command["payload"]["invoice_ids"] == ["FR01/F-2026-001", "FR01/F-2026-002"]
    assert command["payload"]["amount"] == {"amount": "1180.00", "currency": "EUR"}
    assert command["payload"]["channel"] == "portal"
    assert command["payload"]["promised_date"] == str(site.clock.now().date())  # paid on
    assert command["payload"]["kind"] == "payment_announced"
    assert command["payload"]["recorded_by"].startswith("stripe:cs_test_")
