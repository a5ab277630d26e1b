"""A disputes service and a scheduler on one fresh database, on one simulated timeline.

Each service keeps its own schema, as in production. What the disputes service publishes
(its outbox) is handed to the scheduler in order, as Kafka would; ledger facts go to both.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg

from contracts import disputes, dunning
from contracts.envelope import Event
from contracts.money import PositiveMoney
from contracts.topics import DISPUTE_COMMANDS, DISPUTE_EVENTS
from services.disputes.app import policy_of
from services.disputes.casebook import Casebook
from services.disputes.handler import CommandHandler
from services.disputes.settings import DisputesSettings
from services.disputes.tick import Timers
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import UnitOfWork
from services.runtime.outbox import enqueue
from tests.integration.scheduler.fixtures import Scheduler

AT = datetime(2026, 11, 1, tzinfo=UTC)


def morning(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 30, tzinfo=UTC)  # 10:30 in Paris


def eur(value: str) -> PositiveMoney:
    return PositiveMoney(amount=Decimal(value), currency="EUR")


def command(event_type: str, payload: object) -> Event:
    adapter = DISPUTE_COMMANDS.adapter
    return adapter.validate_python(
        {
            "event_id": uuid.uuid4(),
            "event_type": event_type,
            "occurred_at": AT,
            "source": "crm",
            "payload": payload,
        }
    )


def open_dispute(
    customer_id: str, numbers: Sequence[str], category: str = "administrative", **extra: object
) -> tuple[uuid.UUID, Event]:
    dispute_id = uuid.uuid4()
    return dispute_id, command(
        "dispute.open",
        disputes.DisputeRequest.model_validate(
            {
                "dispute_id": dispute_id,
                "customer_id": customer_id,
                "invoice_ids": [f"FR01/{n}" for n in numbers],
                "category": category,
                "text": "The purchase order number is missing.",
                "raised_by": "customer",
                **extra,
            }
        ),
    )


def resolve(customer_id: str, dispute_id: uuid.UUID, outcome: str) -> Event:
    return command(
        "dispute.resolve",
        disputes.DisputeResolution.model_validate(
            {
                "dispute_id": dispute_id,
                "customer_id": customer_id,
                "outcome": outcome,
                "by": "collector@creditor.example",
            }
        ),
    )


def promise(
    customer_id: str, numbers: Sequence[str], on: date, amount: str, channel: str = "phone_call"
) -> tuple[uuid.UUID, Event]:
    promise_id = uuid.uuid4()
    return promise_id, command(
        "promise.record",
        disputes.Promise.model_validate(
            {
                "promise_id": promise_id,
                "customer_id": customer_id,
                "invoice_ids": [f"FR01/{n}" for n in numbers],
                "promised_date": on,
                "amount": eur(amount),
                "channel": channel,
                "recorded_by": "collector@creditor.example",
            }
        ),
    )


def plan(
    customer_id: str,
    numbers: Sequence[str],
    agreed_on: date,
    instalments: Sequence[tuple[date, str]],
) -> tuple[uuid.UUID, Event]:
    plan_id = uuid.uuid4()
    return plan_id, command(
        "payment_plan.agree",
        disputes.PaymentPlan(
            plan_id=plan_id,
            customer_id=customer_id,
            invoice_ids=tuple(f"FR01/{n}" for n in numbers),
            agreed_on=agreed_on,
            instalments=tuple(
                disputes.Instalment(due_date=d, amount=eur(a)) for d, a in instalments
            ),
            agreed_by="collector@creditor.example",
        ),
    )


@dataclass
class Disputes:
    pool: asyncpg.Pool
    clock: SimulatedClock
    settings: DisputesSettings = field(default_factory=DisputesSettings)

    def __post_init__(self) -> None:
        self.casebook = Casebook(policy_of(self.settings))
        self.handler = CommandHandler(self.casebook, self.settings.call_dispute_category)
        self.timers = Timers(self.pool, self.clock, self.casebook)
        self.rejected: list[tuple[str, str]] = []

    async def feed(self, events: Sequence[Event]) -> None:
        async with self.pool.acquire() as connection, connection.transaction():
            work = UnitOfWork(connection, self.clock)
            await self.handler.handle(work, events)
            await enqueue(connection, work.emitted)
        self.rejected.extend(work.rejected.values())

    async def published(self, after: int = 0) -> list[tuple[int, Event]]:
        rows = await self.pool.fetch(
            "SELECT id, value FROM outbox WHERE topic = $1 AND id > $2 ORDER BY id",
            DISPUTE_EVENTS.name,
            after,
        )
        return [(r["id"], DISPUTE_EVENTS.parse(r["value"])) for r in rows]

    async def events(self) -> list[Event]:
        return [e for _, e in await self.published()]


@dataclass
class Timeline:
    """Both services on one clock; disputes events reach the scheduler as Kafka would."""

    disputes: Disputes
    scheduler: Scheduler
    clock: SimulatedClock
    forwarded: int = 0

    async def ledger(self, *events: Event) -> None:
        await self.disputes.feed(events)
        await self.scheduler.feed(events)
        await self.forward()

    async def command(self, *events: Event) -> None:
        await self.disputes.feed(events)
        await self.forward()

    async def forward(self) -> None:
        published = await self.disputes.published(self.forwarded)
        if published:
            await self.scheduler.feed([e for _, e in published])
            self.forwarded = published[-1][0]

    async def walk(self, first: date, days: int) -> None:
        """Every morning: the disputes timers, then the scheduler's tick."""
        for offset in range(days):
            self.clock.set(morning(first + timedelta(days=offset)))
            await self.disputes.timers.run_until_idle()
            await self.forward()
            await self.scheduler.ticker.run_until_idle()

    async def reminders(self) -> list[dunning.Reminder]:
        return await self.scheduler.reminders()
