"""The HTTP face of every service: ``/healthz``, ``/readyz`` and ``/metrics``.

``/healthz`` (liveness) fails only when the process should be restarted: a supervised task
died. ``/readyz`` (readiness) fails while the service cannot do its work: starting,
draining, or its database does not answer. Services add their own routes (APIs, provider
callbacks) to the same server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

ReadinessCheck = Callable[[], Awaitable[str | None]]  # None when ready, else why not


@dataclass
class HealthState:
    service: str
    started: bool = False
    draining: bool = False
    failure: str | None = None
    checks: dict[str, ReadinessCheck] = field(default_factory=dict)

    async def readiness(self) -> dict[str, str]:
        problems: dict[str, str] = {}
        if not self.started:
            problems["service"] = "starting"
        if self.draining:
            problems["service"] = "draining"
        if self.failure:
            problems["service"] = f"failed: {self.failure}"
        for name, check in self.checks.items():
            try:
                problem = await asyncio.wait_for(check(), timeout=2.0)
            except Exception as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if problem:
                problems[name] = problem
        return problems


def build_app(state: HealthState, extra_routes: Sequence[web.RouteDef] = ()) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        if state.failure:
            return web.json_response({"status": "failed", "reason": state.failure}, status=503)
        return web.json_response({"status": "ok", "service": state.service})

    async def readyz(_: web.Request) -> web.Response:
        problems = await state.readiness()
        if problems:
            return web.json_response({"status": "not ready", "problems": problems}, status=503)
        return web.json_response({"status": "ready", "service": state.service})

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    app = web.Application()
    app.add_routes(
        [
            web.get("/healthz", healthz),
            web.get("/readyz", readyz),
            web.get("/metrics", metrics),
            *extra_routes,
        ]
    )
    return app


class HttpServer:
    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self._runner = web.AppRunner(app, access_log=None)
        self._host = host
        self._port = port
        self.port = port

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        address = self._runner.addresses[0]
        self.port = int(address[1])

    async def stop(self) -> None:
        await self._runner.cleanup()
