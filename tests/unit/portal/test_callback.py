"""The call-back form: phone numbers as people type them, a day, a slot."""

from __future__ import annotations

from datetime import date

import pytest

from services.portal.domain.forms import CallbackDecision, check_callback, phone_number

TODAY = date(2026, 3, 2)


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("+33 6 12 34 56 78", "+33612345678"),
        ("0033 (0)6.12.34.56.78", "+33612345678"),  # the national 0 in brackets dropped
        ("0033 6-12-34-56-78", "+33612345678"),
        ("+49 30 1234567", "+49301234567"),
        ("06 12 34 56 78", None),  # national: which country?
        ("+0 123 456 789", None),
        ("+33 6 12 34 56 78 99 99 99", None),  # longer than E.164 allows
        ("call me", None),
    ],
)
def test_phone_numbers_are_read_as_international(typed: str, e164: str | None) -> None:
    assert phone_number(typed) == e164


def test_a_complete_request_is_a_decision() -> None:
    decision = check_callback(
        {"phone": ["+39 312 345 6789"], "callback_date": ["2026-03-04"], "slot": ["afternoon"]},
        TODAY,
    )
    assert decision == CallbackDecision("+393123456789", date(2026, 3, 4), "afternoon")


def test_each_field_gets_its_own_error() -> None:
    errors = check_callback({"phone": ["0612"], "callback_date": ["2026-03-01"]}, TODAY)
    assert not isinstance(errors, CallbackDecision)
    assert {name: e.key for name, e in errors.items()} == {
        "phone": "phone_invalid",
        "callback_date": "date_past",
        "slot": "slot_required",
    }
    errors = check_callback({"callback_date": ["2026-05-01"], "slot": ["evening"]}, TODAY)
    assert not isinstance(errors, CallbackDecision)
    assert errors["phone"].key == "phone_required"
    assert errors["callback_date"].key == "date_too_far"
    assert errors["slot"].key == "slot_required"
