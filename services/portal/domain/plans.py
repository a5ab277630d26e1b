"""A payment plan the customer proposes, checked against the firm's rules: a pure function
of the form's fields, the account, today and the rules of the invoicing company.

The form has one row per possible instalment (``instalment_date_<n>``,
``instalment_amount_<n>``, ``n`` from 1 to the rules' ``max_instalments``); rows left
empty are ignored. The rules: at most ``max_instalments`` instalments, the first due
within ``first_within_days`` (today counts), each at least ``min_instalment``, the last
within ``max_days``, dates strictly increasing, and the instalments adding up exactly to
what is open on the chosen invoices (one currency). Each error is a message key beside its
field; the fields as typed are kept by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict, Field

from services.portal.domain.account import Account, InvoiceLine
from services.portal.domain.forms import Errors, FieldError, FormFields

ROW_FIELD = re.compile(r"^instalment_(date|amount)_([0-9]{1,3})$")


class PlanRules(BaseModel):
    """The firm's rules for plans customers propose (globally, or per invoicing company)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_instalments: int = Field(default=6, ge=1, le=24)
    first_within_days: int = Field(
        default=7,
        ge=0,
        description="The first instalment is due within these days (the disputes service's "
        "RELANCE_DISPUTES_PLAN_FIRST_WITHIN_DAYS must allow it).",
    )
    min_instalment: Decimal = Field(default=Decimal(50), ge=0)
    max_days: int = Field(default=180, ge=1, description="The last instalment within these days.")


@dataclass(frozen=True)
class PlanDecision:
    lines: tuple[InvoiceLine, ...]
    currency: str
    instalments: tuple[tuple[date, Decimal], ...]


def amount_of(typed: str) -> Decimal | None:
    """A positive amount typed with a dot or a comma and spaces (``1 500,50``), two
    decimals at most; None otherwise."""
    cleaned = typed.replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    cleaned = cleaned.replace(",", ".")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        return None
    exponent = amount.as_tuple().exponent
    if not amount.is_finite() or amount <= 0 or not isinstance(exponent, int) or exponent < -2:
        return None
    return amount


def _value(form: FormFields, name: str) -> str:
    values = form.get(name) or ("",)
    return values[-1].strip()


def check_plan(
    form: FormFields, account: Account, today: date, rules: PlanRules
) -> PlanDecision | Errors:
    errors: Errors = {}
    lines = account.payable(form.get("invoice", ()))
    if not lines:
        errors["invoice"] = FieldError("choose_invoices")
    currencies = {line.invoice.currency for line in lines}
    if len(currencies) > 1:
        errors["invoice"] = FieldError("one_currency")
    rows = sorted(
        {int(m.group(2)) for name in form if (m := ROW_FIELD.match(name)) and _row_typed(form, m)}
    )
    if any(n < 1 or n > rules.max_instalments for n in rows):
        errors["plan_instalments"] = FieldError("plan_too_many", {"count": rules.max_instalments})
        return errors
    if not rows:
        errors["plan_instalments"] = FieldError("plan_none")
        return errors
    instalments: list[tuple[date, Decimal]] = []
    previous: date | None = None
    for position, n in enumerate(rows):
        day = _due_date(form, n, today, rules, first=position == 0, errors=errors)
        amount = _amount(form, n, rules, errors)
        if day is not None and previous is not None and day <= previous:
            errors[f"instalment_date_{n}"] = FieldError("plan_dates_order")
        if day is not None:
            previous = day
        if day is not None and amount is not None:
            instalments.append((day, amount))
    if errors:
        return errors
    currency = currencies.pop()
    total = sum((amount for _, amount in instalments), Decimal(0))
    open_total = sum((line.invoice.open_amount for line in lines), Decimal(0))
    if total != open_total:
        errors["plan_total"] = FieldError(
            "plan_total_mismatch",
            {"total": f"{total:.2f} {currency}", "open": f"{open_total:.2f} {currency}"},
        )
        return errors
    return PlanDecision(lines=lines, currency=currency, instalments=tuple(instalments))


def _row_typed(form: FormFields, match: re.Match[str]) -> bool:
    n = match.group(2)
    return bool(_value(form, f"instalment_date_{n}") or _value(form, f"instalment_amount_{n}"))


def _due_date(
    form: FormFields, n: int, today: date, rules: PlanRules, *, first: bool, errors: Errors
) -> date | None:
    name = f"instalment_date_{n}"
    typed = _value(form, name)
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
    elif first and day > today + timedelta(days=rules.first_within_days):
        errors[name] = FieldError("plan_first_too_late", {"days": rules.first_within_days})
    elif day > today + timedelta(days=rules.max_days):
        errors[name] = FieldError("plan_too_long", {"days": rules.max_days})
    return day


def _amount(form: FormFields, n: int, rules: PlanRules, errors: Errors) -> Decimal | None:
    name = f"instalment_amount_{n}"
    typed = _value(form, name)
    if not typed:
        errors[name] = FieldError("amount_required")
        return None
    amount = amount_of(typed)
    if amount is None:
        errors[name] = FieldError("amount_invalid")
        return None
    if amount < rules.min_instalment:
        errors[name] = FieldError("plan_amount_too_small", {"min": f"{rules.min_instalment}"})
    return amount


def rules_for(
    company_code: str, default: PlanRules, by_company: Mapping[str, PlanRules]
) -> PlanRules:
    """The company's own rules, else the global ones."""
    return by_company.get(company_code, default)
