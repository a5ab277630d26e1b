"""The dispute aggregate's shell: open, resolve, reopen, corrections, owner reminders.

Reads the dispute and what the ledger says, lets :mod:`services.disputes.domain.disputes`
decide, then writes the dispute and its transition, in the caller's transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from contracts import disputes
from contracts.envelope import Event
from services.disputes import queries
from services.disputes.cases.ledger_view import LedgerView
from services.disputes.domain import disputes as decide
from services.disputes.domain import rules
from services.disputes.domain.policy import Policy
from services.runtime.database import Connection


class Disputes:
    def __init__(self, policy: Policy, ledger: LedgerView) -> None:
        self.policy = policy
        self.ledger = ledger

    @staticmethod
    async def _transition(
        connection: Connection,
        dispute_id: uuid.UUID,
        version: int,
        action: str,
        actor: str,
        now: datetime,
        detail: dict[str, Any] | None = None,
    ) -> None:
        await connection.execute(
            queries.RECORD_TRANSITION, dispute_id, version, action, actor, now, detail or {}
        )

    async def open(
        self, connection: Connection, now: datetime, request: disputes.DisputeRequest, actor: str
    ) -> list[Event]:
        existing = await connection.fetchrow(queries.DISPUTE, request.dispute_id)
        if decide.already_opened(existing, request):
            return []
        invoice_ids = list(request.invoice_ids)
        rules.check_invoices(
            request.customer_id, invoice_ids, await self.ledger.invoices(connection, invoice_ids)
        )
        held = await self.ledger.holders(
            connection, queries.DISPUTED_INVOICES, request.customer_id, request.dispute_id
        )
        rules.check_not_taken("invoice_already_disputed", "dispute", invoice_ids, held)
        if request.whole_account:
            others = await connection.fetch(
                queries.DISPUTED_INVOICES, request.customer_id, request.dispute_id
            )
            open_rows = await connection.fetch(
                queries.OPEN_INVOICES_OF_CUSTOMER, request.customer_id
            )
            invoice_ids = decide.whole_account_invoices(
                request.customer_id,
                invoice_ids,
                others,
                [r["invoice_id"] for r in open_rows],
                held,
            )
        today = await self.ledger.today(connection, request.customer_id, now)
        route = self.policy.routing.route(request.category, today)
        first = self.policy.owner_reminder_at(self.policy.reminders.first_day(route.due_date))
        await connection.execute(
            queries.INSERT_DISPUTE,
            request.dispute_id,
            request.customer_id,
            invoice_ids,
            request.whole_account,
            request.category,
            request.text,
            request.raised_by,
            route.owner_role,
            route.owner,
            route.due_date,
            first,
            now,
            [a.model_dump(mode="json") for a in request.attachments],
        )
        await self._transition(
            connection,
            request.dispute_id,
            1,
            "opened",
            actor,
            now,
            {"category": request.category, "owner_role": route.owner_role},
        )
        return [decide.opened(now, request, invoice_ids, route)]

    async def resolve(
        self,
        connection: Connection,
        now: datetime,
        resolution: disputes.DisputeResolution,
        expected_version: int | None = None,
    ) -> list[Event]:
        row = decide.check_found(
            await connection.fetchrow(queries.DISPUTE_FOR_UPDATE, resolution.dispute_id),
            resolution.dispute_id,
            resolution.customer_id,
        )
        decide.check_version(row, expected_version)
        invoices = {}
        if row["status"] == "open" and resolution.outcome == "justified":
            invoices = await self.ledger.invoices(connection, row["invoice_ids"])
        status, awaiting = decide.resolution(row, resolution.outcome, invoices)
        version = await connection.fetchval(
            queries.RESOLVE_DISPUTE,
            resolution.dispute_id,
            status,
            resolution.outcome,
            awaiting,
            now,
        )
        await self._transition(
            connection,
            resolution.dispute_id,
            version,
            "resolved",
            resolution.by,
            now,
            {
                "outcome": resolution.outcome,
                "note": resolution.note,
                "awaiting": awaiting,
                "correction": (
                    resolution.correction.model_dump(mode="json") if resolution.correction else None
                ),
            },
        )
        return [decide.resolved(now, row, resolution, version)]

    async def answer(
        self, connection: Connection, now: datetime, answer: disputes.DisputeAnswer
    ) -> list[Event]:
        """A message or documents added to an open dispute's history; a replayed answer
        (same ``answer_id``) records nothing twice."""
        row = decide.check_found(
            await connection.fetchrow(queries.DISPUTE_FOR_UPDATE, answer.dispute_id),
            answer.dispute_id,
            answer.customer_id,
        )
        if await connection.fetchval(queries.ANSWERED, answer.dispute_id, str(answer.answer_id)):
            return []
        decide.check_answerable(row)
        version = await connection.fetchval(queries.ANSWER_DISPUTE, answer.dispute_id, now)
        await self._transition(
            connection,
            answer.dispute_id,
            version,
            "answered",
            answer.by,
            now,
            {
                "answer_id": str(answer.answer_id),
                "text": answer.text,
                "attachments": [a.model_dump(mode="json") for a in answer.attachments],
            },
        )
        return [decide.answered(now, answer, version)]

    async def reopen(
        self,
        connection: Connection,
        now: datetime,
        reopening: disputes.DisputeReopening,
        expected_version: int | None = None,
    ) -> list[Event]:
        row = decide.check_found(
            await connection.fetchrow(queries.DISPUTE_FOR_UPDATE, reopening.dispute_id),
            reopening.dispute_id,
            reopening.customer_id,
        )
        decide.check_version(row, expected_version)
        invoices = {}
        if row["status"] != "open":
            invoices = await self.ledger.invoices(connection, row["invoice_ids"])
        still_open = decide.reopened_invoices(row, invoices)
        held = await self.ledger.holders(
            connection, queries.DISPUTED_INVOICES, reopening.customer_id, reopening.dispute_id
        )
        rules.check_not_taken("invoice_already_disputed", "dispute", still_open, held)
        today = await self.ledger.today(connection, reopening.customer_id, now)
        route = self.policy.routing.route(row["category"], today)
        first = self.policy.owner_reminder_at(self.policy.reminders.first_day(route.due_date))
        version = await connection.fetchval(
            queries.REOPEN_DISPUTE,
            reopening.dispute_id,
            route.owner_role,
            route.owner,
            route.due_date,
            first,
            now,
        )
        await self._transition(
            connection,
            reopening.dispute_id,
            version,
            "reopened",
            reopening.by,
            now,
            {"reason": reopening.reason},
        )
        return [decide.reopened(now, row, reopening, route, version)]

    async def remind_owner(self, connection: Connection, now: datetime, row: Any) -> Event:
        """An open dispute's owner reminder is due: emit it and set the next one."""
        event, next_at = decide.owner_reminder(self.policy, now, row)
        await connection.execute(
            queries.OWNER_REMINDED, row["dispute_id"], row["reminders_sent"] + 1, next_at
        )
        await self._transition(
            connection,
            row["dispute_id"],
            row["version"],
            "owner_reminded",
            "disputes",
            now,
            {"reminder_id": str(event.event_id), "firmness": event.payload.firmness},
        )
        return event
