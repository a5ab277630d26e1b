"""The HTTP commands API: collectors' commands for machines and people, with OpenAPI.

Served by the scheduler's HTTP server (``ServiceParts.routes``), beside ``/healthz``; FastAPI
publishes the document at ``/openapi.json`` (and a browsable one at ``/docs``).

- ``POST /v1/commands/<name>``, one route per kind of command of ``dunning.commands.v1``
  (``hold``, ``release``, ``send_now``, ``change_scenario``, ``skip_step``, ``add_note``,
  ``log_call``, ...). The routes are generated from the contract's union
  (:data:`contracts.commands.CollectorCommand`): each body is the command's payload without
  ``actor`` and ``requested_at``, which the API fills in (the authenticated identity, now),
  and with ``command_id`` optional (send one to make a retry safe). A new kind added to
  the union gets its route, its body schema and its place in the document with no code here.
- ``GET /v1/commands/<command_id>``: what became of a command, from what the scheduler
  recorded: ``pending``, ``executed`` (with its audit: who, when, before and after) or
  ``refused`` (with the reason it was dead-lettered with).

Authentication is the runtime kit's (:mod:`services.runtime.auth`): a bearer token (the
firm's OpenID Connect provider, or ``POST /auth/sign-in`` for a local account) or a
machine's ``X-API-Key``. Early answers: ``401`` without a valid credential, ``403`` for a
role that can never issue the command (its lowest role,
:data:`services.scheduler.domain.commands.COMMAND_ROLES`) or a customer outside the
caller's portfolio (both counted in ``relance_authorization_refusals_total``; a customer the
scheduler does not know is outside every restricted portfolio), ``404`` for a customer the
scheduler does not know when the caller sees every customer, ``409`` for a ``command_id``
already used with another body, ``422`` with the field errors of a bad body. Otherwise the
command is recorded in ``submitted_command`` and written to the outbox
(``dunning.commands.v1``, the path every producer's commands take) in one transaction, and
the answer is ``202`` with its id. The scheduler checks role and portfolio again when it
executes it.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations, which
# name the request models generated below.

import hashlib
import json
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from contracts import commands
from contracts.dunning import ExecutedCommand, InvoiceSnapshot
from contracts.envelope import Event
from contracts.erp import Segment
from contracts.topics import DUNNING_COMMANDS, Topic
from services.runtime.auth import Authenticator, AuthRoute
from services.runtime.clock import Clock
from services.runtime.database import Pool
from services.runtime.identity import Identity, Refused, Role, require_role
from services.runtime.outbox import OutgoingRecord, enqueue
from services.scheduler import metrics, queries
from services.scheduler.domain.commands import COMMAND_ROLES
from services.scheduler.domain.portfolio import authorize_customer, customer_covered, scope_of

PREFIX = "/v1/commands"
FILLED_IN = frozenset({"actor", "requested_at"})
"""Payload fields the API fills in: never read from a body."""
DEFAULT_ROLE: Role = "collector"
EVENT_NAMESPACE = uuid.UUID("3c1f5e2a-8d47-4b9e-a6c0-7e2d9b1f4a58")
SOURCE = "commands-api"


def event_id_of(command_id: uuid.UUID) -> uuid.UUID:
    """The event id of a command sent through the API (a retry writes the same one)."""
    return uuid.uuid5(EVENT_NAMESPACE, str(command_id))


class CommandRequest(BaseModel):
    """Base of the generated request bodies: unknown fields (``actor`` among them) refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class CommandKind:
    """One kind of command of the contract, as the API serves it."""

    name: str
    event: type[Event]
    payload: type[commands.CommandBase]
    body: type[CommandRequest]
    role: Role

    @property
    def path(self) -> str:
        return f"{PREFIX}/{self.name}"


