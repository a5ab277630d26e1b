"""The aggregates' pure decisions: what a command does to a stored dispute, promise or plan."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from contracts import disputes as contract
from contracts.disputes import DisputeCategory
from contracts.money import PositiveMoney
from services.disputes.domain import disputes, plans, promises
from services.disputes.domain.commitments import Missed
from services.disputes.domain.rules import InvoiceView
from services.disputes.errors import CommandRejected, NotFound, VersionConflict

DISPUTE = uuid.UUID(int=7)
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def eur(value: str) -> PositiveMoney:
    return PositiveMoney(amount=Decimal(value), currency="EUR")


def invoice(invoice_id: str, status: str = "open") -> InvoiceView:
    return InvoiceView(invoice_id, "C1", "EUR", Decimal("100"), status)


def dispute_row(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "dispute_id": DISPUTE,
        "customer_id": "C1",
        "invoice_ids": ["I1", "I2"],
        "whole_account": False,
        "status": "open",
        "version": 3,
    }
    return row | changes


def request(category: DisputeCategory = "quality") -> contract.DisputeRequest:
    return contract.DisputeRequest(
        dispute_id=DISPUTE,
        customer_id="C1",
        invoice_ids=("I1",),
        category=category,
        text="The parts were damaged",
        raised_by="customer",
    )


def test_a_retried_dispute_changes_nothing_and_another_one_under_its_id_is_refused() -> None:
    assert disputes.already_opened(None, request()) is False
    assert disputes.already_opened({"customer_id": "C1", "category": "quality"}, request())
    with pytest.raises(CommandRejected) as refused:
        disputes.already_opened({"customer_id": "C1", "category": "accounting"}, request())
    assert refused.value.reason == "dispute_id_taken"


def test_a_whole_account_dispute_takes_every_open_invoice_not_held_elsewhere() -> None:
    taken = disputes.whole_account_invoices("C1", ["I1"], [], ["I1", "I2", "I3"], {"I3": "D9"})
    assert taken == ["I1", "I2"]
    with pytest.raises(CommandRejected) as refused:
        disputes.whole_account_invoices(
            "C1", ["I1"], [{"whole_account": True, "dispute_id": "D9"}], [], {}
        )
    assert refused.value.reason == "account_already_disputed"


def test_a_dispute_is_found_for_its_customer_at_the_version_read() -> None:
    with pytest.raises(NotFound):
        disputes.check_found(dispute_row(), DISPUTE, "C2")
    with pytest.raises(VersionConflict):
        disputes.check_version(dispute_row(), 2)
    disputes.check_version(dispute_row(), 3)
    disputes.check_version(dispute_row(), None)


def test_a_justified_dispute_awaits_the_correction_of_its_invoices_still_open() -> None:
    invoices = {"I1": invoice("I1"), "I2": invoice("I2", "settled")}
    assert disputes.resolution(dispute_row(), "justified", invoices) == (
        "awaiting_correction",
        ["I1"],
    )
    assert disputes.resolution(dispute_row(), "rejected", {}) == ("resolved", [])
    with pytest.raises(CommandRejected) as refused:
        disputes.resolution(dispute_row(status="resolved"), "justified", invoices)
    assert refused.value.reason == "dispute_not_open"


def test_a_reopened_dispute_holds_its_invoices_still_open() -> None:
    invoices = {"I1": invoice("I1", "settled"), "I2": invoice("I2")}
    assert disputes.reopened_invoices(dispute_row(status="resolved"), invoices) == ["I2"]
    closed = {"I1": invoice("I1", "settled"), "I2": invoice("I2", "cancelled")}
    with pytest.raises(CommandRejected) as refused:
        disputes.reopened_invoices(dispute_row(status="resolved"), closed)
    assert refused.value.reason == "invoices_closed"
    # a whole account may be reopened with no invoice open: later invoices join it
    assert (
        disputes.reopened_invoices(dispute_row(status="resolved", whole_account=True), closed) == []
    )


def test_a_promise_is_kept_at_its_deadline_only_if_the_payments_cover_it() -> None:
    assert promises.kept_at_deadline({"received": Decimal("100"), "amount": Decimal("100")})
    assert not promises.kept_at_deadline({"received": Decimal("99.99"), "amount": Decimal("100")})
    row = {
        "promise_id": uuid.UUID(int=1),
        "customer_id": "C1",
        "invoice_ids": ["I1"],
        "promised_date": date(2026, 11, 27),
        "amount": Decimal("100"),
        "currency": "EUR",
        "received": Decimal("-20"),  # a reversal: nothing counted
        "kind": "promise",
    }
    broken = promises.broken(NOW, row, None)
    assert broken.payload.received.amount == Decimal(0)
    assert broken.payload.kind == "promise"
    assert broken.event_id == promises.broken(NOW, row, None).event_id  # replay-safe


def test_a_payment_a_provider_announced_waits_its_own_time_and_is_not_the_customers_word() -> None:
    from services.disputes.domain import commitments

    paid_on = date(2026, 11, 27)
    # the wait starts on the day it was paid, or on the customer's today if later
    assert commitments.announced_payment_deadline(paid_on, paid_on, 5) == date(2026, 12, 2)
    assert commitments.announced_payment_deadline(paid_on, date(2026, 11, 28), 5) == date(
        2026, 12, 3
    )
    assert promises.counts_in_record("promise")
    assert not promises.counts_in_record("payment_announced")
    row = {
        "promise_id": uuid.UUID(int=3),
        "customer_id": "C1",
        "invoice_ids": ["I1"],
        "promised_date": paid_on,
        "amount": Decimal("100"),
        "currency": "EUR",
        "received": Decimal("0"),
        "kind": "payment_announced",
        "recorded_by": "stripe:cs_test_1",
    }
    broken = promises.broken(NOW, row, None)
    assert broken.payload.kind == "payment_announced"
    assert broken.payload.customer_record is None
    assert broken.payload.announced_by == "stripe:cs_test_1"  # for the owner's alert
    assert broken.payload.failure is None
    failed = promises.broken(NOW, row, None, "failed: insufficient_funds")
    assert failed.payload.failure == "failed: insufficient_funds"
    assert promises.kept(NOW, row, paid_on, None).payload.kind == "payment_announced"


def test_a_missed_instalment_breaks_the_plan_with_both_events_in_order() -> None:
    instalment = contract.Instalment(due_date=date(2026, 11, 20), amount=eur("50"))
    row = {
        "plan_id": uuid.UUID(int=2),
        "customer_id": "C1",
        "invoice_ids": ["I1"],
        "currency": "EUR",
        "instalments": [instalment.model_dump(mode="json")],
    }
    assert plans.instalments_of(row) == (instalment,)
    events = plans.broken(NOW, row, date(2026, 12, 1), Missed(1, instalment, Decimal("10")))
    assert [e.event_type for e in events] == [
        "payment_plan.instalment_missed",
        "payment_plan.broken",
    ]
    broken = events[1]
    assert isinstance(broken, contract.PaymentPlanBroken)
    assert "received 10" in broken.payload.reason
