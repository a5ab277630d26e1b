"""A logged call's agreement for the disputes service and its audit detail (pure)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from contracts import commands, disputes
from contracts.money import PositiveMoney
from services.scheduler.cli import app
from services.scheduler.domain.calls import agreement_of, call_detail

NOW = datetime(2026, 11, 27, 10, tzinfo=UTC)
ACTOR = commands.CommandActor(subject="local:marie", roles=("collector",))


def call(outcome: str, **fields: Any) -> commands.LogCall:
    return commands.LogCall(
        command_id=uuid.UUID(int=7),
        customer_id="C1",
        actor=ACTOR,
        requested_at=NOW,
        outcome=outcome,
        **fields,
    )


def test_a_promise_on_the_phone_becomes_the_disputes_services_command_once() -> None:
    promised = call(
        "promise_to_pay",
        promised_date=date(2026, 12, 15),
        promised_amount=PositiveMoney(amount=Decimal("800.00"), currency="EUR"),
        note="the accountant is back Monday",
    )
    first = agreement_of(promised, ["FR01/F1", "FR01/F2"], "local:marie", NOW)
    again = agreement_of(promised, ["FR01/F1", "FR01/F2"], "local:marie", NOW)
    assert isinstance(first, disputes.RecordPromise)
    assert first == again  # a replay forwards the same command, recorded once
    promise = first.payload
    assert (promise.channel, promise.recorded_by, promise.invoice_ids) == (
        "phone_call",
        "local:marie",
        ("FR01/F1", "FR01/F2"),
    )
    assert call_detail(promised, 2) == {
        "outcome": "promise_to_pay",
        "invoices": "2",
        "promised_date": "2026-12-15",
        "promised_amount": "800.00",
        "currency": "EUR",
    }


def test_a_dispute_raised_is_the_collectors_and_other_outcomes_forward_nothing() -> None:
    raised = call("dispute_raised", dispute_reason="goods damaged", dispute_category="quality")
    forwarded = agreement_of(raised, ["FR01/F1"], "local:marie", NOW)
    assert isinstance(forwarded, disputes.OpenDispute)
    assert (forwarded.payload.category, forwarded.payload.by, forwarded.payload.raised_by) == (
        "quality",
        "local:marie",
        "collector",
    )
    assert "goods damaged" not in str(call_detail(raised, 1))
    for outcome in ("answered", "no_answer", "wrong_contact"):
        assert agreement_of(call(outcome), ["FR01/F1"], "local:marie", NOW) is None


@pytest.mark.parametrize(
    ("outcome", "fields", "problem"),
    [
        ("promise_to_pay", {}, "promised date and amount"),
        ("answered", {"promised_date": date(2026, 12, 1)}, "promised date or amount"),
        ("dispute_raised", {}, "needs its reason"),
        ("no_answer", {"dispute_category": "quality"}, "dispute reason or category"),
        ("answered", {"invoice_ids": ("FR01/F1", "FR01/F1")}, "named twice"),
    ],
)
def test_a_call_without_its_outcomes_details_is_refused(
    outcome: str, fields: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        call(outcome, **fields)


def test_the_operators_command_refuses_a_call_without_its_details_before_sending() -> None:
    result = CliRunner().invoke(
        app, ["log-call", "C1", "--outcome", "promise_to_pay", "--amount", "12.00"]
    )
    assert result.exit_code == 2
    assert "a promise to pay needs a promised date and amount" in result.output


def test_a_promise_naming_no_invoice_covers_the_free_open_ones_in_its_currency() -> None:
    """A call without a reminder that names no invoice (the API, the CLI): the promise is
    for the open invoices the disputes service can record it on, not every open one."""
    from services.scheduler.domain.calls import discussed_invoices

    open_invoices = [
        ("FR01/A", "EUR", None),
        ("FR01/B", "EUR", "dispute"),
        ("FR01/C", "USD", None),
        ("FR01/D", "EUR", "hold"),
        ("FR01/E", "EUR", "promise_to_pay"),
        ("FR01/F", "EUR", "payment_plan"),
    ]
    promised = call(
        "promise_to_pay",
        promised_date=date(2026, 12, 15),
        promised_amount=PositiveMoney(amount=Decimal("800.00"), currency="EUR"),
    )
    assert discussed_invoices(promised, open_invoices) == ["FR01/A", "FR01/D"]
    assert discussed_invoices(call("answered"), open_invoices) == [i for i, _, _ in open_invoices]
    named = call("answered", invoice_ids=("FR01/C",))
    assert discussed_invoices(named, open_invoices) == ["FR01/C"]
