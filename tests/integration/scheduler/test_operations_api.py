"""The scheduler's operators' read routes on a real PostgreSQL: a campaign's dry run (whom
it would reach, the reminder each would get, the fingerprint a launch cites; nothing
written; refused outside the portfolio and to a collector) and the scenario library's
versions with their YAML."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import yaml
from fastapi import FastAPI
from pydantic import SecretStr

from contracts.topics import DUNNING_COMMANDS
from services.runtime.auth import Authenticator, AuthSettings
from services.runtime.dead_letter import IncomingRecord
from services.runtime.identity import Identity, Portfolio
from services.scheduler.api import CommandsApi
from services.scheduler.app import policy_of
from services.scheduler.library_store import reload_library
from services.scheduler.operations_api import OperationsApi
from services.scheduler.settings import SchedulerSettings
from tests.integration.scheduler.fixtures import customer, opened
from tests.integration.scheduler.test_commands import Desk, paris
from tests.integration.scheduler.test_commands import pool as pool

pytestmark = pytest.mark.integration

DEFAULT_LIBRARY = Path(__file__).resolve().parents[3] / "scenarios"
NOW = paris(date(2026, 12, 15), 10)
CAMPAIGN: dict[str, Any] = {
    "id": "year-end-2026",
    "step": {
        "name": "year-end-email",
        "level": "level_1",
        "channel": "email",
        "template": "reminder_firm",
    },
    "select": {"company_codes": ["FR01"], "min_days_overdue": 1},
}


def person(login: str, role: str, **portfolio: Any) -> Identity:
    return Identity(
        subject=f"local:{login}",
        name=login,
        roles=frozenset({role}),  # type: ignore[arg-type]
        portfolio=Portfolio.of(**portfolio),
    )


class Api:
    def __init__(self, desk: Desk, folder: Path) -> None:
        self.desk = desk
        settings = AuthSettings(signing_keys=SecretStr("k1:" + "s" * 40))
        self.auth = Authenticator("scheduler", settings, desk.clock)
        self.policy = policy_of(SchedulerSettings(scenarios_path=folder))
        app = FastAPI()
        app.include_router(OperationsApi(desk.pool, desk.clock, self.policy, self.auth).router())
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://scheduler"
        )

    def bearer(self, identity: Identity) -> dict[str, str]:
        assert self.auth.tokens is not None
        token = self.auth.tokens.issue(identity, self.desk.clock.now().timestamp())
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def api(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[Api]:
    folder = tmp_path / "scenarios"
    shutil.copytree(DEFAULT_LIBRARY, folder)
    desk = Desk(pool, NOW - timedelta(days=60))
    await desk.scheduler.feed(
        [
            customer("C1"),
            opened("C1", "F1", date(2026, 11, 20)),
            opened("C1", "F2", date(2027, 1, 20)),  # not yet due: left out
            customer("C2"),
            opened("C2", "G1", date(2026, 12, 1), "500.00"),
        ]
    )
    desk.clock.set(NOW)
    served = Api(desk, folder)
    yield served
    await served.client.aclose()


async def test_a_dry_run_shows_recipients_and_their_reminders_and_writes_nothing(
    api: Api, pool: asyncpg.Pool
) -> None:
    manager = person("dominique", "credit_manager", company_codes=["FR01"])
    outbox_before = await pool.fetchval("SELECT count(*) FROM outbox")
    answer = await api.client.post(
        "/v1/campaigns/dry-run?limit=1", json=CAMPAIGN, headers=api.bearer(manager)
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["customers"], body["invoices"], len(body["fingerprint"])) == (2, 2, 64)
    (first,) = body["recipients"]  # one page of one
    assert first["customer_id"] == "C1"
    assert [i["invoice_number"] for i in first["invoices"]] == ["F1"]
    assert first["reminder"]["campaign_id"] == "year-end-2026"
    assert first["reminder"]["template"] == "reminder_firm"
    assert await pool.fetchval("SELECT count(*) FROM outbox") == outbox_before
    assert await pool.fetchval("SELECT count(*) FROM campaign_contact") == 0
    again = await api.client.post(
        "/v1/campaigns/dry-run?offset=1", json=CAMPAIGN, headers=api.bearer(manager)
    )
    assert [r["customer_id"] for r in again.json()["recipients"]] == ["C2"]
    assert again.json()["fingerprint"] == body["fingerprint"]  # same selection, same print

    outside = {**CAMPAIGN, "select": {"company_codes": ["BE01"]}}
    refused = await api.client.post(
        "/v1/campaigns/dry-run", json=outside, headers=api.bearer(manager)
    )
    assert refused.status_code == 403
    collector = person("marie", "collector")
    assert (
        await api.client.post("/v1/campaigns/dry-run", json=CAMPAIGN, headers=api.bearer(collector))
    ).status_code == 403
    unknown = {**CAMPAIGN, "step": {**CAMPAIGN["step"], "template": "no_such_template"}}
    bad = await api.client.post("/v1/campaigns/dry-run", json=unknown, headers=api.bearer(manager))
    assert (bad.status_code, bad.json()["error"]) == (422, "invalid_campaign")
    assert (await api.client.post("/v1/campaigns/dry-run", json=CAMPAIGN)).status_code == 401


async def test_the_library_versions_and_their_yaml(api: Api, tmp_path: Path) -> None:
    folder = tmp_path / "scenarios"
    await reload_library(api.desk.pool, api.policy, folder, by="ops:alex", now=NOW)
    path = folder / "negligent.yaml"
    negligent = yaml.safe_load(path.read_text())
    negligent["description"] = "Negligent payers, a gentler start"
    negligent["steps"][0]["offset_days"] = -3
    path.write_text(yaml.safe_dump(negligent, sort_keys=False))
    await reload_library(
        api.desk.pool, api.policy, folder, by="ops:sam", now=NOW + timedelta(hours=1)
    )
    manager = person("dominique", "credit_manager")
    listed = await api.client.get("/v1/library/versions", headers=api.bearer(manager))
    assert listed.status_code == 200
    rows = [v for v in listed.json()["versions"] if v["scenario_id"] == "negligent"]
    assert [(v["version"], v["loaded_by"], v["in_force"]) for v in rows] == [
        (2, "ops:sam", True),
        (1, "ops:alex", False),
    ]
    assert rows[0]["summary"].startswith("Negligent payers, a gentler start · ")
    assert "step(s)" in rows[1]["summary"]
    one = await api.client.get("/v1/library/versions/negligent/1", headers=api.bearer(manager))
    two = await api.client.get("/v1/library/versions/negligent/2", headers=api.bearer(manager))
    first, second = yaml.safe_load(one.json()["yaml"]), yaml.safe_load(two.json()["yaml"])
    assert (first["steps"][0]["offset_days"], second["steps"][0]["offset_days"]) != (-3, -3)
    assert second["steps"][0]["offset_days"] == -3
    assert second["description"] == "Negligent payers, a gentler start"
    missing = await api.client.get("/v1/library/versions/negligent/9", headers=api.bearer(manager))
    assert missing.status_code == 404
    collector = person("marie", "collector")
    assert (
        await api.client.get("/v1/library/versions", headers=api.bearer(collector))
    ).status_code == 403


async def test_a_suspension_through_the_commands_api_is_followed_to_its_execution(
    api: Api, pool: asyncpg.Pool
) -> None:
    app = FastAPI()
    app.include_router(CommandsApi(pool, api.desk.clock, api.auth).router())
    manager = person("dominique", "credit_manager", company_codes=["FR01"])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://scheduler"
    ) as client:
        collector = person("marie", "collector")
        refused = await client.post(
            "/v1/commands/suspend_sending",
            json={"company_code": "FR01", "reason": "r"},
            headers=api.bearer(collector),
        )
        assert refused.status_code == 403  # a collector can never suspend
        accepted = await client.post(
            "/v1/commands/suspend_sending",
            json={"company_code": "FR01", "reason": "ERP migration"},
            headers=api.bearer(manager),
        )
        assert accepted.status_code == 202, accepted.text
        href = accepted.json()["href"]
        pending = await client.get(href, headers=api.bearer(manager))
        assert pending.json()["status"] == "pending"

        (row,) = await pool.fetch(
            "SELECT key, value FROM outbox WHERE topic = $1", DUNNING_COMMANDS.name
        )
        assert row["key"] == b"FR01"
        api.desk.offset += 1
        await api.desk.processor.process(
            [IncomingRecord(DUNNING_COMMANDS.name, 0, api.desk.offset, row["key"], row["value"])]
        )
        executed = (await client.get(href, headers=api.bearer(manager))).json()
        assert (executed["status"], executed["command"], executed["actor"]) == (
            "executed",
            "suspend_sending",
            "local:dominique",
        )
        assert "suspension_id" in executed["detail"]


async def test_a_send_now_dry_run_says_what_would_go_out_and_writes_nothing(
    api: Api, pool: asyncpg.Pool
) -> None:
    collector = person("marie", "collector", company_codes=["FR01"])
    counts = "SELECT array[(SELECT count(*) FROM outbox), (SELECT count(*) FROM executed_command)]"
    before = await pool.fetchval(counts)
    route = "/v1/commands/send_now/dry-run"
    answer = await api.client.post(route, json={"customer_id": "C1"}, headers=api.bearer(collector))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["refused"], body["at_next_tick"], body["suspended"]) == (None, True, False)
    # the tick's rule: each invoice's next step now, in one reminder to the customer
    (sent,) = body["outgoing"]
    assert [i["invoice_number"] for i in sent["reminder"]["invoices"]] == ["F1", "F2"]
    assert sent["reminder"]["step_name"] != "send_now"
    assert (sent["to_confirm"], body["postponed"], body["left_out"]) == (False, [], [])

    template = await api.client.post(
        route,
        json={"customer_id": "C1", "invoice_id": "FR01/F1", "template": "reminder_firm"},
        headers=api.bearer(collector),
    )
    (statement,) = template.json()["outgoing"]
    assert statement["reminder"]["template"] == "reminder_firm"
    assert template.json()["at_next_tick"] is False
    assert await pool.fetchval(counts) == before  # nothing written, nothing emitted

    unknown = await api.client.post(
        route, json={"customer_id": "C1", "template": "no_such"}, headers=api.bearer(collector)
    )
    assert unknown.json()["refused"]["reason"] == "unknown_template"
    await pool.execute(
        "UPDATE customer SET held_until = $1 WHERE customer_id = 'C2'", NOW + timedelta(days=9)
    )
    held = await api.client.post(route, json={"customer_id": "C2"}, headers=api.bearer(collector))
    assert (held.json()["refused"]["reason"], held.json()["outgoing"]) == ("held", [])
    outsider = person("paul", "collector", company_codes=["BE01"])
    refused = await api.client.post(route, json={"customer_id": "C1"}, headers=api.bearer(outsider))
    assert refused.status_code == 403
    missing = await api.client.post(
        route, json={"customer_id": "C9"}, headers=api.bearer(collector)
    )
    assert missing.status_code == 404
    change = await api.client.post(
        "/v1/commands/change_scenario/dry-run",
        json={"customer_id": "C1", "scenario_id": "negligent"},
        headers=api.bearer(collector),
    )
    assert change.status_code == 403  # a credit manager's command
    manager = person("dominique", "credit_manager", company_codes=["FR01"])
    changed = await api.client.post(
        "/v1/commands/change_scenario/dry-run",
        json={"customer_id": "C1", "scenario_id": "negligent"},
        headers=api.bearer(manager),
    )
    assert (changed.status_code, changed.json()["refused"]) == (200, None)
    assert changed.json()["at_next_tick"] is True
    assert await pool.fetchval(counts) == before


async def test_the_library_catalogue_lists_templates_scenarios_and_steps(api: Api) -> None:
    collector = person("marie", "collector")
    answer = await api.client.get("/v1/library/catalogue", headers=api.bearer(collector))
    assert answer.status_code == 200
    body = answer.json()
    assert {"reminder_friendly", "reminder_firm"} <= set(body["templates"])
    scenarios = {s["scenario_id"]: s for s in body["scenarios"]}
    assert "negligent" in scenarios
    assert all(
        {"name", "level", "channel", "template"} <= set(step)
        for step in scenarios["negligent"]["steps"]
    )
    assert (await api.client.get("/v1/library/catalogue")).status_code == 401
