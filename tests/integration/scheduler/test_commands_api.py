"""The scheduler's HTTP commands API on a real PostgreSQL: who may send what, what is written
to the outbox (``dunning.commands.v1``), and what ``GET /v1/commands/{id}`` reports once the
scheduler executed or refused the command (through the consumer plumbing, on a simulated
clock). Then the authorization matrix of the executor itself, per role and portfolio kind."""

# No ``from __future__ import annotations``: FastAPI is involved (see services/scheduler/api.py).

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from pydantic import SecretStr

from contracts import commands
from contracts.erp import Segment
from contracts.topics import DUNNING_COMMANDS
from services.runtime.auth import Authenticator, AuthSettings
from services.runtime.dead_letter import IncomingRecord
from services.runtime.health import HealthState, HttpServer, build_app
from services.runtime.identity import Identity, Portfolio
from services.runtime.outbox import KafkaRecordSender, OutboxRelay
from services.runtime.settings import KafkaSettings
from services.scheduler.api import CommandsApi
from tests.integration.scheduler.fixtures import customer, opened
from tests.integration.scheduler.test_commands import DUE, Desk, command, paris, pool  # noqa: F401
from tests.kafka_tools import consume, create_topics, unique

pytestmark = pytest.mark.integration

MACHINE_KEY = "a-collectors-crm-key-of-some-length"
NOW = paris(date(2026, 11, 27), 11)


def segment(collector: str, market: str = "domestic") -> Segment:
    return Segment(payer_profile="negligent", market=market, tags=(f"collector:{collector}",))


def person(login: str, role: str, **portfolio: Any) -> Identity:
    return Identity(
        subject=f"local:{login}",
        name=login,
        roles=frozenset({role}),  # type: ignore[arg-type]
        portfolio=Portfolio.of(**portfolio),
    )


class Api:
    """The commands API over the desk's database, and a client for it."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        settings = AuthSettings(
            signing_keys=SecretStr("k1:" + "s" * 40),
            api_keys=SecretStr(f"collector:crm:{MACHINE_KEY}"),
        )
        self.auth = Authenticator("scheduler", settings, desk.clock)
        app = FastAPI()
        app.include_router(CommandsApi(desk.pool, desk.clock, self.auth).router())
        self.app = app
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://scheduler"
        )

    def bearer(self, identity: Identity) -> dict[str, str]:
        assert self.auth.tokens is not None
        token = self.auth.tokens.issue(identity, self.desk.clock.now().timestamp())
        return {"Authorization": f"Bearer {token}"}

    async def post(
        self, name: str, body: dict[str, Any], identity: Identity | None
    ) -> httpx.Response:
        headers = self.bearer(identity) if identity is not None else {}
        return await self.client.post(f"/v1/commands/{name}", json=body, headers=headers)

    async def sent(self) -> list[Any]:
        """The commands in the outbox, as the scheduler will read them."""
        rows = await self.desk.pool.fetch(
            "SELECT key, value FROM outbox WHERE topic = $1 ORDER BY id", DUNNING_COMMANDS.name
        )
        return [DUNNING_COMMANDS.parse(r["value"]) for r in rows]

    async def relay(self) -> None:
        """Hand what the API wrote to the scheduler's consumer, as the outbox relay would."""
        rows = await self.desk.pool.fetch(
            "DELETE FROM outbox WHERE topic = $1 RETURNING id, key, value",
            DUNNING_COMMANDS.name,
        )
        for row in sorted(rows, key=lambda r: r["id"]):
            self.desk.offset += 1
            await self.desk.processor.process(
                [
                    IncomingRecord(
                        DUNNING_COMMANDS.name, 0, self.desk.offset, row["key"], row["value"]
                    )
                ]
            )


