"""The disputes service's pure rules: routing, owner reminders, promises, plans, API roles."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.disputes import Instalment
from contracts.money import PositiveMoney
from services.disputes.domain import commitments, roles, rules
from services.disputes.domain.routing import (
    DEFAULT_DUE_DAYS,
    DEFAULT_OWNERS,
    ReminderPolicy,
    Routing,
    owner_reminder_id,
    working_day,
)
from services.disputes.errors import CommandRejected


def eur(value: str) -> PositiveMoney:
    return PositiveMoney(amount=Decimal(value), currency="EUR")


def test_each_category_goes_to_the_service_that_can_solve_it() -> None:
    routing = Routing(DEFAULT_OWNERS, DEFAULT_DUE_DAYS, people={"quality": "tech@creditor.example"})
    quality = routing.route("quality", date(2026, 12, 1))
    assert (quality.owner_role, quality.owner, quality.due_date) == (
        "technical",
        "tech@creditor.example",
        date(2026, 12, 16),
    )
    assert routing.route("accounting", date(2026, 12, 1)).owner_role == "accounting_team"
    assert routing.route("administrative", date(2026, 12, 1)).owner_role == ("order_administration")
    assert routing.route("commercial", date(2026, 12, 1)).owner is None


def test_owner_reminders_grow_firmer_and_reach_the_manager() -> None:
    policy = ReminderPolicy(
        every_days=3, firm_after_days=5, urgent_after_days=10, manager_after_days=15
    )
    assert [policy.firmness(d) for d in (1, 4, 5, 9, 10, 30)] == [
        "gentle",
        "gentle",
        "firm",
        "firm",
        "urgent",
        "urgent",
    ]
    assert [policy.escalated_to_manager(d) for d in (14, 15)] == [False, True]
    assert policy.first_day(date(2026, 12, 4)) == date(2026, 12, 7)  # Saturday -> Monday
    assert policy.next_day(date(2026, 12, 10)) == date(2026, 12, 14)


def test_owner_reminder_ids_are_deterministic_per_opening_and_number() -> None:
    dispute = uuid.uuid4()
    assert owner_reminder_id(dispute, 1, 1) == owner_reminder_id(dispute, 1, 1)
    assert len({owner_reminder_id(dispute, o, n) for o in (1, 2) for n in (1, 2)}) == 4


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)))
def test_a_working_day_is_never_a_weekend_nor_before(day: date) -> None:
    worked = working_day(day)
    assert worked.weekday() < 5
    assert day <= worked <= day + timedelta(days=2)


def test_a_promise_ends_when_the_promised_date_plus_the_grace_is_over() -> None:
    deadline = commitments.promise_deadline(date(2026, 12, 10), 2)
    assert deadline == date(2026, 12, 12)
    assert commitments.day_end(deadline, "Europe/Paris") == datetime(2026, 12, 12, 23, tzinfo=UTC)
    assert commitments.promise_kept(Decimal(500), Decimal(499), all_closed=False) is False
    assert commitments.promise_kept(Decimal(500), Decimal(500), all_closed=False) is True
    assert commitments.promise_kept(Decimal(500), Decimal(0), all_closed=True) is True


PLAN = (
    Instalment(due_date=date(2026, 12, 7), amount=eur("400")),
    Instalment(due_date=date(2026, 12, 21), amount=eur("400")),
    Instalment(due_date=date(2027, 1, 4), amount=eur("400")),
)


def test_payments_cover_instalments_in_order() -> None:
    assert commitments.plan_progress(PLAN, Decimal(0)).next_unpaid == 0
    assert commitments.plan_progress(PLAN, Decimal(400)).next_unpaid == 1
    assert commitments.plan_progress(PLAN, Decimal(1199)).next_unpaid == 2
    assert commitments.plan_progress(PLAN, Decimal(1200)).completed


def test_an_instalment_is_missed_only_after_its_grace() -> None:
    assert commitments.missed_instalment(PLAN, Decimal(500), date(2026, 12, 23), 2) is None
    missed = commitments.missed_instalment(PLAN, Decimal(500), date(2026, 12, 24), 2)
    assert missed is not None
    assert (missed.number, missed.received) == (2, Decimal(100))
    assert commitments.next_check(PLAN, Decimal(500), 2) == date(2026, 12, 23)
    assert commitments.next_check(PLAN, Decimal(1200), 2) is None


@given(st.decimals(min_value=0, max_value=2000, places=2))
def test_a_missed_instalment_always_received_less_than_its_amount(received: Decimal) -> None:
    missed = commitments.missed_instalment(PLAN, received, date(2027, 2, 1), 0)
    if received >= 1200:
        assert missed is None
    else:
        assert missed is not None
        assert 0 <= missed.received < missed.instalment.amount.amount


def test_the_broken_promise_rate_counts_decided_promises() -> None:
    assert commitments.broken_rate(0, 0) is None
    assert commitments.broken_rate(2, 1) == Decimal("0.3333")


def test_api_keys_are_parsed_with_their_roles_and_checked_in_constant_time() -> None:
    keys = roles.parse_keys("collector:c0llector-secret-key, reader:reader-secret-key-1")
    assert roles.role_of("c0llector-secret-key", keys) == "collector"
    assert roles.role_of("wrong", keys) is None
    assert roles.parse_keys("") == {}
    with pytest.raises(ValueError, match="unknown API role 'admin'"):
        roles.parse_keys("admin:0123456789abcdefgh")
    with pytest.raises(ValueError, match="shorter than 16"):
        roles.parse_keys("reader:short")
    assert roles.may("reader", "read")
    assert not roles.may("reader", "resolve_dispute")
    assert not roles.may("portal", "agree_plan")


def _invoice(status: str = "open", customer: str = "C1") -> rules.InvoiceView:
    return rules.InvoiceView("FR01/F1", customer, "EUR", Decimal(1200), status)


@pytest.mark.parametrize(
    ("invoice", "reason"),
    [
        (None, "unknown_invoice"),
        (_invoice(customer="C2"), "invoice_of_another_customer"),
        (_invoice("settled"), "invoice_already_settled"),
        (_invoice("cancelled"), "invoice_cancelled"),
    ],
)
def test_commands_on_invoices_that_cannot_be_disputed_are_rejected(
    invoice: rules.InvoiceView | None, reason: str
) -> None:
    known = {} if invoice is None else {"FR01/F1": invoice}
    with pytest.raises(CommandRejected) as caught:
        rules.check_invoices("C1", ["FR01/F1"], known)
    assert caught.value.reason == reason
    assert "FR01/F1" in caught.value.detail


def test_a_plan_starts_with_an_immediate_payment_and_covers_what_is_open() -> None:
    open_invoice = [_invoice()]
    rules.check_plan(PLAN, date(2026, 12, 7), date(2026, 12, 7), open_invoice, 7)
    late_start = (Instalment(due_date=date(2026, 12, 30), amount=eur("1200")),)
    with pytest.raises(CommandRejected, match="first_instalment_not_immediate"):
        rules.check_plan(late_start, date(2026, 12, 7), date(2026, 12, 7), open_invoice, 7)
    with pytest.raises(CommandRejected, match="instalments_do_not_cover"):
        rules.check_plan(PLAN[:2], date(2026, 12, 7), date(2026, 12, 7), open_invoice, 7)


def test_promised_dates_are_in_the_future_and_not_too_far() -> None:
    rules.check_promised_date(date(2026, 12, 7), date(2026, 12, 7), 90)
    with pytest.raises(CommandRejected, match="promised_date_in_past"):
        rules.check_promised_date(date(2026, 12, 6), date(2026, 12, 7), 90)
    with pytest.raises(CommandRejected, match="promised_date_too_far"):
        rules.check_promised_date(date(2027, 6, 6), date(2026, 12, 7), 90)
