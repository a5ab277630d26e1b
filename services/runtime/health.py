"""The HTTP face of every service: ``/healthz``, ``/readyz`` and ``/metrics``.

``/healthz`` (liveness) fails only when the process should be restarted: a supervised task
died. ``/readyz`` (readiness) fails while the service cannot do its work: starting,
draining, or its database does not answer. It answers 200 with ``"status": "degraded"``
and the reasons while only a degradation holds (Kafka unreachable): the HTTP routes still
work then, so the pod stays behind its Service. Services add their own routes (APIs,
provider callbacks) to the same server as FastAPI routers.

Every request is counted and timed by :class:`RequestMetrics`
(``relance_http_requests_total`` and ``relance_http_request_duration_seconds``), labelled
with the route's template (``/disputes/{dispute_id}``), never the raw path, so that the
series stay bounded; a path no route matches is counted as ``unmatched``.

The server is a FastAPI application served in-process by uvicorn: FastAPI because services
need pydantic request models, OpenAPI for their APIs and server-rendered pages; uvicorn
without its own logging configuration (logs stay the kit's) and without an access log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Generator, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from services.runtime import logs, metrics
from services.runtime.errors import ConfigurationError

ReadinessCheck = Callable[[], Awaitable[str | None]]  # None when ready, else why not


@dataclass
class HealthState:
    service: str
    started: bool = False
    draining: bool = False
    failure: str | None = None
    checks: dict[str, ReadinessCheck] = field(default_factory=dict)
    # Problems that leave the HTTP routes working (Kafka unreachable): reported, still ready.
    degradations: dict[str, ReadinessCheck] = field(default_factory=dict)

    async def readiness(self) -> dict[str, str]:
        problems: dict[str, str] = {}
        if not self.started:
            problems["service"] = "starting"
        if self.draining:
            problems["service"] = "draining"
        if self.failure:
            problems["service"] = f"failed: {self.failure}"
        problems.update(await _run_checks(self.checks))
        return problems

    async def degraded(self) -> dict[str, str]:
        return await _run_checks(self.degradations)


async def _run_checks(checks: dict[str, ReadinessCheck]) -> dict[str, str]:
    problems: dict[str, str] = {}
    for name, check in checks.items():
        try:
            problem = await asyncio.wait_for(check(), timeout=2.0)
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
        if problem:
            problems[name] = problem
    return problems


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class RequestMetrics:
    """ASGI middleware counting and timing each HTTP request by route template.

    Plain ASGI rather than Starlette's ``BaseHTTPMiddleware``: it does not buffer or wrap
    streamed responses, and costs a few microseconds per request.
    """

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before the response started is answered 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = _route_template(scope)
            method = str(scope.get("method", "")).upper()
            metrics.HTTP_REQUESTS.labels(self.service, route, method, str(status)).inc()
            metrics.HTTP_REQUEST_SECONDS.labels(self.service, route, method).observe(
                time.perf_counter() - started
            )


def _route_template(scope: Scope) -> str:
    """The matched route's path template (``/disputes/{dispute_id}``), a mount's path
    followed by ``/{path}`` (static files), or ``unmatched`` when nothing matched: bounded
    cardinality either way."""
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    if template:
        return str(template)
    mounted = str(scope.get("root_path", "") or "")
    return f"{mounted}/{{path}}" if mounted else "unmatched"


def build_app(state: HealthState, routers: Sequence[APIRouter] = ()) -> FastAPI:
    """The service's HTTP application: the health routes, then the service's routers."""

    async def healthz() -> Response:
        if state.failure:
            return JSONResponse({"status": "failed", "reason": state.failure}, status_code=503)
        return JSONResponse({"status": "ok", "service": state.service})

    async def readyz() -> Response:
        problems = await state.readiness()
        if problems:
            return JSONResponse({"status": "not ready", "problems": problems}, status_code=503)
        degraded = await state.degraded()
        if degraded:
            return JSONResponse(
                {"status": "degraded", "service": state.service, "degraded": degraded}
            )
        return JSONResponse({"status": "ready", "service": state.service})

    async def metrics() -> Response:
        return Response(generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = FastAPI(title=f"relance-{state.service}")
    app.add_api_route("/healthz", healthz, methods=["GET"])
    app.add_api_route("/readyz", readyz, methods=["GET"])
    app.add_api_route("/metrics", metrics, methods=["GET"])
    for router in routers:
        app.include_router(router)
    app.add_middleware(RequestMetrics, service=state.service)
    return app


class _InProcessServer(uvicorn.Server):
    """uvicorn's server, leaving SIGTERM and SIGINT to the service that runs it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class HttpServer:
    """Serves an ASGI application in this process's event loop; ``port`` is the port bound
    (the real one when asked for port 0)."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=logs.UVICORN_LOG_CONFIG,  # through our JSON and redaction pipeline
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
        )
        # uvicorn's start and stop notices would be unstructured lines among our logs; its
        # warnings and errors (an exception in a route) still come through.
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
        self._server = _InProcessServer(config)
        self._task: asyncio.Task[None] | None = None
        self._host = host
        self.port = port

    async def start(self) -> None:
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        try:
            listening = socket.create_server((self._host, self.port), family=family)
        except OSError as exc:
            raise ConfigurationError(f"cannot listen on {self._host}:{self.port}: {exc}") from exc
        # asyncio sets TCP_NODELAY only on sockets made with proto IPPROTO_TCP, which
        # create_server's are not; connections inherit it from the listening socket. Without
        # it, a response's body waits for the client's delayed ACK of its headers (40 ms).
        listening.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.port = int(listening.getsockname()[1])
        self._task = asyncio.create_task(
            self._server.serve(sockets=[listening]), name="http-server"
        )
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise ConfigurationError(f"the HTTP server on port {self.port} did not start")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        await self._task
        self._task = None
