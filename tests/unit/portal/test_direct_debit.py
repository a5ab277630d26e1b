"""Direct debit's pure part: GoCardless's webhook signature, what each event means, the
debit's keys, the choice's checks, and the settings that never show a secret."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from services.portal.domain.account import OpenInvoice, account_of
from services.portal.domain.direct_debit import (
    check_debit,
    choice_key,
    debit_event,
    debit_events,
    debit_id,
    not_paid_twice,
    verify_webhook,
)
from services.portal.domain.forms import FieldError, PaymentDecision
from services.portal.errors import PaymentRefused, SignatureRefused
from services.portal.gocardless import GoCardlessSettings

SECRET = "gc-endpoint-secret-0123456789"
BODY = json.dumps(
    {
        "events": [
            {
                "id": "EV1",
                "resource_type": "payments",
                "action": "confirmed",
                "links": {"payment": "PM1"},
            }
        ]
    }
).encode()


def signed(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_the_endpoints_signature_of_the_raw_body_verifies() -> None:
    verify_webhook(BODY, signed(BODY), [SECRET])
    verify_webhook(BODY, signed(BODY).upper(), [SECRET])  # hex in either case
    verify_webhook(BODY, signed(BODY, "the-new-secret"), [SECRET, "the-new-secret"])  # rotation


@pytest.mark.parametrize(
    ("body", "header"),
    [
        (BODY, None),
        (BODY, ""),
        (BODY, signed(BODY, "a-guessed-secret")),
        (BODY.replace(b"confirmed", b"failed"), signed(BODY)),
        (BODY + b" ", signed(BODY)),  # re-serialised JSON is another body
    ],
)
def test_a_missing_forged_or_altered_signature_is_refused(body: bytes, header: str | None) -> None:
    with pytest.raises(SignatureRefused):
        verify_webhook(body, header, [SECRET])


@pytest.mark.parametrize(
    ("resource", "action", "outcome"),
    [
        ("billing_requests", "fulfilled", "fulfilled"),
        ("billing_requests", "cancelled", "fail"),
        ("billing_requests", "failed", "fail"),
        ("billing_requests", "flow_visited", "ignore"),
        ("payments", "submitted", "announce"),
        ("payments", "confirmed", "announce"),
        ("payments", "paid_out", "announce"),
        ("payments", "failed", "fail"),
        ("payments", "cancelled", "fail"),
        ("payments", "charged_back", "fail"),
        ("payments", "created", "ignore"),
        ("mandates", "active", "ignore"),
        ("payouts", "paid", "ignore"),
    ],
)
def test_each_event_means_one_thing_for_a_debit(resource: str, action: str, outcome: str) -> None:
    event = debit_event(
        {
            "id": "EV9",
            "resource_type": resource,
            "action": action,
            "links": {"payment": "PM9", "billing_request": "BRQ9"},
            "details": {"cause": "insufficient_funds"},
            "resource_metadata": {"relance_debit": "d-1"},
        }
    )
    assert event.outcome == outcome
    assert (event.payment_id, event.billing_request_id, event.debit_reference) == (
        "PM9",
        "BRQ9",
        "d-1",
    )
    assert event.reason == f"{action}: insufficient_funds"


def test_a_fulfilled_billing_request_names_its_payment() -> None:
    event = debit_event(
        {
            "id": "EV2",
            "resource_type": "billing_requests",
            "action": "fulfilled",
            "links": {"billing_request": "BRQ1", "payment_request_payment": "PM1"},
        }
    )
    assert (event.billing_request_id, event.payment_id, event.reason) == (
        "BRQ1",
        "PM1",
        "fulfilled",
    )


@pytest.mark.parametrize(
    "batch",
    [[], {"events": {}}, {"event": []}, {"events": ["EV1"]}, {"events": [{"id": "EV1"}]}],
)
def test_a_verified_body_not_in_gocardless_format_is_refused(batch: object) -> None:
    with pytest.raises(PaymentRefused):
        debit_events(batch)


def test_a_choice_is_one_debit_until_an_attempt_fails() -> None:
    one = choice_key("C1", "FR01", [("FR01/F2", Decimal("480.00")), ("FR01/F1", Decimal("700"))])
    same = choice_key("C1", "FR01", [("FR01/F1", Decimal("700")), ("FR01/F2", Decimal("480.00"))])
    changed = choice_key("C1", "FR01", [("FR01/F1", Decimal("650")), ("FR01/F2", Decimal("480"))])
    assert one == same
    assert one != changed
    assert debit_id(one, 0) == debit_id(same, 0)
    assert debit_id(one, 0) != debit_id(one, 1)


def _account() -> object:
    def invoice(number: str, amount: str, currency: str) -> OpenInvoice:
        return OpenInvoice(
            f"FR01/{number}",
            number,
            date(2026, 1, 1),
            date(2026, 2, 1),
            Decimal(amount),
            Decimal(amount),
            currency,
        )

    return account_of(
        [invoice("F1", "700", "EUR"), invoice("U1", "90", "USD")], [], date(2026, 3, 2)
    )


def test_a_debit_is_in_a_currency_the_scheme_collects() -> None:
    account = _account()
    chosen = check_debit({"invoice": ["FR01/F1"]}, account, ("EUR",))  # type: ignore[arg-type]
    assert isinstance(chosen, PaymentDecision)
    assert chosen.currency == "EUR"
    refused = check_debit({"invoice": ["FR01/U1"]}, account, ("EUR",))  # type: ignore[arg-type]
    assert refused == {"invoice": FieldError("debit_currency", {"currencies": "EUR"})}
    nothing = check_debit({}, account, ("EUR",))  # type: ignore[arg-type]
    assert not isinstance(nothing, PaymentDecision)


def test_the_settings_need_webhook_secrets_with_a_token_and_never_show_them() -> None:
    with pytest.raises(ValidationError, match="WEBHOOK_SECRETS is empty"):
        GoCardlessSettings(access_token="live_abcdefghijklmnop")
    settings = GoCardlessSettings(
        access_token="live_abcdefghijklmnop", webhook_secrets="first-secret, second-secret"
    )
    assert [s.get_secret_value() for s in settings.webhook_secrets] == [
        "first-secret",
        "second-secret",
    ]
    shown = repr(settings) + str(settings.model_dump())
    for secret in ("live_abcdefghijklmnop", "first-secret", "second-secret"):
        assert secret not in shown
    assert GoCardlessSettings(currencies="EUR,GBP").currencies == ("EUR", "GBP")


def test_invoices_being_collected_are_not_paid_twice() -> None:
    being_paid = frozenset({"FR01/F1"})
    assert not_paid_twice(["FR01/F2"], being_paid) == {}
    assert not_paid_twice(["FR01/F2", "FR01/F1"], being_paid) == {
        "invoice": FieldError("already_being_paid")
    }


def test_bank_transfer_schemes_are_read_as_json_and_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert GoCardlessSettings().transfer_schemes == {"GBP": "faster_payments"}
    assert not GoCardlessSettings().bank_transfer
    monkeypatch.setenv("RELANCE_GOCARDLESS_BANK_TRANSFER", "true")
    monkeypatch.setenv(
        "RELANCE_GOCARDLESS_TRANSFER_SCHEMES",
        '{"GBP": "faster_payments", "EUR": "sepa_instant_credit_transfer"}',
    )
    settings = GoCardlessSettings()
    assert settings.bank_transfer
    assert settings.transfer_schemes["EUR"] == "sepa_instant_credit_transfer"
    monkeypatch.setenv("RELANCE_GOCARDLESS_TRANSFER_SCHEMES", '{"EUR": "faster_payments"}')
    with pytest.raises(ValidationError, match="EUR: 'faster_payments' is not an Instant Bank"):
        GoCardlessSettings()


def test_a_transfer_in_a_currency_without_a_scheme_says_so() -> None:
    form, currencies = {"invoice": ["FR01/U1"]}, ("GBP", "EUR")
    refused = check_debit(form, _account(), currencies, "transfer_currency")  # type: ignore[arg-type]
    assert refused == {"invoice": FieldError("transfer_currency", {"currencies": "GBP, EUR"})}
