"""The portal over HTTP: headers, limits, revocation, and what a form sends."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest

from services.portal import queries
from tests.integration.portal.conftest import Site
from tests.kafka_tools import consume
from tests.unit.portal import samples

pytestmark = pytest.mark.integration


async def test_the_account_page_is_served_with_strict_headers(site: Site) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(site.account_url)
    assert response.status_code == 200
    assert response.headers["referrer-policy"] == "no-referrer"
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'none'" in csp
    assert "script-src" not in csp  # no script at all
    assert response.headers["cache-control"] == "no-store"
    assert '<html lang="fr">' in response.text
    # the customer's name is escaped, amounts are formatted by Babel in French
    assert "Ateliers &lt;Dupont&gt; &amp; Fils" in response.text
    assert "700,00\xa0€" in response.text
    assert "2\u202f500,00\xa0$US" in response.text


async def test_a_link_signed_with_the_previous_key_still_opens_the_account(site: Site) -> None:
    from services.runtime.signed_links import CustomerLinks, SignedLinkSettings

    old = CustomerLinks(SignedLinkSettings(keys=site.settings.links.keys[:1]), site.clock)
    async with httpx.AsyncClient() as client:
        response = await client.get(site.url(old.token(samples.CUSTOMER, samples.COMPANY)))
    assert response.status_code == 200


async def test_a_revoked_link_is_refused_and_a_newer_one_accepted(site: Site) -> None:
    revoked_url = site.account_url
    await site.pool.execute(
        queries.REVOKE, samples.CUSTOMER, samples.COMPANY, site.clock.now(), "forwarded by mistake"
    )
    site.clock.advance(timedelta(seconds=2))
    async with httpx.AsyncClient() as client:
        refused = await client.get(revoked_url)
        accepted = await client.get(site.account_url)
    assert refused.status_code == 403
    assert "Ce lien n&#39;est pas valide" in refused.text
    assert accepted.status_code == 200


async def test_a_large_body_is_refused_and_nothing_sent(site: Site) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            site.account_url + "/dispute",
            content=b"message=" + b"x" * (site.settings.max_form_bytes + 1),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code == 413
    assert "trop volumineux" in response.text
    assert await site.outbox() == []


async def test_requests_beyond_the_rate_limit_get_429(site: Site) -> None:
    site.pages.rate_limit.per_minute = 3
    async with httpx.AsyncClient() as client:
        statuses = [(await client.get(site.account_url)).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        site.clock.advance(timedelta(minutes=1))
        assert (await client.get(site.account_url)).status_code == 200


async def test_a_promise_sent_twice_is_one_command(site: Site) -> None:
    form = {"invoice": ["FR01/F-2026-002"], "promised_date": "2026-03-20"}
    async with httpx.AsyncClient() as client:
        for _ in range(2):
            response = await client.post(site.account_url + "/promise", data=form)
            assert response.status_code == 303
            assert response.headers["location"].endswith("?done=promise")
    records = await consume(site.bootstrap, site.commands.name, expected=2)
    assert len(records) == 2
    first, second = (json.loads(r.value) for r in records)
    assert first["event_id"] == second["event_id"]
    assert first["payload"]["promise_id"] == second["payload"]["promise_id"]
    assert records[0].key == samples.CUSTOMER.encode()


async def test_other_paths_and_methods_get_a_page_with_the_same_headers(site: Site) -> None:
    async with httpx.AsyncClient() as client:
        responses = (
            await client.post(site.account_url, data={"x": "1"}),
            await client.get(site.account_url + "/promise", headers={"accept-language": "es"}),
            await client.get(site.base_url + "/portal/"),
        )
    for response in responses:
        assert response.status_code == 404, response.request.url
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "Cuenta no disponible" in responses[1].text
    assert "Account not available" in responses[2].text


async def test_guessing_links_from_one_address_is_slowed_down(site: Site) -> None:
    site.pages.rate_limit.per_minute = 2
    async with httpx.AsyncClient() as client:
        statuses = [(await client.get(site.url(f"guess{n}.x.y"))).status_code for n in range(3)]
    assert statuses == [403, 403, 429]
