"""The payment plan aggregate's shell: agree, payments towards it, instalment checks.

Reads the plan and what the ledger says, lets :mod:`services.disputes.domain` decide,
then writes the plan and its next check, in the caller's transaction.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from contracts import disputes
from contracts.envelope import Event
from services.disputes import queries
from services.disputes.cases.ledger_view import LedgerView
from services.disputes.domain import commitments, plans, rules
from services.disputes.domain.policy import Policy
from services.runtime.database import Connection


class Plans:
    def __init__(self, policy: Policy, ledger: LedgerView) -> None:
        self.policy = policy
        self.ledger = ledger

    async def agree(
        self, connection: Connection, now: datetime, plan: disputes.PaymentPlan
    ) -> list[Event]:
        existing = await connection.fetchrow(queries.PLAN, plan.plan_id)
        if plans.already_agreed(existing, plan):
            return []
        currency = plan.instalments[0].amount.currency
        invoices = await self.ledger.committable(
            connection, plan.customer_id, plan.invoice_ids, currency
        )
        zone = await self.ledger.time_zone(connection, plan.customer_id)
        today = now.astimezone(ZoneInfo(zone)).date()
        rules.check_plan(
            plan.instalments, plan.agreed_on, today, invoices, self.policy.plan_first_within_days
        )
        check = commitments.next_check(
            plan.instalments, Decimal(0), self.policy.instalment_grace_days
        )
        assert check is not None
        await connection.execute(
            queries.INSERT_PLAN,
            plan.plan_id,
            plan.customer_id,
            list(plan.invoice_ids),
            plan.agreed_on,
            plan.agreed_by,
            [i.model_dump(mode="json") for i in plan.instalments],
            currency,
            now,
            commitments.day_end(check, zone),
        )
        return [plans.agreed(now, plan)]

    async def check_due(self, connection: Connection, now: datetime, row: Any) -> list[Event]:
        """An instalment's grace is over: the plan is broken if it is not covered."""
        today = await self.ledger.today(connection, row["customer_id"], now)
        missed = commitments.missed_instalment(
            plans.instalments_of(row), row["received"], today, self.policy.instalment_grace_days
        )
        if missed is None:
            return await self._moved(connection, now, row, row["received"], today)
        await connection.execute(
            queries.UPDATE_PLAN, row["plan_id"], row["received"], "broken", None, today
        )
        return list(plans.broken(now, row, today, missed))

    async def _moved(
        self, connection: Connection, now: datetime, row: Any, received: Decimal, today: date
    ) -> list[Event]:
        instalments = plans.instalments_of(row)
        if commitments.plan_progress(instalments, received).completed:
            return await self._complete(connection, now, row, received, today)
        check = commitments.next_check(instalments, received, self.policy.instalment_grace_days)
        zone = await self.ledger.time_zone(connection, row["customer_id"])
        await connection.execute(
            queries.UPDATE_PLAN,
            row["plan_id"],
            received,
            "active",
            None if check is None else commitments.day_end(check, zone),
            None,
        )
        return []

    @staticmethod
    async def _complete(
        connection: Connection, now: datetime, row: Any, received: Decimal, today: date
    ) -> list[Event]:
        await connection.execute(
            queries.UPDATE_PLAN, row["plan_id"], received, "completed", None, today
        )
        return [plans.completed(now, row, today)]
