"""Authentication and authorization over real HTTP on loopback: an OpenID Connect provider
stand-in, local accounts with sign-in, machine keys, roles and portfolios."""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations, which
# name dependencies built inside a function.
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import httpx
import pytest
import yaml
from fastapi import Depends, FastAPI
from prometheus_client import REGISTRY
from pydantic import SecretStr

from services.runtime.auth import Authenticator, AuthSettings, guarded_router
from services.runtime.clock import SimulatedClock
from services.runtime.health import HttpServer
from services.runtime.identity import Identity, authorize, hash_password
from tests.identity_provider import AUDIENCE, IdentityProvider, identity_provider, rsa_key

pytestmark = pytest.mark.integration

SERVICE = "auth-test"
PASSWORD = "correct horse battery staple"
MACHINE_KEY = "machine-key-0123456789abcdef"
KEYS = "k2:" + "b" * 40 + ",k1:" + "a" * 40


@dataclass
class Site:
    client: httpx.AsyncClient
    provider: IdentityProvider
    clock: SimulatedClock


def refusals(route: str, reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "relance_authorization_refusals_total",
        {"service": SERVICE, "route": route, "reason": reason},
    )
    return value or 0.0


def users_file(tmp_path: Path) -> Path:
    path = tmp_path / "users.yaml"
    users = {
        "users": {
            "bruno": {
                "name": "Bruno Petit",
                "role": "collector",
                "password_hash": hash_password(PASSWORD),
                "portfolio": {"collector_codes": ["C12"]},
            },
            "carla": {
                "name": "Carla Roux",
                "role": "credit_manager",
                "password_hash": hash_password(PASSWORD),
            },
        }
    }
    path.write_text(yaml.safe_dump(users), encoding="utf-8")
    return path


def application(authenticator: Authenticator) -> FastAPI:
    router = guarded_router()

    async def customer(
        company: str,
        identity: Annotated[Identity, Depends(authenticator.require("collector"))],
        collector: str | None = None,
    ) -> dict[str, str]:
        authorize(identity, company_code=company, collector_code=collector)
        return {"company": company, "actor": identity.actor}

    async def settings(
        identity: Annotated[Identity, Depends(authenticator.require("administrator"))],
    ) -> dict[str, str]:
        return {"actor": identity.actor}

    router.add_api_route("/companies/{company}/customer", customer, methods=["GET"])
    router.add_api_route("/settings", settings, methods=["GET"])
    app = FastAPI()
    app.include_router(router)
    app.include_router(authenticator.sign_in_router())
    return app


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async with identity_provider() as provider:
        clock = SimulatedClock(datetime.now(UTC))
        settings = AuthSettings(
            oidc_issuer=provider.issuer,
            oidc_audience=AUDIENCE,
            users_file=users_file(tmp_path),
            signing_keys=SecretStr(KEYS),
            api_keys=SecretStr(f"viewer:dashboard:{MACHINE_KEY}"),
            sign_in_max_failures=3,
        )
        server = HttpServer(application(Authenticator(SERVICE, settings, clock)), "127.0.0.1", 0)
        await server.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
                yield Site(client, provider, clock)
        finally:
            await server.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_valid_provider_token_is_accepted(site: Site) -> None:
    token = site.provider.token("anna", ("collector",), ("FR01",), now=site.clock.now().timestamp())
    response = await site.client.get("/companies/FR01/customer", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json() == {"company": "FR01", "actor": "oidc:anna"}
    identity = (await site.client.get("/auth/identity", headers=bearer(token))).json()
    assert identity["roles"] == ["collector"]
    assert identity["portfolio"]["company_codes"] == ["FR01"]
    assert site.provider.discovery_requests == 1


@pytest.mark.parametrize(
    "case", ["expired", "wrong_audience", "wrong_issuer", "forged", "unknown_key_id"]
)
async def test_bad_provider_tokens_are_refused(site: Site, case: str) -> None:
    provider, now = site.provider, site.clock.now().timestamp()
    stranger = rsa_key("idp-1")  # the provider's key id, another key: a forged signature
    tokens = {
        "expired": provider.token(now=now - 3600, lifetime_s=600),
        "wrong_audience": provider.token(now=now, audience="another-api"),
        "wrong_issuer": provider.token(now=now, issuer="https://evil.example"),
        "forged": provider.token(now=now, key=stranger),
        "unknown_key_id": provider.token(now=now, key=rsa_key("idp-unknown")),
    }
    response = await site.client.get("/companies/FR01/customer", headers=bearer(tokens[case]))
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"] in {"invalid_token", "unauthenticated"}


async def test_a_rotated_provider_key_is_fetched_once_the_refresh_interval_passed(
    site: Site,
) -> None:
    provider = site.provider
    first = provider.token(now=site.clock.now().timestamp())
    assert (await site.client.get("/companies/FR01/customer", headers=bearer(first))).is_success
    provider.key = rsa_key("idp-2")
    provider.published.append(provider.key)
    rotated = provider.token(now=site.clock.now().timestamp())
    too_soon = await site.client.get("/companies/FR01/customer", headers=bearer(rotated))
    assert too_soon.status_code == 401
    site.clock.advance(timedelta(seconds=61))
    rotated = provider.token(now=site.clock.now().timestamp())
    later = await site.client.get("/companies/FR01/customer", headers=bearer(rotated))
    assert later.status_code == 200, later.text
    assert provider.jwks_requests == 2


async def test_no_credential_is_a_bearer_challenge(site: Site) -> None:
    response = await site.client.get("/companies/FR01/customer")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    unknown = await site.client.get("/settings", headers={"X-API-Key": "not-a-known-key"})
    assert unknown.status_code == 401


async def test_role_and_portfolio_refusals_are_403_with_a_reason_and_counted(
    site: Site,
) -> None:
    now = site.clock.now().timestamp()
    collector = bearer(site.provider.token("anna", ("collector",), ("FR01",), now=now))
    route = "/companies/{company}/customer"
    before = refusals(route, "portfolio"), refusals("/settings", "role")

    outside = await site.client.get("/companies/DE02/customer", headers=collector)
    assert outside.status_code == 403
    assert outside.json()["reason"] == "portfolio"
    assert "DE02" in outside.json()["detail"]
    admin_only = await site.client.get("/settings", headers=collector)
    assert (admin_only.status_code, admin_only.json()["reason"]) == (403, "role")
    assert (refusals(route, "portfolio"), refusals("/settings", "role")) == (
        before[0] + 1,
        before[1] + 1,
    )

    viewer = bearer(site.provider.token("vic", ("viewer",), ("FR01",), now=now))
    assert (await site.client.get("/companies/FR01/customer", headers=viewer)).status_code == 403
    nobody = bearer(site.provider.token("nora", ("some-idp-group",), ("FR01",), now=now))
    assert (await site.client.get("/companies/FR01/customer", headers=nobody)).status_code == 403
    bare = bearer(site.provider.token("colin", ("collector",), (), now=now))
    assert (await site.client.get("/companies/FR01/customer", headers=bare)).status_code == 403
    manager = bearer(site.provider.token("maud", ("credit_manager",), (), now=now))
    assert (await site.client.get("/companies/DE02/customer", headers=manager)).status_code == 200
    admin = bearer(site.provider.token("ada", ("administrator",), (), now=now))
    assert (await site.client.get("/settings", headers=admin)).json() == {"actor": "oidc:ada"}


async def test_machine_keys_are_identities_with_a_role(site: Site) -> None:
    machine = {"X-API-Key": MACHINE_KEY}
    who = (await site.client.get("/auth/identity", headers=machine)).json()
    assert (who["subject"], who["kind"], who["roles"]) == (
        "api-key:dashboard",
        "machine",
        ["viewer"],
    )
    refused = await site.client.get("/companies/FR01/customer", headers=machine)
    assert (refused.status_code, refused.json()["reason"]) == (403, "role")


async def sign_in(site: Site, login: str, password: str) -> httpx.Response:
    return await site.client.post("/auth/sign-in", json={"login": login, "password": password})


async def test_local_accounts_sign_in_and_use_their_token(site: Site) -> None:
    signed = await sign_in(site, "bruno", PASSWORD)
    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 900)
    token = bearer(body["access_token"])
    own = await site.client.get("/companies/DE02/customer?collector=C12", headers=token)
    assert own.json() == {"company": "DE02", "actor": "local:bruno"}
    other = await site.client.get("/companies/DE02/customer?collector=C13", headers=token)
    assert (other.status_code, other.json()["reason"]) == (403, "portfolio")

    site.clock.advance(timedelta(seconds=900 + 31))
    expired = await site.client.get("/companies/DE02/customer?collector=C12", headers=token)
    assert expired.status_code == 401
    assert expired.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


