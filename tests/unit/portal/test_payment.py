"""Paying online, the pure part: idempotency keys, minor units, Stripe's webhook signature
and the payment a paid Checkout Session announces."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.portal.domain.payment import (
    announced_payment,
    from_minor_units,
    idempotency_key,
    minor_units,
    verify_signature,
)
from services.portal.errors import PaymentRefused, SignatureRefused

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SECRET = "whsec_unit_0123456789abcdef"
BODY = b'{"id": "evt_1", "type": "checkout.session.completed"}'


def header(body: bytes, at: datetime, secret: str = SECRET) -> str:
    t = int(at.timestamp())
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def test_the_key_depends_on_the_customer_company_invoices_amounts_and_link() -> None:
    chosen = [("FR01/F-1", Decimal("700.00")), ("FR01/F-2", Decimal("480.00"))]
    key = idempotency_key("C-1", "FR01", chosen, "token")
    assert key == idempotency_key("C-1", "FR01", list(reversed(chosen)), "token")  # order
    assert (
        len(
            {
                key,
                idempotency_key("C-2", "FR01", chosen, "token"),
                idempotency_key("C-1", "DE01", chosen, "token"),
                idempotency_key("C-1", "FR01", chosen[:1], "token"),
                idempotency_key("C-1", "FR01", [chosen[0], ("FR01/F-2", Decimal("1"))], "token"),
                idempotency_key("C-1", "FR01", chosen, "another-link"),
            }
        )
        == 6
    )


@pytest.mark.parametrize(
    ("amount", "currency", "units"),
    [("12.34", "EUR", 1234), ("12.34", "eur", 1234), ("500", "JPY", 500), ("1.234", "KWD", 1234)],
)
def test_minor_units_follow_the_currency(amount: str, currency: str, units: int) -> None:
    assert minor_units(Decimal(amount), currency) == units
    assert from_minor_units(units, currency) == Decimal(amount)


def test_an_amount_finer_than_the_currency_is_refused() -> None:
    with pytest.raises(PaymentRefused, match="more decimals"):
        minor_units(Decimal("12.345"), "EUR")


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("10000000"), places=2))
def test_minor_units_round_trip(amount: Decimal) -> None:
    assert from_minor_units(minor_units(amount, "EUR"), "EUR") == amount


def test_a_fresh_signature_of_the_endpoint_verifies() -> None:
    verify_signature(BODY, header(BODY, NOW - timedelta(seconds=299)), [SECRET], NOW, 300)


def test_one_of_several_secrets_and_several_v1_verify_during_a_rotation() -> None:
    signed = header(BODY, NOW, "whsec_new")
    t, v1 = signed.split(",")
    verify_signature(BODY, f"{t},v1=00ff,{v1},v0=abc", ["whsec_old", "whsec_new"], NOW, 300)


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (None, "no Stripe-Signature"),
        ("", "no Stripe-Signature"),
        ("v1=abc", "no timestamp"),
        (f"t={int(NOW.timestamp())}", "no v1"),
        (header(BODY, NOW, "whsec_guessed"), "matches"),
        (header(BODY + b" ", NOW), "matches"),
        (header(BODY, NOW - timedelta(seconds=301)), "more than 300 s"),
        (header(BODY, NOW + timedelta(seconds=301)), "more than 300 s"),
    ],
)
def test_a_missing_forged_altered_or_stale_signature_is_refused(
    signature: str | None, reason: str
) -> None:
    with pytest.raises(SignatureRefused, match=reason):
        verify_signature(BODY, signature, [SECRET], NOW, 300)


def completed(**session: object) -> dict[str, object]:
    paid = {
        "id": "cs_test_1",
        "object": "checkout.session",
        "payment_status": "paid",
        "currency": "eur",
        "amount_total": 118000,
        "metadata": {
            "customer_id": "C-1",
            "company_code": "FR01",
            "invoice_ids": "FR01/F-1 FR01/F-2",
        },
    }
    paid.update(session)
    return {"type": "checkout.session.completed", "data": {"object": paid}}


def test_a_paid_session_announces_its_invoices_and_amount() -> None:
    payment = announced_payment(json.loads(json.dumps(completed())), date(2026, 3, 2))
    assert payment is not None
    assert payment.invoice_ids == ("FR01/F-1", "FR01/F-2")
    assert payment.amount == Decimal("1180.00")
    assert payment.currency == "EUR"
    assert (payment.customer_id, payment.company_code) == ("C-1", "FR01")
    assert payment.paid_on == date(2026, 3, 2)  # the disputes service decides how long to wait


def test_unpaid_sessions_and_other_events_announce_nothing() -> None:
    assert announced_payment(completed(payment_status="unpaid"), date(2026, 3, 2)) is None
    other = {"type": "payment_intent.succeeded", "data": {"object": {}}}
    assert announced_payment(other, date(2026, 3, 2)) is None


def test_a_paid_session_without_the_portals_metadata_is_refused() -> None:
    with pytest.raises(PaymentRefused, match="without the portal's data"):
        announced_payment(completed(metadata={}), date(2026, 3, 2))
    with pytest.raises(PaymentRefused, match="no invoice"):
        announced_payment(
            completed(metadata={"customer_id": "C", "company_code": "F", "invoice_ids": ""}),
            date(2026, 3, 2),
        )


def test_a_payment_takes_payable_invoices_of_one_currency_and_not_too_many() -> None:
    from services.portal.domain.account import OpenInvoice, account_of
    from services.portal.domain.forms import FieldError, PaymentDecision, check_payment

    def invoice(number: str, currency: str = "EUR") -> OpenInvoice:
        return OpenInvoice(
            invoice_id=f"FR01/{number}",
            invoice_number=number,
            issue_date=date(2026, 1, 1),
            due_date=date(2026, 2, 1),
            amount=Decimal("10.00"),
            open_amount=Decimal("10.00"),
            currency=currency,
        )

    many = [invoice(f"F-2026-{n:04d}") for n in range(40)]
    account = account_of([*many, invoice("US-1", "USD")], [], date(2026, 3, 2))
    decision = check_payment({"invoice": ["FR01/F-2026-0001", "FR01/F-2026-0002"]}, account)
    assert isinstance(decision, PaymentDecision)
    assert decision.currency == "EUR"
    assert check_payment({"invoice": ["FR01/F-2026-0001", "FR01/US-1"]}, account) == {
        "invoice": FieldError("one_currency")
    }
    assert check_payment({"invoice": [i.invoice_id for i in many]}, account) == {
        "invoice": FieldError("too_many_to_pay")
    }
    assert check_payment({}, account) == {"invoice": FieldError("choose_invoices")}
