"""A call of the collector's own, logged from the customer page (real PostgreSQL): the
page with the customer's phone contacts and open invoices, a confirmation, then one
``log_call`` without a reminder through the outbox, however often the confirmation is
posted; another customer's invoice, a promise over several currencies, a post without its
token, outside the portfolio or by a viewer are refused and send nothing."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from contracts import commands, dunning
from contracts.topics import DUNNING_ACTIONS, DUNNING_COMMANDS
from services.console.settings import ConsoleSettings
from services.console.web.pages import Console
from services.runtime.auth import Authenticator, AuthSettings
from services.runtime.clock import SimulatedClock
from services.runtime.health import HealthState, HttpServer, build_app
from services.runtime.identity import hash_password
from tests.integration.console.conftest import feed
from tests.integration.console.story import NOW, call_closed, events, uid
from tests.integration.console.test_callbacks import PASSWORD, signed_in

pytestmark = pytest.mark.integration

USERS = f"""
users:
  camille:
    name: Camille Laurent
    role: collector
    password_hash: "{hash_password(PASSWORD)}"
    portfolio: {{collector_codes: [C12]}}
  vera:
    name: Vera Martin
    role: viewer
    password_hash: "{hash_password(PASSWORD)}"
    portfolio: {{collector_codes: [C12]}}
