"""The timers: owner reminders, promise deadlines and instalment checks.

Each timer is a column of its row (``dispute.next_reminder_at``, ``promise.deadline_at``,
``payment_plan.next_check_at``). A tick claims the rows whose timer has come with
``FOR UPDATE SKIP LOCKED`` (two replicas never take the same one), decides with the
context's clock, moves or clears the timer and writes the events to the outbox, all in one
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.disputes import PromiseBroken
from contracts.envelope import Event
from contracts.topics import DISPUTE_EVENTS
from services.disputes import metrics, queries
from services.disputes.casebook import Casebook
from services.runtime.clock import Clock
from services.runtime.database import Pool
from services.runtime.logs import get_logger
from services.runtime.loops import Loop, every
from services.runtime.outbox import OutgoingRecord, enqueue

SERVICE = "disputes"
log = get_logger(__name__)


@dataclass(frozen=True)
class TickOutcome:
    owner_reminders: int
    promises: int
    plans: int
    proposals: int = 0

    @property
    def empty(self) -> bool:
        return self.owner_reminders == self.promises == self.plans == self.proposals == 0


class Timers:
    def __init__(self, pool: Pool, clock: Clock, casebook: Casebook, batch_size: int = 200) -> None:
        self.pool = pool
        self.clock = clock
        self.casebook = casebook
        self.batch_size = batch_size

    async def tick(self) -> TickOutcome:
        now = self.clock.now()
        events: list[Event] = []
        book = self.casebook
        async with self.pool.acquire() as connection, connection.transaction():
            reminders = await connection.fetch(queries.DUE_OWNER_REMINDERS, now, self.batch_size)
            for row in reminders:
                events.append(await book.disputes.remind_owner(connection, now, row))
            promises = await connection.fetch(queries.DUE_PROMISES, now, self.batch_size)
            for row in promises:
                events.append(await book.promises.deadline_passed(connection, now, row))
            plans = await connection.fetch(queries.DUE_PLANS, now, self.batch_size)
            for row in plans:
                events.extend(await book.plans.check_due(connection, now, row))
            lapsing = await connection.fetch(queries.DUE_PROPOSALS, now, self.batch_size)
            for row in lapsing:
                events.extend(await book.proposals.lapse(connection, now, row))
            await enqueue(connection, [OutgoingRecord.of(DISPUTE_EVENTS, e) for e in events])
        for event in events:
            metrics.EVENTS.labels(SERVICE, event.event_type).inc()
            if isinstance(event, PromiseBroken) and event.payload.kind == "payment_announced":
                metrics.ANNOUNCED_PAYMENTS_UNCONFIRMED.labels(SERVICE).inc()
                log.warning(
                    "announced_payment_unconfirmed",
                    promise_id=str(event.payload.promise_id),
                    customer_id=event.payload.customer_id,
                    invoice_ids=list(event.payload.invoice_ids),
                )
        return TickOutcome(len(reminders), len(promises), len(plans), len(lapsing))

    async def step(self) -> bool:
        """One tick; True when it found timers due (there may be more: tick again at once)."""
        return not (await self.tick()).empty

    async def run_until_idle(self) -> list[TickOutcome]:
        outcomes = []
        while True:
            outcome = await self.tick()
            outcomes.append(outcome)
            if outcome.empty:
                return outcomes

    def loop(self, interval_s: float) -> Loop:
        """The supervised loop: tick until idle, then every ``interval_s`` seconds."""
        return every(interval_s, self.step, name="tick")
