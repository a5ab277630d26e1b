"""The kit's HTTP server answers without Nagle's wait: its connections have TCP_NODELAY,
so a response's body does not wait for the client's delayed ACK of its headers (40 ms on
Linux, on every answer of a kept-alive connection)."""

from __future__ import annotations

import asyncio
import http.client
import time

import pytest

from services.runtime.health import HealthState, HttpServer, build_app

pytestmark = pytest.mark.integration


async def test_answers_on_a_kept_alive_connection_do_not_wait_for_delayed_acks() -> None:
    server = HttpServer(build_app(HealthState("test"), []), "127.0.0.1", 0)
    await server.start()

    def timings() -> list[float]:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        elapsed = []
        try:
            for _ in range(8):
                started = time.perf_counter()
                connection.request("GET", "/healthz")
                answer = connection.getresponse()
                answer.read()
                assert answer.status == 200
                elapsed.append(time.perf_counter() - started)
        finally:
            connection.close()
        return elapsed

    try:
        elapsed = await asyncio.to_thread(timings)
    finally:
        await server.stop()
    # without TCP_NODELAY every answer after the first takes 40 ms or more
    assert min(elapsed[1:]) < 0.02, elapsed
