"""A generated event history and an independent pure-Python model of what reporting shows.

The history covers customers (one a consumer, all with contacts, some in a collector's
portfolio), invoices in EUR, USD and GBP opened partly or wholly open, partial payments,
credit notes, reversals, due-date corrections, settlements, cancellations, dunning states,
reminders and what became of their deliveries (sent late, failed then sent, suppressed),
disputes opened and resolved, promises, payment plans, escalations and exchange rates.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from contracts import disputes, dunning, ledger, notifications, reference
from contracts.envelope import Event
from contracts.erp import Contact, Segment
from contracts.money import Money, PositiveMoney
from contracts.topics import (
    DISPUTE_EVENTS,
    DUNNING_ACTIONS,
    FX_RATES,
    LEDGER_EVENTS,
    NOTIFIER_DELIVERIES,
    Topic,
)
from services.reporting.domain.aging import DEFAULT_EDGES, bucket_of
from services.reporting.domain.dso import MonthSales, countback_dso, month_end, months_back

TODAY = date(2026, 3, 1)
COLLECTORS = ("north", "south", None)
CENT = Decimal("0.01")
# Rates chosen so that inverses are exact decimals.
EUR_USD = {date(2025, 1, 1): Decimal("1.25"), date(2025, 12, 1): Decimal("1.6")}
GBP_EUR = {date(2025, 1, 1): Decimal("1.17"), date(2026, 1, 15): Decimal("1.2")}


@dataclass
class InvoiceModel:
    invoice_id: str
    company_code: str
    customer_id: str
    currency: str
    issue_date: date
    amount: Decimal
    # (day, open amount, due date) in the order they happened
    timeline: list[tuple[date, Decimal, date]] = field(default_factory=list)
    settled_on: date | None = None
    settled_by_payment: bool = False
    cancelled: bool = False

    def at(self, day: date) -> tuple[Decimal, date] | None:
        state = None
        for when, open_amount, due in self.timeline:
            if when <= day:
                state = (open_amount, due)
        return state


@dataclass
class DisputeModel:
    customer_id: str
    category: str
    owner_role: str
    opened_at: datetime
    due_date: date
    invoice_ids: tuple[str, ...]
    resolved_at: datetime | None = None
    outcome: str | None = None


@dataclass
class GeneratedLedger:
    events: list[tuple[Topic, Event]]
    invoices: dict[str, InvoiceModel]
    # expected rows: promise status, plan (status, missed), escalation totals
    promises: dict[str, str] = field(default_factory=dict)
    plans: dict[str, tuple[str, int]] = field(default_factory=dict)
    escalated: dict[str, Decimal] = field(default_factory=dict)
    # invoice -> (step, reminder time); invoice -> times of promises made, disputes opened
    reminders: list[tuple[str, str, datetime]] = field(default_factory=list)
    # step -> reminders decided (dunning.reminder.due), sent or not
    reminders_due: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    disputes: dict[str, DisputeModel] = field(default_factory=dict)
    collectors: dict[str, str | None] = field(default_factory=dict)
    promise_customers: dict[str, str] = field(default_factory=dict)
    escalated_currency: dict[str, str] = field(default_factory=dict)
    # delivery id -> (latest status, failures)
    deliveries: dict[str, tuple[str, int]] = field(default_factory=dict)
    promised_at: dict[str, list[datetime]] = field(default_factory=lambda: defaultdict(list))
    disputed_at: dict[str, list[datetime]] = field(default_factory=lambda: defaultdict(list))


def _at(day: date, seq: int) -> datetime:
    return datetime.combine(day, time(9, 0), tzinfo=UTC) + timedelta(seconds=seq)


def _money(amount: Decimal, currency: str) -> Money:
    return Money(amount=amount, currency=currency)


def _positive(amount: Decimal, currency: str) -> PositiveMoney:
    return PositiveMoney(amount=amount, currency=currency)


def generate(seed: int, invoice_count: int = 60) -> GeneratedLedger:
    rng = random.Random(seed)
    stamped: list[tuple[datetime, Topic, Event]] = []
    seq = 0

    def add(topic: Topic, day: date, event_type: type[Event], payload: object) -> Event:
        nonlocal seq
        seq += 1
        event = event_type.model_validate(
            {
                "event_id": uuid.UUID(int=rng.getrandbits(128)),
                "occurred_at": _at(day, seq),
                "source": "generator",
                "payload": payload,
            }
        )
        stamped.append((event.occurred_at, topic, event))
        return event

    for valid_on, rate in EUR_USD.items():
        add(
            FX_RATES,
            valid_on,
            reference.FxRatePublished,
            reference.FxRate(
                base_currency="EUR", quote_currency="USD", rate=rate, valid_on=valid_on
            ),
        )
    for valid_on, rate in GBP_EUR.items():
        add(
            FX_RATES,
            valid_on,
            reference.FxRatePublished,
            reference.FxRate(
                base_currency="GBP", quote_currency="EUR", rate=rate, valid_on=valid_on
            ),
        )

    customers = [(f"C{n}", "FR01" if n % 2 else "DE01") for n in range(8)]
    for n, (customer_id, company) in enumerate(customers):
        add(
            LEDGER_EVENTS,
            date(2025, 1, 2),
            ledger.LedgerCustomerUpserted,
            ledger.LedgerCustomer(
                customer_id=customer_id,
                company_code=company,
                version=1,
                name=f"Customer {n} SAS",
                country="FR",
                time_zone="Europe/Paris",
                language="fr",
                contacts=(
                    Contact(
                        role="billing",
                        name="Jeanne Payeur",
                        email=f"billing{n}@example.com",
                        phone="+33123456789",
                    ),
                ),
                segment=Segment(
                    customer_type="consumer" if n == 0 else "business",
                    tags=(("no-dunning",) if n == 5 else ())
                    + ((f"collector:{COLLECTORS[n % 3]}",) if COLLECTORS[n % 3] else ()),
                ),
            ),
        )

    invoices: dict[str, InvoiceModel] = {}
    disputes_opened: dict[str, Event] = {}
    dispute_models: dict[str, DisputeModel] = {}
    reminders: list[tuple[str, str, datetime]] = []
    reminders_due: dict[str, int] = defaultdict(int)
    deliveries: dict[str, tuple[str, int]] = {}
    for n in range(invoice_count):
        customer_id, company = customers[rng.randrange(len(customers))]
        currency = rng.choice(["EUR", "EUR", "USD", "GBP"])
        issue = TODAY - timedelta(days=rng.randrange(0, 270))
        due = issue + timedelta(days=rng.choice([0, 30, 45, 60]))
        amount = Decimal(rng.randrange(10_000, 500_000)) / 100
        open_amount = amount if rng.random() < 0.8 else (amount * Decimal("0.6")).quantize(CENT)
        number = f"INV-{n:04d}"
        invoice_id = ledger.invoice_id_of(company, number)
        model = InvoiceModel(invoice_id, company, customer_id, currency, issue, amount)
        invoices[invoice_id] = model
        add(
            LEDGER_EVENTS,
            issue,
            ledger.InvoiceOpened,
            ledger.OpenedInvoice(
                company_code=company,
                customer_id=customer_id,
                invoice_id=invoice_id,
                invoice_number=number,
                issue_date=issue,
                due_date=due,
                amount=_positive(amount, currency),
                open_amount=_positive(open_amount, currency),
            ),
        )
        model.timeline.append((issue, open_amount, due))
        day = issue
        ended = False
        for _ in range(rng.randrange(0, 4)):
            day = day + timedelta(days=rng.randrange(1, 40))
            if day > TODAY:
                break
            kind = rng.choice(
                ["payment", "credit_note", "reversal", "correction", "settle", "cancel"]
            )
            common = {
                "company_code": company,
                "customer_id": customer_id,
                "invoice_id": invoice_id,
                "invoice_number": number,
            }
            if kind in ("payment", "credit_note") and open_amount > 1:
                new = (open_amount * Decimal(rng.choice(["0.5", "0.25", "0.9"]))).quantize(CENT)
                if not 0 < new < open_amount:
                    continue
            elif kind == "reversal" and open_amount < amount:
                new = amount
            elif kind == "correction":
                new = open_amount
                due = due + timedelta(days=rng.choice([-10, 15]))
                if due < issue:
                    due = issue
            elif kind == "settle":
                add(
                    LEDGER_EVENTS,
                    day,
                    ledger.InvoiceSettled,
                    ledger.Settlement(
                        **common,
                        settled_on=day,
                        cause="payment",
                        cause_document_id=f"P-{n}",
                        previous_open_amount=_positive(open_amount, currency),
                        amount=_positive(amount, currency),
                        issue_date=issue,
                        due_date=due,
                    ),
                )
                model.timeline.append((day, Decimal(0), due))
                model.settled_on, model.settled_by_payment = day, True
                ended = True
                break
            elif kind == "cancel":
                add(
                    LEDGER_EVENTS,
                    day,
                    ledger.LedgerInvoiceCancelled,
                    ledger.Cancellation(
                        **common, previous_open_amount=_money(open_amount, currency)
                    ),
                )
                model.timeline.append((day, Decimal(0), due))
                model.cancelled = ended = True
                break
            else:
                continue
            cause = kind
            add(
                LEDGER_EVENTS,
                day,
                ledger.OpenAmountChanged,
                ledger.OpenAmountChange(
                    **common,
                    previous_open_amount=_money(open_amount, currency),
                    open_amount=_positive(new, currency),
                    cause=cause,
                    cause_document_id=f"D-{n}-{day}",
                    due_date=due,
                    amount=_positive(amount, currency),
                ),
            )
            open_amount = new
            model.timeline.append((day, open_amount, due))
        for step, after in (("first reminder", 3), ("second reminder", 15)):
            reminder_day = due + timedelta(days=after)
            if reminder_day > TODAY or rng.random() < 0.3:
                continue
            reminder = dunning.Reminder(
                reminder_id=uuid.UUID(int=rng.getrandbits(128)),
                customer_id=customer_id,
                company_code=company,
                scenario_id="standard",
                step_name=step,
                level="level_1",
                channel="phone_call" if step == "second reminder" and n % 3 == 0 else "email",
                recipient_role="billing",
                template="t",
                language="fr",
                include_penalties=False,
                escalating=False,
                scheduled_for=_at(reminder_day, 0),
                invoices=(
                    dunning.DunnedInvoice(
                        invoice_id=invoice_id,
                        invoice_number=number,
                        due_date=due,
                        amount=_positive(amount, currency),
                        open_amount=_positive(amount, currency),
                        days_overdue=after,
                    ),
                ),
            )
            add(DUNNING_ACTIONS, reminder_day, dunning.ReminderDue, reminder)
            reminders_due[step] += 1
            sent_at = _deliver(rng, add, reminder, reminder_day, deliveries)
            if sent_at is not None:
                reminders.append((invoice_id, step, sent_at))
        if not ended and rng.random() < 0.5:
            step_day = min(TODAY, due + timedelta(days=5))
            paused = rng.random() < 0.3
            add(
                DUNNING_ACTIONS,
                step_day,
                dunning.DunningStateChanged,
                dunning.InvoiceDunningState(
                    customer_id=customer_id,
                    company_code=company,
                    invoice_id=invoice_id,
                    scenario_id="standard",
                    step_name="first reminder",
                    level="level_1",
                    paused=paused,
                    pause_reason="promise_to_pay" if paused else None,
                    last_action_at=_at(step_day, 0),
                    next_action_at=None if paused else _at(step_day + timedelta(days=10), 0),
                ),
            )
        if not ended and rng.random() < 0.15:
            dispute_id = uuid.UUID(int=rng.getrandbits(128))
            category = rng.choice(["quality", "pricing", "delivery"])
            owner_role = rng.choice(["sales", "technical"])
            opened_day = min(TODAY, issue + timedelta(days=3))
            disputes_opened[invoice_id] = opened = add(
                DISPUTE_EVENTS,
                opened_day,
                disputes.DisputeOpened,
                disputes.OpenedDispute(
                    dispute_id=dispute_id,
                    customer_id=customer_id,
                    invoice_ids=(invoice_id,),
                    category=category,
                    text="Broken parts",
                    raised_by="customer",
                    owner_role=owner_role,
                    owner="jeanne.martin@example.com",
                    due_date=opened_day + timedelta(days=20),
                ),
            )
            model_dispute = DisputeModel(
                customer_id,
                category,
                owner_role,
                opened.occurred_at,
                opened_day + timedelta(days=20),
                (invoice_id,),
            )
            resolved_day = opened_day + timedelta(days=rng.randrange(2, 40))
            if rng.random() < 0.5 and resolved_day <= TODAY:
                outcome = rng.choice(["justified", "rejected"])
                resolved = add(
                    DISPUTE_EVENTS,
                    resolved_day,
                    disputes.DisputeResolved,
                    disputes.ResolvedDispute(
                        dispute_id=dispute_id,
                        customer_id=customer_id,
                        invoice_ids=(invoice_id,),
                        outcome=outcome,
                        by="jeanne.martin@example.com",
                        note="Customer Jeanne agreed",
                    ),
                )
                model_dispute.resolved_at, model_dispute.outcome = resolved.occurred_at, outcome
            dispute_models[str(dispute_id)] = model_dispute

    whole_id = uuid.UUID(int=rng.getrandbits(128))
    whole = add(
        DISPUTE_EVENTS,
        TODAY - timedelta(days=10),
        disputes.DisputeOpened,
        disputes.OpenedDispute(
            dispute_id=whole_id,
            customer_id="C7",
            whole_account=True,
            category="commercial",
            text="We contest the whole contract",
            raised_by="collector",
            owner_role="manager",
            due_date=TODAY - timedelta(days=2),
        ),
    )
    dispute_models[str(whole_id)] = DisputeModel(
        "C7", "commercial", "manager", whole.occurred_at, TODAY - timedelta(days=2), ()
    )
    generated = GeneratedLedger(
        [],
        invoices,
        reminders=reminders,
        reminders_due=reminders_due,
        disputes=dispute_models,
        collectors={c: COLLECTORS[n % 3] for n, (c, _) in enumerate(customers)},
        deliveries=deliveries,
    )
    for invoice_id, opened_dispute in disputes_opened.items():
        generated.disputed_at[invoice_id].append(opened_dispute.occurred_at)
    _promises_plans_escalations(rng, add, generated)
    stamped.sort(key=lambda item: item[0])
    generated.events = [(topic, event) for _, topic, event in stamped]
    return generated


def _deliver(
    rng: random.Random,
    add: Any,
    reminder: dunning.Reminder,
    day: date,
    deliveries: dict[str, tuple[str, int]],
) -> datetime | None:
    """What became of a reminder; when it was handed to a provider, if it was."""
    fate = rng.choice(["sent", "sent", "sent", "next_day", "failed_then_sent", "suppressed"])
    delivery_id = uuid.UUID(int=rng.getrandbits(128))
    common = {
        "delivery_id": delivery_id,
        "reminder_id": reminder.reminder_id,
        "customer_id": reminder.customer_id,
        "invoice_ids": tuple(i.invoice_id for i in reminder.invoices),
        "channel": reminder.channel,
    }
    if fate == "suppressed":
        add(
            NOTIFIER_DELIVERIES,
            day,
            notifications.DeliverySuppressed,
            notifications.Suppression(
                **common, at=reminder.scheduled_for, reason="invoice_disputed"
            ),
        )
        deliveries[str(delivery_id)] = ("suppressed", 0)
        return None
    sent_day = day
    if fate == "failed_then_sent":
        add(
            NOTIFIER_DELIVERIES,
            day,
            notifications.DeliveryFailed,
            notifications.Failure(
                **common,
                at=reminder.scheduled_for,
                reason="SMTP 451 for billing@example.com",
                retryable=True,
            ),
        )
    if fate in ("next_day", "failed_then_sent") and day < TODAY:
        sent_day = day + timedelta(days=1)
    sent_at = _at(sent_day, 0) + timedelta(minutes=10)
    add(
        NOTIFIER_DELIVERIES,
        sent_day,
        notifications.DeliverySent,
        notifications.ProviderDelivery(
            **common, at=sent_at, provider="smtp", provider_tracking_id="<m1@example.com>"
        ),
    )
    failures = int(fate == "failed_then_sent")
    deliveries[str(delivery_id)] = ("sent", failures)
    if reminder.channel == "phone_call":
        add(
            NOTIFIER_DELIVERIES,
            sent_day,
            notifications.CallTaskClosed,
            notifications.ClosedCallTask(
                task_id=uuid.UUID(int=rng.getrandbits(128)),
                reminder_id=reminder.reminder_id,
                customer_id=reminder.customer_id,
                invoice_ids=common["invoice_ids"],
                outcome="no_answer",
                closed_by="jeanne.martin@example.com",
                note="Called Jeanne on +33123456789",
            ),
        )
    elif rng.random() < 0.5:
        add(
            NOTIFIER_DELIVERIES,
            sent_day,
            notifications.DeliveryDelivered,
            notifications.ProviderDelivery(
                **common, at=sent_at + timedelta(hours=1), provider="smtp"
            ),
        )
        deliveries[str(delivery_id)] = ("delivered", failures)
    return sent_at


def _promises_plans_escalations(rng: random.Random, add: Any, generated: GeneratedLedger) -> None:
    open_invoices = [
        i for i in generated.invoices.values() if (s := i.at(TODAY)) is not None and s[0] > 0
    ]
    day = date(2026, 2, 1)
    for n, invoice in enumerate(open_invoices[:6]):
        promise_id = uuid.UUID(int=rng.getrandbits(128))
        amount = _positive(Decimal("100.00"), invoice.currency)
        common = {"customer_id": invoice.customer_id, "invoice_ids": (invoice.invoice_id,)}
        made = add(
            DISPUTE_EVENTS,
            day,
            disputes.PromiseMade,
            disputes.Promise(
                promise_id=promise_id,
                **common,
                promised_date=day + timedelta(days=10),
                amount=amount,
                channel="phone_call",
                recorded_by="jeanne@example.com",
            ),
        )
        generated.promised_at[invoice.invoice_id].append(made.occurred_at)
        outcome = ("pending", "kept", "broken")[n % 3]
        if outcome == "kept":
            add(
                DISPUTE_EVENTS,
                day + timedelta(days=9),
                disputes.PromiseKept,
                disputes.KeptPromise(
                    promise_id=promise_id, **common, kept_on=day + timedelta(days=9)
                ),
            )
        elif outcome == "broken":
            add(
                DISPUTE_EVENTS,
                day + timedelta(days=11),
                disputes.PromiseBroken,
                disputes.BrokenPromise(
                    promise_id=promise_id,
                    **common,
                    promised_date=day + timedelta(days=10),
                    amount=amount,
                    received=_money(Decimal(0), invoice.currency),
                ),
            )
        generated.promises[str(promise_id)] = outcome
        generated.promise_customers[str(promise_id)] = invoice.customer_id
    for n, invoice in enumerate(open_invoices[6:10]):
        plan_id = uuid.UUID(int=rng.getrandbits(128))
        common = {"customer_id": invoice.customer_id, "invoice_ids": (invoice.invoice_id,)}
        instalments = tuple(
            disputes.Instalment(
                due_date=day + timedelta(days=7 * k),
                amount=_positive(Decimal("50.00"), invoice.currency),
            )
            for k in range(1, 4)
        )
        add(
            DISPUTE_EVENTS,
            day,
            disputes.PaymentPlanAgreed,
            disputes.PaymentPlan(
                plan_id=plan_id,
                **common,
                agreed_on=day,
                instalments=instalments,
                agreed_by="collector-1",
            ),
        )
        status, missed = ("on_track", "broken", "completed", "on_track")[n], 0
        if status == "broken" or n == 3:
            add(
                DISPUTE_EVENTS,
                day + timedelta(days=8),
                disputes.PaymentPlanInstalmentMissed,
                disputes.MissedInstalment(
                    plan_id=plan_id,
                    **common,
                    instalment_number=1,
                    due_date=day + timedelta(days=7),
                    amount=instalments[0].amount,
                    received=_money(Decimal(0), invoice.currency),
                ),
            )
            missed = 1
        if status == "broken":
            add(
                DISPUTE_EVENTS,
                day + timedelta(days=9),
                disputes.PaymentPlanBroken,
                disputes.BrokenPaymentPlan(
                    plan_id=plan_id, **common, broken_on=day + timedelta(days=9), reason="missed"
                ),
            )
        elif status == "completed":
            add(
                DISPUTE_EVENTS,
                day + timedelta(days=22),
                disputes.PaymentPlanCompleted,
                disputes.CompletedPaymentPlan(
                    plan_id=plan_id, **common, completed_on=day + timedelta(days=22)
                ),
            )
        generated.plans[str(plan_id)] = (status, missed)
    for invoice in open_invoices[10:13]:
        state = invoice.at(TODAY)
        assert state is not None
        dunned = dunning.DunnedInvoice(
            invoice_id=invoice.invoice_id,
            invoice_number=invoice.invoice_id.split("/")[1],
            due_date=state[1],
            amount=_positive(invoice.amount, invoice.currency),
            open_amount=_positive(state[0], invoice.currency),
            days_overdue=(TODAY - state[1]).days,
        )
        event = add(
            DUNNING_ACTIONS,
            TODAY,
            dunning.EscalationRaised,
            dunning.Escalation(
                customer_id=invoice.customer_id,
                company_code=invoice.company_code,
                scenario_id="standard",
                action="collection_agency",
                invoices=(dunned,),
                total_open=(dunned.open_amount,),
            ),
        )
        generated.escalated[str(event.event_id)] = state[0]
        generated.escalated_currency[str(event.event_id)] = invoice.currency


def rate_on(currency: str, day: date) -> Decimal | None:
    def latest(table: dict[date, Decimal]) -> Decimal | None:
        known = [d for d in table if d <= day]
        return table[max(known)] if known else None

    if currency == "EUR":
        return Decimal(1)
    if currency == "USD":
        eur_usd = latest(EUR_USD)
        return None if eur_usd is None else Decimal(1) / eur_usd
    if currency == "GBP":
        return latest(GBP_EUR)
    raise ValueError(currency)


def aged_balance(
    invoices: dict[str, InvoiceModel], as_of: date, edges: tuple[int, ...] = DEFAULT_EDGES
) -> dict[tuple[str, str, str, str], tuple[int, Decimal, Decimal | None]]:
    """(company, customer, currency, bucket) -> (count, open amount, in EUR)."""
    totals: dict[tuple[str, str, str, str], list[Decimal]] = defaultdict(list)
    for invoice in invoices.values():
        state = invoice.at(as_of)
        if state is None or state[0] <= 0:
            continue
        open_amount, due = state
        bucket = bucket_of((as_of - due).days, edges)
        key = (invoice.company_code, invoice.customer_id, invoice.currency, bucket)
        totals[key].append(open_amount)
    result: dict[tuple[str, str, str, str], tuple[int, Decimal, Decimal | None]] = {}
    for key, amounts in totals.items():
        total = sum(amounts, Decimal(0))
        rate = rate_on(key[2], as_of)
        converted = None if rate is None else (total * rate).quantize(CENT, ROUND_HALF_UP)
        result[key] = (len(amounts), total, converted)
    return result


def payment_delays(invoices: dict[str, InvoiceModel], as_of: date) -> dict[str, Decimal]:
    """Customer -> average days from due date to payment, over the six months to ``as_of``."""
    since = date(as_of.year - (as_of.month <= 6), (as_of.month - 7) % 12 + 1, as_of.day)
    delays: dict[str, list[int]] = defaultdict(list)
    for invoice in invoices.values():
        if invoice.settled_on is None or not invoice.settled_by_payment:
            continue
        if since < invoice.settled_on <= as_of:
            due = invoice.timeline[-1][2]
            delays[invoice.customer_id].append((invoice.settled_on - due).days)
    return {
        customer: (Decimal(sum(days)) / len(days)).quantize(CENT, ROUND_HALF_UP)
        for customer, days in delays.items()
    }


def dso(
    invoices: dict[str, InvoiceModel],
    company: str,
    month: date,
    countback_months: int,
    until: date = TODAY,
) -> tuple[Decimal, Decimal]:
    """Receivables in EUR at the month's end (or ``until`` within it) and their DSO."""
    end = min(month_end(month), until)
    receivables = Decimal(0)
    sales: dict[date, Decimal] = defaultdict(Decimal)
    for invoice in invoices.values():
        if invoice.company_code != company:
            continue
        state = invoice.at(end)
        if state is not None and state[0] > 0:
            rate = rate_on(invoice.currency, end)
            assert rate is not None
            receivables += (state[0] * rate).quantize(CENT, ROUND_HALF_UP)
        if not invoice.cancelled and invoice.issue_date <= end:
            rate = rate_on(invoice.currency, invoice.issue_date)
            assert rate is not None
            amount = (invoice.amount * rate).quantize(CENT, ROUND_HALF_UP)
            sales[invoice.issue_date.replace(day=1)] += amount
    months = months_back(month, countback_months)
    history = [MonthSales(end.day if m == month else month_end(m).day, sales[m]) for m in months]
    return receivables, countback_dso(receivables, history)


