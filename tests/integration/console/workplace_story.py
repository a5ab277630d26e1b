"""What the story of :mod:`story` adds for My day's other sources and the team's pages: the
call due today made a call task, money arrived for an invoice not known yet, the plan of
C-666 missed its first instalment."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from contracts import disputes, ledger, notifications
from contracts.envelope import Event
from contracts.money import Money
from contracts.topics import DISPUTE_EVENTS, LEDGER_EVENTS, NOTIFIER_DELIVERIES, Topic
from tests.integration.console.story import at, money, uid

TASK_ID = uid("task A")


def workplace_events() -> list[tuple[Topic, Event]]:
    return [
        (
            NOTIFIER_DELIVERIES,
            notifications.DeliverySent(
                event_id=uid("call task created A"),
                occurred_at=at(date(2026, 3, 16), 7),
                source="notifier",
                payload=notifications.ProviderDelivery(
                    delivery_id=uid("delivery call A"),
                    reminder_id=uid("reminder call A"),
                    customer_id="C-1001",
                    invoice_ids=("FR01/INV-4",),
                    channel="phone_call",
                    at=at(date(2026, 3, 16), 7),
                    provider="call_task",
                    provider_tracking_id=str(TASK_ID),
                ),
            ),
        ),
        (
            LEDGER_EVENTS,
            ledger.UnmatchedCashRecorded(
                event_id=uid("unmatched A"),
                occurred_at=at(date(2026, 3, 12)),
                source="ingestion",
                payload=ledger.UnmatchedCash(
                    company_code="FR01",
                    customer_id="C-1001",
                    kind="payment",
                    document_id="PAY-77",
                    amount=money("2400"),
                    value_date=date(2026, 3, 12),
                    awaiting=("INV-99",),
                ),
            ),
        ),
        (
            DISPUTE_EVENTS,
            disputes.PaymentPlanInstalmentMissed(
                event_id=uid("instalment missed S"),
                occurred_at=at(date(2026, 3, 21)),
                source="disputes",
                payload=disputes.MissedInstalment(
                    plan_id=uid("plan S"),
                    customer_id="C-666",
                    invoice_ids=("FR01/INV-9",),
                    instalment_number=1,
                    due_date=date(2026, 3, 20),
                    amount=money("450"),
                    received=Money(amount=Decimal("50"), currency="EUR"),
                ),
            ),
        ),
    ]
