"""What a call's outcome leads to, and where a colleague's step may fall back: pure rules."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.dunning import Reminder
from contracts.erp import Segment
from services.runtime.business_days import SendingWindow, is_business_day
from services.scheduler.domain.calls import follow_up
from services.scheduler.domain.library import load_library
from services.scheduler.domain.state import DEFAULT_FALLBACKS, Customer, Policy
from services.scheduler.fallback import fallback_channel

POLICY = Policy(library=load_library(), window=SendingWindow(), min_gap=timedelta(hours=20))
PARIS = ZoneInfo("Europe/Paris")
CUSTOMER = Customer("C1", "FR01", "FR", "Europe/Paris", "fr", Segment(), None)


@settings(max_examples=100, deadline=None)
@given(
    now=st.datetimes(
        min_value=datetime(2026, 12, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    attempts=st.integers(1, 2),
)
def test_a_call_not_answered_is_tried_again_business_days_later_in_the_window(
    now: datetime, attempts: int
) -> None:
    decided = follow_up(POLICY, CUSTOMER, "no_answer", attempts, now)
    assert decided.kind == "call_again"
    assert decided.at is not None
    local = decided.at.astimezone(PARIS)
    assert is_business_day(local.date(), "FR")
    assert POLICY.window.start <= local.time() < POLICY.window.end
    business_days_between = [
        day
        for n in range(1, (local.date() - now.astimezone(PARIS).date()).days + 1)
        if is_business_day(day := now.astimezone(PARIS).date() + timedelta(days=n), "FR")
    ]
    assert len(business_days_between) == POLICY.call_retry_business_days


def test_after_the_last_attempt_the_written_channel_and_a_wrong_contact_asks_the_owner() -> None:
    now = datetime(2026, 12, 15, 14, tzinfo=UTC)
    assert follow_up(POLICY, CUSTOMER, "no_answer", POLICY.call_attempts, now).kind == "written"
    assert follow_up(POLICY, CUSTOMER, "wrong_contact", 0, now).kind == "fix_contact_and_written"
    assert follow_up(POLICY, CUSTOMER, "promise_to_pay", 0, now).kind == "nothing"


def reminder(channel: str, role: str) -> Reminder:
    return Reminder.model_validate(
        {
            "reminder_id": uuid.uuid4(),
            "customer_id": "C1",
            "company_code": "FR01",
            "scenario_id": "export",
            "step_name": "ask_sales",
            "level": "level_2",
            "channel": channel,
            "recipient_role": role,
            "template": "internal_help_request",
            "language": "fr",
            "include_penalties": False,
            "escalating": False,
            "scheduled_for": datetime(2026, 12, 15, 9, tzinfo=UTC),
            "invoices": [
                {
                    "invoice_id": "FR01/F1",
                    "invoice_number": "F1",
                    "due_date": date(2026, 12, 1),
                    "amount": {"amount": Decimal("100"), "currency": "EUR"},
                    "open_amount": {"amount": Decimal("100"), "currency": "EUR"},
                    "days_overdue": 14,
                }
            ],
        }
    )


@pytest.mark.parametrize("channel", sorted(DEFAULT_FALLBACKS))
def test_a_colleagues_step_never_falls_back_to_a_customer_channel(channel: str) -> None:
    internal = fallback_channel(POLICY, reminder(channel, "sales"))
    assert internal is None or internal == "email"
    assert fallback_channel(POLICY, reminder("email", "sales")) is None  # not to a letter
    assert fallback_channel(POLICY, reminder(channel, "billing")) == DEFAULT_FALLBACKS[channel]
