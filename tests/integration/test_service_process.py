"""A service on the runtime kit as a real process: endpoints, metrics, SIGTERM drain."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from contracts import erp
from contracts.money import PositiveMoney
from contracts.topics import ERP_INVOICES
from tests.kafka_tools import create_topics, eventually, produce, unique

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def invoice(n: int) -> bytes:
    event = erp.InvoiceIssued(
        event_id=uuid.uuid4(),
        occurred_at=datetime(2026, 1, 5, tzinfo=UTC),
        source="test-erp",
        payload=erp.InvoicePayload(
            company_code="FR01",
            customer_id=f"C{n % 5}",
            invoice_number=f"F{n}",
            version=1,
            issue_date=date(2026, 1, 5),
            due_date=date(2026, 2, 4),
            amount=PositiveMoney(amount=Decimal("10.00"), currency="EUR"),
        ),
    )
    return event.model_dump_json().encode()


class ServiceProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[dict[str, object]] = []
        self.port: int | None = None

    async def read_until(self, event: str, timeout_s: float = 60) -> dict[str, object]:
        async def read() -> dict[str, object]:
            assert self.process.stdout is not None
            while True:
                raw = await self.process.stdout.readline()
                if not raw:
                    raise AssertionError(f"process ended before logging {event!r}: {self.lines}")
                try:
                    line: dict[str, object] = json.loads(raw)
                except ValueError:
                    continue
                self.lines.append(line)
                if line.get("event") == event:
                    return line

        return await asyncio.wait_for(read(), timeout_s)


@pytest.fixture
async def echo(kafka_bootstrap: str, database_url: str) -> tuple[str, dict[str, str]]:
    topic = unique(ERP_INVOICES.name)
    await create_topics(kafka_bootstrap, [topic, topic + ".dlq"])
    env = {
        **os.environ,
        "ECHO_TOPIC": topic,
        "ECHO_HTTP_PORT": "0",
        "ECHO_DRAIN_TIMEOUT_S": "15",
        "ECHO_BATCH_MAX_RECORDS": "50",
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(ROOT),
    }
    return topic, env


async def start(env: dict[str, str]) -> ServiceProcess:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.echo_service",
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    service = ServiceProcess(process)
    started = await service.read_until("started")
    service.port = int(str(started["http_port"]))
    return service


async def test_endpoints_and_metrics(
    echo: tuple[str, dict[str, str]], kafka_bootstrap: str
) -> None:
    topic, env = echo
    service = await start(env)
    try:
        await produce(
            kafka_bootstrap, topic, [(b"C1", invoice(n)) for n in range(20)] + [(b"C1", b"nope")]
        )
        base = f"http://127.0.0.1:{service.port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as response:
                assert response.status == 200
                assert (await response.json())["status"] == "ok"

            async def ready() -> bool:
                async with http.get(f"{base}/readyz") as response:
                    return response.status == 200

            await eventually(ready)

            async def applied() -> str | None:
                async with http.get(f"{base}/metrics") as response:
                    text = await response.text()
                wanted = f'relance_events_applied_total{{service="echo",topic="{topic}"}} 20.0'
                dead = (
                    "relance_events_dead_lettered_total"
                    f'{{reason="malformed_json",service="echo",topic="{topic}"}} 1.0'
                )
                return text if wanted in text and dead in text else None

            text = await eventually(applied)
            assert "relance_batch_seconds_bucket" in text
            assert "relance_consumer_lag{partition=" in text
    finally:
        service.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(service.process.wait(), 30) == 0


async def test_sigterm_drains_the_batch_in_progress(
    echo: tuple[str, dict[str, str]], kafka_bootstrap: str, database_url: str
) -> None:
    """SIGTERM mid-batch: that batch commits, the rest is applied by the next process."""
    topic, env = echo
    env = {**env, "ECHO_DELAY_S": "1.5"}
    total = 400
    await produce(
        kafka_bootstrap, topic, [(f"C{n % 5}".encode(), invoice(n)) for n in range(total)]
    )
    connection = await asyncpg.connect(database_url)
    try:
        first = await start(env)
        await eventually(lambda: _count(connection, 1), timeout_s=60)
        first.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(first.process.wait(), 30) == 0
        await first.read_until("stopped", timeout_s=5)
        after_first = await connection.fetchval("SELECT count(*) FROM echo.seen")
        assert 0 < after_first < total
        # offsets were committed after the transaction, for exactly what was applied
        assert await committed(kafka_bootstrap, "relance-echo", topic) == after_first

        second = await start({**env, "ECHO_DELAY_S": "0"})
        try:
            await eventually(lambda: _count(connection, total), timeout_s=60)
            await asyncio.sleep(1)
        finally:
            second.process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(second.process.wait(), 30) == 0
        assert await connection.fetchval("SELECT count(*) FROM echo.seen") == total
        assert await committed(kafka_bootstrap, "relance-echo", topic) == total
    finally:
        await connection.close()


async def committed(bootstrap: str, group: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic)


async def _count(connection: asyncpg.Connection, at_least: int) -> bool:
    try:
        return bool(await connection.fetchval("SELECT count(*) >= $1 FROM echo.seen", at_least))
    except asyncpg.UndefinedTableError:
        return False


async def test_sigterm_during_start_up_is_honoured(echo: tuple[str, dict[str, str]]) -> None:
    _, env = echo
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.echo_service",
        env={**env, "ECHO_BUILD_DELAY_S": "60"},
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    service = ServiceProcess(process)
    await service.read_until("migrated")
    await asyncio.sleep(0.5)  # inside the service's build, which takes a minute
    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), 15) == 0
    await service.read_until("stopped", timeout_s=5)
    assert "stopping_during_start" in [line.get("event") for line in service.lines]
    assert "started" not in [line.get("event") for line in service.lines]


async def test_a_service_starts_and_serves_http_without_kafka(
    echo: tuple[str, dict[str, str]],
) -> None:
    """No broker at all: HTTP answers, readiness says degraded and why, liveness is ok."""
    _, env = echo
    with socket.socket() as sock:  # a port where nothing listens
        sock.bind(("127.0.0.1", 0))
        nowhere = f"127.0.0.1:{sock.getsockname()[1]}"
    service = await start({**env, "KAFKA_BOOTSTRAP_SERVERS": nowhere})
    try:
        base = f"http://127.0.0.1:{service.port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as response:
                assert response.status == 200
            async with http.get(f"{base}/readyz") as response:
                assert response.status == 200
                body = await response.json()
                assert body["status"] == "degraded"
                assert "connect" in body["degraded"]["kafka"]
            async with http.post(f"{base}/invoices/N1") as response:
                assert response.status == 200  # written to the outbox, published later
            async with http.get(f"{base}/metrics") as response:
                text = await response.text()
            assert (
                'relance_http_requests_total{method="POST",route="/invoices/{number}",'
                'service="echo",status="200"} 1.0'
            ) in text
            assert 'relance_kafka_unavailable{client="consumer",service="echo"} 1.0' in text
    finally:
        service.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(service.process.wait(), 60) == 0
