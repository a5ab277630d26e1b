"""The shell of payment plans proposed by customers: propose, accept, refuse, lapse.

Reads the proposal and what the ledger says, lets :mod:`services.disputes.domain.proposals`
decide, then writes, in the caller's transaction. An accepted proposal is agreed through
the plan aggregate (:class:`~services.disputes.cases.plans.Plans`), so it is checked and
watched exactly as a plan agreed any other way.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from contracts import disputes
from contracts.envelope import Event
from services.disputes import queries
from services.disputes.cases.ledger_view import LedgerView
from services.disputes.cases.plans import Plans
from services.disputes.domain import commitments, proposals, rules
from services.disputes.domain.policy import Policy
from services.runtime.database import Connection


class Proposals:
    def __init__(self, policy: Policy, ledger: LedgerView, plans: Plans) -> None:
        self.policy = policy
        self.ledger = ledger
        self.plans = plans

    async def propose(
        self, connection: Connection, now: datetime, proposal: disputes.PlanProposal
    ) -> list[Event]:
        existing = await connection.fetchrow(queries.PROPOSAL, proposal.proposal_id)
        if proposals.already_proposed(existing, proposal):
            return []
        currency = proposal.instalments[0].amount.currency
        invoices = await self.ledger.committable(
            connection, proposal.customer_id, proposal.invoice_ids, currency
        )
        rules.check_not_taken(
            "overlapping_plan_proposal",
            "plan proposal",
            proposal.invoice_ids,
            await self.ledger.holders(
                connection, queries.PENDING_PROPOSED_INVOICES, proposal.customer_id
            ),
        )
        zone = await self.ledger.time_zone(connection, proposal.customer_id)
        today = now.astimezone(ZoneInfo(zone)).date()
        rules.check_plan(
            proposal.instalments,
            proposal.proposed_on,
            today,
            invoices,
            self.policy.plan_first_within_days,
        )
        answer_by = commitments.day_end(
            today + timedelta(days=self.policy.plan_proposal_days), zone
        )
        await connection.execute(
            queries.INSERT_PROPOSAL,
            proposal.proposal_id,
            proposal.customer_id,
            proposal.company_code,
            list(proposal.invoice_ids),
            proposal.proposed_on,
            proposal.proposed_by,
            [i.model_dump(mode="json") for i in proposal.instalments],
            currency,
            now,
            answer_by,
        )
        return [proposals.proposed(now, proposal, answer_by)]

    async def accept(
        self, connection: Connection, now: datetime, decision: disputes.PlanDecision
    ) -> list[Event]:
        row = await connection.fetchrow(queries.PROPOSAL_FOR_DECISION, decision.proposal_id)
        if not proposals.check_decision(row, decision.customer_id, decision.actor, "accepted"):
            return []
        assert row is not None  # checked: a missing proposal is rejected
        events = await self.plans.agree(
            connection, now, proposals.accepted_plan(row, decision.actor)
        )
        await self._decided(connection, now, decision, "accepted", None)
        return events

    async def refuse(
        self, connection: Connection, now: datetime, refusal: disputes.PlanRefusal
    ) -> list[Event]:
        row = await connection.fetchrow(queries.PROPOSAL_FOR_DECISION, refusal.proposal_id)
        if not proposals.check_decision(row, refusal.customer_id, refusal.actor, "refused"):
            return []
        assert row is not None  # checked: a missing proposal is rejected
        await self._decided(connection, now, refusal, "refused", refusal.reason)
        today = await self.ledger.today(connection, refusal.customer_id, now)
        return [proposals.refused(now, row, today, refusal.actor.subject, refusal.reason)]

    async def lapse(self, connection: Connection, now: datetime, row: Any) -> list[Event]:
        """Nobody decided before ``answer_by``: the proposal lapses, its invoices resume."""
        reason = proposals.lapsed_reason(self.policy.plan_proposal_days)
        await connection.execute(
            queries.DECIDE_PROPOSAL,
            row["proposal_id"],
            "expired",
            proposals.LAPSED_BY,
            None,
            now,
            reason,
        )
        today = await self.ledger.today(connection, row["customer_id"], now)
        return [proposals.refused(now, row, today, proposals.LAPSED_BY, reason, expired=True)]

    @staticmethod
    async def _decided(
        connection: Connection,
        now: datetime,
        decision: disputes.PlanDecision,
        status: str,
        reason: str | None,
    ) -> None:
        roles = ",".join(decision.actor.roles)
        await connection.execute(
            queries.DECIDE_PROPOSAL,
            decision.proposal_id,
            status,
            decision.actor.subject,
            roles,
            now,
            reason,
        )