@pytest.fixture
async def api(pool: asyncpg.Pool) -> AsyncIterator[Api]:  # noqa: F811
    desk = Desk(pool, paris(date(2026, 11, 20), 10))
    await desk.scheduler.feed(
        [
            customer("C1", segment("C12")),
            customer("C2", segment("C34", "export")),
            opened("C1", "F1", DUE),
            opened("C2", "F2", DUE),
        ]
    )
    desk.clock.set(NOW)
    api = Api(desk)
    yield api
    await api.client.aclose()


def refusals(route: str, reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "relance_authorization_refusals_total",
        {"service": "scheduler", "route": route, "reason": reason},
    )
    return value or 0.0


MARIE = person("marie", "collector", collector_codes=["C12"])


async def test_a_hold_over_http_carries_the_authenticated_actor_and_is_followed_to_its_execution(
    api: Api,
) -> None:
    hold = {"customer_id": "C1", "until": "2026-12-10", "reason": "credit note being issued"}
    answer = await api.post("hold", hold, MARIE)
    assert answer.status_code == 202, answer.text
    command_id = answer.json()["command_id"]
    assert answer.headers["Location"] == f"/v1/commands/{command_id}"

    (sent,) = await api.sent()
    assert isinstance(sent, commands.HoldCommand)
    assert str(sent.payload.command_id) == command_id
    assert sent.payload.actor.subject == "local:marie"
    assert sent.payload.actor.collector_codes == ("C12",)
    assert sent.payload.requested_at == NOW
    assert (sent.payload.until, sent.payload.reason) == (
        date(2026, 12, 10),
        "credit note being issued",
    )

    pending = await api.client.get(f"/v1/commands/{command_id}", headers=api.bearer(MARIE))
    assert pending.json()["status"] == "pending"

    await api.relay()
    executed = (
        await api.client.get(f"/v1/commands/{command_id}", headers=api.bearer(MARIE))
    ).json()
    assert executed["status"] == "executed"
    assert executed["actor"] == "local:marie"
    assert executed["detail"]["until"] == "2026-12-10"
    assert executed["before"][0]["held_until"] is None
    assert executed["after"][0]["held_until"] is not None

    # a retry with the same id and body is accepted again and sent once; another body clashes
    again = await api.post("hold", {**hold, "command_id": command_id}, MARIE)
    assert again.status_code == 202
    other = await api.post("hold", {**hold, "command_id": command_id, "reason": "other"}, MARIE)
    assert (other.status_code, other.json()["error"]) == (409, "command_id_taken")
    assert await api.sent() == []


async def test_refusals_before_anything_is_sent(api: Api) -> None:
    hold = {"customer_id": "C1", "until": "2026-12-10", "reason": "credit note being issued"}
    unauthenticated = await api.post("hold", hold, None)
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["WWW-Authenticate"] == "Bearer"

    viewer = person("victor", "viewer", collector_codes=["C12"])
    assert (await api.post("hold", hold, viewer)).json()["reason"] == "role"
    before = refusals("/v1/commands/change_scenario", "role")
    by_collector = await api.post(
        "change_scenario", {"customer_id": "C1", "scenario_id": "bad_payer"}, MARIE
    )
    assert (by_collector.status_code, by_collector.json()["reason"]) == (403, "role")
    assert refusals("/v1/commands/change_scenario", "role") == before + 1

    before = refusals("/v1/commands/hold", "portfolio")
    outside = await api.post("hold", {**hold, "customer_id": "C2"}, MARIE)  # collector C34's
    assert (outside.status_code, outside.json()["reason"]) == (403, "portfolio")
    assert refusals("/v1/commands/hold", "portfolio") == before + 1

    forged = await api.post(
        "hold", {**hold, "actor": {"subject": "local:boss", "roles": ["administrator"]}}, MARIE
    )
    assert forged.status_code == 422
    assert {"field": "body.actor", "message": "Extra inputs are not permitted"} in forged.json()[
        "detail"
    ]
    bad_date = await api.post("hold", {**hold, "until": "tenth of December"}, MARIE)
    assert bad_date.status_code == 422
    assert [e["field"] for e in bad_date.json()["detail"]] == ["body.until"]
    promise_without_date = await api.post(
        "log_call", {"customer_id": "C1", "outcome": "promise_to_pay"}, MARIE
    )
    assert promise_without_date.status_code == 422
    assert "promised date" in promise_without_date.json()["detail"][0]["message"]

    unknown = await api.post("hold", {**hold, "customer_id": "C9"}, MARIE)
    assert (unknown.status_code, unknown.json()["reason"]) == (403, "portfolio")
    manager = person("dominique", "credit_manager")  # sees every customer
    unknown = await api.post("hold", {**hold, "customer_id": "C9"}, manager)
    assert (unknown.status_code, unknown.json()["error"]) == (404, "unknown_customer")
    assert await api.sent() == []


