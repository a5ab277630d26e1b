"""Who may reach the notifier's routes: the matrix per role and portfolio, over real HTTP.

Call tasks and the proof archive need an authenticated collector whose portfolio covers the
invoices' company; the probes stay open; the bounce endpoint needs its provider token.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr

from contracts.topics import NOTIFIER_DELIVERIES
from services.notifier.channels.email.bounces import EmailBounces
from services.notifier.channels.phone.tasks import CallTasks
from services.notifier.composing.composer import EmailComposer
from services.notifier.dispatcher import Dispatcher
from services.notifier.proof import ProofArchive
from services.notifier.settings import EmailSettings, NotifierSettings
from services.runtime.auth import AuthSettings
from services.runtime.clock import SimulatedClock
from services.runtime.health import HealthState, HttpServer, build_app
from tests.identity_provider import AUDIENCE, IdentityProvider, identity_provider
from tests.integration.notifier.harness import Notifier, authenticator
from tests.kafka_tools import unique
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration

INVOICE = "/invoices/FR01%2FINV-1/deliveries"
CLOSE = "/call-tasks/{task_id}/close"


@dataclass
class Site:
    client: httpx.AsyncClient
    provider: IdentityProvider
    clock: SimulatedClock
    task_id: str
    delivery_id: str

    def person(self, subject: str, role: str, *companies: str) -> dict[str, str]:
        token = self.provider.token(subject, (role,), companies, now=self.clock.now().timestamp())
        return {"Authorization": f"Bearer {token}"}


def refusals(route: str, reason: str) -> float:
    labels = {"service": "notifier", "route": route, "reason": reason}
    return REGISTRY.get_sample_value("relance_authorization_refusals_total", labels) or 0.0


@pytest.fixture
async def site(pool: asyncpg.Pool) -> AsyncIterator[Site]:
    settings = NotifierSettings(email=EmailSettings(bounce_webhook_token=SecretStr("t" * 32)))
    topic = dataclasses.replace(NOTIFIER_DELIVERIES, name=unique(NOTIFIER_DELIVERIES.name))
    clock = SimulatedClock(samples.NOW)
    composer = EmailComposer.load(settings)
    dispatcher = Dispatcher(pool, clock, settings, {}, composer, topic=topic)
    notifier = Notifier(pool, clock, dispatcher, topic.name)
    due = samples.reminder("INV-1", channel="phone_call", level="level_1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    assert await dispatcher.dispatch_all() == 1
    delivery = await notifier.delivery(due.reminder_id)

    async with identity_provider() as provider:
        auth = authenticator(
            clock, AuthSettings(oidc_issuer=provider.issuer, oidc_audience=AUDIENCE)
        )
        tasks = CallTasks(pool, clock, topic)
        routers = [
            tasks.routes(auth),
            ProofArchive(pool).routes(auth),
            EmailBounces(pool, clock, settings, topic).routes(),
        ]
        server = HttpServer(
            build_app(HealthState("notifier", started=True), routers), "127.0.0.1", 0
        )
        await server.start()
        (task,) = await tasks.list()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
                yield Site(client, provider, clock, task["task_id"], str(delivery["delivery_id"]))
        finally:
            await server.stop()


async def test_without_a_credential_only_the_probes_answer(site: Site) -> None:
    client = site.client
    for path in ("/healthz", "/readyz", "/metrics"):
        assert (await client.get(path)).status_code == 200, path
    for path in ("/call-tasks", INVOICE, f"/deliveries/{site.delivery_id}/content"):
        response = await client.get(path)
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"] == "Bearer"
    close = await client.post(CLOSE.format(task_id=site.task_id), json={"outcome": "no_answer"})
    assert close.status_code == 401


async def test_a_viewer_reaches_neither_call_tasks_nor_proofs(site: Site) -> None:
    vic = site.person("vic", "viewer", "FR01")
    for path in ("/call-tasks", INVOICE):
        response = await site.client.get(path, headers=vic)
        assert (response.status_code, response.json()["reason"]) == (403, "role")


async def test_a_collector_outside_the_portfolio_is_refused_and_counted(site: Site) -> None:
    client, dora = site.client, site.person("dora", "collector", "DE02")
    assert (await client.get("/call-tasks", headers=dora)).json() == {"tasks": []}
    before = (
        refusals(CLOSE, "portfolio"),
        refusals("/invoices/{invoice_id:path}/deliveries", "portfolio"),
    )
    close = await client.post(
        CLOSE.format(task_id=site.task_id),
        json={"outcome": "no_answer", "closed_by": "dora"},
        headers=dora,
    )
    assert close.status_code == 403
    assert close.json()["detail"] == "company FR01 is outside oidc:dora's portfolio"
    proofs = await client.get(INVOICE, headers=dora)
    assert (proofs.status_code, proofs.json()["reason"]) == (403, "portfolio")
    content = await client.get(f"/deliveries/{site.delivery_id}/content", headers=dora)
    assert content.status_code == 403
    after = (
        refusals(CLOSE, "portfolio"),
        refusals("/invoices/{invoice_id:path}/deliveries", "portfolio"),
    )
    assert after == (before[0] + 1, before[1] + 1)
    # still open: the refused close changed nothing
    anna = site.person("anna", "collector", "FR01")
    (task,) = (await client.get("/call-tasks", headers=anna)).json()["tasks"]
    assert task["status"] == "open"


async def test_the_customers_collector_closes_the_task_as_themselves(site: Site) -> None:
    client, anna = site.client, site.person("anna", "collector", "FR01")
    closed = await client.post(
        CLOSE.format(task_id=site.task_id),
        json={"outcome": "no_answer", "closed_by": "somebody-else"},
        headers=anna,
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["closed_by"] == "oidc:anna"
    listed = (await client.get(INVOICE, headers=anna)).json()["deliveries"]
    assert [d["delivery_id"] for d in listed] == [site.delivery_id]


async def test_a_credit_manager_without_a_portfolio_sees_every_proof(site: Site) -> None:
    maud = site.person("maud", "credit_manager")
    listed = await site.client.get(INVOICE, headers=maud)
    assert [d["delivery_id"] for d in listed.json()["deliveries"]] == [site.delivery_id]
    unknown = await site.client.get(f"/deliveries/{uuid.uuid4()}/content", headers=maud)
    assert unknown.status_code == 404


async def test_the_bounce_endpoint_needs_its_token(site: Site, pool: asyncpg.Pool) -> None:
    assert (await site.client.post("/email/bounces", content=b"x")).status_code == 403
    wrong = await site.client.post(
        "/email/bounces", content=b"x", headers={"X-Relance-Token": "u" * 32}
    )
    assert wrong.status_code == 403
    empty = NotifierSettings(email=EmailSettings(bounce_webhook_token=SecretStr("")))
    closed = EmailBounces(pool, site.clock, empty).routes()
    server = HttpServer(build_app(HealthState("notifier"), [closed]), "127.0.0.1", 0)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            bare = await client.post(
                "/email/bounces", content=b"x", headers={"X-Relance-Token": ""}
            )
            assert bare.status_code == 404
    finally:
        await server.stop()
