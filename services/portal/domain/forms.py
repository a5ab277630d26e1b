"""What the customer typed, checked: a pure function of the form's fields and the account.

Each check returns either the decision (what to send) or the errors, one message key per
field (``services/portal/i18n.py`` words them in the page's language). The fields as typed
are always kept, so that a page showing errors shows them back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from contracts.disputes import CallbackSlot
from services.portal.domain.account import Account, InvoiceLine

CATEGORIES = ("commercial", "quality", "delivery", "pricing", "administrative", "accounting")
MESSAGE_MAX = 4000
PAYMENT_IDS_MAX = 500  # Stripe's limit on a metadata value, where the invoices' ids go
SLOTS: Mapping[str, CallbackSlot] = {"morning": "morning", "afternoon": "afternoon"}
CALLBACK_MAX_DAYS = 30
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
PHONE_SEPARATORS = re.compile(r"[\s.()/-]")

FormFields = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class FieldError:
    key: str  # a message key of services/portal/i18n.py
    values: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class PromiseDecision:
    lines: tuple[InvoiceLine, ...]
    promised_date: date
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class DisputeDecision:
    lines: tuple[InvoiceLine, ...]
    category: str
    message: str


@dataclass(frozen=True)
class PaymentDecision:
    lines: tuple[InvoiceLine, ...]
    currency: str


@dataclass(frozen=True)
class CallbackDecision:
    phone: str  # E.164
    on: date
    slot: CallbackSlot


Errors = dict[str, FieldError]


def _first(form: FormFields, name: str) -> str:
    values = form.get(name) or ("",)
    return values[-1].strip()


def _chosen(form: FormFields, account: Account, errors: Errors) -> tuple[InvoiceLine, ...]:
    lines = account.payable(form.get("invoice", ()))
    if not lines:
        errors["invoice"] = FieldError("choose_invoices")
    return lines


def check_promise(
    form: FormFields, account: Account, today: date, max_days: int
) -> PromiseDecision | Errors:
    errors: Errors = {}
    lines = _chosen(form, account, errors)
    currencies = {line.invoice.currency for line in lines}
    if len(currencies) > 1:
        errors["invoice"] = FieldError("one_currency")
    typed = _first(form, "promised_date")
    promised: date | None = None
    if not typed:
        errors["promised_date"] = FieldError("date_required")
    else:
        try:
            promised = date.fromisoformat(typed)
        except ValueError:
            errors["promised_date"] = FieldError("date_invalid")
    if promised is not None:
        if promised < today:
            errors["promised_date"] = FieldError("date_past")
        elif promised > today + timedelta(days=max_days):
            errors["promised_date"] = FieldError("date_too_far", {"days": max_days})
    if errors or promised is None:
        return errors
    return PromiseDecision(
        lines=lines,
        promised_date=promised,
        amount=sum((line.invoice.open_amount for line in lines), Decimal(0)),
        currency=currencies.pop(),
    )


def check_payment(form: FormFields, account: Account) -> PaymentDecision | Errors:
    errors: Errors = {}
    lines = _chosen(form, account, errors)
    currencies = {line.invoice.currency for line in lines}
    if len(currencies) > 1:
        errors["invoice"] = FieldError("one_currency")
    elif len(" ".join(line.invoice.invoice_id for line in lines)) > PAYMENT_IDS_MAX:
        errors["invoice"] = FieldError("too_many_to_pay")
    if errors:
        return errors
    return PaymentDecision(lines=lines, currency=currencies.pop())


def check_dispute(form: FormFields, account: Account) -> DisputeDecision | Errors:
    errors: Errors = {}
    lines = _chosen(form, account, errors)
    category = _first(form, "category")
    if category not in CATEGORIES:
        errors["category"] = FieldError("category_required")
    message = _first(form, "message")
    if not message:
        errors["message"] = FieldError("message_required")
    elif len(message) > MESSAGE_MAX:
        errors["message"] = FieldError("message_too_long", {"max": MESSAGE_MAX})
    if errors:
        return errors
    return DisputeDecision(lines=lines, category=category, message=message)


def phone_number(typed: str) -> str | None:
    """The E.164 form of a number typed with spaces, dots, dashes or brackets, ``00`` for
    ``+`` and the national ``(0)`` in brackets; None when it is not an international
    number."""
    compact = PHONE_SEPARATORS.sub("", typed.replace("(0)", ""))
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    return compact if E164.match(compact) else None


def _day(form: FormFields, name: str, today: date, max_days: int, errors: Errors) -> date | None:
    typed = _first(form, name)
    if not typed:
        errors[name] = FieldError("date_required")
        return None
    try:
        day = date.fromisoformat(typed)
    except ValueError:
        errors[name] = FieldError("date_invalid")
        return None
    if day < today:
        errors[name] = FieldError("date_past")
    elif day > today + timedelta(days=max_days):
        errors[name] = FieldError("date_too_far", {"days": max_days})
    return day


def check_callback(form: FormFields, today: date) -> CallbackDecision | Errors:
    errors: Errors = {}
    typed_phone = _first(form, "phone")
    phone = phone_number(typed_phone)
    if not typed_phone:
        errors["phone"] = FieldError("phone_required")
    elif phone is None:
        errors["phone"] = FieldError("phone_invalid")
    day = _day(form, "callback_date", today, CALLBACK_MAX_DAYS, errors)
    slot = SLOTS.get(_first(form, "slot"))
    if slot is None:
        errors["slot"] = FieldError("slot_required")
    if errors or phone is None or day is None or slot is None:
        return errors
    return CallbackDecision(phone=phone, on=day, slot=slot)
