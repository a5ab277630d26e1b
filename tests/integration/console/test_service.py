"""The console's wiring: its definition, its schema, and its pages behind the kit's server."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import httpx
import pytest

from contracts.topics import (
    DISPUTE_EVENTS,
    DUNNING_ACTIONS,
    FX_RATES,
    INTEREST_RATES,
    LEDGER_EVENTS,
    NOTIFIER_DELIVERIES,
)
from services.console.app import DEFINITION, build
from services.console.projection import apply_events
from services.console.settings import ConsoleSettings
from services.runtime.auth import AuthSettings
from services.runtime.clock import SimulatedClock
from services.runtime.health import HealthState, HttpServer, build_app
from services.runtime.outbox import KafkaRecordSender
from services.runtime.service import ServiceContext
from tests.integration.console.story import NOW

pytestmark = pytest.mark.integration


def test_it_consumes_the_public_topics_in_its_own_group() -> None:
    assert DEFINITION.consumes == (
        LEDGER_EVENTS,
        DUNNING_ACTIONS,
        NOTIFIER_DELIVERIES,
        DISPUTE_EVENTS,
        INTEREST_RATES,
        FX_RATES,
    )
    assert (DEFINITION.schema, DEFINITION.group_id) == ("console", "relance-console")


async def test_migrating_an_empty_database_gives_the_read_models_tables(
    pool: asyncpg.Pool,
) -> None:
    tables = await pool.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'console'"
    )
    assert {r["table_name"] for r in tables} >= {
        "customers",
        "invoices",
        "disputes",
        "promises",
        "plans",
        "reminders",
        "deliveries",
        "timeline",
        "reference_interest_rates",
        "fx_rates",
        "inbox",
        "outbox",
    }
    indexes = await pool.fetch("SELECT indexname FROM pg_indexes WHERE schemaname = 'console'")
    assert {"customers_name_trgm", "invoices_number_trgm"} <= {r["indexname"] for r in indexes}


async def test_build_serves_the_pages_beside_the_health_routes(
    pool: asyncpg.Pool, tmp_path: Path, kafka_bootstrap: str
) -> None:
    users = tmp_path / "users.yaml"
    users.write_text("users: {}\n", encoding="utf-8")
    settings = ConsoleSettings(auth=AuthSettings(users_file=users, signing_keys="k:" + "x" * 32))
    context = ServiceContext(
        name="console",
        settings=settings,
        pool=pool,
        clock=SimulatedClock(NOW),
        sender=KafkaRecordSender({"bootstrap_servers": kafka_bootstrap}, "console-test"),
    )
    await context.sender.start()
    parts = await build(context)
    assert parts.handler is apply_events
    server = HttpServer(build_app(HealthState("console"), parts.routes), "127.0.0.1", 0)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            assert (await client.get("/healthz")).status_code == 200
            anonymous = await client.get("/my-day")
            assert (anonymous.status_code, anonymous.headers["location"]) == (303, "/sign-in")
            sign_in = await client.get("/sign-in", headers={"Accept-Language": "fr"})
            assert sign_in.status_code == 200
            assert "Se connecter" in sign_in.text
            assert "default-src 'none'" in sign_in.headers["content-security-policy"]
            assert sign_in.headers["cache-control"] == "no-store"
            csrf = sign_in.headers["set-cookie"]
            assert "HttpOnly" in csrf
            assert "SameSite=strict" in csrf
            assert "Secure" in csrf
            forged = await client.get("/my-day", headers={"Authorization": "Bearer not.a.token"})
            assert forged.status_code == 303
            token = (
                sign_in.cookies.get("__Host-relance-console-csrf")
                or csrf.split(";")[0].split("=", 1)[1]
            )
            for back, expected in (
                ("/search", "/search"),
                ("//evil.example", "/"),
                ("/\\evil.example", "/"),
            ):
                chosen = await client.post(
                    "/language",
                    data={"language": "en", "back": back, "csrf_token": token},
                    headers={"Cookie": f"__Host-relance-console-csrf={token}"},
                )
                assert (chosen.status_code, chosen.headers["location"]) == (303, expected)
                assert "relance-console-language=en" in chosen.headers["set-cookie"]
            css = await client.get("/static/console.css")
            assert css.headers["content-type"].startswith("text/css")
            assert (await client.get("/static/..%2Fapp.py")).status_code == 404
    finally:
        await server.stop()
        await context.sender.stop()
