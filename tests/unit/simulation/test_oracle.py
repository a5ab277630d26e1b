from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from simulation.generator import (
    Customer,
    Dispute,
    History,
    Invoice,
    Movement,
    PromiseToPay,
    Size,
)
from simulation.oracle import (
    Expected,
    Silence,
    affected_invoices,
    business_day_on_or_after,
    expected_actions,
    expected_open_amounts,
    inside_window,
    settled_after_decision,
)

START = date(2026, 1, 5)  # a Monday

LIBRARY = """
id: plain
max_amicable_days: 20
exit_action: doubtful_debt
steps:
  - {name: before, level: preventive, offset_days: -2, channel: email}
  - {name: first, level: level_1, offset_days: 3, channel: sms}
  - {name: second, level: level_1, offset_days: 4, channel: phone_call}
  - {name: third, level: level_2, offset_days: 12, channel: postal_letter}
"""
ASSIGNMENT = """
rules:
  - scenario: null
    when: {payer_profile: [good_payer]}
  - scenario: plain
    when: {}
"""


def library(tmp_path: Path) -> Path:
    (tmp_path / "plain.yaml").write_text(LIBRARY)
    (tmp_path / "assignment.yaml").write_text(ASSIGNMENT)
    return tmp_path


def customer(customer_id: str, profile: str = "negligent", country: str = "FR") -> Customer:
    return Customer(
        customer_id=customer_id,
        company_code="FR01",
        currency="EUR",
        name=customer_id,
        country=country,
        time_zone="Europe/Paris",
        language="fr",
        profile=profile,  # type: ignore[arg-type]
        customer_type="business",
        market="domestic",
        risk="medium",
    )


def invoice(customer_id: str, number: str, issue_day: int, due: date) -> Invoice:
    return Invoice(
        invoice_id=f"FR01/{number}",
        number=number,
        customer_id=customer_id,
        company_code="FR01",
        currency="EUR",
        issue_day=issue_day,
        issue_date=START + timedelta(days=issue_day),
        due_date=due,
        amount=Decimal("100.00"),
        terms="30 days net",
    )


def history(
    invoices: list[Invoice],
    customers: list[Customer],
    movements: list[Movement] = (),  # type: ignore[assignment]
    disputes: list[Dispute] = (),  # type: ignore[assignment]
    days: int = 40,
    promises: list[PromiseToPay] = (),  # type: ignore[assignment]
) -> History:
    return History(
        size=Size(customers=len(customers), invoices=len(invoices), days=days, start=START),
        seed=0,
        customers={c.customer_id: c for c in customers},
        invoices={i.invoice_id: i for i in invoices},
        movements=list(movements),
        disputes=list(disputes),
        timeline=[[] for _ in range(days)],
        commands=[[] for _ in range(days)],
        opening_customers=[],
        promises=list(promises),
    )


def test_business_days_skip_weekends_and_the_countrys_holidays() -> None:
    assert business_day_on_or_after(date(2026, 1, 10), "FR") == date(2026, 1, 12)
    assert business_day_on_or_after(date(2026, 1, 1), "FR") == date(2026, 1, 2)
    assert business_day_on_or_after(date(2026, 1, 6), "ES") == date(2026, 1, 7)  # Epiphany
    assert business_day_on_or_after(date(2026, 1, 6), "FR") == date(2026, 1, 6)


def test_each_step_on_its_business_day_then_the_exit(tmp_path: Path) -> None:
    due = date(2026, 1, 14)  # a Wednesday
    found = expected_actions(
        history([invoice("C1", "A", 0, due)], [customer("C1")]),
        library(tmp_path),
        disputes_pause=True,
    )
    # "first" falls on Saturday 17 and "second" on Sunday 18: both move to Monday 19,
    # where only the latest is sent and the earlier one is skipped
    assert found == {
        Expected("FR01/A", date(2026, 1, 12), "before", "preventive", "email"),
        Expected("FR01/A", date(2026, 1, 19), "second", "level_1", "phone_call"),
        Expected("FR01/A", date(2026, 1, 26), "third", "level_2", "postal_letter"),
        Expected("FR01/A", date(2026, 2, 3), "exit:doubtful_debt", "exit", "-"),
    }


