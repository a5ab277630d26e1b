"""The HTTP API of the disputes service (FastAPI, served by uvicorn inside the service).

Every request presents an API key (``X-API-Key: <key>`` or ``Authorization: Bearer
<key>``); the key's role says what it may do (:mod:`services.disputes.domain.roles`). With
no key configured the API refuses every request: it is never open by default. Commands go
through the same :class:`Casebook` as the Kafka commands and publish the same events
through the outbox. Changing a dispute needs the version it was read at (``If-Match`` or
``expected_version``): a stale one is answered ``409 version_conflict``.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the endpoints' annotations,
# which name dependencies built inside :func:`build_api`.

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import uvicorn
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from contracts import disputes
from contracts.disputes import Actor, DisputeOutcome, Note, Text
from contracts.envelope import Event
from contracts.topics import DISPUTE_EVENTS
from services.disputes import metrics, queries
from services.disputes.casebook import Casebook
from services.disputes.domain.commitments import broken_rate
from services.disputes.domain.roles import Action, ApiRole, may, role_of
from services.disputes.errors import CommandRejected, DisputesError
from services.runtime.clock import Clock
from services.runtime.database import Connection, Pool
from services.runtime.logs import get_logger
from services.runtime.outbox import OutgoingRecord, enqueue

log = get_logger(__name__)
SERVICE = "disputes"
DisputeStatus = Literal["open", "awaiting_correction", "resolved"]
PromiseStatus = Literal["open", "kept", "broken"]
PlanStatus = Literal["active", "completed", "broken"]


class ApiError(DisputesError):
    """The request was refused."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        self.status, self.error, self.detail = status, error, detail
        super().__init__(f"{error}: {detail}")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ResolveBody(Body):
    customer_id: str
    outcome: DisputeOutcome
    by: Actor
    note: Note | None = None
    expected_version: int | None = Field(
        default=None, ge=1, description="The version read; or send it as If-Match."
    )


class ReopenBody(Body):
    customer_id: str
    by: Actor
    reason: Text
    expected_version: int | None = Field(default=None, ge=1)


class Transition(BaseModel):
    version: int
    action: str
    actor: str
    at: datetime
    detail: dict[str, Any]


class DisputeView(BaseModel):
    dispute_id: UUID
    customer_id: str
    invoice_ids: list[str]
    whole_account: bool
    category: str
    text: str
    raised_by: str
    owner_role: str
    owner: str | None
    due_date: date
    status: DisputeStatus
    outcome: str | None
    awaiting_correction: list[str]
    owner_reminders_sent: int
    version: int
    opened_at: datetime
    updated_at: datetime
    history: list[Transition] | None = None

    @classmethod
    def of(cls, row: Any, history: list[Transition] | None = None) -> "DisputeView":
        return cls(
            dispute_id=row["dispute_id"],
            customer_id=row["customer_id"],
            invoice_ids=list(row["invoice_ids"]),
            whole_account=row["whole_account"],
            category=row["category"],
            text=row["text"],
            raised_by=row["raised_by"],
            owner_role=row["owner_role"],
            owner=row["owner"],
            due_date=row["due_date"],
            status=row["status"],
            outcome=row["outcome"],
            awaiting_correction=list(row["awaiting"]),
            owner_reminders_sent=row["reminders_sent"],
            version=row["version"],
            opened_at=row["opened_at"],
            updated_at=row["updated_at"],
            history=history,
        )


class PromiseView(BaseModel):
    promise_id: UUID
    customer_id: str
    invoice_ids: list[str]
    promised_date: date
    amount: Decimal
    currency: str
    channel: str
    recorded_by: str
    status: PromiseStatus
    received: Decimal
    deadline_at: datetime
    closed_on: date | None

    @classmethod
    def of(cls, row: Any) -> "PromiseView":
        return cls(**{name: row[name] for name in cls.model_fields})


class PlanView(BaseModel):
    plan_id: UUID
    customer_id: str
    invoice_ids: list[str]
    agreed_on: date
    agreed_by: str
    instalments: list[disputes.Instalment]
    currency: str
    status: PlanStatus
    received: Decimal
    closed_on: date | None

    @classmethod
    def of(cls, row: Any) -> "PlanView":
        return cls(**{name: row[name] for name in cls.model_fields})


class PromiseRecordView(BaseModel):
    customer_id: str
    made: int
    kept: int
    broken: int
    broken_rate: Decimal | None = Field(description="Broken / (kept + broken); null before any.")


def _presented(authorization: str | None, api_key: str | None) -> str | None:
    if api_key:
        return api_key.strip()
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return None


