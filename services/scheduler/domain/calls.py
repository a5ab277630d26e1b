"""What a collector's call outcome leads to (``call_task.closed`` from the notifier).

- ``no_answer``: the same call again, ``Policy.call_retry_business_days`` business days later
  in the customer's sending window, until ``Policy.call_attempts`` calls were tried; then the
  step's written channel (its fallback, ``Policy.fallbacks``: email by default).
- ``wrong_contact``: the account owner (the ``collector`` role) gets an internal notice to
  correct the contact, and the step goes out on its written channel meanwhile.
- ``promise_to_pay`` and ``dispute_raised`` are the disputes service's: nothing here.

Pure: :mod:`services.scheduler.deliveries` reads the call's reminder and attempts, asks
:func:`follow_up`, and writes what it says.

A collector may also log a call through the ``log_call`` command (:mod:`services.scheduler.calls`
executes it): the call is kept with its note, audited, and, when it answers a call reminder,
followed up as above; a promise or a dispute is forwarded to the disputes service as its
command (:func:`agreement_of`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from contracts import disputes
from contracts.commands import LogCall
from contracts.disputes import DisputeCategory
from contracts.envelope import Event
from contracts.notifications import CallOutcome
from services.runtime.business_days import next_business_day, send_instant
from services.scheduler.domain.state import Customer, Policy

FollowUpKind = Literal["call_again", "written", "fix_contact_and_written", "nothing"]
ACCOUNT_OWNER = "collector"  # the internal role that owns the customer's account
FIX_CONTACT_STEP = "fix_contact"
FIX_CONTACT_TEMPLATE = "internal_help_request"


@dataclass(frozen=True)
class FollowUp:
    kind: FollowUpKind
    at: datetime | None = None  # when to call again


def business_days_later(policy: Policy, customer: Customer, now: datetime, days: int) -> datetime:
    """The first sending instant ``days`` business days after ``now``'s local day."""
    day = now.astimezone(customer.zone).date()
    for _ in range(days):
        day = next_business_day(day + timedelta(days=1), customer.country)
    return send_instant(
        day, country=customer.country, time_zone=customer.time_zone, window=policy.window
    )


def follow_up(
    policy: Policy, customer: Customer, outcome: CallOutcome, attempts: int, now: datetime
) -> FollowUp:
    """What follows a call closed with ``outcome``; ``attempts``: calls tried, this one
    included, none of which was answered (for ``no_answer``)."""
    if outcome == "no_answer":
        if attempts < policy.call_attempts:
            later = business_days_later(policy, customer, now, policy.call_retry_business_days)
            return FollowUp("call_again", later)
        return FollowUp("written")
    if outcome == "wrong_contact":
        return FollowUp("fix_contact_and_written")
    return FollowUp("nothing")


# -- calls logged by collectors (the ``log_call`` command) ----------------------------------

LOGGED_CALL_NAMESPACE = uuid.UUID("5f0d6c1a-93e2-4b7d-a8c4-2e61b0f9d7a3")
FOLLOWED_UP: frozenset[str] = frozenset({"no_answer", "wrong_contact"})
"""Outcomes of a call logged against a call reminder that its follow-up acts upon."""
DEFAULT_DISPUTE_CATEGORY: DisputeCategory = "commercial"


HELD_ELSEWHERE: frozenset[str] = frozenset({"dispute", "promise_to_pay", "payment_plan"})
"""Pause reasons of invoices a new promise cannot cover (the disputes service refuses it)."""


def discussed_invoices(
    call: LogCall, open_invoices: Sequence[tuple[str, str, str | None]]
) -> list[str]:
    """The invoices a logged call is about: those it names; else the customer's open ones
    (``(invoice id, currency, pause reason)``), and for a promise only those in its currency
    that no dispute, promise or payment plan holds, so that the disputes service can record
    it (a call without a reminder that names no invoice: a customer with invoices in several
    currencies, or one of them disputed, would otherwise lose the promise)."""
    if call.invoice_ids:
        return list(call.invoice_ids)
    if call.outcome == "promise_to_pay" and call.promised_amount is not None:
        currency = call.promised_amount.currency
        return [
            invoice_id
            for invoice_id, its_currency, pause_reason in open_invoices
            if its_currency == currency and pause_reason not in HELD_ELSEWHERE
        ]
    return [invoice_id for invoice_id, _, _ in open_invoices]


def agreement_of(
    call: LogCall, invoice_ids: Sequence[str], actor: str, now: datetime
) -> Event | None:
    """What the disputes service records for a logged call: the promise made on the phone
    (confirmed to the customer in writing by the notifier) or the dispute raised; None for
    other outcomes. Ids derive from the command's, so a replay records nothing twice."""
    base = call.command_id
    if call.outcome == "promise_to_pay":
        assert call.promised_date is not None
        assert call.promised_amount is not None
        promise = disputes.Promise(
            promise_id=uuid.uuid5(LOGGED_CALL_NAMESPACE, f"{base}/promise"),
            customer_id=call.customer_id,
            invoice_ids=tuple(invoice_ids),
            promised_date=call.promised_date,
            amount=call.promised_amount,
            channel="phone_call",
            recorded_by=actor,
        )
        return disputes.RecordPromise(
            event_id=uuid.uuid5(LOGGED_CALL_NAMESPACE, f"{base}/promise.record"),
            occurred_at=now,
            source="scheduler",
            payload=promise,
        )
    if call.outcome == "dispute_raised":
        assert call.dispute_reason is not None
        request = disputes.DisputeRequest(
            dispute_id=uuid.uuid5(LOGGED_CALL_NAMESPACE, f"{base}/dispute"),
            customer_id=call.customer_id,
            invoice_ids=tuple(invoice_ids),
            category=call.dispute_category or DEFAULT_DISPUTE_CATEGORY,
            text=call.dispute_reason,
            raised_by="collector",
            by=actor,
        )
        return disputes.OpenDispute(
            event_id=uuid.uuid5(LOGGED_CALL_NAMESPACE, f"{base}/dispute.open"),
            occurred_at=now,
            source="scheduler",
            payload=request,
        )
    return None


def call_detail(call: LogCall, invoices: int) -> dict[str, str]:
    """The audit's detail of a logged call: its outcome and figures, never the note or the
    customer's words (the topic keeps the audit for ever)."""
    detail = {"outcome": call.outcome, "invoices": str(invoices)}
    if call.reminder_id is not None:
        detail["reminder_id"] = str(call.reminder_id)
    if call.promised_date is not None and call.promised_amount is not None:
        detail["promised_date"] = call.promised_date.isoformat()
        detail["promised_amount"] = str(call.promised_amount.amount)
        detail["currency"] = call.promised_amount.currency
    if call.dispute_category is not None or call.outcome == "dispute_raised":
        detail["dispute_category"] = call.dispute_category or DEFAULT_DISPUTE_CATEGORY
    return detail
