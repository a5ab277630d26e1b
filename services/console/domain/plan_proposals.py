"""A credit manager's answer to a payment plan a customer proposed, as the command the
disputes service executes.

A pure function of the posted form: :func:`decision_of` builds ``payment_plan.accept`` or
``payment_plan.refuse`` (with the reason the customer will read) for
``disputes.commands.v1``, with the actor the console authenticated, or says what is wrong.
The disputes service checks the role again (a credit manager or above), accepts or refuses
the proposal once, and announces it (``payment_plan.agreed`` / ``payment_plan.refused``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal
from uuid import UUID, uuid5

from contracts import disputes
from contracts.actors import CommandActor
from services.console.domain.commands import EVENT_NAMESPACE, SOURCE, FormProblem

PlanDecisionKind = Literal["accept", "refuse"]
DECISIONS: tuple[PlanDecisionKind, ...] = ("accept", "refuse")
REASON_MAX = 4000


def decision_of(
    decision: PlanDecisionKind,
    form: Mapping[str, str],
    *,
    command_id: UUID,
    proposal_id: UUID,
    customer_id: str,
    actor: CommandActor,
    now: datetime,
) -> disputes.AcceptPaymentPlan | disputes.RefusePaymentPlan | list[FormProblem]:
    """The decision's command, or what is wrong with the form (a refusal needs its reason).
    The event id derives from ``command_id``: the same form posted twice is one command."""
    common = {
        "event_id": uuid5(EVENT_NAMESPACE, str(command_id)),
        "occurred_at": now,
        "source": SOURCE,
    }
    if decision == "accept":
        return disputes.AcceptPaymentPlan(
            **common,
            payload=disputes.PlanDecision(
                proposal_id=proposal_id, customer_id=customer_id, actor=actor, requested_at=now
            ),
        )
    reason = form.get("reason", "").strip()
    if not reason:
        return [FormProblem("reason", "missing")]
    if len(reason) > REASON_MAX:
        return [FormProblem("reason", "invalid")]
    return disputes.RefusePaymentPlan(
        **common,
        payload=disputes.PlanRefusal(
            proposal_id=proposal_id,
            customer_id=customer_id,
            actor=actor,
            requested_at=now,
            reason=reason,
        ),
    )