def _version(if_match: str | None, expected: int | None) -> int:
    if if_match is not None:
        text = if_match.strip().removeprefix("W/").strip('"')
        if not text.isdigit():
            raise ApiError(400, "invalid_if_match", f"If-Match must be a version, not {if_match!r}")
        if expected is not None and int(text) != expected:
            raise ApiError(400, "inconsistent_versions", "If-Match and expected_version disagree")
        return int(text)
    if expected is None:
        raise ApiError(
            428,
            "version_required",
            "send the version you read, as If-Match or expected_version",
        )
    return expected


def build_api(pool: Pool, clock: Clock, casebook: Casebook, keys: Mapping[str, ApiRole]) -> FastAPI:
    app = FastAPI(
        title="Relance disputes",
        version="1",
        description=(
            "Disputes, promises to pay and payment plans: the temporary exits from dunning. "
            "Authenticate with `X-API-Key` or `Authorization: Bearer`."
        ),
    )

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": exc.error, "detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(CommandRejected)
    async def _rejected(request: Request, exc: CommandRejected) -> JSONResponse:
        return JSONResponse({"error": exc.reason, "detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "field": ".".join(str(p) for p in error.get("loc", ())),
                "message": str(error.get("msg", "")),
            }
            for error in exc.errors()
        ]
        return JSONResponse({"error": "invalid_request", "detail": problems}, status_code=422)

    def allowed(action: Action) -> Callable[..., Awaitable[ApiRole]]:
        async def check(
            authorization: Annotated[str | None, Header()] = None,
            x_api_key: Annotated[str | None, Header()] = None,
        ) -> ApiRole:
            if not keys:
                raise ApiError(
                    401,
                    "api_not_configured",
                    "no API key is configured (RELANCE_DISPUTES_API_KEYS): every request is "
                    "refused",
                )
            presented = _presented(authorization, x_api_key)
            if presented is None:
                raise ApiError(401, "unauthenticated", "send X-API-Key or Authorization: Bearer")
            role = role_of(presented, keys)
            if role is None:
                raise ApiError(401, "unauthenticated", "unknown API key")
            if not may(role, action):
                raise ApiError(403, "forbidden", f"role {role} may not {action.replace('_', ' ')}")
            return role

        return check

    async def command(
        name: str, decide: Callable[[Connection, datetime], Awaitable[list[Event]]]
    ) -> list[Event]:
        try:
            async with pool.acquire() as connection, connection.transaction():
                events = await decide(connection, clock.now())
                await enqueue(connection, [OutgoingRecord.of(DISPUTE_EVENTS, e) for e in events])
        except CommandRejected as exc:
            metrics.COMMANDS.labels(SERVICE, name, "http", "rejected").inc()
            metrics.REJECTIONS.labels(SERVICE, exc.reason).inc()
            raise
        metrics.COMMANDS.labels(SERVICE, name, "http", "applied").inc()
        for event in events:
            metrics.EVENTS.labels(SERVICE, event.event_type).inc()
        return events

    async def dispute_view(dispute_id: UUID, with_history: bool = False) -> JSONResponse:
        row = await pool.fetchrow(queries.DISPUTE, dispute_id)
        if row is None:
            raise ApiError(404, "unknown_dispute", f"no dispute {dispute_id}")
        history = None
        if with_history:
            history = [
                Transition(**dict(r)) for r in await pool.fetch(queries.TRANSITIONS, dispute_id)
            ]
        view = DisputeView.of(row, history)
        return JSONResponse(
            view.model_dump(mode="json", exclude_none=not with_history),
            headers={"ETag": f'"{view.version}"'},
        )

    @app.post("/disputes", status_code=201, response_model=DisputeView, tags=["disputes"])
    async def open_dispute(
        request: disputes.DisputeRequest, role: Annotated[ApiRole, Depends(allowed("open_dispute"))]
    ) -> JSONResponse:
        actor = f"{request.raised_by} (api:{role})"
        await command("dispute.open", lambda c, now: casebook.disputes.open(c, now, request, actor))
        response = await dispute_view(request.dispute_id)
        response.status_code = 201
        return response

    @app.get("/disputes", response_model=list[DisputeView], tags=["disputes"])
    async def list_disputes(
        _: Annotated[ApiRole, Depends(allowed("read"))],
        customer_id: str | None = None,
        status: DisputeStatus | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[DisputeView]:
        rows = await pool.fetch(queries.LIST_DISPUTES, customer_id, status, limit)
        return [DisputeView.of(r) for r in rows]

    @app.get("/disputes/{dispute_id}", response_model=DisputeView, tags=["disputes"])
    async def get_dispute(
        dispute_id: UUID, _: Annotated[ApiRole, Depends(allowed("read"))]
    ) -> JSONResponse:
        return await dispute_view(dispute_id, with_history=True)

    @app.post("/disputes/{dispute_id}/resolve", response_model=DisputeView, tags=["disputes"])
    async def resolve_dispute(
        dispute_id: UUID,
        body: ResolveBody,
        _: Annotated[ApiRole, Depends(allowed("resolve_dispute"))],
        if_match: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        version = _version(if_match, body.expected_version)
        resolution = disputes.DisputeResolution(
            dispute_id=dispute_id,
            customer_id=body.customer_id,
            outcome=body.outcome,
            by=body.by,
            note=body.note,
        )
        await command(
            "dispute.resolve",
            lambda c, now: casebook.disputes.resolve(c, now, resolution, version),
        )
        return await dispute_view(dispute_id)

    @app.post("/disputes/{dispute_id}/reopen", response_model=DisputeView, tags=["disputes"])
    async def reopen_dispute(
        dispute_id: UUID,
        body: ReopenBody,
        _: Annotated[ApiRole, Depends(allowed("reopen_dispute"))],
        if_match: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        version = _version(if_match, body.expected_version)
        reopening = disputes.DisputeReopening(
            dispute_id=dispute_id, customer_id=body.customer_id, by=body.by, reason=body.reason
        )
        await command(
            "dispute.reopen", lambda c, now: casebook.disputes.reopen(c, now, reopening, version)
        )
        return await dispute_view(dispute_id)

    @app.post("/promises", status_code=201, response_model=PromiseView, tags=["promises"])
    async def record_promise(
        promise: disputes.Promise, _: Annotated[ApiRole, Depends(allowed("record_promise"))]
    ) -> PromiseView:
        await command("promise.record", lambda c, now: casebook.promises.record(c, now, promise))
        row = await pool.fetchrow(queries.PROMISE, promise.promise_id)
        return PromiseView.of(row)

    @app.get("/promises", response_model=list[PromiseView], tags=["promises"])
    async def list_promises(
        _: Annotated[ApiRole, Depends(allowed("read"))],
        customer_id: str | None = None,
        status: PromiseStatus | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[PromiseView]:
        rows = await pool.fetch(queries.LIST_PROMISES, customer_id, status, limit)
        return [PromiseView.of(r) for r in rows]

    @app.post("/payment-plans", status_code=201, response_model=PlanView, tags=["payment plans"])
    async def agree_plan(
        plan: disputes.PaymentPlan, _: Annotated[ApiRole, Depends(allowed("agree_plan"))]
    ) -> PlanView:
        await command("payment_plan.agree", lambda c, now: casebook.plans.agree(c, now, plan))
        row = await pool.fetchrow(queries.PLAN, plan.plan_id)
        return PlanView.of(row)

    @app.get("/payment-plans", response_model=list[PlanView], tags=["payment plans"])
    async def list_plans(
        _: Annotated[ApiRole, Depends(allowed("read"))],
        customer_id: str | None = None,
        status: PlanStatus | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[PlanView]:
        rows = await pool.fetch(queries.LIST_PLANS, customer_id, status, limit)
        return [PlanView.of(r) for r in rows]

    @app.get(
        "/customers/{customer_id}/promise-record",
        response_model=PromiseRecordView,
        tags=["promises"],
    )
    async def promise_record(
        customer_id: str, _: Annotated[ApiRole, Depends(allowed("read"))]
    ) -> PromiseRecordView:
        row = await pool.fetchrow(queries.PROMISE_RECORD, customer_id)
        made, kept, broken = (0, 0, 0) if row is None else (row["made"], row["kept"], row["broken"])
        return PromiseRecordView(
            customer_id=customer_id,
            made=made,
            kept=kept,
            broken=broken,
            broken_rate=broken_rate(kept, broken),
        )

    return app


class ApiServer:
    """uvicorn serving the API on its own port, as a supervised loop of the service."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self.config = uvicorn.Config(
            app, host=host, port=port, lifespan="off", log_level="warning", access_log=False
        )
        self.server = uvicorn.Server(self.config)
        self.started = asyncio.Event()

    @property
    def port(self) -> int:
        sockets = self.server.servers[0].sockets
        name: Any = sockets[0].getsockname()
        return int(name[1])

    async def run(self, stop: asyncio.Event) -> None:
        # startup/shutdown rather than serve(): the service owns the signal handlers.
        if not self.config.loaded:
            self.config.load()
        self.server.lifespan = self.config.lifespan_class(self.config)
        await self.server.startup()
        if not self.server.started:
            raise OSError(f"the disputes API could not listen on port {self.config.port}")
        self.started.set()
        log.info("api_started", port=self.port)
        try:
            await stop.wait()
        finally:
            self.server.should_exit = True
            await self.server.shutdown()