def test_an_invoice_known_late_takes_only_the_latest_step_due(tmp_path: Path) -> None:
    due = date(2025, 12, 31)
    found = expected_actions(
        history([invoice("C1", "A", -40, due)], [customer("C1")], days=12),
        library(tmp_path),
        disputes_pause=True,
    )
    assert found == {
        # on day 0, "before", "first" and "second" are all due: only "second" is sent
        Expected("FR01/A", START, "second", "level_1", "phone_call"),
        Expected("FR01/A", date(2026, 1, 12), "third", "level_2", "postal_letter"),
    }


def test_settled_disputed_and_unassigned_invoices_get_nothing_more(tmp_path: Path) -> None:
    due = date(2026, 1, 14)
    invoices = [
        invoice("C1", "PAID", 0, due),
        invoice("C2", "DISPUTED", 0, due),
        invoice("C3", "GOOD", 0, due),
    ]
    dispute = Dispute(uuid.uuid4(), "C2", ("FR01/DISPUTED",), 8, None, None)
    h = history(
        invoices,
        [customer("C1"), customer("C2"), customer("C3", profile="good_payer")],
        movements=[Movement(10, "FR01/PAID", Decimal("100.00"), "payment")],
        disputes=[dispute],
    )
    found = expected_actions(h, library(tmp_path), disputes_pause=True)
    assert found == {
        Expected("FR01/PAID", date(2026, 1, 12), "before", "preventive", "email"),
        Expected("FR01/DISPUTED", date(2026, 1, 12), "before", "preventive", "email"),
    }
    unpaused = expected_actions(h, library(tmp_path), disputes_pause=False)
    assert Expected("FR01/DISPUTED", date(2026, 1, 19), "second", "level_1", "phone_call") in (
        unpaused
    )
    assert expected_open_amounts(h) == {
        "FR01/PAID": Decimal(0),
        "FR01/DISPUTED": Decimal("100.00"),
        "FR01/GOOD": Decimal("100.00"),
    }


def test_a_silent_day_moves_the_step_to_the_next_business_day_as_a_catch_up(
    tmp_path: Path,
) -> None:
    due = date(2026, 1, 14)
    plain = history([invoice("C1", "A", 0, due)], [customer("C1")])
    # the scheduler away on Monday 19 ("second" due), suspended for FR01 on Tuesday 20 too
    outage = Silence(frozenset({14}), {"FR01": frozenset({15})})
    found = expected_actions(plain, library(tmp_path), disputes_pause=True, silence=outage)
    assert Expected("FR01/A", date(2026, 1, 21), "second", "level_1", "phone_call") in found
    assert not {a for a in found if a.day in (date(2026, 1, 19), date(2026, 1, 20))}
    other = Silence(suspended={"DE01": frozenset({14})})  # another company: no change
    assert expected_actions(
        plain, library(tmp_path), disputes_pause=True, silence=other
    ) == expected_actions(plain, library(tmp_path), disputes_pause=True)
    assert affected_invoices(
        found, expected_actions(plain, library(tmp_path), disputes_pause=True)
    ) == {"FR01/A"}


def test_a_catch_up_after_a_silence_ending_on_a_weekend_waits_for_monday(
    tmp_path: Path,
) -> None:
    due = date(2026, 1, 14)
    plain = history([invoice("C1", "A", 0, due)], [customer("C1")])
    silence = Silence(suspended={"FR01": frozenset(range(14, 19))})  # Monday 19 to Friday 23
    found = expected_actions(plain, library(tmp_path), disputes_pause=True, silence=silence)
    # "second" fell due on Monday 19: not sent on Saturday 24 nor Sunday 25; on Monday 26
    # "third" is due too, and only the latest goes
    assert not {a for a in found if a.day in (date(2026, 1, 24), date(2026, 1, 25))}
    assert Expected("FR01/A", date(2026, 1, 26), "third", "level_2", "postal_letter") in found
    assert not {a for a in found if a.step == "second"}


def test_the_sending_window_is_local_and_on_business_days() -> None:
    paris = customer("C1")
    assert inside_window(paris, datetime(2026, 1, 5, 8, 0, tzinfo=UTC))  # 09:00 in Paris
    assert not inside_window(paris, datetime(2026, 1, 5, 7, 59, tzinfo=UTC))
    assert not inside_window(paris, datetime(2026, 1, 5, 17, 0, tzinfo=UTC))  # 18:00
    assert not inside_window(paris, datetime(2026, 1, 10, 10, 0, tzinfo=UTC))  # Saturday
    assert not inside_window(paris, datetime(2026, 1, 1, 10, 0, tzinfo=UTC))  # New Year
    assert not inside_window(paris, datetime(2026, 1, 5, 19, 0, tzinfo=UTC))  # 20:00


