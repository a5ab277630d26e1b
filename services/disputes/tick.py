"""The timers: owner reminders, promise deadlines and instalment checks.

Each timer is a column of its row (``dispute.next_reminder_at``, ``promise.deadline_at``,
``payment_plan.next_check_at``). A tick claims the rows whose timer has come with
``FOR UPDATE SKIP LOCKED`` (two replicas never take the same one), decides with the
context's clock, moves or clears the timer and writes the events to the outbox, all in one
transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from contracts.envelope import Event
from contracts.topics import DISPUTE_EVENTS
from services.disputes import metrics, queries
from services.disputes.casebook import Casebook
from services.runtime.clock import Clock
from services.runtime.database import Pool
from services.runtime.outbox import OutgoingRecord, enqueue

SERVICE = "disputes"


@dataclass(frozen=True)
class TickOutcome:
    owner_reminders: int
    promises: int
    plans: int

    @property
    def empty(self) -> bool:
        return self.owner_reminders == self.promises == self.plans == 0


class Timers:
    def __init__(self, pool: Pool, clock: Clock, casebook: Casebook, batch_size: int = 200) -> None:
        self.pool = pool
        self.clock = clock
        self.casebook = casebook
        self.batch_size = batch_size

    async def tick(self) -> TickOutcome:
        now = self.clock.now()
        events: list[Event] = []
        async with self.pool.acquire() as connection, connection.transaction():
            reminders = await connection.fetch(queries.DUE_OWNER_REMINDERS, now, self.batch_size)
            for row in reminders:
                event, next_at = self.casebook.owner_reminder(now, row)
                events.append(event)
                await connection.execute(
                    queries.OWNER_REMINDED, row["dispute_id"], row["reminders_sent"] + 1, next_at
                )
                await connection.execute(
                    queries.RECORD_TRANSITION,
                    row["dispute_id"],
                    row["version"],
                    "owner_reminded",
                    "disputes",
                    now,
                    {"reminder_id": str(event.event_id), "firmness": event.payload.firmness},
                )
            promises = await connection.fetch(queries.DUE_PROMISES, now, self.batch_size)
            for row in promises:
                events.append(await self.casebook.promise_deadline_passed(connection, now, row))
            plans = await connection.fetch(queries.DUE_PLANS, now, self.batch_size)
            for row in plans:
                events.extend(await self.casebook.plan_check_due(connection, now, row))
            await enqueue(connection, [OutgoingRecord.of(DISPUTE_EVENTS, e) for e in events])
        for event in events:
            metrics.EVENTS.labels(SERVICE, event.event_type).inc()
        return TickOutcome(len(reminders), len(promises), len(plans))

    async def run_until_idle(self) -> list[TickOutcome]:
        outcomes = []
        while True:
            outcome = await self.tick()
            outcomes.append(outcome)
            if outcome.empty:
                return outcomes

    async def run(self, stop: asyncio.Event, interval_s: float) -> None:
        while not stop.is_set():
            await self.run_until_idle()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)
