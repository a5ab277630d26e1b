"""The tick's contact rule, as a pure function: one reminder per customer, the firmest group
first, the minimum gap, the exits."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.erp import Segment
from services.runtime.business_days import SendingWindow, is_business_day
from services.scheduler.domain.contact_rule import decide
from services.scheduler.domain.library import load_library
from services.scheduler.domain.state import Customer, InvoiceState, Policy

NOW = datetime(2026, 12, 15, 9, 30, tzinfo=UTC)  # a Tuesday, 10:30 in Paris
POLICY = Policy(library=load_library(), window=SendingWindow(), min_gap=timedelta(hours=20))


def client(last_contact: datetime | None = None) -> Customer:
    return Customer(
        "C1", "FR01", "FR", "Europe/Paris", "fr", Segment(payer_profile="negligent"), last_contact
    )


def invoice(number: str, due: date, scenario_id: str | None = "negligent") -> InvoiceState:
    return InvoiceState(
        invoice_id=f"FR01/{number}",
        customer_id="C1",
        company_code="FR01",
        invoice_number=number,
        due_date=due,
        currency="EUR",
        amount=Decimal("1200.00"),
        open_amount=Decimal("1200.00"),
        scenario_id=scenario_id,
        next_step="friendly",  # the courtesy reminder was sent
        scenario_version=None,
        status="active",
        pause_reason=None,
        resumed=False,
        last_step_name="courtesy",
        last_level="preventive",
        last_action_at=NOW - timedelta(days=40),
        next_action_at=NOW - timedelta(hours=1),
    )


FRIENDLY_DUE = invoice("F1", date(2026, 12, 12))  # D+3: the friendly email is due
FIRM_DUE = invoice("F2", date(2026, 11, 15))  # D+30: the firm step, friendly and call passed


def test_the_firmest_group_is_reminded_and_the_others_wait_for_the_gap() -> None:
    decision = decide(POLICY, client(), [FRIENDLY_DUE, FIRM_DUE], NOW)

    assert decision.reminder is not None
    assert decision.reminder.step.name == "firm"
    assert [s.invoice_id for s in decision.reminder.invoices] == ["FR01/F2"]
    (moved,) = decision.reminder.moves
    assert (moved.after.next_step, moved.after.last_step_name) == ("registered", "firm")
    assert moved.after.last_action_at == NOW
    assert decision.skipped == (
        ("FR01/F2", "negligent", "friendly"),
        ("FR01/F2", "negligent", "call"),
    )
    (waiting,) = decision.postponed
    assert waiting.before == FRIENDLY_DUE
    assert waiting.after.next_action_at is not None
    assert waiting.after.next_action_at >= NOW + POLICY.min_gap
    assert waiting.after.next_step == FRIENDLY_DUE.next_step
    assert decision.spent == ()
    assert decision.escalations == ()


def test_a_customer_contacted_within_the_gap_gets_nothing_now() -> None:
    contacted = NOW - timedelta(hours=2)
    decision = decide(POLICY, client(contacted), [FRIENDLY_DUE, FIRM_DUE], NOW)

    assert decision.reminder is None
    assert {m.before.invoice_id for m in decision.postponed} == {"FR01/F1", "FR01/F2"}
    for move in decision.postponed:
        assert move.after.next_action_at is not None
        assert move.after.next_action_at >= contacted + POLICY.min_gap


def test_a_timer_with_nothing_to_take_is_spent() -> None:
    unassigned = invoice("F3", date(2026, 12, 12), scenario_id=None)
    decision = decide(POLICY, client(), [unassigned], NOW)

    assert decision.reminder is None
    (spent,) = decision.spent
    assert spent.after == replace(unassigned, next_action_at=None)


def test_invoices_past_the_amicable_phase_get_the_formal_notice_before_they_escalate() -> None:
    late = invoice("F4", date(2026, 9, 1))  # D+105, past the 75 amicable days
    decision = decide(POLICY, client(), [late], NOW)

    assert decision.escalations == ()  # no litigation without a formal notice
    assert decision.reminder is not None
    assert decision.reminder.step.level == "formal_notice"
    (moved,) = decision.reminder.moves
    assert moved.after.next_action_at is None  # the exit waits for the delivery

    noticed = replace(
        late,
        next_step=None,  # only the exit is left
        last_step_name="formal_notice",
        last_level="formal_notice",
        formal_notice_at=NOW - timedelta(days=10),
    )
    decision = decide(POLICY, client(), [noticed], NOW)
    (escalating,) = decision.escalations
    assert escalating.scenario.id == "negligent"
    (moved,) = escalating.moves
    assert (moved.after.status, moved.after.next_action_at) == ("escalated", None)
    assert decision.reminder is None

    recent = replace(noticed, formal_notice_at=NOW - timedelta(days=3))
    decision = decide(POLICY, client(), [recent], NOW)
    assert decision.escalations == ()
    (spent,) = decision.spent
    assert spent.after.next_action_at is not None
    assert spent.after.next_action_at >= NOW - timedelta(days=3) + POLICY.notice_delay


@settings(max_examples=200, deadline=None)
@given(
    now=st.datetimes(
        min_value=datetime(2026, 12, 1), max_value=datetime(2027, 6, 30), timezones=st.just(UTC)
    ),
    zone=st.sampled_from(["Europe/Paris", "America/New_York", "Asia/Tokyo"]),
    late_days=st.integers(0, 200),
)
def test_a_reminder_is_scheduled_in_the_window_whenever_the_tick_runs(
    now: datetime, zone: str, late_days: int
) -> None:
    """A restart at night, a catch-up after any outage, a resumption at any hour: the reminder
    is for the customer's next window instant on a business day, never before the tick."""
    who = replace(client(), time_zone=zone)
    due = now.date() - timedelta(days=late_days)
    state = replace(invoice("F9", due), last_action_at=None, next_action_at=now)
    decision = decide(POLICY, who, [state], now)
    if decision.reminder is None:
        return  # nothing due for this date (only the exit, waiting for its formal notice)
    at = decision.reminder.scheduled_for
    local = at.astimezone(ZoneInfo(zone))
    assert at >= now
    assert is_business_day(local.date(), who.country)
    assert POLICY.window.start <= local.time() < POLICY.window.end
    assert at - now < timedelta(days=5)  # the next instant, not a later one
    assert all(m.after.last_action_at == at for m in decision.reminder.moves)


def test_a_tick_before_the_window_sends_the_step_due_when_the_window_opens() -> None:
    """A catch-up at 06:00 Paris sends at 09:00: the step due at 09:00 (friendly, D+3), not
    the preventive courtesy reminder the invoice was still waiting for before its due date."""
    early = datetime(2026, 12, 15, 5, 0, tzinfo=UTC)  # Tuesday 06:00 in Paris
    fresh = replace(
        invoice("P1", date(2026, 12, 12)),
        next_step="courtesy",
        last_step_name=None,
        last_level=None,
        last_action_at=None,
        next_action_at=early - timedelta(days=8),
    )
    decision = decide(POLICY, client(), [fresh], early)

    assert decision.reminder is not None
    assert decision.reminder.step.name == "friendly"
    assert decision.reminder.scheduled_for == datetime(2026, 12, 15, 8, 0, tzinfo=UTC)
    assert decision.skipped == (("FR01/P1", "negligent", "courtesy"),)
