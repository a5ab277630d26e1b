"""The customer page's header: the account team from the tags, the holds in force."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

from contracts import notifications
from services.console.domain.header import Hold, TeamMember, account_team_of, holds_in_force
from services.console.domain.timeline import entry_of

TODAY = date(2026, 3, 10)


def test_the_account_team_is_the_tags_that_name_a_role() -> None:
    team = account_team_of(["vip", "collector:C12", "sales:JMARTIN", "collector:C12", ":x", "y:"])
    assert team == [TeamMember("collector", "C12"), TeamMember("sales", "JMARTIN")]


def test_a_customer_hold_explains_its_invoices_paused_until_its_day() -> None:
    until = datetime(2026, 3, 30, tzinfo=UTC)
    holds = holds_in_force(
        [("INV-2", "hold", until), ("INV-1", "hold", until), ("INV-3", "dispute", None)],
        ("command.hold", {"until": "2026-03-30", "reason": "credit note pending", "by": "camille"}),
        TODAY,
    )
    assert holds == [Hold(date(2026, 3, 30), ("INV-1", "INV-2"), "credit note pending", "camille")]


def test_a_release_or_a_past_day_ends_the_customer_hold() -> None:
    released = holds_in_force([], ("command.release", {"by": "camille"}), TODAY)
    assert released == []
    past = holds_in_force([], ("command.hold", {"until": "2026-03-09", "by": "camille"}), TODAY)
    assert past == []
    lapsed_invoice = holds_in_force(
        [("INV-1", "hold", datetime(2026, 3, 10, tzinfo=UTC))], None, TODAY
    )
    assert lapsed_invoice == []


def test_a_hold_announced_before_the_invoices_are_paused_shows_for_the_whole_customer() -> None:
    holds = holds_in_force(
        [("INV-1", "hold", datetime(2026, 4, 1, tzinfo=UTC))],
        ("command.hold", {"until": "2026-03-30", "reason": "audit", "by": "dominique"}),
        TODAY,
    )
    assert holds == [
        Hold(date(2026, 3, 30), (), "audit", "dominique"),
        Hold(date(2026, 4, 1), ("INV-1",)),
    ]


def test_a_delivery_on_the_timeline_names_its_delivery() -> None:
    delivery_id = uuid4()
    event = notifications.DeliverySent(
        event_id=uuid4(),
        occurred_at=datetime(2026, 3, 10, 9, tzinfo=UTC),
        source="t",
        payload=notifications.ProviderDelivery(
            delivery_id=delivery_id,
            reminder_id=uuid4(),
            customer_id="FR01-C1",
            invoice_ids=("FR01/INV-1",),
            channel="email",
            at=datetime(2026, 3, 10, 9, tzinfo=UTC),
            provider="smtp",
        ),
    )
    entry = entry_of(event)
    assert entry is not None
    assert entry.kind == "delivery.sent"
    assert entry.facts["delivery"] == str(delivery_id)
