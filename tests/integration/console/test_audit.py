"""The console's audit trail on a real PostgreSQL: every post leaves a record an
administrator or a credit manager who sees every company reads on the Operations page.

Sign-ins (refused, throttled, signed in), the language chosen, a request refused for its
role, a form without its token and a sign-out are rows of ``audit_log`` (never the password
typed); the commands the console sent and the plan decisions are in the view
``audit_trail`` beside them, with what became of them (sent, executed, refused)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import asyncpg
import httpx
import pytest

from services.console.settings import ConsoleSettings
from services.console.web.pages import Console
from services.runtime.auth import Authenticator, AuthSettings
from services.runtime.clock import SimulatedClock
from services.runtime.health import HealthState, HttpServer, build_app
from services.runtime.identity import hash_password
from tests.integration.console.story import NOW

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"
WRONG = "Tr0ub4dor&3-not-it"
USERS = f"""
users:
  camille:
    name: Camille Laurent
    role: collector
    password_hash: "{hash_password(PASSWORD)}"
    portfolio: {{collector_codes: [C12]}}
  leo:
    name: Léo Martin
    role: collector
    password_hash: "{hash_password(PASSWORD)}"
    portfolio: {{collector_codes: [C12]}}
  ada:
    name: Ada Admin
    role: administrator
    password_hash: "{hash_password(PASSWORD)}"
"""


@pytest.fixture
async def console_url(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[str]:
    users = tmp_path / "users.yaml"
    users.write_text(USERS, encoding="utf-8")
    clock = SimulatedClock(NOW)
    auth = AuthSettings(users_file=users, signing_keys="k1:" + "s" * 40)
    settings = ConsoleSettings(auth=auth, secure_cookies=False)
    console = Console(pool, clock, settings, Authenticator("console", auth, clock))
    server = HttpServer(build_app(HealthState("console"), [console.router()]), "127.0.0.1", 0)
    await server.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.stop()


def token_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, login: str, password: str) -> httpx.Response:
    page = await client.get("/sign-in")
    return await client.post(
        "/sign-in",
        data={"login": login, "password": password, "csrf_token": token_of(page)},
    )


async def test_every_post_leaves_an_audit_record(pool: asyncpg.Pool, console_url: str) -> None:
    async with httpx.AsyncClient(base_url=console_url) as ada:
        assert (await sign_in(ada, "ada", PASSWORD)).status_code == 303
        token = token_of(await ada.get("/my-day"))
        chosen = await ada.post(
            "/language", data={"language": "fr", "back": "/my-day", "csrf_token": token}
        )
        assert chosen.status_code == 303
        operations = await ada.get("/operations")
        assert operations.status_code == 200
        assert "Journal d'audit" in operations.text  # in French now, with her sign-in
        assert "local:ada" in operations.text
        forged = await ada.post("/operations/suspend", data={"company": "FR01"})
        assert forged.status_code == 403  # no token
        assert (await ada.post("/sign-out", data={"csrf_token": token})).status_code == 303
    async with httpx.AsyncClient(base_url=console_url) as leo:
        assert (await sign_in(leo, "leo", PASSWORD)).status_code == 303
        token = token_of(await leo.get("/my-day"))
        refused = await leo.post("/operations/suspend", data={"csrf_token": token})
        assert refused.status_code == 403  # a collector
    async with httpx.AsyncClient(base_url=console_url) as camille:
        for _ in range(5):
            assert (await sign_in(camille, "camille", WRONG)).status_code == 401
        assert (await sign_in(camille, "camille", PASSWORD)).status_code == 429  # throttled

    rows = await pool.fetch(
        "SELECT action, outcome, subject, login, address, detail FROM audit_log ORDER BY audit_id"
    )
    seen = [(r["action"], r["outcome"], r["subject"] or r["login"]) for r in rows]
    assert seen == [
        ("sign_in", "done", "local:ada"),
        ("language", "done", "local:ada"),
        ("request_refused", "refused", "local:ada"),
        ("sign_out", "done", "local:ada"),
        ("sign_in", "done", "local:leo"),
        ("request_refused", "refused", "local:leo"),
        *[("sign_in", "refused", "camille")] * 5,
        ("sign_in", "throttled", "camille"),
    ]
    assert {r["address"] for r in rows} == {"127.0.0.1"}
    assert rows[1]["detail"] == {"language": "fr"}
    assert rows[2]["detail"] == {
        "method": "POST",
        "route": "/operations/suspend",
        "reason": "anti_forgery",
    }
    assert rows[5]["detail"]["route"] == "/operations/suspend"
    assert rows[5]["detail"]["reason"] != "anti_forgery"
    assert rows[-1]["detail"]["retry_after_s"] > 0
    everything = await pool.fetchval("SELECT string_agg(audit_log::text, ' ') FROM audit_log")
    assert PASSWORD not in everything
    assert WRONG not in everything

    refused_at = NOW + timedelta(minutes=1)
    command_id, refused_id = uuid4(), uuid4()
    await pool.execute(
        """INSERT INTO sent_command (command_id, customer_id, command, invoice_id, facts,
                                     actor_subject, requested_at, executed_at)
           VALUES ($1, 'C-1001', 'hold', NULL, '{"until": "2026-03-30"}', 'local:camille',
                   $3, $3),
                  ($2, '', 'suspend_sending', NULL, '{"company": "FR01"}', 'local:ada',
                   $3, NULL)""",
        command_id,
        refused_id,
        NOW,
    )
    await pool.execute(
        """INSERT INTO refused_commands (command_id, customer_id, command, actor_subject,
                                         reason, refused_at)
           VALUES ($1, NULL, 'suspend_sending', 'local:ada', 'already_suspended', $2)""",
        refused_id,
        refused_at,
    )
    await pool.execute(
        """INSERT INTO plan_proposals (proposal_id, customer_id, invoice_ids, instalments,
               currency, total, proposed_on, answer_by, answer_day, sent_decision, sent_by,
               sent_command_id, sent_at)
           VALUES ($1, 'C-1001', ARRAY['INV-1'], '[]', 'EUR', 100, $2, $3, $2, 'accept',
                   'local:ada', $4, $3)""",
        uuid4(),
        NOW.date(),
        NOW,
        uuid4(),
    )
    trail = await pool.fetch(
        "SELECT action, outcome, subject, customer_id, detail FROM audit_trail"
        " WHERE action LIKE 'command.%' OR action LIKE 'plan_proposal.%' ORDER BY action"
    )
    assert [(r["action"], r["outcome"], r["subject"], r["customer_id"]) for r in trail] == [
        ("command.hold", "executed", "local:camille", "C-1001"),
        ("command.suspend_sending", "refused", "local:ada", None),
        ("plan_proposal.accept", "pending", "local:ada", "C-1001"),
    ]
    assert trail[0]["detail"]["until"] == "2026-03-30"
    assert trail[1]["detail"]["reason"] == "already_suspended"