"""
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


@pytest.fixture
async def console_url(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[str]:
    await feed(pool, [*events(), call_closed()])
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


def hidden(html: str) -> dict[str, str]:
    return dict(HIDDEN.findall(html))


async def test_a_call_of_one_s_own_is_confirmed_then_sent_once(
    pool: asyncpg.Pool, console_url: str
) -> None:
    async with signed_in(console_url, "camille") as camille:
        customer = await camille.get("/customers/C-1001")
        assert 'href="/customers/C-1001/call"' in customer.text
        page = await camille.get("/customers/C-1001/call")
        assert page.status_code == 200
        assert 'href="tel:+33142000000"' in page.text
        assert 'value="FR01/INV-3"' in page.text
        assert "DE02/INV-D1" not in page.text
        fields = hidden(page.text)  # the anti-forgery token and the form's command id
        call = {
            **fields,
            "contact": "+33142000000",
            "invoices": "chosen",
            "outcome": "promise_to_pay",
            "promised_date": "2026-03-20",
            "promised_amount": "1200",
            "note": "Virement <b>vendredi</b>",
        }
        chosen = {"invoice_id": ["FR01/INV-1", "FR01/INV-3"]}

        confirmation = await camille.post("/customers/C-1001/call", data={**call, **chosen})
        assert confirmation.status_code == 200
        assert "Confirm · Atelier Dubois SARL" in confirmation.text
        assert "INV-1, INV-3" in confirmation.text
        assert "€1,200.00" in confirmation.text
        assert "Virement &lt;b&gt;vendredi&lt;/b&gt;" in confirmation.text
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 0  # not yet

        carried: dict[str, list[str]] = {}
        for name, value in HIDDEN.findall(confirmation.text):
            carried.setdefault(name, []).append(html.unescape(value))
        assert carried["confirmed"] == ["yes"]
        assert carried["command_id"] == [fields["command_id"]]
        assert carried["invoice_id"] == chosen["invoice_id"]
        sent = await camille.post("/customers/C-1001/call", data=carried)
        again = await camille.post("/customers/C-1001/call", data=carried)
        assert sent.status_code == again.status_code == 303
        assert sent.headers["location"] == "/customers/C-1001?sent=log_call"
        back = await camille.get(sent.headers["location"])
        assert "Sent, waiting for the scheduler." in back.text

    rows = await pool.fetch("SELECT topic, value FROM outbox ORDER BY id")
    assert [r["topic"] for r in rows] == [DUNNING_COMMANDS.name]  # once
    command = DUNNING_COMMANDS.parse(rows[0]["value"])
    assert isinstance(command, commands.LogCallCommand)
    logged = command.payload
    assert logged.reminder_id is None  # a call of the collector's own
    assert logged.invoice_ids == ("FR01/INV-1", "FR01/INV-3")
    assert logged.promised_amount is not None
    assert (logged.promised_date, logged.promised_amount.amount) == (
        date(2026, 3, 20),
        Decimal(1200),
    )
    assert logged.promised_amount.currency == "EUR"
    assert logged.note == "Virement <b>vendredi</b>"
    assert logged.actor.subject == "local:camille"
    facts = await pool.fetchval("SELECT facts FROM sent_command")
    assert facts == {
        "outcome": "promise_to_pay",
        "numbers": ["INV-1", "INV-3"],
        "called": "billing · Claire Martin · +33142000000",
        "note": "Virement <b>vendredi</b>",
    }

    # Executed: the timeline shows the call with what the console kept of it.
    executed = dunning.CommandExecuted(
        event_id=uid("own call executed"),
        occurred_at=NOW + timedelta(minutes=5),
        source="scheduler",
        payload=dunning.ExecutedCommand(
            command_id=logged.command_id,
            command="log_call",
            customer_id="C-1001",
            company_code="FR01",
            actor_subject="local:camille",
            actor_role="collector",
            requested_at=logged.requested_at,
            executed_at=NOW + timedelta(minutes=5),
            detail={
                "outcome": "promise_to_pay",
                "invoices": "2",
                "promised_date": "2026-03-20",
                "promised_amount": "1200",
                "currency": "EUR",
            },
        ),
    )
    await feed(pool, [(DUNNING_ACTIONS, executed)])
    entry = await pool.fetchrow(
        "SELECT kind, facts FROM timeline WHERE event_id = $1", uid("own call executed")
    )
    assert entry is not None
    assert entry["kind"] == "command.log_call"
    assert entry["facts"]["note"] == "Virement <b>vendredi</b>"
    assert entry["facts"]["numbers"] == ["INV-1", "INV-3"]
    assert entry["facts"]["promised"] == {"amount": "1200", "currency": "EUR"}


async def test_refused_calls_send_nothing(pool: asyncpg.Pool, console_url: str) -> None:
    async with signed_in(console_url, "camille") as camille:
        fields = hidden((await camille.get("/customers/C-1001/call")).text)
        call = {
            **fields,
            "contact": "+33142000000",
            "outcome": "promise_to_pay",
            "promised_date": "2026-03-20",
            "promised_amount": "300",
            "confirmed": "yes",
        }
        foreign = await camille.post(
            "/customers/C-1001/call",
            data={**call, "invoices": "chosen", "invoice_id": ["FR01/INV-1", "DE02/INV-D1"]},
        )
        assert foreign.status_code == 422
        assert "Invoices discussed is not valid." in foreign.text
        assert 'value="FR01/INV-1" checked' in foreign.text  # the form comes back as posted
        assert fields["command_id"] in foreign.text  # with the same command id

        everything = await camille.post("/customers/C-1001/call", data=call)  # EUR and USD
        assert everything.status_code == 422
        assert "A promise is for invoices in one currency" in everything.text
        held = await camille.post(
            "/customers/C-1001/call",
            data={**call, "invoices": "chosen", "invoice_id": "FR01/INV-2"},  # disputed
        )
        assert held.status_code == 422
        assert "already disputed, promised or in a payment plan" in held.text
        nobody = await camille.post(
            "/customers/C-1001/call",
            data={**call, "contact": "+33999999999", "outcome": "no_answer"},
        )
        assert nobody.status_code == 422
        assert "Contact called is not valid." in nobody.text

        without_token = {k: v for k, v in call.items() if k != "csrf_token"}
        forged = await camille.post(
            "/customers/C-1001/call", data={**without_token, "outcome": "answered"}
        )
        assert forged.status_code == 403
        assert "security token" in forged.text
        outside = await camille.post("/customers/C-2001/call", data={**call, "outcome": "answered"})
        assert outside.status_code == 403
        assert "outside your portfolio" in outside.text
        assert (await camille.get("/customers/C-2001/call")).status_code == 403

    async with signed_in(console_url, "vera") as vera:
        page = await vera.get("/customers/C-1001")
        assert page.status_code == 200
        assert "/customers/C-1001/call" not in page.text  # a viewer is offered no call
        assert (await vera.get("/customers/C-1001/call")).status_code == 403
        token = hidden(page.text)["csrf_token"]
        refused = await vera.post(
            "/customers/C-1001/call",
            data={**call, "csrf_token": token, "outcome": "answered"},
        )
        assert refused.status_code == 403
    assert await pool.fetchval("SELECT count(*) FROM sent_command") == 0
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
