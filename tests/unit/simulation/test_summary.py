from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from contracts.dunning import SendingResumed, SendingSuspended, Suspension, SuspensionLifted
from simulation.generator import Size
from simulation.run import SuspensionPlan, SuspensionRecord
from simulation.summary import (
    DsoRow,
    drop_lines,
    dso_lines,
    held_lines,
    months_spanned,
    suspension_lines,
    unmatched_cash_lines,
)


def test_months_spanned_counts_every_month_touched() -> None:
    assert months_spanned(date(2026, 1, 5), date(2026, 1, 31)) == 1
    assert months_spanned(date(2026, 1, 5), date(2026, 2, 18)) == 2
    assert months_spanned(date(2025, 11, 30), date(2026, 2, 1)) == 4


@pytest.mark.parametrize(("size", "months"), [(Size.small(), 2), (Size.demo(), 5)])
def test_the_demo_histories_cover_their_last_month(size: Size, months: int) -> None:
    # the small demo: 2026-01-05 to 2026-02-18; the full one: 2026-01-05 to 2026-05-04
    last = size.start + timedelta(days=size.days - 1)
    assert months_spanned(size.start, last) == months


def test_months_spanned_refuses_an_end_before_the_start() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        months_spanned(date(2026, 2, 1), date(2026, 1, 31))


def test_dso_lines_one_line_per_company_months_in_order() -> None:
    rows = [
        DsoRow("GB01", date(2026, 2, 1), Decimal("33.38")),
        DsoRow("FR01", date(2026, 2, 1), Decimal("41.16")),
        DsoRow("FR01", date(2026, 1, 1), Decimal("53.20")),
        DsoRow("GB01", date(2026, 1, 1), None),
    ]
    assert dso_lines(rows, date(2026, 2, 18)) == [
        "DSO (countback, days) per company and month, as of 2026-02-18 (reporting.dso_monthly):",
        "  FR01: Jan 53, Feb 41",
        "  GB01: Jan -, Feb 33",
    ]


def test_dso_lines_without_rows_say_so_instead_of_an_empty_header() -> None:
    lines = dso_lines([], date(2026, 2, 18))
    assert len(lines) == 1
    assert lines[0].startswith("DSO (countback, days) per company and month, as of 2026-02-18: ")
    assert "none" in lines[0]


def test_drops_are_counted_by_reason() -> None:
    assert drop_lines(Counter()) == ["Drops (delivery.suppressed): none"]
    assert drop_lines(Counter({"suspended": 3, "invoice_settled": 2})) == [
        "Drops (delivery.suppressed): 5, by reason: invoice_settled 2, suspended 3"
    ]


def test_suspensions_say_who_when_and_why() -> None:
    at = datetime(2026, 1, 19, 6, tzinfo=UTC)
    suspension_id = uuid.uuid4()
    events: list[SendingSuspended | SendingResumed] = [
        SendingSuspended(
            event_id=uuid.uuid4(),
            occurred_at=at,
            source="relance.scheduler",
            payload=Suspension(
                suspension_id=suspension_id,
                company_code="FR01",
                by="ops@example.com",
                reason="ERP migration",
                at=at,
            ),
        ),
        SendingResumed(
            event_id=uuid.uuid4(),
            occurred_at=at + timedelta(days=7),
            source="relance.scheduler",
            payload=SuspensionLifted(
                suspension_id=suspension_id, by="ops@example.com", at=at + timedelta(days=7)
            ),
        ),
    ]
    assert suspension_lines(events, "planned: FR01") == [
        "Suspensions of sending (planned: FR01):",
        "  2026-01-19 06:00 suspended FR01 by ops@example.com: ERP migration",
        "  2026-01-26 06:00 resumed every company by ops@example.com",
    ]
    assert "none announced" in suspension_lines([], "none planned")[1]


def test_unmatched_cash_per_company_and_currency_with_the_oldest() -> None:
    day = date(2026, 2, 18)
    rows = [
        {
            "company_code": "FR01",
            "currency": "EUR",
            "amount": Decimal("120.50"),
            "over_alert_age": True,
            "age_days": 9,
            "kind": "payment",
            "document_id": "PAY-1",
            "customer_id": "C1",
            "awaiting": ["FR01/INV-9"],
        },
        {
            "company_code": "FR01",
            "currency": "EUR",
            "amount": Decimal("80"),
            "over_alert_age": False,
            "age_days": 2,
            "kind": "credit_note",
            "document_id": "CN-2",
            "customer_id": "C2",
            "awaiting": ["FR01/INV-7"],
        },
    ]
    assert unmatched_cash_lines(rows, day) == [
        "Unmatched cash on 2026-02-18 (reporting.unmatched_cash_as_of): 2 documents, "
        "1 past the alert age",
        "  FR01 EUR 200",
        "  oldest: payment PAY-1 of C1, 9 days, awaiting FR01/INV-9",
    ]
    assert unmatched_cash_lines([], day) == [
        "Unmatched cash on 2026-02-18 (reporting.unmatched_cash_as_of): none"
    ]


def test_held_lines_count_what_the_suspension_held_released_and_dropped() -> None:
    at = datetime(2026, 1, 19, 6, tzinfo=UTC)
    record = SuspensionRecord(
        SuspensionPlan("FR01", 14, 21),
        suspended_at=at,
        resumed_at=at + timedelta(days=7),
        held={"FR01/A", "FR01/B", "FR01/C", "FR01/D"},
        paid_meanwhile={"FR01/D"},
        held_deliveries=2,
    )
    reminded = {"FR01/A": "r1", "FR01/B": "r1", "FR01/C": "r2", "FR01/D": "r3", "DE01/X": "r4"}
    assert held_lines(record, reminded, {"r2", "r4"}) == [
        "  held: 4 invoices whose reminder fell due while suspended, 2 deliveries waiting "
        "in the notifier at the resumption",
        "  released after the resumption: 2 invoices in 1 reminders (the catch-up: the latest "
        "step due, in the sending window)",
        "  dropped because paid meanwhile: 2 invoices (1 settled before the resumption, never "
        "reminded; 1 paid on the resumption's day, their catch-up reminder dropped by the "
        "notifier: invoice_settled)",
    ]
    unlifted = SuspensionRecord(SuspensionPlan("FR01", 14, 21), suspended_at=at)
    assert "not lifted" in held_lines(unlifted, {}, set())[0]
