"""Payment plans proposed by customers: whether a proposal or a decision applies, and the
events each emits.

A customer proposes a plan on the portal (``payment_plan.propose``); it pauses its invoices
(``payment_plan.proposed``) until a credit manager accepts it, which makes it an agreed plan
of the same id (``payment_plan.agreed``, confirmed to the customer in writing by the
notifier), refuses it with a reason, or nobody decides before ``answer_by`` and it lapses
(both ``payment_plan.refused``, the invoices resume where they stopped). Pure functions of
values; a stored proposal is passed as its row.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from contracts import disputes
from contracts.actors import CommandActor
from contracts.disputes import Instalment
from services.disputes.domain.policy import SOURCE, event_id
from services.disputes.domain.rules import Row
from services.disputes.errors import CommandRejected

LAPSED_BY = "disputes"

Decision = Literal["accepted", "refused"]


def instalments_of(row: Row) -> tuple[Instalment, ...]:
    return tuple(Instalment.model_validate(i) for i in row["instalments"])


def already_proposed(existing: Row | None, proposal: disputes.PlanProposal) -> bool:
    """True for a retried command (nothing to do); rejected when the id holds another."""
    if existing is None:
        return False
    if (
        existing["customer_id"] == proposal.customer_id
        and list(existing["invoice_ids"]) == list(proposal.invoice_ids)
        and instalments_of(existing) == proposal.instalments
    ):
        return True
    raise CommandRejected(
        "proposal_id_taken", f"plan proposal {proposal.proposal_id} exists with other content"
    )


def proposed(
    now: datetime, proposal: disputes.PlanProposal, answer_by: datetime
) -> disputes.PaymentPlanProposed:
    return disputes.PaymentPlanProposed(
        event_id=event_id("payment_plan.proposed", proposal.proposal_id),
        occurred_at=now,
        source=SOURCE,
        payload=disputes.ProposedPaymentPlan(**proposal.model_dump(), answer_by=answer_by),
    )


def check_decision(
    existing: Row | None, customer_id: str, actor: CommandActor, decision: Decision
) -> bool:
    """Whether the decision is still to be made (False: the same decision again, nothing to
    do). Only a credit manager (or above) decides, within a portfolio naming the proposal's
    company when it names companies; the proposal must be the customer's and pending."""
    if existing is None or existing["customer_id"] != customer_id:
        raise CommandRejected(
            "unknown_proposal", f"no payment plan proposed by customer {customer_id} with that id"
        )
    if not actor.has("credit_manager"):
        raise CommandRejected(
            "forbidden",
            f"{actor.subject} may not decide a proposed payment plan: a credit manager does",
        )
    restricted = not actor.everything and (
        actor.company_codes or actor.collector_codes or actor.segments
    )
    if restricted and actor.company_codes and existing["company_code"] not in actor.company_codes:
        raise CommandRejected(
            "forbidden",
            f"company {existing['company_code']} is outside {actor.subject}'s portfolio",
        )
    status = existing["status"]
    if status == "pending":
        return True
    if status == decision and existing["decided_by"] == actor.subject:
        return False
    raise CommandRejected(
        "proposal_decided", f"the proposal was {status} already ({existing['decided_by']})"
    )


def accepted_plan(row: Row, actor: CommandActor) -> disputes.PaymentPlan:
    """The plan an accepted proposal becomes: the same id, the instalments the customer
    proposed, agreed on the day they proposed it, by the credit manager who accepted."""
    return disputes.PaymentPlan(
        plan_id=row["proposal_id"],
        customer_id=row["customer_id"],
        invoice_ids=tuple(row["invoice_ids"]),
        agreed_on=row["proposed_on"],
        instalments=instalments_of(row),
        agreed_by=actor.subject,
    )


def refused(
    now: datetime, row: Row, today: date, by: str, reason: str, expired: bool = False
) -> disputes.PaymentPlanRefused:
    return disputes.PaymentPlanRefused(
        event_id=event_id("payment_plan.refused", row["proposal_id"]),
        occurred_at=now,
        source=SOURCE,
        payload=disputes.RefusedPaymentPlan(
            proposal_id=row["proposal_id"],
            customer_id=row["customer_id"],
            company_code=row["company_code"],
            invoice_ids=tuple(row["invoice_ids"]),
            refused_on=today,
            by=by,
            reason=reason,
            expired=expired,
        ),
    )


def lapsed_reason(days: int) -> str:
    return f"no credit manager decided within {days} days"
