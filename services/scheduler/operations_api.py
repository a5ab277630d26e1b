"""The operators' read routes of the scheduler's HTTP API: a campaign's dry run and the
scenario library's versions. Served beside the commands API, with the same authentication.

- ``POST /v1/campaigns/dry-run`` (credit_manager): the body is a campaign
  (:class:`contracts.commands.CampaignSpec`, as its YAML file declares it); the answer is
  whom it would reach now, each with the reminder it would get (what the notifier renders
  for a preview), who it leaves out and why, and the ``fingerprint`` that a
  ``launch_campaign`` command cites. Nothing is written: the selection runs in a transaction
  that is rolled back. ``offset`` and ``limit`` page the recipients; the counts and the
  fingerprint are of all of them. ``403`` for a company outside the caller's portfolio,
  ``409 suspended`` while sending is suspended for one of its companies, ``422`` for a
  campaign the library cannot send.
- ``POST /v1/commands/send_now/dry-run`` (collector) and ``POST /v1/commands/change_scenario/
  dry-run`` (credit_manager): the body is the command's (``customer_id``, optional
  ``invoice_id``, ``template``, ``command_id``; ``scenario_id``); the answer is what the
  command would make go out now, executed by the commands desk and decided by the tick's
  rule in a transaction rolled back (:mod:`services.scheduler.command_previews`): refused
  and why, or each reminder (step, level, channel, template, invoices, when, as the notifier
  renders it for a preview), whether it waits for a confirmation, a suspension, the minimum
  gap, the invoices passed over. ``403`` outside the caller's role or portfolio, ``404`` for
  an unknown customer.
- ``GET /v1/library/catalogue`` (collector): the library in force as lists to choose from:
  its templates, its scenarios and their steps (name, level, channel, template).
- ``GET /v1/library/versions`` (credit_manager): every version of every scenario the
  scheduler accepted (number, who, when, a summary, whether in force), newest first.
- ``GET /v1/library/versions/{scenario_id}/{version}`` (credit_manager): one version's
  content as YAML (keys sorted, so that two versions compare line by line).

The scheduler publishes a library change (``dunning.library.changed``) with the version
numbers but not the scenarios' content: these routes are where a console reads them.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations.

import json
import uuid
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError

from contracts import commands
from contracts.commands import CampaignSpec
from services.runtime.auth import Authenticator, guarded_router
from services.runtime.clock import Clock
from services.runtime.database import Pool
from services.runtime.identity import Identity, Refused
from services.scheduler.api import actor_of
from services.scheduler.campaigns import CampaignReport, plan_campaign
from services.scheduler.command_previews import rehearse
from services.scheduler.commands import CommandDesk
from services.scheduler.domain.commands import COMMAND_ROLES
from services.scheduler.domain.operations import OPERATOR_ROLE, authorize_scope, campaign_of
from services.scheduler.domain.state import Policy
from services.scheduler.errors import CampaignRefused, CommandRejected
from services.scheduler.outgoing import SOURCE

LIBRARY_VERSIONS = """
SELECT v.scenario_id, v.version, v.removed, v.loaded_at, v.loaded_by, v.content,
       coalesce((r.versions ->> v.scenario_id)::int = v.version, false) AS in_force
FROM library_version v
LEFT JOIN (SELECT versions FROM library_revision ORDER BY revision DESC LIMIT 1) r ON true
ORDER BY v.loaded_at DESC, v.scenario_id, v.version DESC
"""
LIBRARY_VERSION = """
SELECT scenario_id, version, removed, loaded_at, loaded_by, content
FROM library_version WHERE scenario_id = $1 AND version = $2
"""


def summary_of(content: Any, removed: bool) -> str:
    """A scenario version in one line: its description and its steps' names."""
    if removed or content is None:
        return "removed"
    scenario = json.loads(content) if isinstance(content, str) else content
    steps = [str(s.get("name", "?")) for s in scenario.get("steps", ())]
    description = str(scenario.get("description") or "").strip()
    shown = f"{len(steps)} step(s): {', '.join(steps)}"
    return f"{description} · {shown}" if description else shown


def yaml_of(content: Any) -> str:
    scenario = json.loads(content) if isinstance(content, str) else content
    return str(yaml.safe_dump(scenario, sort_keys=True, allow_unicode=True, width=100))