def request_model(
    name: str, payload: type[BaseModel], doc: str | None = None
) -> type[CommandRequest]:
    """The body of ``payload``'s route: its fields, less those the API fills in, with
    ``command_id`` optional."""
    fields: dict[str, Any] = {}
    for field_name, info in payload.model_fields.items():
        if field_name in FILLED_IN:
            continue
        if field_name == "command_id":
            fields[field_name] = (
                uuid.UUID | None,
                Field(
                    default=None,
                    description=(
                        "Chosen by the caller so that a retry is applied once (the same id "
                        "with the same body is accepted again and sent once); drawn by the "
                        "API when absent."
                    ),
                ),
            )
            continue
        fields[field_name] = (info.annotation, info)
    model = create_model(
        f"{payload.__name__}Request",
        __base__=CommandRequest,
        __doc__=doc or f"The body of a {name} command.",
        **fields,
    )
    return model


def command_kinds(union: Any = commands.CollectorCommand) -> list[CommandKind]:
    """Every kind of command of the topic's union, in the union's order."""
    members = get_args(get_args(union)[0]) if get_args(union) else ()
    kinds = []
    for event in members:
        event_type = event.model_fields["event_type"].default
        name = str(event_type).removeprefix("command.")
        payload = event.model_fields["payload"].annotation
        kinds.append(
            CommandKind(
                name=name,
                event=event,
                payload=payload,
                body=request_model(name, payload, event.__doc__),
                role=COMMAND_ROLES.get(name, DEFAULT_ROLE),  # type: ignore[arg-type]
            )
        )
    return kinds


def actor_of(identity: Identity) -> commands.CommandActor:
    """The command's actor: the identity the API authenticated, never a body field."""
    portfolio = identity.portfolio
    return commands.CommandActor(
        subject=identity.actor,
        roles=tuple(sorted(identity.roles)),
        kind=identity.kind,
        company_codes=tuple(sorted(portfolio.company_codes)),
        collector_codes=tuple(sorted(portfolio.collector_codes)),
        segments=tuple(sorted(portfolio.segments)),
        everything=portfolio.everything,
    )


# -- answers ----------------------------------------------------------------------------------


class FieldError(BaseModel):
    field: str = Field(description="Where, dotted (body.until).")
    message: str


class Problem(BaseModel):
    error: str
    detail: str | list[FieldError]


class CommandAccepted(BaseModel):
    command_id: uuid.UUID
    command: str
    status: Literal["accepted"] = "accepted"
    href: str = Field(description="Where to follow what becomes of it.")


class CommandOutcome(BaseModel):
    command_id: uuid.UUID
    command: str
    customer_id: str
    status: Literal["pending", "executed", "refused"] = Field(
        description=(
            "pending: written to dunning.commands.v1, not executed yet; executed; refused: "
            "dead-lettered by the scheduler with `reason`."
        )
    )
    submitted_by: str | None = Field(
        default=None, description="The identity that sent it through this API."
    )
    submitted_at: datetime | None = None
    executed_at: datetime | None = None
    actor: str | None = Field(default=None, description="Who it was executed for.")
    detail: dict[str, str] | None = Field(
        default=None, description="The executed command's own arguments, as audited."
    )
    before: list[InvoiceSnapshot] | None = None
    after: list[InvoiceSnapshot] | None = None
    reason: str | None = Field(default=None, description="Why it was refused.")
    refusal: str | None = Field(default=None, description="The refusal's detail.")
    refused_at: datetime | None = None


def field_errors(errors: Sequence[Any], prefix: Sequence[str] = ()) -> list[dict[str, str]]:
    return [
        {
            "field": ".".join([*prefix, *(str(p) for p in error.get("loc", ()))]),
            "message": str(error.get("msg", "")),
        }
        for error in errors
    ]


def invalid(errors: list[dict[str, str]]) -> JSONResponse:
    return JSONResponse({"error": "invalid_request", "detail": errors}, status_code=422)