async def test_local_tokens_signed_by_a_retired_key_still_verify_until_it_is_dropped(
    site: Site, tmp_path: Path
) -> None:
    # the installation signs with k2 (first) and still accepts k1 (second): a token from
    # before the rotation, signed with k1 by an authenticator that had k1 first, is accepted
    old = Authenticator(
        "old",
        AuthSettings(users_file=users_file(tmp_path), signing_keys=SecretStr("k1:" + "a" * 40)),
        site.clock,
    )
    assert old.tokens is not None
    carla = await old.identify(
        old.tokens.issue(
            Identity("local:carla", "Carla Roux", frozenset({"credit_manager"})),
            site.clock.now().timestamp(),
        )
    )
    token = old.tokens.issue(carla, site.clock.now().timestamp())
    accepted = await site.client.get("/companies/IT03/customer", headers=bearer(token))
    assert accepted.json() == {"company": "IT03", "actor": "local:carla"}
    foreign = Authenticator(
        "other", AuthSettings(signing_keys=SecretStr("k1:" + "z" * 40)), site.clock
    )
    assert foreign.tokens is not None
    forged = foreign.tokens.issue(carla, site.clock.now().timestamp())
    assert (
        await site.client.get("/companies/IT03/customer", headers=bearer(forged))
    ).status_code == 401


async def test_sign_in_is_throttled_per_account_and_address(site: Site) -> None:
    assert (await sign_in(site, "carla", "wrong password")).status_code == 401
    assert (await sign_in(site, "nobody", PASSWORD)).status_code == 401
    assert (await sign_in(site, "carla", "still wrong")).status_code == 401
    throttled = await sign_in(site, "carla", PASSWORD)
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0
    # the address made three failed attempts too: another account from it waits as well
    assert (await sign_in(site, "bruno", PASSWORD)).status_code == 429
    site.clock.advance(timedelta(seconds=301))
    assert (await sign_in(site, "carla", PASSWORD)).status_code == 200