def dry_run_answer(report: CampaignReport, offset: int, limit: int) -> dict[str, Any]:
    shown = report.reminders[offset : offset + limit]
    return {
        "campaign_id": report.campaign_id,
        "fingerprint": report.fingerprint,
        "customers": len(report.reached),
        "invoices": sum(n for _, n in report.reached),
        "skipped": report.skipped_by_reason(),
        "offset": offset,
        "recipients": [
            {
                "customer_id": r.customer_id,
                "company_code": r.company_code,
                "channel": r.channel,
                "recipient_role": r.recipient_role,
                "language": r.language,
                "scheduled_for": r.scheduled_for.isoformat(),
                "invoices": [
                    {
                        "invoice_id": i.invoice_id,
                        "invoice_number": i.invoice_number,
                        "open_amount": str(i.open_amount.amount),
                        "currency": i.open_amount.currency,
                        "days_overdue": i.days_overdue,
                    }
                    for i in r.invoices
                ],
                "reminder": r.model_dump(mode="json"),
            }
            for r in shown
        ],
    }


class SendNowRehearsal(BaseModel):
    """The body of a send_now's dry run: the command's, less its actor and instant."""

    customer_id: str
    invoice_id: str | None = None
    template: str | None = None
    command_id: uuid.UUID | None = None


class ChangeScenarioRehearsal(BaseModel):
    """The body of a change_scenario's dry run."""

    customer_id: str
    scenario_id: str
    command_id: uuid.UUID | None = None


def catalogue_of(policy: Policy) -> dict[str, Any]:
    """The library in force as lists to choose from."""
    library = policy.library
    return {
        "revision": library.revision,
        "templates": sorted(library.templates),
        "scenarios": [
            {
                "scenario_id": scenario.id,
                "description": scenario.description,
                "steps": [
                    {
                        "name": step.name,
                        "level": step.level,
                        "channel": step.channel,
                        "template": step.template,
                    }
                    for step in scenario.steps
                ],
            }
            for _, scenario in sorted(library.scenarios.items())
        ],
    }