class CommandRoute(AuthRoute):
    """Auth failures as the kit answers them, a bad body as ``422`` with its field errors."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def validated(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return invalid(field_errors(exc.errors()))

        return validated


REFUSALS_DOC: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No valid credential."},
    403: {"model": Problem, "description": "Role or portfolio refused (counted)."},
    404: {"model": Problem, "description": "Unknown customer."},
    409: {"model": Problem, "description": "The command id was used with another body."},
    422: {"model": Problem, "description": "The body's field errors."},
}


class CommandsApi:
    """The routes, over the scheduler's pool (its outbox and what it recorded)."""

    def __init__(
        self,
        pool: Pool,
        clock: Clock,
        authenticator: Authenticator,
        kinds: Sequence[CommandKind] | None = None,
        topic: Topic = DUNNING_COMMANDS,
    ) -> None:
        self.pool = pool
        self.clock = clock
        self.auth = authenticator
        self.kinds = list(kinds if kinds is not None else command_kinds())
        self.topic = topic

    def router(self) -> APIRouter:
        router = APIRouter(route_class=CommandRoute, tags=["commands"])
        for kind in self.kinds:
            router.add_api_route(
                kind.path,
                self._submit_route(kind),
                methods=["POST"],
                status_code=202,
                response_model=CommandAccepted,
                responses=REFUSALS_DOC,
                summary=(kind.event.__doc__ or kind.name).strip().splitlines()[0],
                description=(
                    f"Sends a `{kind.event.model_fields['event_type'].default}` command on "
                    f"`{DUNNING_COMMANDS.name}`. Lowest role: `{kind.role}`; the customer must "
                    "be in the caller's portfolio."
                ),
                operation_id=f"command_{kind.name}",
            )
        router.add_api_route(
            f"{PREFIX}/{{command_id}}",
            self._outcome_route(),
            methods=["GET"],
            response_model=CommandOutcome,
            responses={
                401: REFUSALS_DOC[401],
                403: REFUSALS_DOC[403],
                404: {"model": Problem, "description": "No such command."},
            },
            summary="What became of a command",
            operation_id="command_outcome",
        )
        return router

    def _submit_route(self, kind: CommandKind) -> Callable[..., Coroutine[Any, Any, Response]]:
        async def submit(
            body: kind.body,  # type: ignore[name-defined]
            identity: Annotated[Identity, Depends(self.auth.require(kind.role))],
        ) -> Response:
            return await self.submit(kind, body, identity)

        submit.__name__ = f"submit_{kind.name}"
        return submit

    def _outcome_route(self) -> Callable[..., Coroutine[Any, Any, Response]]:
        async def outcome(
            command_id: uuid.UUID,
            identity: Annotated[Identity, Depends(self.auth.require("viewer"))],
        ) -> Response:
            return await self.outcome(command_id, identity)

        return outcome

    async def submit(self, kind: CommandKind, body: CommandRequest, identity: Identity) -> Response:
        require_role(identity, kind.role)
        now = self.clock.now()
        fields = body.model_dump()
        command_id = fields.pop("command_id", None) or uuid.uuid4()
        try:
            payload = kind.payload.model_validate(
                {
                    **fields,
                    "command_id": command_id,
                    "actor": actor_of(identity),
                    "requested_at": now,
                }
            )
        except ValidationError as exc:  # the payload's own rules across fields
            return invalid(field_errors(exc.errors(), ("body",)))
        customer_id: str | None = getattr(payload, "customer_id", None)
        event = kind.event.model_validate(
            {
                "event_id": event_id_of(command_id),
                "occurred_at": now,
                "source": SOURCE,
                "payload": payload,
            }
        )
        digest = hashlib.sha256(
            json.dumps(
                body.model_dump(mode="json", exclude={"command_id"}), sort_keys=True
            ).encode()
        ).hexdigest()
        async with self.pool.acquire() as connection, connection.transaction():
            if customer_id is not None:
                row = await connection.fetchrow(queries.CUSTOMER_SCOPE, customer_id)
                if row is None:
                    if not identity.unrestricted:  # whether it exists is none of theirs
                        raise Refused(
                            "portfolio",
                            f"customer {customer_id} is outside {identity.subject}'s portfolio",
                        )
                    return JSONResponse(
                        {"error": "unknown_customer", "detail": f"no customer {customer_id}"},
                        status_code=404,
                    )
                scope = scope_of(row["company_code"], Segment.model_validate(row["segment"]))
                authorize_customer(identity, scope)  # Refused: 403, counted
            recorded = await connection.fetchval(
                queries.SUBMIT_COMMAND,
                command_id,
                kind.name,
                customer_id or "",
                identity.actor,
                digest,
                now,
            )
            if recorded is None:
                first = await connection.fetchrow(queries.SUBMITTED_COMMAND, command_id)
                assert first is not None  # recorded by another request, never deleted
                if (first["body_digest"], first["actor_subject"], first["command"]) != (
                    digest,
                    identity.actor,
                    kind.name,
                ):
                    return JSONResponse(
                        {
                            "error": "command_id_taken",
                            "detail": f"command {command_id} was sent before with another body",
                        },
                        status_code=409,
                    )
                metrics.API_COMMANDS.labels(kind.name, "repeated").inc()
            else:
                await enqueue(connection, [OutgoingRecord.of(self.topic, event)])
                metrics.API_COMMANDS.labels(kind.name, "accepted").inc()
        accepted = CommandAccepted(
            command_id=command_id, command=kind.name, href=f"{PREFIX}/{command_id}"
        )
        return JSONResponse(
            accepted.model_dump(mode="json"),
            status_code=202,
            headers={"Location": accepted.href},
        )

    async def outcome(self, command_id: uuid.UUID, identity: Identity) -> Response:
        row = await self.pool.fetchrow(queries.COMMAND_OUTCOME, command_id)
        if row is None or not (
            row["submitted_id"] or row["executed_id"] or row["refused_id"] or row["operator_id"]
        ):
            return JSONResponse(
                {"error": "unknown_command", "detail": f"no command {command_id}"},
                status_code=404,
            )
        audit = (
            ExecutedCommand.model_validate(row["audit"]) if row["executed_id"] is not None else None
        )
        customer_id = (
            audit.customer_id
            if audit is not None
            else row["submitted_customer"] or row["refused_customer"] or ""
        )  # "": an operator's command, which concerns no single customer
        if row["submitted_by"] != identity.actor:
            scope_row = await self.pool.fetchrow(queries.CUSTOMER_SCOPE, customer_id)
            if scope_row is None or not customer_covered(
                identity,
                scope_of(scope_row["company_code"], Segment.model_validate(scope_row["segment"])),
            ):
                raise Refused(
                    "portfolio",
                    f"customer {customer_id} is outside {identity.subject}'s portfolio",
                )
        view = CommandOutcome(
            command_id=command_id,
            command=(
                audit.command
                if audit is not None
                else row["submitted_command"] or row["refused_command"] or row["operator_command"]
            ),
            customer_id=customer_id,
            status="pending",
            submitted_by=row["submitted_by"],
            submitted_at=row["submitted_at"],
        )
        if audit is not None:
            view = view.model_copy(
                update={
                    "status": "executed",
                    "executed_at": audit.executed_at,
                    "actor": audit.actor_subject,
                    "detail": audit.detail,
                    "before": list(audit.before),
                    "after": list(audit.after),
                }
            )
        elif row["operator_id"] is not None:  # suspend_sending, resume_sending, a campaign
            detail = row["operator_detail"]
            detail = json.loads(detail) if isinstance(detail, str) else detail
            view = view.model_copy(
                update={
                    "status": "executed",
                    "executed_at": row["operator_executed_at"],
                    "actor": row["operator_actor"],
                    "detail": {k: str(v) for k, v in detail.items()},
                }
            )
        elif row["refused_id"] is not None:
            view = view.model_copy(
                update={
                    "status": "refused",
                    "reason": row["reason"],
                    "refusal": row["detail"],
                    "refused_at": row["refused_at"],
                }
            )
        shown = {k: v for k, v in view.model_dump(mode="json").items() if v is not None}
        return JSONResponse(shown)