def test_a_rejected_dispute_resumes_at_the_next_firmer_step(tmp_path: Path) -> None:
    due = date(2026, 1, 14)
    dispute = Dispute(uuid.uuid4(), "C1", ("FR01/A",), 8, 22, "rejected")  # Jan 13 to Jan 27
    found = expected_actions(
        history([invoice("C1", "A", 0, due)], [customer("C1")], disputes=[dispute]),
        library(tmp_path),
        disputes_pause=True,
    )
    # "before" (preventive) was sent on Jan 12; resolved on Tuesday 27 in the morning, the
    # minimum gap after the resolution passes it; on Wednesday 28 "first" (level_1), the
    # next firmer step, is sent although "second" and "third" are due too; then "third"
    # when it is the latest due (the next day), and the exit
    assert found == {
        Expected("FR01/A", date(2026, 1, 12), "before", "preventive", "email"),
        Expected("FR01/A", date(2026, 1, 28), "first", "level_1", "sms"),
        Expected("FR01/A", date(2026, 1, 29), "third", "level_2", "postal_letter"),
        Expected("FR01/A", date(2026, 2, 3), "exit:doubtful_debt", "exit", "-"),
    }


NOTICE_LIBRARY = """
id: plain
max_amicable_days: 20
exit_action: litigation
steps:
  - {name: first, level: level_1, offset_days: 3, channel: email}
  - {name: notice, level: formal_notice, offset_days: 16, channel: registered_letter}
"""


def notice_library(tmp_path: Path) -> Path:
    (tmp_path / "plain.yaml").write_text(NOTICE_LIBRARY)
    (tmp_path / "assignment.yaml").write_text(ASSIGNMENT)
    return tmp_path


def test_litigation_waits_for_the_notice_delay_after_the_exit_day(tmp_path: Path) -> None:
    due = date(2026, 1, 7)  # notice Friday 23 (D+16), exit day Tuesday 27 (D+20)
    found = expected_actions(
        history([invoice("C1", "A", 0, due)], [customer("C1")]),
        notice_library(tmp_path),
        disputes_pause=True,
    )
    assert found == {
        Expected("FR01/A", date(2026, 1, 12), "first", "level_1", "email"),
        Expected("FR01/A", date(2026, 1, 23), "notice", "formal_notice", "registered_letter"),
        # served on Friday 23: 8 days later is Saturday 31, so Monday 2 February
        Expected("FR01/A", date(2026, 2, 2), "exit:litigation", "exit", "-"),
    }


def test_a_catch_up_past_the_exit_day_takes_the_notice_first(tmp_path: Path) -> None:
    due = date(2025, 12, 10)  # exit day 30 December, known only on 5 January
    found = expected_actions(
        history([invoice("C1", "A", -40, due)], [customer("C1")], days=20),
        notice_library(tmp_path),
        disputes_pause=True,
    )
    assert found == {
        Expected("FR01/A", date(2026, 1, 5), "notice", "formal_notice", "registered_letter"),
        Expected("FR01/A", date(2026, 1, 13), "exit:litigation", "exit", "-"),
    }


def test_a_rejected_dispute_past_the_exit_day_resumes_then_serves_the_notice(
    tmp_path: Path,
) -> None:
    due = date(2026, 1, 2)  # "first" on 5 January, exit day 22 January
    dispute = Dispute(
        dispute_id=uuid.uuid4(),
        customer_id="C1",
        invoice_ids=("FR01/A",),
        opened_day=1,
        resolved_day=22,  # Tuesday 27 January, past the exit day
        outcome="rejected",
    )
    found = expected_actions(
        history([invoice("C1", "A", -30, due)], [customer("C1")], [], [dispute], days=40),
        notice_library(tmp_path),
        disputes_pause=True,
    )
    assert found == {
        Expected("FR01/A", date(2026, 1, 5), "first", "level_1", "email"),
        # the day after the resolution (the minimum gap after it), then 8 days later
        Expected("FR01/A", date(2026, 1, 28), "notice", "formal_notice", "registered_letter"),
        Expected("FR01/A", date(2026, 2, 5), "exit:litigation", "exit", "-"),
    }