class OperationsApi:
    """The routes, over the scheduler's pool and its policy (library, window, gap)."""

    def __init__(self, pool: Pool, clock: Clock, policy: Policy, auth: Authenticator) -> None:
        self.pool = pool
        self.clock = clock
        self.policy = policy
        self.auth = auth
        self.desk = CommandDesk(policy)

    def router(self) -> APIRouter:
        router = guarded_router()
        manager = Depends(self.auth.require(OPERATOR_ROLE))

        async def dry_run(
            spec: CampaignSpec,
            identity: Annotated[Identity, manager],
            offset: Annotated[int, Query(ge=0)] = 0,
            limit: Annotated[int, Query(ge=1, le=500)] = 50,
        ) -> Response:
            return await self.dry_run(spec, identity, offset, limit)

        async def versions(identity: Annotated[Identity, manager]) -> Response:
            return await self.versions()

        sender = Depends(self.auth.require(COMMAND_ROLES["send_now"]))  # type: ignore[arg-type]
        changer = Depends(self.auth.require(COMMAND_ROLES["change_scenario"]))  # type: ignore[arg-type]
        reader = Depends(self.auth.require("collector"))

        async def send_now(
            body: SendNowRehearsal, identity: Annotated[Identity, sender]
        ) -> Response:
            return await self.rehearse("send_now", body.model_dump(), identity)

        async def change_scenario(
            body: ChangeScenarioRehearsal, identity: Annotated[Identity, changer]
        ) -> Response:
            return await self.rehearse("change_scenario", body.model_dump(), identity)

        async def catalogue(identity: Annotated[Identity, reader]) -> Response:
            return JSONResponse(catalogue_of(self.policy))

        async def version(
            scenario_id: str, version: int, identity: Annotated[Identity, manager]
        ) -> Response:
            return await self.version(scenario_id, version)

        router.add_api_route(
            "/v1/campaigns/dry-run",
            dry_run,
            methods=["POST"],
            tags=["operations"],
            summary="Whom a campaign would reach now, and the fingerprint a launch cites",
        )
        router.add_api_route(
            "/v1/commands/send_now/dry-run",
            send_now,
            methods=["POST"],
            tags=["operations"],
            summary="What a send_now would make go out now, rendered as nothing yet",
        )
        router.add_api_route(
            "/v1/commands/change_scenario/dry-run",
            change_scenario,
            methods=["POST"],
            tags=["operations"],
            summary="What a change of scenario would make go out at the next tick",
        )
        router.add_api_route(
            "/v1/library/catalogue",
            catalogue,
            methods=["GET"],
            tags=["operations"],
            summary="The library's templates, scenarios and steps, to choose from",
        )
        router.add_api_route(
            "/v1/library/versions",
            versions,
            methods=["GET"],
            tags=["operations"],
            summary="Every version of every scenario of the library",
        )
        router.add_api_route(
            "/v1/library/versions/{scenario_id}/{version}",
            version,
            methods=["GET"],
            tags=["operations"],
            summary="One scenario version's content, as YAML",
        )
        return router

    async def dry_run(
        self, spec: CampaignSpec, identity: Identity, offset: int, limit: int
    ) -> Response:
        try:
            authorize_scope(identity, spec.select.company_codes)
        except CommandRejected as exc:
            raise Refused("portfolio", exc.detail) from exc
        try:
            campaign = campaign_of(spec, self.policy.library.templates)
        except CommandRejected as exc:
            return JSONResponse({"error": exc.reason, "detail": exc.detail}, status_code=422)
        async with self.pool.acquire() as connection:
            transaction = connection.transaction()
            await transaction.start()
            try:  # rolled back in any case: a dry run writes nothing, and releases its locks
                report = await plan_campaign(connection, self.policy, campaign, self.clock.now())
            except CampaignRefused as exc:
                return JSONResponse({"error": "suspended", "detail": str(exc)}, status_code=409)
            finally:
                await transaction.rollback()
        return JSONResponse(dry_run_answer(report, offset, limit))

    async def rehearse(self, name: str, body: dict[str, Any], identity: Identity) -> Response:
        """A command's dry run, as the caller would give it now."""
        now = self.clock.now()
        event_class = (
            commands.SendNowCommand if name == "send_now" else commands.ChangeScenarioCommand
        )
        payload_class = event_class.model_fields["payload"].annotation
        assert isinstance(payload_class, type)
        command_id = body.pop("command_id") or uuid.uuid4()
        try:
            payload = payload_class(
                command_id=command_id, actor=actor_of(identity), requested_at=now, **body
            )
        except ValidationError as exc:
            return JSONResponse(
                {"error": "invalid_command", "detail": str(exc.errors()[:3])[:500]},
                status_code=422,
            )
        event = event_class(event_id=uuid.uuid4(), occurred_at=now, source=SOURCE, payload=payload)
        async with self.pool.acquire() as connection:
            preview = await rehearse(connection, self.desk, self.clock, event)
        if preview.refused is not None:
            reason, detail = preview.refused
            if reason == "forbidden":
                raise Refused("portfolio", detail)
            if reason == "unknown_customer":
                return JSONResponse({"error": reason, "detail": detail}, status_code=404)
        return JSONResponse({"command": name, **preview.answer()})

    async def versions(self) -> Response:
        rows = await self.pool.fetch(LIBRARY_VERSIONS)
        return JSONResponse(
            {
                "versions": [
                    {
                        "scenario_id": r["scenario_id"],
                        "version": r["version"],
                        "removed": r["removed"],
                        "in_force": r["in_force"],
                        "loaded_at": r["loaded_at"].isoformat(),
                        "loaded_by": r["loaded_by"],
                        "summary": summary_of(r["content"], r["removed"]),
                    }
                    for r in rows
                ]
            }
        )

    async def version(self, scenario_id: str, version: int) -> Response:
        row = await self.pool.fetchrow(LIBRARY_VERSION, scenario_id, version)
        if row is None:
            return JSONResponse(
                {"error": "unknown_version", "detail": f"no version {version} of {scenario_id}"},
                status_code=404,
            )
        return JSONResponse(
            {
                "scenario_id": row["scenario_id"],
                "version": row["version"],
                "removed": row["removed"],
                "loaded_at": row["loaded_at"].isoformat(),
                "loaded_by": row["loaded_by"],
                "yaml": "" if row["removed"] else yaml_of(row["content"]),
            }
        )