def step_effectiveness(
    generated: GeneratedLedger,
) -> dict[str, tuple[int, Decimal, Decimal, Decimal, int, int]]:
    """Step -> (invoices reminded, shares paid within 7, 14, 30 days, promises, disputes)."""
    rows: dict[str, list[tuple[int | None, bool, bool]]] = defaultdict(list)
    for invoice_id, step, at in generated.reminders:
        invoice = generated.invoices[invoice_id]
        days = None
        if invoice.settled_on is not None and invoice.settled_by_payment:
            days = (invoice.settled_on - at.date()).days
        window = at + timedelta(days=30)
        promised = any(at <= t < window for t in generated.promised_at.get(invoice_id, []))
        disputed = any(at <= t < window for t in generated.disputed_at.get(invoice_id, []))
        rows[step].append((days, promised, disputed))

    def share(values: list[tuple[int | None, bool, bool]], limit: int) -> Decimal:
        paid = sum(1 for d, _, _ in values if d is not None and 0 <= d <= limit)
        return (Decimal(paid) / len(values)).quantize(Decimal("0.0001"), ROUND_HALF_UP)

    return {
        step: (
            len(values),
            share(values, 7),
            share(values, 14),
            share(values, 30),
            sum(1 for _, p, _ in values if p),
            sum(1 for _, _, d in values if d),
        )
        for step, values in rows.items()
    }