async def test_a_machine_key_may_send_and_a_refusal_of_the_scheduler_is_reported(
    api: Api,
) -> None:
    answer = await api.client.post(
        "/v1/commands/release",
        json={"customer_id": "C2"},
        headers={"X-API-Key": MACHINE_KEY},
    )
    assert answer.status_code == 202
    (sent,) = await api.sent()
    assert sent.payload.actor.subject == "api-key:crm"
    assert sent.payload.actor.kind == "machine"

    await api.relay()
    outcome = await api.client.get(answer.json()["href"], headers={"X-API-Key": MACHINE_KEY})
    body = outcome.json()
    assert (body["status"], body["reason"]) == ("refused", "not_held")
    assert "C2" in body["refusal"]
    # outside the reader's portfolio, the outcome is not shown either
    hidden = await api.client.get(answer.json()["href"], headers=api.bearer(MARIE))
    assert hidden.status_code == 403
    missing = await api.client.get(f"/v1/commands/{uuid.uuid4()}", headers=api.bearer(MARIE))
    assert missing.status_code == 404


async def test_a_call_logged_over_http_is_audited_and_its_promise_goes_to_the_disputes_service(
    api: Api,
) -> None:
    answer = await api.post(
        "log_call",
        {
            "customer_id": "C1",
            "outcome": "promise_to_pay",
            "promised_date": "2026-12-15",
            "promised_amount": {"amount": "1200.00", "currency": "EUR"},
            "note": "spoke with the accountant",
        },
        MARIE,
    )
    assert answer.status_code == 202, answer.text
    await api.relay()
    outcome = (await api.client.get(answer.json()["href"], headers=api.bearer(MARIE))).json()
    assert outcome["status"] == "executed"
    assert outcome["detail"] == {
        "outcome": "promise_to_pay",
        "invoices": "1",
        "promised_date": "2026-12-15",
        "promised_amount": "1200.00",
        "currency": "EUR",
    }
    rows = await api.desk.pool.fetch(
        "SELECT value FROM outbox WHERE topic = 'disputes.commands.v1'"
    )
    from contracts.topics import DISPUTE_COMMANDS

    (forwarded,) = [DISPUTE_COMMANDS.parse(r["value"]) for r in rows]
    promise = forwarded.payload
    assert (promise.channel, promise.recorded_by, promise.invoice_ids) == (
        "phone_call",
        "local:marie",
        ("FR01/F1",),
    )
    (call,) = await api.desk.pool.fetch("SELECT * FROM logged_call")
    assert (call["outcome"], call["note"], call["called_by"]) == (
        "promise_to_pay",
        "spoke with the accountant",
        "local:marie",
    )


# -- the executor's authorization matrix, whoever produced the command ------------------------