def test_a_resumption_morning_decides_before_the_days_payment(tmp_path: Path) -> None:
    due = date(2026, 1, 5)  # "first" on Thursday 8, during the suspension
    paid = Movement(day=7, invoice_id="FR01/A", kind="payment", amount=Decimal("100.00"))
    silence = Silence(suspended={"FR01": frozenset(range(2, 7))})  # resumed Monday 12
    found = expected_actions(
        history([invoice("C1", "A", 0, due)], [customer("C1")], [paid]),
        notice_library(tmp_path),
        disputes_pause=True,
        silence=silence,
    )
    h = history([invoice("C1", "A", 0, due)], [customer("C1")], [paid])
    assert found == {Expected("FR01/A", date(2026, 1, 12), "first", "level_1", "email")}
    assert settled_after_decision(h, silence, ("FR01/A",), 7)
    assert not settled_after_decision(h, Silence(), ("FR01/A",), 7)


def test_the_morning_after_an_outage_decides_only_what_fell_due_before_the_payment(
    tmp_path: Path,
) -> None:
    # "first" due Monday 12 (D+3), the outage that day; both invoices paid on Tuesday 13
    late = invoice("C1", "A", 0, date(2026, 1, 9))
    today = invoice("C2", "B", 0, date(2026, 1, 10))  # "first" due Tuesday 13 itself
    paid = [
        Movement(day=8, invoice_id="FR01/A", kind="payment", amount=Decimal("100.00")),
        Movement(day=8, invoice_id="FR01/B", kind="payment", amount=Decimal("100.00")),
    ]
    h = history([late, today], [customer("C1"), customer("C2")], paid)
    outage = Silence(down=frozenset({7}))
    found = expected_actions(h, notice_library(tmp_path), disputes_pause=True, silence=outage)
    # decided at 06:00 on the 13th, before the payment; B's timer is for the window, after it
    assert found == {Expected("FR01/A", date(2026, 1, 13), "first", "level_1", "email")}
    assert settled_after_decision(h, outage, ("FR01/A",), 8)


def promise(recorded: int, promised: int, broken: int | None) -> PromiseToPay:
    return PromiseToPay(uuid.uuid4(), "C1", ("FR01/A",), recorded, promised, broken)


def test_a_broken_promise_resumes_at_once_at_the_next_firmer_step(tmp_path: Path) -> None:
    due = date(2026, 1, 14)  # "before" Jan 12, "first" and "second" Jan 19, "third" Jan 26
    weekday = promise(10, 14, 17)  # recorded Thursday 15, broken Thursday 22
    found = expected_actions(
        history([invoice("C1", "A", 0, due)], [customer("C1")], promises=[weekday]),
        library(tmp_path),
        disputes_pause=True,
    )
    # silent while promised (nothing on the 19th); broken on the 22nd: "first", the next
    # step firmer than "before", at once; the next day the latest step due ("second")
    assert found == {
        Expected("FR01/A", date(2026, 1, 12), "before", "preventive", "email"),
        Expected("FR01/A", date(2026, 1, 22), "first", "level_1", "sms"),
        Expected("FR01/A", date(2026, 1, 23), "second", "level_1", "phone_call"),
        Expected("FR01/A", date(2026, 1, 26), "third", "level_2", "postal_letter"),
        Expected("FR01/A", date(2026, 2, 3), "exit:doubtful_debt", "exit", "-"),
    }
    saturday = promise(10, 16, 19)  # broken on Saturday 24: back on Monday 26
    found = expected_actions(
        history([invoice("C1", "A", 0, due)], [customer("C1")], promises=[saturday]),
        library(tmp_path),
        disputes_pause=True,
    )
    assert {a for a in found if a.day in (date(2026, 1, 26), date(2026, 1, 27))} == {
        Expected("FR01/A", date(2026, 1, 26), "first", "level_1", "sms"),
        Expected("FR01/A", date(2026, 1, 27), "third", "level_2", "postal_letter"),
    }


def test_a_kept_promise_keeps_silent_until_the_payment(tmp_path: Path) -> None:
    due = date(2026, 1, 14)
    paid = Movement(day=16, invoice_id="FR01/A", kind="payment", amount=Decimal("100.00"))
    found = expected_actions(
        history(
            [invoice("C1", "A", 0, due)], [customer("C1")], [paid], promises=[promise(10, 16, None)]
        ),
        library(tmp_path),
        disputes_pause=True,
    )
    assert found == {Expected("FR01/A", date(2026, 1, 12), "before", "preventive", "email")}
