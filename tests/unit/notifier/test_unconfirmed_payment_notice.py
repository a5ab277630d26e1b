"""The account owners' notice of an announced payment the ERP did not confirm: facts taken
from the broken promise, recipients from the internal addresses, both outcomes worded."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from contracts import disputes
from contracts.money import Money, PositiveMoney
from services.notifier.errors import DeliveryError
from services.notifier.notices import NoticeComposer, unconfirmed_payment_facts
from services.notifier.settings import NotifierSettings


def broken(announced_by: str | None, failure: str | None = None) -> disputes.BrokenPromise:
    return disputes.BrokenPromise(
        promise_id=uuid.UUID(int=7),
        customer_id="C-1",
        invoice_ids=("FR01/F1", "FR01/F2"),
        promised_date=date(2026, 3, 2),
        amount=PositiveMoney(amount=Decimal("1180.00"), currency="EUR"),
        received=Money(amount=Decimal("700.00"), currency="EUR"),
        kind="payment_announced",
        announced_by=announced_by,
        failure=failure,
    )


def test_the_facts_name_the_provider_and_its_payment() -> None:
    facts = unconfirmed_payment_facts(broken("stripe:cs_test_1"))
    assert (facts["provider_name"], facts["provider_reference"]) == ("Stripe", "cs_test_1")
    assert facts["announced_on"] == "2026-03-02"
    assert facts["invoice_ids"] == ["FR01/F1", "FR01/F2"]
    assert unconfirmed_payment_facts(broken(None))["provider_name"] == "?"


def test_the_collectors_receive_it_with_accounting_copied() -> None:
    composer = NoticeComposer(
        NotifierSettings(
            internal_addresses={"collector": "c@x.example", "accounting_team": "a@x.example"},
            internal_language="en",
        )
    )
    facts = unconfirmed_payment_facts(broken("gocardless:PM1", "failed: insufficient_funds"))
    composed = composer.compose("announced_payment_unconfirmed", facts, None)
    assert (composed.to, composed.cc) == (("c@x.example",), ("a@x.example",))
    assert composed.subject == "Payment failed: €1,180.00 from C-1"
    text = " ".join(composed.text.split())
    assert "GoCardless (payment PM1) announced a payment of €1,180.00" in text
    assert "GoCardless then reported it failed (failed: insufficient_funds)" in text
    late = composer.compose(
        "announced_payment_unconfirmed", unconfirmed_payment_facts(broken("stripe:cs_1")), None
    )
    assert "The ERP has not recorded it in time: €700.00 received" in " ".join(late.text.split())


def test_without_a_collectors_address_it_fails_with_its_reason() -> None:
    composer = NoticeComposer(NotifierSettings(internal_addresses={}))
    with pytest.raises(DeliveryError, match="no address for role collector"):
        composer.compose(
            "announced_payment_unconfirmed", unconfirmed_payment_facts(broken("stripe:cs")), None
        )
