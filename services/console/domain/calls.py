"""A phone call's outcome form, as the outcome the call task is closed with.

A pure function of the posted form: :func:`outcome_of` checks the fields and returns the
body of the close (the contract's ``ClosedCallTask`` fields the caller may choose: the
outcome, the promised date and amount, the dispute's reason, a note), or what is wrong. The
closing identity is never a form field: whoever carries the outcome to the owning service
sends the signed-in identity's credential, and the owner records it as ``closed_by``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, get_args

from contracts.notifications import CallOutcome
from services.console.domain.commands import FormProblem

OUTCOMES: tuple[str, ...] = get_args(CallOutcome)
"""The outcomes the form offers, in the contract's order."""

FIELDS = ("outcome", "promised_date", "promised_amount", "dispute_reason", "note")
Problem = Literal["missing", "not_a_date", "not_after_today", "invalid"]


def outcome_of(
    form: Mapping[str, str], *, currency: str, today: date
) -> dict[str, Any] | list[FormProblem]:
    """The close's body from the form, or what is wrong with it.

    A promise needs a date after today and an amount (in ``currency``, the call's);
    a dispute needs its reason; the other outcomes take neither.
    """
    values = {name: form.get(name, "").strip() for name in FIELDS}
    problems: list[FormProblem] = []
    outcome = values["outcome"]
    body: dict[str, Any] = {"outcome": outcome}
    if outcome not in OUTCOMES:
        problems.append(FormProblem("outcome", "missing" if not outcome else "invalid"))
    if outcome == "promise_to_pay":
        if not values["promised_date"]:
            problems.append(FormProblem("promised_date", "missing"))
        else:
            try:
                day = date.fromisoformat(values["promised_date"])
            except ValueError:
                problems.append(FormProblem("promised_date", "not_a_date"))
            else:
                if day <= today:
                    problems.append(FormProblem("promised_date", "not_after_today"))
                body["promised_date"] = day.isoformat()
        amount = _amount(values["promised_amount"])
        if amount is None:
            kind: Problem = "missing" if not values["promised_amount"] else "invalid"
            problems.append(FormProblem("promised_amount", kind))
        else:
            body["promised_amount"] = {"amount": str(amount), "currency": currency}
    if outcome == "dispute_raised":
        if not values["dispute_reason"]:
            problems.append(FormProblem("dispute_reason", "missing"))
        body["dispute_reason"] = values["dispute_reason"][:500]
    if values["note"]:
        body["note"] = values["note"][:4000]
    return problems or body


def _amount(text: str) -> Decimal | None:
    """A positive amount typed with a dot or a comma (``1 500,50``), else None."""
    cleaned = text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace(",", ".")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount <= 0 or amount.as_tuple().exponent < -4:  # type: ignore[operator]
        return None
    return amount
