"""What a dispute's owner types: an answer needs words or documents; a justified resolution
names the correction expected; a rejection says why."""

from __future__ import annotations

from decimal import Decimal

from services.portal.owner_forms import (
    AnswerDecision,
    ResolutionDecision,
    check_answer,
    check_resolution,
)


def test_an_answer_needs_a_message_or_a_document() -> None:
    assert check_answer({"answer": ["  "]}, 0) == {"answer": check_answer({}, 0)["answer"]}  # type: ignore[index]
    assert check_answer({"answer": [""]}, 1) == AnswerDecision("")
    assert check_answer({"answer": ["ok "]}, 0) == AnswerDecision("ok")
    too_long = check_answer({"answer": ["x" * 4001]}, 0)
    assert isinstance(too_long, dict)
    assert too_long["answer"].key == "message_too_long"


def test_a_rejection_needs_a_comment() -> None:
    errors = check_resolution({"outcome": ["rejected"]})
    assert isinstance(errors, dict)
    assert errors["comment"].key == "owner_comment_required"
    assert check_resolution({"outcome": ["rejected"], "comment": ["Prix conforme."]}) == (
        ResolutionDecision("rejected", "Prix conforme.")
    )


def test_a_justified_resolution_names_the_correction() -> None:
    errors = check_resolution({"outcome": ["justified"], "correction_amount": ["-3"]})
    assert isinstance(errors, dict)
    assert {k: e.key for k, e in errors.items()} == {
        "correction_kind": "owner_correction_kind_required",
        "correction_reference": "owner_reference_required",
        "correction_amount": "owner_amount_invalid",
    }
    decided = check_resolution(
        {
            "outcome": ["justified"],
            "correction_kind": ["corrected_invoice"],
            "correction_reference": ["F-2026-002-R"],
            "correction_amount": ["1 200,50"],
            "correction_currency": ["eur"],
        }
    )
    assert decided == ResolutionDecision(
        "justified", "", "corrected_invoice", "F-2026-002-R", Decimal("1200.50"), "EUR"
    )
    assert isinstance(
        check_resolution(
            {
                "outcome": ["justified"],
                "correction_kind": ["credit_note"],
                "correction_reference": ["AV\n1"],
            }
        ),
        dict,
    )
    assert check_resolution({"outcome": ["maybe"]}) == {
        "outcome": check_resolution({})["outcome"]  # type: ignore[index]
    }
