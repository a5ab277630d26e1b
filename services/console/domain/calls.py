"""A phone call's outcome form, as the ``log_call`` command the scheduler executes.

A pure function of the posted form: :func:`log_call_of` checks the fields and builds the
``command.log_call`` event for ``dunning.commands.v1`` (the outcome, the promised date and
amount, the dispute's reason and category, a note; the call reminder it answers and the
invoices it was about), with the actor the console authenticated, or returns what is wrong.
The scheduler applies the reminder's follow-up and forwards a promise or a dispute to the
disputes service.

A call of the collector's own, logged from the customer page, also names the contact called
and the invoices discussed: :func:`subject_of` checks them against the customer's phone
contacts and open invoices.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal, get_args
from uuid import UUID, uuid5

from pydantic import ValidationError

from contracts import commands
from contracts.disputes import DisputeCategory
from contracts.envelope import Event
from services.console.domain.commands import EVENT_NAMESPACE, SOURCE, FormProblem

OUTCOMES: tuple[str, ...] = get_args(commands.LoggedCallOutcome)
"""The outcomes the form offers, in the contract's order."""
CATEGORIES: tuple[str, ...] = get_args(DisputeCategory)

FIELDS = (
    "outcome",
    "promised_date",
    "promised_amount",
    "dispute_reason",
    "dispute_category",
    "note",
)
Problem = Literal["missing", "not_a_date", "not_after_today", "invalid"]


def log_call_of(
    form: Mapping[str, str],
    *,
    command_id: UUID,
    customer_id: str,
    reminder_id: UUID | None,
    invoice_ids: Sequence[str],
    currency: str,
    actor: commands.CommandActor,
    now: datetime,
    today: date,
) -> Event | list[FormProblem]:
    """The ``command.log_call`` of the form, or what is wrong with it.

    A promise needs a date after today and an amount (in ``currency``, the call's); a
    dispute needs its reason; the other outcomes take neither. The event id derives from
    ``command_id``: the same form posted twice is the same command.
    """
    values = {name: form.get(name, "").strip() for name in FIELDS}
    problems: list[FormProblem] = []
    outcome = values["outcome"]
    arguments: dict[str, object] = {"outcome": outcome}
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
                arguments["promised_date"] = day
        amount = _amount(values["promised_amount"])
        if amount is None:
            kind: Problem = "missing" if not values["promised_amount"] else "invalid"
            problems.append(FormProblem("promised_amount", kind))
        else:
            arguments["promised_amount"] = {"amount": amount, "currency": currency}
    if outcome == "dispute_raised":
        if not values["dispute_reason"]:
            problems.append(FormProblem("dispute_reason", "missing"))
        arguments["dispute_reason"] = values["dispute_reason"][:2000]
        if values["dispute_category"]:
            if values["dispute_category"] not in CATEGORIES:
                problems.append(FormProblem("dispute_category", "invalid"))
            arguments["dispute_category"] = values["dispute_category"]
    if values["note"]:
        arguments["note"] = values["note"][:4000]
    if problems:
        return problems
    try:
        payload = commands.LogCall(
            command_id=command_id,
            customer_id=customer_id,
            actor=actor,
            requested_at=now,
            reminder_id=reminder_id,
            invoice_ids=tuple(invoice_ids),
            **arguments,
        )
    except ValidationError as exc:
        return [
            FormProblem(str(error["loc"][0]) if error["loc"] else "form", "invalid")
            for error in exc.errors()
        ]
    return commands.LogCallCommand(
        event_id=uuid5(EVENT_NAMESPACE, str(command_id)),
        occurred_at=now,
        source=SOURCE,
        payload=payload,
    )


def _amount(text: str) -> Decimal | None:
    """A positive amount typed with a dot or a comma (``1 500,50``), else None."""
    cleaned = text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace(",", ".")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        return None
    exponent = amount.as_tuple().exponent
    if not amount.is_finite() or amount <= 0 or not isinstance(exponent, int) or exponent < -4:
        return None
    return amount


# -- a call of the collector's own, logged from the customer page ----------------------------

HELD: frozenset[str] = frozenset({"disputed", "in_plan", "promised"})
"""Open items' statuses a new promise cannot cover (the disputes service refuses them)."""


@dataclass(frozen=True)
class Discussable:
    """One of the customer's open invoices, as the call's form offers it."""

    invoice_id: str
    invoice_number: str
    currency: str
    open_amount: Decimal
    status: str


@dataclass(frozen=True)
class PhoneContact:
    """One of the customer's contacts with a phone number, as the form offers it."""

    phone: str
    role: str
    name: str | None = None

    @property
    def label(self) -> str:
        return " · ".join(part for part in (self.role, self.name, self.phone) if part)


@dataclass(frozen=True)
class CallSubject:
    """Who was called and which invoices were discussed, as posted and checked."""

    contact: PhoneContact | None
    all_open: bool
    invoices: tuple[Discussable, ...]
    currency: str  # the promise's: the discussed invoices' (the largest open one's)

    @property
    def invoice_ids(self) -> tuple[str, ...]:
        return tuple(i.invoice_id for i in self.invoices)

    @property
    def numbers(self) -> tuple[str, ...]:
        return tuple(i.invoice_number for i in self.invoices)


def subject_of(
    form: Mapping[str, str],
    chosen: Sequence[str],
    *,
    contacts: Sequence[PhoneContact],
    open_invoices: Sequence[Discussable],
) -> tuple[CallSubject, list[FormProblem]]:
    """The contact called (one of ``contacts``, required when there is one) and the invoices
    discussed (``invoices=all``: every open invoice; ``chosen``: the ``invoice_id`` values
    posted, each one of ``open_invoices``, an invoice of another customer or a closed one is
    invalid); for a promise, invoices in one currency that no dispute, promise or payment
    plan holds already. Problems come with the subject, so that every field is checked at
    once."""
    problems: list[FormProblem] = []
    number = form.get("contact", "").strip()
    contact = next((c for c in contacts if c.phone == number), None)
    if contacts and contact is None:
        problems.append(FormProblem("contact", "missing" if not number else "invalid"))
    scope = form.get("invoices", "all").strip() or "all"
    offered = {i.invoice_id: i for i in open_invoices}
    invoices: list[Discussable] = []
    if scope == "all":
        invoices = list(open_invoices)
    elif scope == "chosen":
        wanted = list(dict.fromkeys(c.strip() for c in chosen if c.strip()))
        if not wanted:
            problems.append(FormProblem("invoice_id", "missing"))
        elif any(w not in offered for w in wanted):
            problems.append(FormProblem("invoice_id", "invalid"))
        else:
            invoices = [offered[w] for w in wanted]
    else:
        problems.append(FormProblem("invoices", "invalid"))
    pool = invoices or list(open_invoices)
    largest = max(pool, key=lambda i: i.open_amount, default=None)
    currency = largest.currency if largest is not None else ""
    outcome = form.get("outcome", "").strip()
    if outcome in ("promise_to_pay", "dispute_raised") and not invoices and not problems:
        problems.append(FormProblem("invoice_id", "missing"))
    if outcome == "promise_to_pay" and invoices:
        if len({i.currency for i in invoices}) > 1:
            problems.append(FormProblem("invoice_id", "mixed_currencies"))
        elif any(i.status in HELD for i in invoices):
            problems.append(FormProblem("invoice_id", "held"))
    subject = CallSubject(contact, scope != "chosen", tuple(invoices), currency)
    return subject, problems
