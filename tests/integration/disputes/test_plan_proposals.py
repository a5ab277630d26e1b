"""Payment plans proposed by customers, with the scheduler: real PostgreSQL, one clock.

A proposal pauses its invoices while it waits; a credit manager's acceptance makes it an
agreed plan watched as any other (a missed instalment breaks it); a refusal, or nobody
deciding in time, resumes the invoices where they stopped. Only a credit manager decides.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime

import pytest

from contracts import disputes
from contracts.actors import CommandActor
from tests.integration.disputes.harness import Timeline, command, eur
from tests.integration.scheduler.fixtures import amount_changed, customer, opened

pytestmark = pytest.mark.integration

DUE = date(2026, 12, 1)
MANAGER = CommandActor(subject="local:claire", roles=("credit_manager",), everything=True)
COLLECTOR = CommandActor(subject="local:marc", roles=("collector",), everything=True)
OTHER_COMPANY = CommandActor(
    subject="local:hans", roles=("credit_manager",), company_codes=("DE01",)
)


def propose(
    customer_id: str, numbers: Sequence[str], on: date, instalments: Sequence[tuple[date, str]]
) -> tuple[uuid.UUID, disputes.ProposePaymentPlan]:
    proposal_id = uuid.uuid4()
    event = command(
        "payment_plan.propose",
        disputes.PlanProposal(
            proposal_id=proposal_id,
            customer_id=customer_id,
            company_code="FR01",
            invoice_ids=tuple(f"FR01/{n}" for n in numbers),
            proposed_on=on,
            instalments=tuple(
                disputes.Instalment(due_date=d, amount=eur(a)) for d, a in instalments
            ),
            proposed_by=f"portal:{customer_id}",
        ),
    )
    assert isinstance(event, disputes.ProposePaymentPlan)
    return proposal_id, event


def decide(
    kind: str, proposal_id: uuid.UUID, actor: CommandActor, reason: str | None = None
) -> disputes.AcceptPaymentPlan | disputes.RefusePaymentPlan:
    payload: dict[str, object] = {
        "proposal_id": proposal_id,
        "customer_id": "C1",
        "actor": actor,
        "requested_at": datetime(2026, 12, 7, 10, tzinfo=UTC),
    }
    if reason is not None:
        payload["reason"] = reason
    event = command(kind, payload)
    assert isinstance(event, disputes.AcceptPaymentPlan | disputes.RefusePaymentPlan)
    return event


async def _pause(timeline: Timeline, number: str) -> str | None:
    value = await timeline.scheduler.pool.fetchval(
        "SELECT pause_reason FROM dunning_invoice WHERE invoice_id = $1", f"FR01/{number}"
    )
    return None if value is None else str(value)


async def _proposed_on_monday(timeline: Timeline) -> uuid.UUID:
    await timeline.ledger(customer("C1"), opened("C1", "F1", DUE), opened("C1", "F2", DUE))
    await timeline.walk(date(2026, 11, 16), 22)  # to Monday 7 Dec
    proposal_id, proposed = propose(
        "C1",
        ["F1", "F2"],
        date(2026, 12, 7),
        [(date(2026, 12, 9), "1000.00"), (date(2026, 12, 23), "1400.00")],
    )
    await timeline.command(proposed, proposed)  # redelivered: one proposal
    (event,) = [
        e for e in await timeline.disputes.events() if isinstance(e, disputes.PaymentPlanProposed)
    ]
    assert event.payload.proposal_id == proposal_id
    assert await _pause(timeline, "F1") == "payment_plan"
    return proposal_id


async def test_an_accepted_proposal_is_a_plan_watched_like_any_other(timeline: Timeline) -> None:
    proposal_id = await _proposed_on_monday(timeline)
    await timeline.command(
        decide("payment_plan.accept", proposal_id, COLLECTOR),
        decide("payment_plan.accept", proposal_id, OTHER_COMPANY),
    )
    assert [reason for reason, _ in timeline.disputes.rejected] == ["forbidden", "forbidden"]
    accepted = decide("payment_plan.accept", proposal_id, MANAGER)
    await timeline.command(accepted, accepted)
    (agreed,) = [
        e for e in await timeline.disputes.events() if isinstance(e, disputes.PaymentPlanAgreed)
    ]
    assert agreed.payload.plan_id == proposal_id
    assert agreed.payload.agreed_by == "local:claire"
    assert agreed.payload.agreed_on == date(2026, 12, 7)
    assert len(agreed.payload.instalments) == 2
    await timeline.command(decide("payment_plan.refuse", proposal_id, MANAGER, "too late"))
    assert timeline.disputes.rejected[-1][0] == "proposal_decided"
    row = await timeline.disputes.pool.fetchrow(
        "SELECT status, decided_by, decided_role FROM plan_proposal WHERE proposal_id = $1",
        proposal_id,
    )
    assert row is not None
    assert dict(row) == {
        "status": "accepted",
        "decided_by": "local:claire",
        "decided_role": "credit_manager",
    }
    assert await _pause(timeline, "F1") == "payment_plan"

    await timeline.ledger(amount_changed("C1", "F1", DUE, "1200.00", "200.00"))  # first paid
    await timeline.walk(date(2026, 12, 8), 20)  # the second, due 23 Dec, never comes
    broken = [
        e for e in await timeline.disputes.events() if isinstance(e, disputes.PaymentPlanBroken)
    ]
    assert [b.payload.plan_id for b in broken] == [proposal_id]


async def test_a_refused_proposal_resumes_where_it_stopped(timeline: Timeline) -> None:
    proposal_id = await _proposed_on_monday(timeline)
    _, overlapping = propose("C1", ["F2"], date(2026, 12, 7), [(date(2026, 12, 8), "1200.00")])
    await timeline.command(overlapping)
    assert timeline.disputes.rejected[-1][0] == "overlapping_plan_proposal"
    await timeline.command(
        decide("payment_plan.refuse", proposal_id, MANAGER, "Three instalments at most.")
    )
    (refused,) = [
        e for e in await timeline.disputes.events() if isinstance(e, disputes.PaymentPlanRefused)
    ]
    assert refused.payload.reason == "Three instalments at most."
    assert refused.payload.by == "local:claire"
    assert not refused.payload.expired
    assert await _pause(timeline, "F1") is None


async def test_a_proposal_nobody_decides_lapses(timeline: Timeline) -> None:
    await _proposed_on_monday(timeline)
    await timeline.walk(date(2026, 12, 8), 5)  # five days to decide, over at 13 Dec's end
    assert await _pause(timeline, "F1") == "payment_plan"
    await timeline.walk(date(2026, 12, 13), 2)
    (lapsed,) = [
        e for e in await timeline.disputes.events() if isinstance(e, disputes.PaymentPlanRefused)
    ]
    assert lapsed.payload.expired
    assert lapsed.payload.refused_on == date(2026, 12, 13)
    assert await _pause(timeline, "F1") is None
