"""The HTTP API of the disputes service (FastAPI, served by uvicorn inside the service).

Every route is authenticated (:mod:`services.runtime.auth`): a person presents a bearer
token from the firm's OpenID Connect provider or from ``POST /auth/sign-in`` (local
accounts); a machine presents an API key (``X-API-Key: <key>`` or ``Authorization: Bearer
<key>``), whose role says what it may do (:mod:`services.disputes.domain.roles`). A person
needs the role ``viewer`` to read and ``collector`` to act, and only on invoices whose
company is in their portfolio (403 ``portfolio`` otherwise, counted). With no credential
source configured the API refuses every request: it is never open by default.

The actor recorded on a command is the authenticated identity's subject (``oidc:anna``,
``local:bruno``, ``api-key:collector``), never what the body says: ``by``,
``recorded_by`` and ``agreed_by`` are still accepted, for older clients, and ignored.

Commands go through the same :class:`Casebook` as the Kafka commands and publish the same
events through the outbox. Changing a dispute needs the version it was read at
(``If-Match`` or ``expected_version``): a stale one is answered ``409 version_conflict``.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the endpoints' annotations,
# which name dependencies built inside :func:`build_api`.

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import uvicorn
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts import disputes
from contracts.disputes import Actor, DisputeOutcome, Note, Text
from contracts.envelope import Event
from contracts.topics import DISPUTE_EVENTS
from services.disputes import metrics, queries
from services.disputes.casebook import Casebook
from services.disputes.domain.commitments import broken_rate
from services.disputes.domain.roles import Action, ApiRole, may
from services.disputes.errors import CommandRejected, DisputesError
from services.runtime.auth import Authenticator, AuthSettings, install, machine
from services.runtime.clock import Clock
from services.runtime.database import Connection, Pool
from services.runtime.identity import (
    Identity,
    Refused,
    Role,
    authorize,
    authorize_invoices,
    covers,
    covers_invoices,
    require_role,
)
from services.runtime.logs import UVICORN_LOG_CONFIG, get_logger
from services.runtime.outbox import OutgoingRecord, enqueue

log = get_logger(__name__)
SERVICE = "disputes"
DisputeStatus = Literal["open", "awaiting_correction", "resolved"]
PromiseStatus = Literal["open", "kept", "broken"]
CallbackStatus = Literal["open", "done"]
ProposalStatus = Literal["pending", "accepted", "refused", "expired"]
PlanStatus = Literal["active", "completed", "broken"]
# The least role a person needs for each action; machines keep their API role's permissions.
ACTION_ROLES: Mapping[Action, Role] = {
    "read": "viewer",
    "open_dispute": "collector",
    "resolve_dispute": "collector",
    "reopen_dispute": "collector",
    "record_promise": "collector",
    "agree_plan": "collector",
}
MACHINE_ROLES: Mapping[ApiRole, Role] = {
    "reader": "viewer",
    "portal": "collector",
    "collector": "collector",
    "manager": "credit_manager",
}
IGNORED_ACTOR = "Ignored: the actor recorded is the authenticated identity."


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
    by: Actor | None = Field(default=None, description=IGNORED_ACTOR, deprecated=True)
    note: Note | None = None
    correction: disputes.ExpectedCorrection | None = Field(
        default=None,
        description="Justified: the credit note or corrected invoice expected, if known.",
    )

    @model_validator(mode="after")
    def _correction_when_justified(self) -> "ResolveBody":
        if self.correction is not None and self.outcome != "justified":
            raise ValueError("a correction is expected only when the dispute is justified")
        return self

    expected_version: int | None = Field(
        default=None, ge=1, description="The version read; or send it as If-Match."
    )


class ReopenBody(Body):
    customer_id: str
    by: Actor | None = Field(default=None, description=IGNORED_ACTOR, deprecated=True)
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
    attachments: list[disputes.Attachment] = []
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
            attachments=[disputes.Attachment.model_validate(a) for a in row["attachments"]],
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
    kind: disputes.PromiseKind
    status: PromiseStatus
    received: Decimal
    deadline_at: datetime
    closed_on: date | None

    @classmethod
    def of(cls, row: Any) -> "PromiseView":
        return cls(**{name: row[name] for name in cls.model_fields})


class CallbackView(BaseModel):
    request_id: UUID
    customer_id: str
    company_code: str
    phone: str
    on_day: date
    slot: disputes.CallbackSlot
    invoice_ids: list[str]
    requested_by: str
    requested_at: datetime
    status: CallbackStatus

    @classmethod
    def of(cls, row: Any) -> "CallbackView":
        return cls(**{name: row[name] for name in cls.model_fields})


class PlanProposalView(BaseModel):
    proposal_id: UUID
    customer_id: str
    company_code: str
    invoice_ids: list[str]
    proposed_on: date
    proposed_by: str
    instalments: list[disputes.Instalment]
    currency: str
    answer_by: datetime
    status: ProposalStatus
    decided_by: str | None
    decided_role: str | None
    decided_at: datetime | None
    reason: str | None

    @classmethod
    def of(cls, row: Any) -> "PlanProposalView":
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


def machine_keys(keys: Mapping[str, ApiRole]) -> dict[str, Identity]:
    """The configured API keys as machine identities, keeping each key's own permissions."""
    return {
        secret: machine(api_role, MACHINE_ROLES[api_role], scope=api_role)
        for secret, api_role in keys.items()
    }


