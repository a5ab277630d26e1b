"""A small book of three customers and what happened to them, as public events.

- ``C-1001`` Atelier Dubois (FR01, collector C12): four open invoices in two currencies,
  a partial payment, a reminder that bounced, an overdue dispute, a broken promise and a
  phone call due today.
- ``C-666``, whose ERP name is ``<script>alert(1)</script>`` (FR01, collector C12): one
  invoice in a payment plan.
- ``C-2001`` Nordwind GmbH (DE02, collector C99, export): a failed delivery, outside C12's
  portfolio.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID, uuid5

from contracts import disputes, dunning, ledger, notifications
from contracts.envelope import Event
from contracts.erp import Contact, Segment
from contracts.money import Money, PositiveMoney
from contracts.topics import (
    DISPUTE_EVENTS,
    DUNNING_ACTIONS,
    LEDGER_EVENTS,
    NOTIFIER_DELIVERIES,
    Topic,
)

TODAY = date(2026, 3, 16)
NOW = datetime.combine(TODAY, time(9, 0), tzinfo=UTC)
SCRIPT_NAME = "<script>alert(1)</script>"
_NS = UUID("6c1c0f57-4a57-4f0e-8f0a-3b2f3c4d5e6f")


def uid(name: str) -> UUID:
    return uuid5(_NS, name)


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def money(amount: str, currency: str = "EUR") -> PositiveMoney:
    return PositiveMoney(amount=Decimal(amount), currency=currency)


def _customer(
    customer_id: str, company: str, name: str, tags: tuple[str, ...], market: str = "domestic"
) -> ledger.LedgerCustomerUpserted:
    return ledger.LedgerCustomerUpserted(
        event_id=uid(f"customer {customer_id}"),
        occurred_at=at(date(2026, 1, 1), 8),
        source="ingestion",
        payload=ledger.LedgerCustomer(
            customer_id=customer_id,
            company_code=company,
            version=1,
            name=name,
            country="FR" if company == "FR01" else "DE",
            time_zone="Europe/Paris",
            language="fr",
            contacts=(
                Contact(
                    role="billing",
                    name="Claire Martin",
                    email="compta@example.com",
                    phone="+33142000000",
                ),
            ),
            segment=Segment(market=market, tags=tags),
        ),
    )


def _invoice(
    customer_id: str,
    company: str,
    number: str,
    issued: date,
    due: date,
    amount: str,
    currency: str = "EUR",
) -> ledger.InvoiceOpened:
    return ledger.InvoiceOpened(
        event_id=uid(f"invoice {number}"),
        occurred_at=at(issued),
        source="ingestion",
        payload=ledger.OpenedInvoice(
            company_code=company,
            customer_id=customer_id,
            invoice_id=f"{company}/{number}",
            invoice_number=number,
            issue_date=issued,
            due_date=due,
            amount=money(amount, currency),
            open_amount=money(amount, currency),
        ),
    )


def _dunned(
    company: str, number: str, due: date, amount: str, open_amount: str, currency: str = "EUR"
) -> dunning.DunnedInvoice:
    return dunning.DunnedInvoice(
        invoice_id=f"{company}/{number}",
        invoice_number=number,
        due_date=due,
        amount=money(amount, currency),
        open_amount=money(open_amount, currency),
        days_overdue=(TODAY - due).days,
    )


def _reminder(
    name: str,
    customer_id: str,
    channel: str,
    when: datetime,
    invoices: tuple[dunning.DunnedInvoice, ...],
) -> dunning.ReminderDue:
    return dunning.ReminderDue(
        event_id=uid(f"reminder event {name}"),
        occurred_at=when,
        source="scheduler",
        payload=dunning.Reminder(
            reminder_id=uid(f"reminder {name}"),
            customer_id=customer_id,
            company_code="FR01" if customer_id != "C-2001" else "DE02",
            scenario_id="standard",
            step_name="level_1_" + channel,
            level="level_1",
            channel=channel,
            recipient_role="billing",
            template="level_1",
            language="fr",
            include_penalties=True,
            escalating=False,
            scheduled_for=when,
            invoices=invoices,
        ),
    )


def events() -> list[tuple[Topic, Event]]:
    """The story, in the order it happened."""
    a, s, n = "C-1001", "C-666", "C-2001"
    inv1 = _dunned("FR01", "INV-1", date(2026, 1, 31), "1200", "700")
    inv2 = _dunned("FR01", "INV-2", date(2026, 3, 3), "800", "800")
    inv4 = _dunned("FR01", "INV-4", date(2026, 2, 15), "300", "300", "USD")
    nd1 = _dunned("DE02", "INV-D1", date(2026, 1, 10), "5000", "5000")
    ledger_events: list[Event] = [
        _customer(a, "FR01", "Atelier Dubois SARL", ("collector:C12",)),
        _customer(s, "FR01", SCRIPT_NAME, ("collector:C12",)),
        _customer(n, "DE02", "Nordwind GmbH", ("collector:C99",), market="export"),
        _invoice(a, "FR01", "INV-1", date(2026, 1, 1), date(2026, 1, 31), "1200"),
        _invoice(a, "FR01", "INV-2", date(2026, 2, 1), date(2026, 3, 3), "800"),
        _invoice(a, "FR01", "INV-3", date(2026, 3, 15), date(2026, 4, 15), "500"),
        _invoice(a, "FR01", "INV-4", date(2026, 1, 16), date(2026, 2, 15), "300", "USD"),
        _invoice(s, "FR01", "INV-9", date(2026, 1, 2), date(2026, 2, 1), "900"),
        _invoice(n, "DE02", "INV-D1", date(2025, 12, 10), date(2026, 1, 10), "5000"),
        ledger.OpenAmountChanged(
            event_id=uid("payment INV-1"),
            occurred_at=at(date(2026, 2, 10)),
            source="ingestion",
            payload=ledger.OpenAmountChange(
                company_code="FR01",
                customer_id=a,
                invoice_id="FR01/INV-1",
                invoice_number="INV-1",
                previous_open_amount=Money(amount=Decimal(1200), currency="EUR"),
                open_amount=money("700"),
                cause="payment",
                cause_document_id="PAY-77",
                due_date=date(2026, 1, 31),
                amount=money("1200"),
            ),
        ),
    ]
    email = _reminder("email A", a, "email", at(date(2026, 3, 5), 9), (inv1, inv2))
    call = _reminder("call A", a, "phone_call", at(TODAY, 8), (inv4,))
    letter = _reminder("letter N", n, "email", at(date(2026, 2, 20), 9), (nd1,))
    dunning_events: list[Event] = [
        email,
        call,
        letter,
        dunning.DunningStateChanged(
            event_id=uid("state INV-1"),
            occurred_at=at(date(2026, 3, 5), 9),
            source="scheduler",
            payload=dunning.InvoiceDunningState(
                customer_id=a,
                company_code="FR01",
                invoice_id="FR01/INV-1",
                scenario_id="standard",
                step_name="level_1_email",
                level="level_1",
                paused=False,
                last_action_at=at(date(2026, 3, 5), 9),
                next_action_at=at(date(2026, 3, 20), 9),
            ),
        ),
    ]
    delivery_events: list[Event] = [
        notifications.DeliveryBounced(
            event_id=uid("bounce A"),
            occurred_at=at(date(2026, 3, 5), 11),
            source="notifier",
            payload=notifications.Bounce(
                delivery_id=uid("delivery A"),
                reminder_id=email.payload.reminder_id,
                customer_id=a,
                invoice_ids=("FR01/INV-1", "FR01/INV-2"),
                channel="email",
                at=at(date(2026, 3, 5), 11),
                provider="smtp",
                kind="hard",
                reason="550 mailbox unknown",
            ),
        ),
        notifications.DeliveryFailed(
            event_id=uid("failure N"),
            occurred_at=at(date(2026, 2, 20), 10),
            source="notifier",
            payload=notifications.Failure(
                delivery_id=uid("delivery N"),
                reminder_id=letter.payload.reminder_id,
                customer_id=n,
                invoice_ids=("DE02/INV-D1",),
                channel="email",
                at=at(date(2026, 2, 20), 10),
                reason="no email contact",
                retryable=False,
            ),
        ),
    ]
    dispute_events: list[Event] = [
        disputes.DisputeOpened(
            event_id=uid("dispute opened A"),
            occurred_at=at(date(2026, 3, 6)),
            source="disputes",
            payload=disputes.OpenedDispute(
                dispute_id=uid("dispute A"),
                customer_id=a,
                invoice_ids=("FR01/INV-2",),
                category="delivery",
                text="Livraison incomplète <b>2 cartons manquants</b>",
                raised_by="customer",
                owner_role="sales",
                due_date=date(2026, 3, 10),
            ),
        ),
        disputes.PromiseMade(
            event_id=uid("promise made A"),
            occurred_at=at(date(2026, 3, 2)),
            source="disputes",
            payload=disputes.Promise(
                promise_id=uid("promise A"),
                customer_id=a,
                invoice_ids=("FR01/INV-1",),
                promised_date=date(2026, 3, 13),
                amount=money("700"),
                channel="phone_call",
                recorded_by="local:camille",
            ),
        ),
        disputes.PromiseBroken(
            event_id=uid("promise broken A"),
            occurred_at=at(date(2026, 3, 14), 6),
            source="disputes",
            payload=disputes.BrokenPromise(
                promise_id=uid("promise A"),
                customer_id=a,
                invoice_ids=("FR01/INV-1",),
                promised_date=date(2026, 3, 13),
                amount=money("700"),
                received=Money(amount=Decimal(0), currency="EUR"),
            ),
        ),
        disputes.PaymentPlanAgreed(
            event_id=uid("plan S"),
            occurred_at=at(date(2026, 2, 20)),
            source="disputes",
            payload=disputes.PaymentPlan(
                plan_id=uid("plan S"),
                customer_id=s,
                invoice_ids=("FR01/INV-9",),
                agreed_on=date(2026, 2, 20),
                instalments=(
                    disputes.Instalment(due_date=date(2026, 3, 20), amount=money("450")),
                    disputes.Instalment(due_date=date(2026, 4, 20), amount=money("450")),
                ),
                agreed_by="local:camille",
            ),
        ),
    ]
    story: list[tuple[Topic, Event]] = (
        [(LEDGER_EVENTS, e) for e in ledger_events]
        + [(DUNNING_ACTIONS, e) for e in dunning_events]
        + [(NOTIFIER_DELIVERIES, e) for e in delivery_events]
        + [(DISPUTE_EVENTS, e) for e in dispute_events]
    )
    return sorted(story, key=lambda pair: pair[1].occurred_at)


def call_closed() -> tuple[Topic, Event]:
    """The phone call due today, made: the customer promised."""
    return NOTIFIER_DELIVERIES, notifications.CallTaskClosed(
        event_id=uid("call closed A"),
        occurred_at=NOW + timedelta(minutes=30),
        source="notifier",
        payload=notifications.ClosedCallTask(
            task_id=uid("task A"),
            reminder_id=uid("reminder call A"),
            customer_id="C-1001",
            invoice_ids=("FR01/INV-4",),
            outcome="promise_to_pay",
            promised_date=date(2026, 3, 27),
            promised_amount=money("300", "USD"),
            closed_by="local:camille",
            note="Rappeler le 27 si rien <i>reçu</i>",
        ),
    )