ACTORS = {
    "viewer of the company": commands.CommandActor(
        subject="local:v", roles=("viewer",), company_codes=("FR01",)
    ),
    "collector of the company": commands.CommandActor(
        subject="local:a", roles=("collector",), company_codes=("FR01",)
    ),
    "collector of another company": commands.CommandActor(
        subject="local:b", roles=("collector",), company_codes=("BE01",)
    ),
    "collector of the customer's collector code": commands.CommandActor(
        subject="local:c", roles=("collector",), collector_codes=("C12",)
    ),
    "collector of another collector code": commands.CommandActor(
        subject="local:d", roles=("collector",), collector_codes=("C34",)
    ),
    "collector of the customer's segment": commands.CommandActor(
        subject="local:e", roles=("collector",), segments=("domestic",)
    ),
    "collector of another segment": commands.CommandActor(
        subject="local:f", roles=("collector",), segments=("export",)
    ),
    "collector without portfolio": commands.CommandActor(subject="local:g", roles=("collector",)),
    "credit manager without portfolio": commands.CommandActor(
        subject="local:h", roles=("credit_manager",)
    ),
    "credit manager of another collector code": commands.CommandActor(
        subject="local:i", roles=("credit_manager",), collector_codes=("C34",)
    ),
    "administrator": commands.CommandActor(
        subject="local:j", roles=("administrator",), everything=True
    ),
}
# (actor, command) -> executed?  C1 is company FR01, collector C12, domestic.
EXPECTED = {
    "viewer of the company": (False, False),
    "collector of the company": (True, False),
    "collector of another company": (False, False),
    "collector of the customer's collector code": (True, False),
    "collector of another collector code": (False, False),
    "collector of the customer's segment": (True, False),
    "collector of another segment": (False, False),
    "collector without portfolio": (False, False),
    "credit manager without portfolio": (True, True),
    "credit manager of another collector code": (False, False),
    "administrator": (True, True),
}


async def test_the_scheduler_authorizes_every_command_by_role_and_portfolio_kind(
    api: Api,
) -> None:
    desk = api.desk
    found: dict[str, tuple[bool, bool]] = {}
    before = (
        REGISTRY.get_sample_value(
            "relance_authorization_refusals_total",
            {"service": "scheduler", "route": DUNNING_COMMANDS.name, "reason": "forbidden"},
        )
        or 0.0
    )
    for label, actor in ACTORS.items():
        outcomes = []
        cases: tuple[tuple[Any, type[commands.CommandBase], dict[str, Any]], ...] = (
            (commands.AddNoteCommand, commands.AddNote, {"text": "called"}),
            (commands.ChangeScenarioCommand, commands.ChangeScenario, {"scenario_id": "bad_payer"}),
        )
        for kind, payload, fields in cases:
            event = command(kind, payload, "C1", actor=actor, **fields)
            await desk.command(event, NOW)
            executed = await desk.pool.fetchval(
                "SELECT count(*) FROM executed_command WHERE command_id = $1",
                event.payload.command_id,
            )
            outcomes.append(bool(executed))
        found[label] = (outcomes[0], outcomes[1])
    assert found == EXPECTED
    refused = sum(not ok for pair in EXPECTED.values() for ok in pair)
    reasons = [h["dlq.reason"] for _, h in await desk.dead_letters()]
    assert reasons == ["forbidden"] * refused
    after = REGISTRY.get_sample_value(
        "relance_authorization_refusals_total",
        {"service": "scheduler", "route": DUNNING_COMMANDS.name, "reason": "forbidden"},
    )
    assert after == before + refused
    (reason,) = {r["reason"] for r in await desk.pool.fetch("SELECT reason FROM refused_command")}
    assert reason == "forbidden"