def open_disputes(
    generated: GeneratedLedger, as_of: date
) -> dict[tuple[str, str, str], tuple[int, int, int, Decimal]]:
    """(reason, owner, age band) -> (open disputes, past due, invoices, amount in EUR)."""
    open_items = {
        i.invoice_id: (i, s)
        for i in generated.invoices.values()
        if (s := i.at(as_of)) is not None and s[0] > 0
    }
    result: dict[tuple[str, str, str], tuple[int, int, int, Decimal]] = {}
    for d in generated.disputes.values():
        opened = d.opened_at.date()
        if opened > as_of or (d.resolved_at is not None and d.resolved_at.date() <= as_of):
            continue
        age = (as_of - opened).days
        band = "0-7" if age <= 7 else "8-30" if age <= 30 else "31-60" if age <= 60 else "over_60"
        held = [
            (invoice, state)
            for invoice, state in open_items.values()
            if invoice.customer_id == d.customer_id
            and (not d.invoice_ids or invoice.invoice_id in d.invoice_ids)
        ]
        amount = Decimal(0)
        for invoice, state in held:
            rate = rate_on(invoice.currency, as_of)
            assert rate is not None
            amount += (state[0] * rate).quantize(CENT, ROUND_HALF_UP)
        key = (d.category, d.owner_role, band)
        count, late, invoices, total = result.get(key, (0, 0, 0, Decimal(0)))
        result[key] = (
            count + 1,
            late + (d.due_date < as_of),
            invoices + len(held),
            total + amount,
        )
    return result


def dispute_resolution(
    generated: GeneratedLedger,
) -> dict[tuple[str, str, str], tuple[int, Decimal, int]]:
    """(reason, owner, outcome) -> (resolved, average days to resolve, resolved late)."""
    spans: dict[tuple[str, str, str], list[tuple[Decimal, bool]]] = defaultdict(list)
    for d in generated.disputes.values():
        if d.resolved_at is None or d.outcome is None:
            continue
        seconds = Decimal((d.resolved_at - d.opened_at).total_seconds())
        spans[(d.category, d.owner_role, d.outcome)].append(
            (seconds / 86400, d.resolved_at.date() > d.due_date)
        )
    return {
        key: (
            len(values),
            (sum((v for v, _ in values), Decimal(0)) / len(values)).quantize(CENT, ROUND_HALF_UP),
            sum(1 for _, late in values if late),
        )
        for key, values in spans.items()
    }
