"""What a collector's call outcome leads to (``call_task.closed`` from the notifier).

- ``no_answer``: the same call again, ``Policy.call_retry_business_days`` business days later
  in the customer's sending window, until ``Policy.call_attempts`` calls were tried; then the
  step's written channel (its fallback, ``Policy.fallbacks``: email by default).
- ``wrong_contact``: the account owner (the ``collector`` role) gets an internal notice to
  correct the contact, and the step goes out on its written channel meanwhile.
- ``promise_to_pay`` and ``dispute_raised`` are the disputes service's: nothing here.

Pure: :mod:`services.scheduler.deliveries` reads the call's reminder and attempts, asks
:func:`follow_up`, and writes what it says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

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
