"""The pure selection of ad-hoc campaigns."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from contracts.erp import Segment
from services.scheduler.domain.assignment import Assignment
from services.scheduler.domain.campaign import Campaign, select
from services.scheduler.domain.state import Customer, InvoiceState

NOW = datetime(2026, 12, 15, 9, 30, tzinfo=UTC)
TODAY = NOW.date()


def client(customer_id: str, last_contact: datetime | None = None) -> Customer:
    return Customer(
        customer_id,
        "FR01",
        "FR",
        "Europe/Paris",
        "fr",
        Segment(payer_profile="negligent"),
        last_contact,
    )


def invoice(
    customer_id: str,
    number: str,
    due: date,
    open_amount: str,
    currency: str = "EUR",
    pause: str | None = None,
) -> InvoiceState:
    return InvoiceState(
        invoice_id=f"FR01/{number}",
        customer_id=customer_id,
        company_code="FR01",
        invoice_number=number,
        due_date=due,
        currency=currency,
        amount=Decimal(open_amount),
        open_amount=Decimal(open_amount),
        scenario_id="negligent",
        next_step="friendly",
        scenario_version=None,
        status="active",
        pause_reason=pause,
        resumed=False,
        last_step_name=None,
        last_level=None,
        last_action_at=None,
        next_action_at=None,
    )


def campaign(**select_: object) -> Campaign:
    return Campaign.model_validate(
        {
            "id": "c",
            "step": {"name": "s", "level": "level_1", "channel": "email", "template": "t"},
            "select": select_,
        }
    )


def test_overdue_range_open_amount_and_pauses_choose_the_invoices() -> None:
    rows = [
        invoice("C1", "A", TODAY - timedelta(days=5), "100"),
        invoice("C1", "B", TODAY - timedelta(days=40), "100"),  # too old
        invoice("C1", "C", TODAY - timedelta(days=10), "20"),  # too small
        invoice("C1", "D", TODAY - timedelta(days=10), "100", pause="promise_to_pay"),
        invoice("C1", "E", TODAY + timedelta(days=3), "100"),  # not yet due
    ]
    outcome = select(
        campaign(min_days_overdue=1, max_days_overdue=30, min_open_amount="50"),
        Assignment(),
        [(client("C1"), rows)],
        now=NOW,
        today_of={"C1": TODAY},
        min_gap=timedelta(days=1),
    )
    (target,) = outcome.targets
    assert [i.invoice_number for i in target.invoices] == ["A"]


def test_the_customer_total_is_reached_in_one_currency_not_summed_across() -> None:
    rows = [
        invoice("C1", "A", TODAY - timedelta(days=5), "600", "EUR"),
        invoice("C1", "B", TODAY - timedelta(days=5), "600", "USD"),
    ]
    outcome = select(
        campaign(min_customer_total="1000"),
        Assignment(),
        [(client("C1"), rows)],
        now=NOW,
        today_of={"C1": TODAY},
        min_gap=timedelta(days=1),
    )
    assert outcome.targets == []
    assert outcome.skipped == {"C1": "nothing_selected"}


def test_opt_outs_gap_and_earlier_reach_are_reported() -> None:
    due = TODAY - timedelta(days=5)
    outcome = select(
        campaign(),
        Assignment(opt_out_customers=frozenset({"C1"}), opt_out_invoices=frozenset({"FR01/Z"})),
        [
            (client("C1"), [invoice("C1", "A", due, "100")]),
            (client("C2", NOW - timedelta(hours=3)), [invoice("C2", "B", due, "100")]),
            (client("C3"), [invoice("C3", "C", due, "100")]),
            (client("C4"), [invoice("C4", "Z", due, "100")]),
        ],
        now=NOW,
        today_of={c: TODAY for c in ("C1", "C2", "C3", "C4")},
        min_gap=timedelta(days=1),
        already_reached=frozenset({"C3"}),
    )
    assert outcome.skipped == {
        "C1": "opted_out",
        "C2": "min_gap",
        "C3": "already_reached",
        "C4": "nothing_selected",
    }
