"""The kit's HTTP metrics, readiness when degraded, ledger freshness, Kafka error kinds."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    NotLeaderForPartitionError,
    OutOfOrderSequenceNumber,
    TopicAuthorizationFailedError,
)
from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles
from prometheus_client import REGISTRY

from contracts import erp
from contracts.money import PositiveMoney
from contracts.topics import ERP_INVOICES, LEDGER_EVENTS
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import BatchProcessor
from services.runtime.errors import ConfigurationError, TransientError
from services.runtime.health import HealthState, build_app
from services.runtime.outbox import kafka_unavailable


def _requests(service: str, route: str, status: str) -> float:
    labels = {"service": service, "route": route, "method": "GET", "status": status}
    return REGISTRY.get_sample_value("relance_http_requests_total", labels) or 0.0


def _client(app: object) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_requests_are_counted_by_route_template(tmp_path: Path) -> None:
    router = APIRouter()

    @router.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    @router.get("/broken")
    async def broken() -> None:
        raise RuntimeError("a bug")

    state = HealthState("obs-test", started=True)
    app = build_app(state, [router])
    (tmp_path / "a.css").write_text("p {}")
    app.mount("/static", StaticFiles(directory=tmp_path))
    async with _client(app) as client:
        for n in range(3):
            assert (await client.get(f"/things/{n}")).status_code == 200
        assert (await client.get("/no/such/path")).status_code == 404
        assert (await client.get("/static/a.css")).status_code == 200
        assert (await client.get("/broken")).status_code == 500
    assert _requests("obs-test", "/things/{thing_id}", "200") == 3
    assert _requests("obs-test", "unmatched", "404") == 1
    assert _requests("obs-test", "/static/{path}", "200") == 1
    assert _requests("obs-test", "/broken", "500") == 1
    count = REGISTRY.get_sample_value(
        "relance_http_request_duration_seconds_count",
        {"service": "obs-test", "route": "/things/{thing_id}", "method": "GET"},
    )
    assert count == 3


async def test_readiness_is_degraded_not_failed_while_only_kafka_is_away() -> None:
    state = HealthState("obs-ready", started=True)

    async def kafka() -> str | None:
        return "unreachable: KafkaConnectionError"

    state.degradations["kafka"] = kafka
    async with _client(build_app(state)) as client:
        response = await client.get("/readyz")
        assert response.status_code == 200
        assert response.json()["status"] == "degraded"
        assert response.json()["degraded"] == {"kafka": "unreachable: KafkaConnectionError"}

        async def database() -> str | None:
            return "database did not answer"

        state.checks["database"] = database
        assert (await client.get("/readyz")).status_code == 503
        assert (await client.get("/healthz")).status_code == 200


def _invoice(occurred_at: datetime) -> erp.InvoiceIssued:
    return erp.InvoiceIssued(
        event_id=uuid.uuid4(),
        occurred_at=occurred_at,
        source="test-erp",
        payload=erp.InvoicePayload(
            company_code="FR01",
            customer_id="C1",
            invoice_number="F1",
            version=1,
            issue_date=date(2026, 1, 5),
            due_date=date(2026, 2, 4),
            amount=PositiveMoney(amount=Decimal("10.00"), currency="EUR"),
        ),
    )


def test_ledger_freshness_is_the_age_of_the_newest_applied_erp_event() -> None:
    start = datetime(2026, 3, 2, 12, tzinfo=UTC)
    clock = SimulatedClock(start)

    async def handler(*_: object) -> None:
        return None

    processor = BatchProcessor(
        service="obs-fresh",
        topics=(ERP_INVOICES, LEDGER_EVENTS),
        handler=handler,
        pool=None,  # type: ignore[arg-type]  # only the freshness is exercised
        clock=clock,
    )
    labels = {"service": "obs-fresh", "topic": ERP_INVOICES.name}
    assert REGISTRY.get_sample_value("relance_ledger_freshness_seconds", labels) is None
    older, newer = start - timedelta(hours=2), start - timedelta(minutes=10)
    processor._note_newest([(ERP_INVOICES.name, _invoice(newer))])
    processor._note_newest([(ERP_INVOICES.name, _invoice(older))])  # late: not newer
    assert REGISTRY.get_sample_value("relance_ledger_freshness_seconds", labels) == 600
    clock.advance(timedelta(minutes=5))  # grows while nothing arrives
    assert REGISTRY.get_sample_value("relance_ledger_freshness_seconds", labels) == 900
    processor._note_newest([(LEDGER_EVENTS.name, _invoice(newer))])  # not an ERP topic
    ledger = {"service": "obs-fresh", "topic": LEDGER_EVENTS.name}
    assert REGISTRY.get_sample_value("relance_ledger_freshness_seconds", ledger) is None


@pytest.mark.parametrize(
    ("error", "waited_out"),
    [
        (KafkaConnectionError("refused"), True),
        (KafkaTimeoutError(), True),
        (NotLeaderForPartitionError(), True),
        (OutOfOrderSequenceNumber(), True),
        (TransientError("cannot connect to Kafka"), True),
        (TopicAuthorizationFailedError(), False),
        (ConfigurationError("TLS handshake failed"), False),
        (ValueError("a bug"), False),
    ],
)
def test_only_connectivity_is_waited_out(error: Exception, waited_out: bool) -> None:
    assert kafka_unavailable(error) is waited_out