async def test_a_call_logged_against_its_call_reminder_is_followed_up(api: Api) -> None:
    desk = api.desk
    day = date(2026, 11, 28)  # the day after NOW
    while not [r for r in await desk.reminders() if r.channel == "phone_call"]:
        await desk.tick(paris(day, 10))
        day = date.fromordinal(day.toordinal() + 1)
        assert day < date(2027, 1, 31), "no call step came"
    (call,) = [r for r in await desk.reminders() if r.channel == "phone_call"]
    seen = len(await desk.reminders())

    stranger = command(
        commands.LogCallCommand,
        commands.LogCall,
        call.customer_id,
        outcome="no_answer",
        reminder_id=uuid.uuid4(),
    )
    await desk.command(stranger, paris(day, 11))
    assert (await desk.dead_letters())[-1][1]["dlq.reason"] == "unknown_reminder"

    logged = command(
        commands.LogCallCommand,
        commands.LogCall,
        call.customer_id,
        actor=commands.CommandActor(
            subject="local:marie", roles=("collector",), collector_codes=("C12",)
        ),
        outcome="no_answer",
        reminder_id=call.reminder_id,
        note="voicemail full",
    )
    await desk.command(logged, paris(day, 11))
    (again,) = (await desk.reminders())[seen:]
    assert (again.channel, again.step_name) == ("phone_call", call.step_name)
    assert again.scheduled_for > paris(day, 11)  # the retry, business days later
    (audit,) = [a for a in await desk.audits() if a.command == "log_call"]
    assert audit.detail == {
        "outcome": "no_answer",
        "invoices": str(len(call.invoices)),
        "reminder_id": str(call.reminder_id),
    }
    assert "voicemail" not in audit.model_dump_json()  # the note stays in logged_call


async def test_served_by_the_scheduler_a_command_travels_through_kafka_to_its_execution(
    api: Api, kafka_bootstrap: str
) -> None:
    """The routes on the scheduler's HTTP server (uvicorn, beside /healthz), the outbox
    relay to a fresh Kafka topic, the record read back and executed."""
    desk = api.desk
    topic = dataclasses.replace(DUNNING_COMMANDS, name=unique(DUNNING_COMMANDS.name))
    await create_topics(kafka_bootstrap, [topic.name], partitions=1)
    commands_api = CommandsApi(desk.pool, desk.clock, api.auth, topic=topic)
    server = HttpServer(
        build_app(HealthState("scheduler"), [commands_api.router()]), "127.0.0.1", 0
    )
    await server.start()
    sender = KafkaRecordSender(
        KafkaSettings(bootstrap_servers=kafka_bootstrap).client_options(), client_id="api-t"
    )
    await sender.start()
    stop = asyncio.Event()
    relaying = asyncio.create_task(
        OutboxRelay("scheduler", desk.pool, sender, poll_interval_s=0.1).run(stop)
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            document = (await client.get("/openapi.json")).json()
            assert "/v1/commands/log_call" in document["paths"]
            answer = await client.post(
                "/v1/commands/add_note",
                json={"customer_id": "C1", "text": "will pay after the audit"},
                headers=api.bearer(MARIE),
            )
            assert answer.status_code == 202
            (record,) = await consume(kafka_bootstrap, topic.name, expected=1)
            assert record.key == b"C1"
            desk.offset += 1
            await desk.processor.process(
                [IncomingRecord(DUNNING_COMMANDS.name, 0, desk.offset, record.key, record.value)]
            )
            outcome = (await client.get(answer.json()["href"], headers=api.bearer(MARIE))).json()
            assert (outcome["status"], outcome["actor"]) == ("executed", "local:marie")
            assert outcome["detail"] == {"note_length": "24"}
    finally:
        stop.set()
        await relaying
        await sender.stop()
        await server.stop()


async def test_the_outcome_of_a_command_another_producer_sent_is_shown_within_the_portfolio(
    api: Api,
) -> None:
    from_console = command(
        commands.AddNoteCommand,
        commands.AddNote,
        "C1",
        actor=commands.CommandActor(
            subject="local:camille", roles=("collector",), collector_codes=("C12",)
        ),
        text="left a message",
    )
    await api.desk.command(from_console, NOW)
    href = f"/v1/commands/{from_console.payload.command_id}"
    shown = (await api.client.get(href, headers=api.bearer(MARIE))).json()
    assert (shown["status"], shown["actor"], shown["command"]) == (
        "executed",
        "local:camille",
        "add_note",
    )
    assert "submitted_by" not in shown  # not sent through this API
    other = person("jan", "collector", collector_codes=["C34"])
    assert (await api.client.get(href, headers=api.bearer(other))).status_code == 403
