"""Builders of ledger and dispute events, and a scheduler on a fresh database."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg

from contracts import disputes, dunning, ledger, notifications
from contracts.envelope import Event
from contracts.erp import Segment
from contracts.money import Money, PositiveMoney
from contracts.topics import DUNNING_ACTIONS
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import UnitOfWork
from services.runtime.outbox import enqueue
from services.scheduler.app import policy_of
from services.scheduler.settings import SchedulerSettings
from services.scheduler.tick import DecidingProcess, Ticker
from services.scheduler.tracking import Tracker

SCHEMA = "scheduler"
AT = datetime(2026, 11, 1, tzinfo=UTC)


def customer(customer_id: str, segment: Segment | None = None, version: int = 1) -> Event:
    return ledger.LedgerCustomerUpserted(
        event_id=uuid.uuid4(),
        occurred_at=AT,
        source="ledger",
        payload=ledger.LedgerCustomer(
            customer_id=customer_id,
            company_code="FR01",
            version=version,
            name=f"Customer {customer_id}",
            country="FR",
            time_zone="Europe/Paris",
            language="fr",
            segment=segment or Segment(payer_profile="negligent"),
        ),
    )


def money(value: str) -> PositiveMoney:
    return PositiveMoney(amount=Decimal(value), currency="EUR")


def opened(customer_id: str, number: str, due: date, amount: str = "1200.00") -> Event:
    return ledger.InvoiceOpened(
        event_id=uuid.uuid4(),
        occurred_at=AT,
        source="ledger",
        payload=ledger.OpenedInvoice(
            company_code="FR01",
            customer_id=customer_id,
            invoice_id=f"FR01/{number}",
            invoice_number=number,
            issue_date=due - timedelta(days=30),
            due_date=due,
            amount=money(amount),
            open_amount=money(amount),
        ),
    )


def settled(customer_id: str, number: str, due: date, amount: str = "1200.00") -> Event:
    return ledger.InvoiceSettled(
        event_id=uuid.uuid4(),
        occurred_at=AT,
        source="ledger",
        payload=ledger.Settlement(
            company_code="FR01",
            customer_id=customer_id,
            invoice_id=f"FR01/{number}",
            invoice_number=number,
            settled_on=due,
            cause="payment",
            cause_document_id="PAY-1",
            previous_open_amount=money(amount),
            amount=money(amount),
            issue_date=due - timedelta(days=30),
            due_date=due,
        ),
    )


def cancelled(customer_id: str, number: str) -> Event:
    return ledger.LedgerInvoiceCancelled(
        event_id=uuid.uuid4(),
        occurred_at=AT,
        source="ledger",
        payload=ledger.Cancellation(
            company_code="FR01",
            customer_id=customer_id,
            invoice_id=f"FR01/{number}",
            invoice_number=number,
            previous_open_amount=Money(amount=Decimal("1200.00"), currency="EUR"),
        ),
    )


def dispute_opened(customer_id: str, number: str, dispute_id: uuid.UUID) -> Event:
    return disputes.DisputeOpened(
        event_id=uuid.uuid4(),
        occurred_at=AT,
        source="disputes",
        payload=disputes.OpenedDispute(
            customer_id=customer_id,
            invoice_ids=(f"FR01/{number}",),
            dispute_id=dispute_id,
            category="quality",
            text="damaged goods",
            raised_by="customer",
            owner_role="technical",
            due_date=date(2027, 1, 1),
        ),
    )


def dispute_resolved(customer_id: str, number: str, dispute_id: uuid.UUID) -> Event:
    return disputes.DisputeResolved(
        event_id=uuid.uuid4(),
        occurred_at=AT,
        source="disputes",
        payload=disputes.ResolvedDispute(
            customer_id=customer_id,
            invoice_ids=(f"FR01/{number}",),
            dispute_id=dispute_id,
            outcome="rejected",
            by="collector@example.com",
        ),
    )


@dataclass
class Scheduler:
    pool: asyncpg.Pool
    clock: SimulatedClock
    tracker: Tracker
    ticker: Ticker

    @classmethod
    def of(
        cls,
        pool: asyncpg.Pool,
        clock: SimulatedClock,
        batch_size: int = 500,
        concurrency: int | None = None,
        deciding: DecidingProcess | None = None,
    ) -> Scheduler:
        """A scheduler ticking like the service: by default as many ticks at once as it runs
        (deciding in ``deciding``, when given)."""
        settings = SchedulerSettings()
        policy = policy_of(settings)
        ticker = Ticker(
            pool, clock, policy, batch_size, concurrency or settings.tick_concurrency, deciding
        )
        return cls(pool, clock, Tracker(policy), ticker)

    async def feed(self, events: Sequence[Event]) -> None:
        async with self.pool.acquire() as connection, connection.transaction():
            work = UnitOfWork(connection, self.clock)
            await self.tracker.handle(work, events)
            await enqueue(connection, work.emitted)

    async def emitted(self) -> list[Event]:
        rows = await self.pool.fetch(
            "SELECT value FROM outbox WHERE topic = $1 ORDER BY id", DUNNING_ACTIONS.name
        )
        return [DUNNING_ACTIONS.parse(r["value"]) for r in rows]

    async def reminders(self) -> list[dunning.Reminder]:
        return [e.payload for e in await self.emitted() if isinstance(e, dunning.ReminderDue)]

    async def escalations(self) -> list[dunning.Escalation]:
        return [e.payload for e in await self.emitted() if isinstance(e, dunning.EscalationRaised)]


def amount_changed(customer_id: str, number: str, due: date, previous: str, now_open: str) -> Event:
    return ledger.OpenAmountChanged(
        event_id=uuid.uuid4(),
        occurred_at=AT,
        source="ledger",
        payload=ledger.OpenAmountChange(
            company_code="FR01",
            customer_id=customer_id,
            invoice_id=f"FR01/{number}",
            invoice_number=number,
            previous_open_amount=Money(amount=Decimal(previous), currency="EUR"),
            open_amount=money(now_open),
            cause="payment" if Decimal(now_open) < Decimal(previous) else "reversal",
            cause_document_id="DOC-1",
            due_date=due,
            amount=money("1200.00"),
        ),
    )


def delivered(reminder: dunning.Reminder, at: datetime) -> Event:
    """The notifier's report that ``reminder`` reached its recipient at ``at``."""
    return notifications.DeliveryDelivered(
        event_id=uuid.uuid4(),
        occurred_at=at,
        source="notifier",
        payload=notifications.ProviderDelivery(
            delivery_id=uuid.uuid4(),
            reminder_id=reminder.reminder_id,
            customer_id=reminder.customer_id,
            invoice_ids=tuple(i.invoice_id for i in reminder.invoices),
            channel=reminder.channel,
            at=at,
            provider="ar24",
        ),
    )


async def deliver_formal_notices(scheduler: Scheduler, delivered_ids: set[uuid.UUID]) -> None:
    """Report every formal notice and every escalating step (a registered letter) emitted so
    far as delivered at its scheduled instant (once): the next step waits for it."""
    for reminder in await scheduler.reminders():
        wanted = reminder.level == "formal_notice" or reminder.escalating
        if wanted and reminder.reminder_id not in delivered_ids:
            delivered_ids.add(reminder.reminder_id)
            await scheduler.feed([delivered(reminder, reminder.scheduled_for)])
