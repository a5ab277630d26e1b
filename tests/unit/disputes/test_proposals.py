"""Decisions on payment plans proposed by customers: who may decide, and when."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from contracts.actors import CommandActor
from services.disputes.domain import proposals
from services.disputes.errors import CommandRejected

PROPOSAL = uuid.uuid4()


def row(status: str = "pending", decided_by: str | None = None) -> dict[str, Any]:
    return {
        "proposal_id": PROPOSAL,
        "customer_id": "C1",
        "company_code": "FR01",
        "invoice_ids": ["FR01/F1"],
        "proposed_on": date(2026, 12, 7),
        "instalments": [{"due_date": "2026-12-09", "amount": {"amount": "10", "currency": "EUR"}}],
        "status": status,
        "decided_by": decided_by,
    }


def actor(*roles: str, companies: tuple[str, ...] = (), everything: bool = False) -> CommandActor:
    return CommandActor.model_validate(
        {"subject": "local:x", "roles": roles, "company_codes": companies, "everything": everything}
    )


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        (actor("collector", everything=True), False),
        (actor("viewer"), False),
        (actor("credit_manager"), True),
        (actor("administrator"), True),
        (actor("credit_manager", companies=("FR01",)), True),
        (actor("credit_manager", companies=("DE01",)), False),
    ],
)
def test_only_a_credit_manager_covering_the_company_decides(
    who: CommandActor, allowed: bool
) -> None:
    if allowed:
        assert proposals.check_decision(row(), "C1", who, "accepted")
    else:
        with pytest.raises(CommandRejected) as refused:
            proposals.check_decision(row(), "C1", who, "accepted")
        assert refused.value.reason == "forbidden"


def test_a_decision_applies_once_and_never_twice_differently() -> None:
    manager = actor("credit_manager")
    assert not proposals.check_decision(row("accepted", "local:x"), "C1", manager, "accepted")
    with pytest.raises(CommandRejected) as decided:
        proposals.check_decision(row("accepted", "local:x"), "C1", manager, "refused")
    assert decided.value.reason == "proposal_decided"
    with pytest.raises(CommandRejected) as unknown:
        proposals.check_decision(row(), "C2", manager, "accepted")
    assert unknown.value.reason == "unknown_proposal"
    with pytest.raises(CommandRejected):
        proposals.check_decision(None, "C1", manager, "accepted")


def test_an_accepted_proposal_is_the_plan_the_customer_proposed() -> None:
    plan = proposals.accepted_plan(row(), actor("credit_manager"))
    assert plan.plan_id == PROPOSAL
    assert plan.agreed_on == date(2026, 12, 7)
    assert plan.agreed_by == "local:x"
    assert [i.due_date for i in plan.instalments] == [date(2026, 12, 9)]