def permit(identity: Identity, action: Action) -> None:
    """Raise :class:`Refused` unless the identity may do ``action`` at all."""
    if identity.kind == "machine" and identity.scope in MACHINE_ROLES:
        scope: ApiRole = identity.scope  # type: ignore[assignment]  # checked just above
        if not may(scope, action):
            raise Refused("role", f"role {scope} may not {action.replace('_', ' ')}")
        return
    require_role(identity, ACTION_ROLES[action])


def build_api(
    pool: Pool,
    clock: Clock,
    casebook: Casebook,
    keys: Mapping[str, ApiRole],
    auth: AuthSettings | None = None,
) -> FastAPI:
    app = FastAPI(
        title="Relance disputes",
        version="1",
        description=(
            "Disputes, promises to pay and payment plans: the temporary exits from dunning. "
            "Authenticate with a bearer token (OpenID Connect, or `POST /auth/sign-in` for a "
            "local account) or a machine's `X-API-Key`."
        ),
    )
    authenticator = Authenticator(
        SERVICE,
        auth or AuthSettings(),
        clock,
        api_keys=machine_keys(keys),
        not_configured="api_not_configured",
    )
    install(app)
    app.include_router(authenticator.sign_in_router())

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

    def allowed(action: Action) -> Callable[..., Awaitable[Identity]]:
        async def check(
            identity: Annotated[Identity, Depends(authenticator.authenticate)],
        ) -> Identity:
            permit(identity, action)
            return identity

        return check

    async def companies_of_customer(customer_id: str) -> list[str]:
        rows = await pool.fetch(queries.CUSTOMER_COMPANIES, customer_id)
        return [r["company_code"] for r in rows]

    async def authorize_customer(
        identity: Identity,
        customer_id: str,
        invoice_ids: Sequence[str],
        whole_account: bool = False,
    ) -> None:
        """The invoices' companies, or for the whole account every company the customer
        has invoices in, must be in the identity's portfolio."""
        if identity.unrestricted:
            return
        authorize_invoices(identity, invoice_ids)
        if invoice_ids and not whole_account:
            return
        companies = await companies_of_customer(customer_id)
        if not companies:
            raise Refused(
                "portfolio", f"customer {customer_id} is outside {identity.subject}'s portfolio"
            )
        for company in companies:
            authorize(identity, company_code=company)

    async def visible(identity: Identity, rows: Sequence[Any]) -> list[Any]:
        """The rows whose invoices (or customer, for the whole account) the identity sees."""
        if identity.unrestricted:
            return list(rows)
        shown = []
        for row in rows:
            invoices = list(row["invoice_ids"])
            if invoices and not row.get("whole_account", False):
                if covers_invoices(identity, invoices):
                    shown.append(row)
                continue
            companies = await companies_of_customer(row["customer_id"])
            if companies and all(covers(identity, company_code=c) for c in companies):
                shown.append(row)
        return shown

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

    async def dispute_row(identity: Identity, dispute_id: UUID) -> Any:
        row = await pool.fetchrow(queries.DISPUTE, dispute_id)
        if row is None:
            raise ApiError(404, "unknown_dispute", f"no dispute {dispute_id}")
        await authorize_customer(
            identity, row["customer_id"], list(row["invoice_ids"]), row["whole_account"]
        )
        return row

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
        request: disputes.DisputeRequest,
        identity: Annotated[Identity, Depends(allowed("open_dispute"))],
    ) -> JSONResponse:
        await authorize_customer(
            identity, request.customer_id, request.invoice_ids, request.whole_account
        )
        await command(
            "dispute.open",
            lambda c, now: casebook.disputes.open(c, now, request, identity.actor),
        )
        response = await dispute_view(request.dispute_id)
        response.status_code = 201
        return response

    @app.get("/disputes", response_model=list[DisputeView], tags=["disputes"])
    async def list_disputes(
        identity: Annotated[Identity, Depends(allowed("read"))],
        customer_id: str | None = None,
        status: DisputeStatus | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[DisputeView]:
        rows = await pool.fetch(queries.LIST_DISPUTES, customer_id, status, limit)
        return [DisputeView.of(r) for r in await visible(identity, rows)]

    @app.get("/disputes/{dispute_id}", response_model=DisputeView, tags=["disputes"])
    async def get_dispute(
        dispute_id: UUID, identity: Annotated[Identity, Depends(allowed("read"))]
    ) -> JSONResponse:
        await dispute_row(identity, dispute_id)
        return await dispute_view(dispute_id, with_history=True)

    @app.post("/disputes/{dispute_id}/resolve", response_model=DisputeView, tags=["disputes"])
    async def resolve_dispute(
        dispute_id: UUID,
        body: ResolveBody,
        identity: Annotated[Identity, Depends(allowed("resolve_dispute"))],
        if_match: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        version = _version(if_match, body.expected_version)
        await dispute_row(identity, dispute_id)
        resolution = disputes.DisputeResolution(
            dispute_id=dispute_id,
            customer_id=body.customer_id,
            outcome=body.outcome,
            by=identity.actor,
            note=body.note,
            correction=body.correction,
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
        identity: Annotated[Identity, Depends(allowed("reopen_dispute"))],
        if_match: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        version = _version(if_match, body.expected_version)
        await dispute_row(identity, dispute_id)
        reopening = disputes.DisputeReopening(
            dispute_id=dispute_id,
            customer_id=body.customer_id,
            by=identity.actor,
            reason=body.reason,
        )
        await command(
            "dispute.reopen", lambda c, now: casebook.disputes.reopen(c, now, reopening, version)
        )
        return await dispute_view(dispute_id)

    @app.post("/promises", status_code=201, response_model=PromiseView, tags=["promises"])
    async def record_promise(
        body: disputes.Promise, identity: Annotated[Identity, Depends(allowed("record_promise"))]
    ) -> PromiseView:
        await authorize_customer(identity, body.customer_id, body.invoice_ids)
        promise = body.model_copy(update={"recorded_by": identity.actor})
        await command("promise.record", lambda c, now: casebook.promises.record(c, now, promise))
        row = await pool.fetchrow(queries.PROMISE, promise.promise_id)
        return PromiseView.of(row)

    @app.get("/promises", response_model=list[PromiseView], tags=["promises"])
    async def list_promises(
        identity: Annotated[Identity, Depends(allowed("read"))],
        customer_id: str | None = None,
        status: PromiseStatus | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[PromiseView]:
        rows = await pool.fetch(queries.LIST_PROMISES, customer_id, status, limit)
        return [PromiseView.of(r) for r in await visible(identity, rows)]

    @app.post("/payment-plans", status_code=201, response_model=PlanView, tags=["payment plans"])
    async def agree_plan(
        body: disputes.PaymentPlan, identity: Annotated[Identity, Depends(allowed("agree_plan"))]
    ) -> PlanView:
        await authorize_customer(identity, body.customer_id, body.invoice_ids)
        plan = body.model_copy(update={"agreed_by": identity.actor})
        await command("payment_plan.agree", lambda c, now: casebook.plans.agree(c, now, plan))
        row = await pool.fetchrow(queries.PLAN, plan.plan_id)
        return PlanView.of(row)

    @app.get("/payment-plans", response_model=list[PlanView], tags=["payment plans"])
    async def list_plans(
        identity: Annotated[Identity, Depends(allowed("read"))],
        customer_id: str | None = None,
        status: PlanStatus | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[PlanView]:
        rows = await pool.fetch(queries.LIST_PLANS, customer_id, status, limit)
        return [PlanView.of(r) for r in await visible(identity, rows)]

    @app.get("/callbacks", response_model=list[CallbackView], tags=["call-back requests"])
    async def list_callbacks(
        identity: Annotated[Identity, Depends(allowed("read"))],
        customer_id: str | None = None,
        status: CallbackStatus | None = "open",
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[CallbackView]:
        """Customers' requests to be called back (from the portal), by day and slot."""
        rows = await pool.fetch(queries.LIST_CALLBACKS, customer_id, status, limit)
        return [CallbackView.of(r) for r in await visible(identity, rows)]

    @app.get("/plan-proposals", response_model=list[PlanProposalView], tags=["payment plans"])
    async def list_plan_proposals(
        identity: Annotated[Identity, Depends(allowed("read"))],
        customer_id: str | None = None,
        status: ProposalStatus | None = "pending",
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[PlanProposalView]:
        """Payment plans customers proposed (from the portal), and who decided them."""
        rows = await pool.fetch(queries.LIST_PROPOSALS, customer_id, status, limit)
        return [PlanProposalView.of(r) for r in await visible(identity, rows)]

    @app.get(
        "/customers/{customer_id}/promise-record",
        response_model=PromiseRecordView,
        tags=["promises"],
    )
    async def promise_record(
        customer_id: str, identity: Annotated[Identity, Depends(allowed("read"))]
    ) -> PromiseRecordView:
        await authorize_customer(identity, customer_id, [])
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
            app,
            host=host,
            port=port,
            lifespan="off",
            log_level="warning",
            access_log=False,
            log_config=UVICORN_LOG_CONFIG,  # through the kit's JSON and redaction pipeline
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
