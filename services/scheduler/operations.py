"""Executing operators' commands (``dunning.commands.v1``): suspend and resume sending,
launch a campaign, in the consumer's transaction.

Each command runs in a savepoint: it is skipped if its ``command_id`` was executed before,
checks the actor's role and the companies of its scope
(:func:`services.scheduler.domain.operations.authorize_scope`), does what the operator CLI
does (:mod:`services.scheduler.suspensions`, :mod:`services.scheduler.campaigns`, in the
same transaction, so the announcement goes out through the outbox only if it holds), and is
recorded in ``executed_operator_command``. The audit is the announcement itself
(``dunning.sending.suspended`` / ``resumed`` / ``dunning.campaign.launched`` with the
actor's subject), which reporting keeps as an ``operator_action``. A refusal is recorded in
``refused_command``, counted and dead-lettered with its reason, as a collector's is.

A campaign's launch cites the fingerprint of its dry run (``POST /v1/campaigns/dry-run``):
the selection is made again under the customers' locks and the launch is refused
(``selection_changed``) when it would reach other customers or invoices than those shown.
"""

from __future__ import annotations

import json
from datetime import datetime

from contracts import commands
from contracts.envelope import Event
from contracts.topics import DUNNING_ACTIONS, DUNNING_COMMANDS, Topic
from services.runtime.auth import REFUSALS
from services.runtime.consumer import UnitOfWork
from services.runtime.database import Connection
from services.runtime.identity import Identity
from services.runtime.logs import get_logger
from services.scheduler import metrics, queries, suspensions
from services.scheduler.campaigns import plan_campaign, send_campaign
from services.scheduler.domain.operations import authorize_scope, campaign_of
from services.scheduler.domain.state import Policy
from services.scheduler.errors import CampaignRefused, CommandRejected, SuspensionRefused

SERVICE = "scheduler"
log = get_logger(__name__)

OPERATOR_NAMES: dict[type[Event], str] = {
    commands.SuspendSendingCommand: "suspend_sending",
    commands.ResumeSendingCommand: "resume_sending",
    commands.LaunchCampaignCommand: "launch_campaign",
}


def scope_of(payload: commands.OperatorCommandBase) -> tuple[str, ...]:
    """The companies a command concerns (empty: every company)."""
    if isinstance(payload, commands.LaunchCampaign):
        return tuple(payload.campaign.select.company_codes)
    company_code: str | None = getattr(payload, "company_code", None)
    return () if company_code is None else (company_code,)


class OperatorDesk:
    """Executes operators' commands for the scheduler's consumer."""

    def __init__(self, policy: Policy, topic: Topic = DUNNING_ACTIONS) -> None:
        self.policy = policy
        self.topic = topic

    async def apply(self, work: UnitOfWork, event: Event, identity: Identity) -> None:
        name = OPERATOR_NAMES[type(event)]
        payload: commands.OperatorCommandBase = event.payload
        now = work.clock.now()
        scope = scope_of(payload)
        try:
            async with work.connection.transaction():  # a savepoint in the batch's transaction
                seen = await work.connection.fetchval(
                    queries.OPERATOR_COMMAND_SEEN, payload.command_id
                )
                if seen is not None:
                    metrics.COMMANDS.labels(SERVICE, name, "duplicate").inc()
                    return
                authorize_scope(identity, scope)
                detail = await self._execute(work.connection, name, payload, identity, now)
                await work.connection.execute(
                    queries.RECORD_OPERATOR_COMMAND,
                    payload.command_id,
                    name,
                    list(scope),
                    identity.actor,
                    identity.role,
                    payload.requested_at,
                    now,
                    json.dumps(detail),
                )
        except CommandRejected as exc:
            await work.connection.execute(
                queries.RECORD_REFUSAL, payload.command_id, name, "", exc.reason, exc.detail, now
            )
            metrics.COMMANDS.labels(SERVICE, name, exc.reason).inc()
            if exc.reason == "forbidden":
                REFUSALS.labels(SERVICE, DUNNING_COMMANDS.name, "forbidden").inc()
            log.info(
                "operator_command_refused",
                command=name,
                command_id=str(payload.command_id),
                subject=identity.subject,
                reason=exc.reason,
            )
            work.reject(event, exc.reason, exc.detail)
            return
        metrics.COMMANDS.labels(SERVICE, name, "executed").inc()
        log.info(
            "operator_command_executed",
            command=name,
            command_id=str(payload.command_id),
            subject=identity.subject,
            companies=list(scope),
        )

    async def _execute(
        self,
        connection: Connection,
        name: str,
        payload: commands.OperatorCommandBase,
        identity: Identity,
        now: datetime,
    ) -> dict[str, object]:
        by, role = identity.actor, identity.role
        if isinstance(payload, commands.SuspendSending):
            try:
                suspension = await suspensions.suspend(
                    connection,
                    company_code=payload.company_code,
                    by=by,
                    reason=payload.reason,
                    now=now,
                    role=role,
                )
            except SuspensionRefused as exc:
                raise CommandRejected("already_suspended", str(exc)) from exc
            return {"suspension_id": str(suspension.suspension_id)}
        if isinstance(payload, commands.ResumeSending):
            try:
                lifted = await suspensions.resume(
                    connection, company_code=payload.company_code, by=by, now=now, role=role
                )
            except SuspensionRefused as exc:
                raise CommandRejected("not_suspended", str(exc)) from exc
            return {"suspension_id": str(lifted.suspension_id)}
        assert isinstance(payload, commands.LaunchCampaign), name
        campaign = campaign_of(payload.campaign, self.policy.library.templates)
        try:
            report = await plan_campaign(connection, self.policy, campaign, now)
        except CampaignRefused as exc:
            raise CommandRejected("suspended", str(exc)) from exc
        if report.fingerprint != payload.fingerprint:
            raise CommandRejected(
                "selection_changed",
                f"campaign {campaign.id} would now reach {len(report.reached)} customer(s), "
                "not those of its dry run: run the dry run again",
            )
        await send_campaign(
            connection, campaign, report, by=by, now=now, topic=self.topic, role=role
        )
        return {
            "campaign_id": campaign.id,
            "customers": len(report.reached),
            "invoices": sum(n for _, n in report.reached),
        }


def is_operator_command(event: Event) -> bool:
    return type(event) in OPERATOR_NAMES
