"""Plans proposed by customers in the console: listed for credit managers on My day and on
Promises and plans, accepted or refused (with a reason) as commands on
``disputes.commands.v1`` through the outbox; a collector may not decide, a refusal needs its
reason, and the disputes service's answer closes the proposal (real PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID

import asyncpg
import httpx
import pytest

from contracts import disputes
from contracts.envelope import Event
from contracts.money import PositiveMoney
from contracts.topics import DISPUTE_COMMANDS, DISPUTE_EVENTS
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
  claire:
    name: Claire Moreau
    role: credit_manager
    password_hash: "{hash_password(PASSWORD)}"
  hans:
    name: Hans Weber
    role: credit_manager
    password_hash: "{hash_password(PASSWORD)}"
    portfolio: {{company_codes: [DE02]}}
"""
PROPOSAL = UUID("0d6f3c2a-5b1e-4c7d-8e9f-a0b1c2d3e4f5")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def proposed() -> disputes.PaymentPlanProposed:
    def eur(amount: str) -> PositiveMoney:
        return PositiveMoney.model_validate({"amount": amount, "currency": "EUR"})

    return disputes.PaymentPlanProposed(
        event_id=UUID("1d6f3c2a-5b1e-4c7d-8e9f-a0b1c2d3e4f5"),
        occurred_at=NOW,
        source="disputes",
        payload=disputes.ProposedPaymentPlan(
            proposal_id=PROPOSAL,
            customer_id="C-1001",
            company_code="FR01",
            invoice_ids=("FR01/INV-1", "FR01/INV-2"),
            proposed_on=NOW.date(),
            instalments=(
                disputes.Instalment(due_date=date(2026, 3, 20), amount=eur("700.00")),
                disputes.Instalment(due_date=date(2026, 4, 20), amount=eur("800.00")),
            ),
            proposed_by="portal:C-1001",
            answer_by=datetime(2026, 3, 21, 23, tzinfo=UTC),
        ),
    )


@pytest.fixture
async def console_url(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[str]:
    await feed(pool, [*events(), (DISPUTE_EVENTS, proposed())])
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
    async with httpx.AsyncClient(base_url=url, headers={"accept-language": "en-GB"}) as client:
        page = await client.get("/sign-in")
        token = CSRF.search(page.text)
        assert token is not None
        signed = await client.post(
            "/sign-in", data={"login": login, "password": PASSWORD, "csrf_token": token.group(1)}
        )
        assert signed.status_code == 303
        yield client


def form_of(html: str, decision: str) -> dict[str, str]:
    """The hidden fields of a proposal's accept or refuse form."""
    action = f'action="/plan-proposals/{PROPOSAL}/{decision}"'
    start = html.index(action)
    chunk = html[start : html.index("</form>", start)]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', chunk))


async def commands_in_outbox(pool: asyncpg.Pool) -> list[Event]:
    rows = await pool.fetch(
        "SELECT value FROM outbox WHERE topic = $1 ORDER BY id", DISPUTE_COMMANDS.name
    )
    return [DISPUTE_COMMANDS.parse(r["value"]) for r in rows]


async def test_a_credit_manager_accepts_a_proposal_once(
    pool: asyncpg.Pool, console_url: str
) -> None:
    async with signed_in(console_url, "claire") as claire:
        day = await claire.get("/my-day")
        assert "Plans proposed by customers" in day.text
        assert "Atelier Dubois SARL" in day.text
        assert "INV-1, INV-2" in day.text
        promises = await claire.get("/promises")
        fields = form_of(promises.text, "accept")
        sent = await claire.post(f"/plan-proposals/{PROPOSAL}/accept", data=fields)
        again = await claire.post(f"/plan-proposals/{PROPOSAL}/accept", data=fields)
        assert sent.status_code == again.status_code == 303
        assert sent.headers["location"] == "/promises?plan=accept"
        shown = await claire.get("/promises?plan=accept")
        assert "Your decision was sent" in shown.text
        assert "Acceptance sent by local:claire" in shown.text
    (command,) = await commands_in_outbox(pool)
    assert isinstance(command, disputes.AcceptPaymentPlan)
    assert command.payload.proposal_id == PROPOSAL
    assert command.payload.actor.subject == "local:claire"
    assert command.payload.actor.roles == ("credit_manager",)

    agreed = disputes.PaymentPlanAgreed(
        event_id=UUID("2d6f3c2a-5b1e-4c7d-8e9f-a0b1c2d3e4f5"),
        occurred_at=NOW,
        source="disputes",
        payload=disputes.PaymentPlan(
            plan_id=PROPOSAL,
            customer_id="C-1001",
            invoice_ids=("FR01/INV-1", "FR01/INV-2"),
            agreed_on=NOW.date(),
            instalments=proposed().payload.instalments,
            agreed_by="local:claire",
        ),
    )
    await feed(pool, [(DISPUTE_EVENTS, agreed)])
    assert (
        await pool.fetchval("SELECT state FROM plan_proposals WHERE proposal_id = $1", PROPOSAL)
        == "accepted"
    )
    async with signed_in(console_url, "claire") as claire:
        page = await claire.get("/promises")
    assert f"/plan-proposals/{PROPOSAL}/accept" not in page.text
    assert "local:claire" in page.text  # the running plan, agreed by her


async def test_only_a_credit_manager_of_the_customer_decides_and_says_why_she_refuses(
    pool: asyncpg.Pool, console_url: str
) -> None:
    async with signed_in(console_url, "claire") as claire:
        fields = form_of((await claire.get("/promises")).text, "refuse")
        no_reason = await claire.post(f"/plan-proposals/{PROPOSAL}/refuse", data=fields)
        assert no_reason.status_code == 422
        assert "Say why the plan is refused." in no_reason.text
    async with signed_in(console_url, "camille") as camille:
        day = await camille.get("/my-day")
        assert "Plans proposed by customers" not in day.text
        csrf = CSRF.search(day.text)
        assert csrf is not None
        forged = {**fields, "csrf_token": csrf.group(1), "reason": "no"}
        refused = await camille.post(f"/plan-proposals/{PROPOSAL}/refuse", data=forged)
        assert refused.status_code == 403
    async with signed_in(console_url, "hans") as hans:
        csrf = CSRF.search((await hans.get("/my-day")).text)
        assert csrf is not None
        outside = await hans.post(
            f"/plan-proposals/{PROPOSAL}/refuse",
            data={**fields, "csrf_token": csrf.group(1), "reason": "no"},
        )
        assert outside.status_code == 403
    assert await commands_in_outbox(pool) == []
    async with signed_in(console_url, "claire") as claire:
        fields = form_of((await claire.get("/my-day")).text, "refuse")
        sent = await claire.post(
            f"/plan-proposals/{PROPOSAL}/refuse",
            data={**fields, "reason": "Deux échéances au plus pour ce montant."},
        )
        assert sent.headers["location"] == "/my-day?plan=refuse"
    (refusal,) = await commands_in_outbox(pool)
    assert isinstance(refusal, disputes.RefusePaymentPlan)
    assert refusal.payload.reason == "Deux échéances au plus pour ce montant."
