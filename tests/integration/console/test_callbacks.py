"""Call-backs customers asked for, as call tasks in the console: on My day for the account's
collectors (not outside their portfolio), the page with the number asked for and the
customer's contacts as ``tel:`` links, the outcome sent as ``log_call`` (no call reminder,
the invoices asked about), which closes the task, once (real PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from uuid import UUID

import asyncpg
import httpx
import pytest

from contracts import commands, disputes
from contracts.topics import DISPUTE_COMMANDS, DISPUTE_EVENTS, DUNNING_COMMANDS
from services.console.settings import ConsoleSettings
from services.console.web.pages import Console
from services.runtime.auth import Authenticator, AuthSettings
from services.runtime.clock import SimulatedClock
from services.runtime.health import HealthState, HttpServer, build_app
from services.runtime.identity import hash_password
from tests.integration.console.conftest import feed
from tests.integration.console.story import NOW, events

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"
USERS = f"""
users:
  camille:
    name: Camille Laurent
    role: collector
    password_hash: "{hash_password(PASSWORD)}"
    portfolio: {{collector_codes: [C12]}}
  otto:
    name: Otto Braun
    role: collector
    password_hash: "{hash_password(PASSWORD)}"
    portfolio: {{collector_codes: [C99]}}
"""
REQUEST = UUID("7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def requested() -> disputes.CallbackRequested:
    return disputes.CallbackRequested(
        event_id=UUID("8a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"),
        occurred_at=NOW,
        source="disputes",
        payload=disputes.CallbackRequest(
            request_id=REQUEST,
            customer_id="C-1001",
            company_code="FR01",
            phone="+33612345678",
            on=date(2026, 3, 17),
            slot="afternoon",
            invoice_ids=("FR01/INV-1",),
            requested_by="portal:C-1001",
        ),
    )


@pytest.fixture
async def console_url(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[str]:
    await feed(pool, [*events(), (DISPUTE_EVENTS, requested()), (DISPUTE_EVENTS, requested())])
    users = tmp_path / "users.yaml"
    users.write_text(USERS, encoding="utf-8")
    auth = AuthSettings(users_file=users, signing_keys="k1:" + "s" * 40)
    clock = SimulatedClock(NOW)
    console = Console(
        pool,
        clock,
        ConsoleSettings(auth=auth, secure_cookies=False),
        Authenticator("console", auth, clock),
    )
    server = HttpServer(build_app(HealthState("console"), [console.router()]), "127.0.0.1", 0)
    await server.start()
    yield f"http://127.0.0.1:{server.port}"
    await server.stop()


@asynccontextmanager
async def signed_in(url: str, login: str) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"accept-language": "en-GB"}
    async with httpx.AsyncClient(base_url=url, headers=headers) as client:
        token = CSRF.search((await client.get("/sign-in")).text)
        assert token is not None
        signed = await client.post(
            "/sign-in", data={"login": login, "password": PASSWORD, "csrf_token": token.group(1)}
        )
        assert signed.status_code == 303
        yield client


async def test_a_call_back_is_a_call_task_closed_by_its_outcome(
    pool: asyncpg.Pool, console_url: str
) -> None:
    async with signed_in(console_url, "otto") as otto:
        assert "Call-backs asked for" not in (await otto.get("/my-day")).text
        assert (await otto.get(f"/callbacks/{REQUEST}")).status_code == 403
    async with signed_in(console_url, "camille") as camille:
        day = await camille.get("/my-day")
        assert "Call-backs asked for" in day.text
        assert day.text.count(f'data-callback="{REQUEST}"') == 1  # redelivered: one task
        assert 'href="tel:+33612345678"' in day.text
        page = await camille.get(f"/callbacks/{REQUEST}")
        assert page.status_code == 200
        assert "Afternoon (14:00 to 17:00)" in page.text
        assert "portal:C-1001" in page.text
        assert 'href="tel:+33142000000"' in page.text  # the billing contact on file
        assert "Invoice INV-1" in page.text
        assert "Invoice INV-2" not in page.text  # only the invoices asked about
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        missing = await camille.post(
            f"/callbacks/{REQUEST}/outcome", data={**fields, "outcome": "promise_to_pay"}
        )
        assert missing.status_code == 422
        outcome = {
            **fields,
            "outcome": "promise_to_pay",
            "promised_date": "2026-03-31",
            "promised_amount": "700",
            "note": "Asked for the call after our email.",
        }
        sent = await camille.post(f"/callbacks/{REQUEST}/outcome", data=outcome)
        again = await camille.post(f"/callbacks/{REQUEST}/outcome", data=outcome)
        assert sent.status_code == again.status_code == 303
        assert "Call-backs asked for" not in (await camille.get("/my-day")).text
        closed = await camille.get(f"/callbacks/{REQUEST}")
        assert "This call-back was logged by local:camille." in closed.text
    rows = await pool.fetch(
        "SELECT value FROM outbox WHERE topic = $1 ORDER BY id", DUNNING_COMMANDS.name
    )
    (command,) = [DUNNING_COMMANDS.parse(r["value"]) for r in rows]
    assert isinstance(command, commands.LogCallCommand)
    assert command.payload.reminder_id is None
    assert command.payload.invoice_ids == ("FR01/INV-1",)
    assert command.payload.outcome == "promise_to_pay"
    assert command.payload.actor.subject == "local:camille"
    closures = await pool.fetch(
        "SELECT value FROM outbox WHERE topic = $1 ORDER BY id", DISPUTE_COMMANDS.name
    )
    (closure,) = [DISPUTE_COMMANDS.parse(r["value"]) for r in closures]
    assert isinstance(closure, disputes.CloseCallback)
    assert closure.payload.request_id == REQUEST
    assert closure.payload.closed_by == "local:camille"
