"""A Kafka outage under load: the service stays up, serves HTTP, loses nothing.

The test runs its own single-node broker (``infra/kafka.sh`` with a private home and
ports, as the system test does), never the shared one, because it stops it. The echo
service (:mod:`tests.integration.echo_service`) runs as a real process on it and is kept
busy from both sides: invoices produced straight to its topic before the outage (some of
them unreadable, to be dead-lettered), and a steady stream of ``POST /invoices/{n}``
throughout, each writing an invoice to the outbox for the same topic. Meanwhile
``/healthz``, ``/readyz`` and ``/metrics`` are polled.

Then the broker is stopped for ``RELANCE_OUTAGE_S`` seconds (30 by default, to keep CI
short; the issue's two minutes is ``RELANCE_OUTAGE_S=120``) and started again. Checked:
the process never exited; every HTTP request was answered (the POSTs with 200, the
readiness "degraded" with Kafka's reason while it was away, liveness always ok); and
afterwards every event that went in came out, applied or dead-lettered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from tests.e2e.servers import OwnKafka
from tests.integration.test_service_process import ServiceProcess, invoice, start
from tests.kafka_tools import consume, create_topics, eventually, produce, unique

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
OUTAGE_S = float(os.environ.get("RELANCE_OUTAGE_S", "30"))


@pytest.fixture
def stopped_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnKafka]:
    """A private broker, not started yet."""
    kafka = OwnKafka.create(tmp_path_factory.mktemp("kafka-outage"))
    os.environ.setdefault("PYTHON", sys.executable)  # infra/kafka.sh's readiness probe
    try:
        yield kafka
    finally:
        kafka.destroy()


@pytest.fixture
def own_kafka(stopped_kafka: OwnKafka) -> OwnKafka:
    stopped_kafka.start()
    return stopped_kafka


async def read_logs(service: ServiceProcess) -> None:
    with contextlib.suppress(AssertionError):
        await service.read_until("no such event", timeout_s=3600)


async def test_a_kafka_outage_is_waited_out(
    own_kafka: OwnKafka, database_url: str, tmp_path: Path
) -> None:
    bootstrap = own_kafka.bootstrap
    topic = f"erp.{unique('invoices.v1')}"  # an ERP topic: its freshness is exported
    await create_topics(bootstrap, [topic, topic + ".dlq"])
    env = {
        **os.environ,
        "ECHO_TOPIC": topic,
        "ECHO_HTTP_PORT": "0",
        "ECHO_DRAIN_TIMEOUT_S": "15",
        "ECHO_BATCH_MAX_RECORDS": "50",
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(ROOT),
    }
    produced = [(b"C1", invoice(n)) for n in range(300)]
    unreadable = [(b"C1", b"not an invoice") for _ in range(6)]
    await produce(bootstrap, topic, produced + unreadable)

    service = await start(env)
    reader = asyncio.create_task(read_logs(service))  # a full pipe would block the service
    base = f"http://127.0.0.1:{service.port}"
    answers: Counter[str] = Counter()
    failures: list[str] = []
    degraded_reasons: list[str] = []
    posted = 0
    posted_during_outage = 0
    kafka_down = asyncio.Event()
    t0 = time.monotonic()
    timeline: list[tuple[float, bool]] = []
    stop_load = asyncio.Event()

    async def load(http: aiohttp.ClientSession) -> None:
        nonlocal posted, posted_during_outage
        while not stop_load.is_set():
            try:
                async with http.post(f"{base}/invoices/H{posted}") as response:
                    answers[f"POST {response.status}"] += 1
                    timeline.append((round(time.monotonic() - t0, 1), kafka_down.is_set()))
                    if response.status != 200:
                        failures.append(f"POST {response.status}: {await response.text()}")
                    else:
                        posted += 1
                        posted_during_outage += kafka_down.is_set()
                for path in ("/healthz", "/readyz"):
                    async with http.get(base + path) as response:
                        body = await response.json()
                        answers[f"{path} {response.status} {body['status']}"] += 1
                        if response.status != 200:
                            failures.append(f"{path} {response.status}: {body}")
                        if body["status"] == "degraded":
                            degraded_reasons.append(body["degraded"]["kafka"])
            except (aiohttp.ClientError, TimeoutError) as exc:
                failures.append(f"no answer: {exc!r}")
            await asyncio.sleep(0.1)

    connection = await asyncpg.connect(database_url)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            loader = asyncio.create_task(load(http))
            await asyncio.sleep(3)  # under load, Kafka up
            # in a thread: the load goes on while the broker stops and starts
            await asyncio.to_thread(own_kafka.stop)
            kafka_down.set()
            stopped_at = time.monotonic()
            await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped_at)))
            assert service.process.returncode is None, "the service exited during the outage"
            await asyncio.to_thread(own_kafka.start)
            kafka_down.clear()
            back_at = time.monotonic()
            await asyncio.sleep(3)  # a little load once Kafka is back
            stop_load.set()
            await loader

            # everything flows afterwards: in = applied + dead-lettered
            expected = len(produced) + posted

            async def all_applied() -> bool:
                seen = await connection.fetchval("SELECT count(*) FROM echo.seen")
                return bool(seen == expected)

            await eventually(all_applied, timeout_s=180, interval_s=0.5)
            recovered_s = time.monotonic() - back_at
            dead = await consume(bootstrap, topic + ".dlq", len(unreadable), timeout_s=60)
            assert len(dead) == len(unreadable)
            assert await connection.fetchval("SELECT count(*) FROM echo.outbox") == 0
            async with http.get(f"{base}/readyz") as response:
                assert response.status == 200
                assert (await response.json())["status"] == "ready"
            async with http.get(f"{base}/metrics") as response:
                metrics = await response.text()
    finally:
        await connection.close()
        if service.process.returncode is None:
            service.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(service.process.wait(), 60)
        await reader
        (tmp_path / "service.log").write_text("\n".join(json.dumps(x) for x in service.lines))
        print(f"service log: {tmp_path / 'service.log'}")

    assert code == 0
    assert not failures, failures[:10]
    assert posted_during_outage > 0, (answers, timeline)
    assert degraded_reasons, answers  # readiness said why while Kafka was away
    # each reason says that Kafka is away: not reached, not connected yet, or a batch the
    # relay could not publish (a request that timed out while the broker was stopping)
    said = ("unreachable", "connect", "cannot publish: ")
    odd = sorted({r for r in degraded_reasons if not any(words in r for words in said)})
    assert not odd, odd
    assert answers["/healthz 200 ok"] == sum(
        count for key, count in answers.items() if key.startswith("/healthz")
    )
    # A batch in flight when the broker went away waits in aiokafka's producer, which
    # retries it for up to its request timeout (40 s); a longer outage fails the send and
    # the relay backs off (``outbox_relay_waiting_for_kafka``). Either way, no exit.
    events = [line.get("event") for line in service.lines]
    assert "task_failed" not in events
    # aiokafka repeats its connection errors many times a second while the broker is
    # away; each warning or error comes out once a minute at most, its copies summarised.
    library = Counter(
        (line.get("logger"), line.get("level"), line.get("event"))
        for line in service.lines
        if str(line.get("logger", "")).startswith("aiokafka")
        and line.get("level") in ("warning", "error")
    )
    minutes = math.ceil((time.monotonic() - t0) / 60)
    assert max(library.values(), default=0) <= 1 + minutes, library.most_common(3)
    summaries = [e for e in events if " ... repeated " in str(e)]
    for name in (
        "relance_http_requests_total",
        "relance_http_request_duration_seconds_bucket",
        "relance_ledger_freshness_seconds",
    ):
        assert name in metrics, name
    print(
        f"outage {OUTAGE_S:.0f}s: {posted} events posted ({posted_during_outage} during the "
        f"outage, buffered in the outbox), {len(produced)} produced, {len(unreadable)} "
        f"dead-lettered; all applied {recovered_s:.1f}s after the broker was back; "
        f"answers {dict(answers)}; {len(library)} distinct aiokafka warnings and errors, "
        f"{len(summaries)} repeat summaries: {summaries[:3]}"
    )


async def test_a_service_started_before_kafka_connects_when_it_comes(
    stopped_kafka: OwnKafka, database_url: str
) -> None:
    """Kafka down at start: HTTP works, events wait in the outbox, then everything flows."""
    topic = f"erp.{unique('invoices.v1')}"
    env = {
        **os.environ,
        "ECHO_TOPIC": topic,
        "ECHO_HTTP_PORT": "0",
        "KAFKA_BOOTSTRAP_SERVERS": stopped_kafka.bootstrap,
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(ROOT),
    }
    service = await start(env)
    reader = asyncio.create_task(read_logs(service))
    base = f"http://127.0.0.1:{service.port}"
    connection = await asyncpg.connect(database_url)
    try:
        async with aiohttp.ClientSession() as http:
            for n in range(5):
                async with http.post(f"{base}/invoices/K{n}") as response:
                    assert response.status == 200
            async with http.get(f"{base}/readyz") as response:
                assert (await response.json())["status"] == "degraded"
            await asyncio.to_thread(stopped_kafka.start)
            back_at = time.monotonic()
            await create_topics(stopped_kafka.bootstrap, [topic, topic + ".dlq"])

            async def all_applied() -> bool:
                try:
                    return bool(await connection.fetchval("SELECT count(*) = 5 FROM echo.seen"))
                except asyncpg.UndefinedTableError:
                    return False

            await eventually(all_applied, timeout_s=120, interval_s=0.5)
            print(f"applied 5 buffered events {time.monotonic() - back_at:.1f}s after Kafka came")

            async def ready() -> bool:
                async with http.get(f"{base}/readyz") as response:
                    return bool((await response.json())["status"] == "ready")

            await eventually(ready, timeout_s=30)
    finally:
        await connection.close()
        service.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(service.process.wait(), 60)
        await reader
    assert code == 0
