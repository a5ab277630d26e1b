"""What a dispute's owner typed on their page, checked: a pure function of the form's fields.

Each check returns the decision (what to send) or the errors, one message key per field
(``owner_words.py`` words them); the page shows the fields back as typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from contracts.disputes import CorrectionKind
from services.portal.domain.forms import FieldError, FormFields

TEXT_MAX = 4000
REFERENCE_MAX = 100
CURRENCY = re.compile(r"^[A-Z]{3}$")
REFERENCE = re.compile(r"^[^\x00-\x1f\x7f]+$")
KINDS: dict[str, CorrectionKind] = {
    "credit_note": "credit_note",
    "corrected_invoice": "corrected_invoice",
}
Errors = dict[str, FieldError]


@dataclass(frozen=True)
class AnswerDecision:
    text: str


@dataclass(frozen=True)
class ResolutionDecision:
    outcome: str  # justified or rejected
    comment: str
    kind: CorrectionKind | None = None
    reference: str | None = None
    amount: Decimal | None = None
    currency: str | None = None


def last(form: FormFields, name: str) -> str:
    values = form.get(name) or [""]
    return values[-1].strip()


def check_answer(form: FormFields, files: int) -> AnswerDecision | Errors:
    """A message, or documents (``files`` of them), or both."""
    text = last(form, "answer")
    if len(text) > TEXT_MAX:
        return {"answer": FieldError("message_too_long", {"max": TEXT_MAX})}
    if not text and not files:
        return {"answer": FieldError("owner_answer_required")}
    return AnswerDecision(text)


def check_resolution(form: FormFields) -> ResolutionDecision | Errors:
    """Justified, with the correction expected (a credit note or a corrected invoice, its
    reference, its amount when known); or rejected, with a comment for the customer's file."""
    errors: Errors = {}
    outcome = last(form, "outcome")
    comment = last(form, "comment")
    if len(comment) > TEXT_MAX:
        errors["comment"] = FieldError("message_too_long", {"max": TEXT_MAX})
    if outcome == "rejected":
        if not comment:
            errors["comment"] = FieldError("owner_comment_required")
        return errors or ResolutionDecision("rejected", comment)
    if outcome != "justified":
        errors["outcome"] = FieldError("owner_outcome_required")
        return errors
    kind = KINDS.get(last(form, "correction_kind"))
    if kind is None:
        errors["correction_kind"] = FieldError("owner_correction_kind_required")
    reference = last(form, "correction_reference")
    if not reference:
        errors["correction_reference"] = FieldError("owner_reference_required")
    elif len(reference) > REFERENCE_MAX or not REFERENCE.match(reference):
        errors["correction_reference"] = FieldError("owner_reference_invalid")
    amount: Decimal | None = None
    typed_amount = last(form, "correction_amount").replace(" ", "").replace(",", ".")
    if typed_amount:
        try:
            amount = Decimal(typed_amount)
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or amount <= 0 or amount != round(amount, 2):
            errors["correction_amount"] = FieldError("owner_amount_invalid")
            amount = None
    currency = last(form, "correction_currency").upper()
    if amount is not None and not CURRENCY.match(currency):
        errors["correction_amount"] = FieldError("owner_currency_invalid")
    if errors:
        return errors
    return ResolutionDecision(
        "justified",
        comment,
        kind,
        reference,
        amount,
        currency if amount is not None else None,
    )
