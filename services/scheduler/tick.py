"""The tick: take every due step, grouped per customer, and move the timers on.

One tick is one transaction. It claims customers with due invoices (``FOR UPDATE SKIP
LOCKED`` on the customer row, so that two replicas never group the same customer), takes
for each invoice the latest step due (earlier ones are recorded as skipped), and emits, per
customer, one ``dunning.reminder.due`` for the firmest (level, channel) group. Other groups
wait for the minimum gap, so that a customer never gets two reminders the same day.
Invoices past the amicable phase leave it with a ``dunning.escalation.raised``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from contracts.dunning import (
    DunnedInvoice,
    Escalation,
    EscalationRaised,
    OpenStatement,
)
from contracts.money import PositiveMoney
from contracts.topics import DUNNING_ACTIONS
from services.runtime.clock import Clock
from services.runtime.database import Connection, Pool
from services.runtime.outbox import OutgoingRecord, enqueue
from services.scheduler import metrics, outgoing, queries
from services.scheduler.domain.calendar import send_instant
from services.scheduler.domain.progress import Taken, due_now, resumed_step
from services.scheduler.domain.scenario import Scenario, Step
from services.scheduler.state import (
    SOURCE,
    Customer,
    InvoiceState,
    Policy,
    rescheduled,
    scenario_of,
)

SERVICE = "scheduler"
REMINDER_NAMESPACE = uuid.UUID("6f1d3c52-34a4-4b8e-9d53-6a0c1f3c2b7e")


@dataclass(frozen=True)
class TickOutcome:
    customers: int
    reminders: int
    escalations: int

    @property
    def empty(self) -> bool:
        return self.customers == 0


@dataclass
class _Writes:
    """What one tick changes, written at its end in a few set-based statements."""

    records: list[OutgoingRecord] = field(default_factory=list)
    states: list[InvoiceState] = field(default_factory=list)
    contacts: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    reminders: list[OutgoingRecord] = field(default_factory=list)
    sent: Counter[tuple[str, str]] = field(default_factory=Counter)  # (channel, level)
    raised: Counter[str] = field(default_factory=Counter)  # exit action

    async def flush(self, connection: Connection, now: datetime) -> None:
        if self.states:
            progress = {s.invoice_id: _progress(s) for s in self.states}  # the last one wins
            await connection.execute(queries.SAVE_PROGRESS, _dumps(list(progress.values())))
        if self.reminders:
            # each reminder is serialised once, for the outbox; sent_reminder keeps its payload
            values = b",".join(r.value for r in self.reminders)
            await connection.execute(queries.RECORD_REMINDERS, b"[" + values + b"]", now)
        if self.contacts:
            await connection.execute(queries.SET_LAST_CONTACTS, now, self.contacts)
        if self.skipped:
            await connection.execute(
                queries.RECORD_SKIPPED,
                *(list(c) for c in zip(*self.skipped, strict=True)),
                now,
            )
        await enqueue(connection, self.records)

    def count(self) -> None:
        """Count what was emitted, once committed."""
        for (channel, level), n in self.sent.items():
            metrics.REMINDERS_DUE.labels(SERVICE, channel, level).inc(n)
        for action, n in self.raised.items():
            metrics.ESCALATIONS.labels(SERVICE, action).inc(n)


def _progress(state: InvoiceState) -> list[object]:
    """What a tick changes of an invoice, as a row of ``queries.SAVE_PROGRESS``."""
    return [
        state.invoice_id,
        state.position,
        state.status,
        state.resumed,
        state.last_step_name,
        state.last_level,
        None if state.last_action_at is None else outgoing.instant(state.last_action_at),
        None if state.next_action_at is None else outgoing.instant(state.next_action_at),
    ]


_dumps = json.JSONEncoder(separators=(",", ":")).encode


@dataclass(frozen=True)
class _Due:
    state: InvoiceState
    scenario: Scenario
    taken: Taken


def reminder_id(
    customer_id: str, scenario_id: str, step: str, invoices: Sequence[str]
) -> uuid.UUID:
    key = "|".join([customer_id, scenario_id, step, *sorted(invoices)])
    return uuid.uuid5(REMINDER_NAMESPACE, key)


def _dunned(state: InvoiceState, customer: Customer, now: datetime) -> DunnedInvoice:
    today = now.astimezone(ZoneInfo(customer.time_zone)).date()
    return DunnedInvoice(
        invoice_id=state.invoice_id,
        invoice_number=state.invoice_number,
        due_date=state.due_date,
        amount=state.money(state.amount),
        open_amount=state.money(state.open_amount),
        days_overdue=(today - state.due_date).days,
    )


def open_statement(account: Sequence[tuple[str, Decimal, int]]) -> OpenStatement | None:
    """The statement of (currency, open total, open invoices) rows; None if nothing is open."""
    rows = [(c, t, n) for c, t, n in account if t > 0]
    if not rows:
        return None
    return OpenStatement(
        totals=tuple(PositiveMoney(amount=t, currency=c) for c, t, _ in sorted(rows)),
        open_invoices=sum(n for _, _, n in rows),
    )


def account_of(states: Sequence[InvoiceState]) -> list[tuple[str, Decimal, int]]:
    """(currency, open total, open invoices) of some invoices."""
    totals: defaultdict[str, list[Decimal]] = defaultdict(list)
    for state in states:
        if state.status != "closed" and state.open_amount > 0:
            totals[state.currency].append(state.open_amount)
    return [(c, sum(v, Decimal(0)), len(v)) for c, v in sorted(totals.items())]


class Ticker:
    """Emits what falls due, ``concurrency`` ticks (transactions) at a time.

    Concurrent ticks claim different customers (``SKIP LOCKED``), like replicas do: while one
    waits on PostgreSQL, another decides, so the database and Python work in parallel.
    """

    def __init__(
        self,
        pool: Pool,
        clock: Clock,
        policy: Policy,
        batch_size: int = 500,
        concurrency: int = 1,
    ) -> None:
        self.pool = pool
        self.clock = clock
        self.policy = policy
        self.batch_size = batch_size
        self.concurrency = concurrency

    async def tick(self) -> TickOutcome:
        """One batch of due customers, in one transaction."""
        with metrics.TICK_SECONDS.labels(SERVICE).time():
            async with self.pool.acquire() as connection, connection.transaction():
                outcome, writes = await self._tick_in(connection)
        writes.count()
        return outcome

    async def run_until_idle(self) -> list[TickOutcome]:
        """Ticks until nothing is left to claim: everything due now is done.

        With ``concurrency`` > 1, that many loops tick side by side; each stops when its
        claim comes back empty (what is left is held by the others, which finish it).
        """
        if self.concurrency == 1:
            return await self._until_idle()
        loops = [asyncio.ensure_future(self._until_idle()) for _ in range(self.concurrency)]
        try:
            done = await asyncio.gather(*loops)
        except BaseException:
            # a failed tick fails the whole as itself; the others roll back and stop first
            for loop in loops:
                loop.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            raise
        return [outcome for outcomes in done for outcome in outcomes]

    async def _until_idle(self) -> list[TickOutcome]:
        outcomes = []
        while True:
            outcome = await self.tick()
            outcomes.append(outcome)
            if outcome.empty:
                return outcomes

    async def _tick_in(self, connection: Connection) -> tuple[TickOutcome, _Writes]:
        now = self.clock.now()
        writes = _Writes()
        customers: dict[str, Customer] = {}
        for row in await connection.fetch(queries.CLAIM_DUE_CUSTOMERS, now, self.batch_size):
            if row["customer_id"] not in customers:  # once per due invoice
                customers[row["customer_id"]] = Customer.of(row)
        if not customers:
            return TickOutcome(0, 0, 0), writes
        by_customer: defaultdict[str, list[InvoiceState]] = defaultdict(list)
        for row in await connection.fetch(queries.DUE_INVOICES, list(customers), now):
            by_customer[row["customer_id"]].append(InvoiceState.of(row))
        accounts: defaultdict[str, list[tuple[str, Decimal, int]]] = defaultdict(list)
        for row in await connection.fetch(queries.OPEN_ACCOUNTS, list(by_customer)):
            accounts[row["customer_id"]].append((row["currency"], row["total"], row["invoices"]))
        reminders = escalations = 0
        for customer_id, states in by_customer.items():
            sent, raised = self._customer(
                customers[customer_id], states, now, writes, accounts[customer_id]
            )
            reminders += sent
            escalations += raised
        await writes.flush(connection, now)
        return TickOutcome(len(customers), reminders, escalations), writes

    def _customer(
        self,
        customer: Customer,
        states: list[InvoiceState],
        now: datetime,
        writes: _Writes,
        account: list[tuple[str, Decimal, int]],
    ) -> tuple[int, int]:
        debtor = customer.debtor(self.policy.window)
        steps: defaultdict[tuple[int, str, str], list[_Due]] = defaultdict(list)
        exits: defaultdict[str, list[_Due]] = defaultdict(list)
        for state in states:
            scenario = scenario_of(self.policy, state)
            taken = None
            if scenario is not None and state.resumed:
                # back from a pause: its timer says when (perhaps sooner than the step's own
                # date, after a broken promise); it takes the step where it stands
                taken = resumed_step(
                    scenario, state.position, open_amount=state.open_amount, debtor=debtor
                )
            if scenario is not None and taken is None:
                taken = due_now(
                    scenario,
                    state.position,
                    due_date=state.due_date,
                    open_amount=state.open_amount,
                    debtor=debtor,
                    now=now,
                    resumed=state.resumed,
                )
            if scenario is None or taken is None:
                waiting = replace(state, next_action_at=None)  # the timer that fired is spent
                self._store(state, rescheduled(self.policy, waiting, customer, None), now, writes)
                continue
            due = _Due(state, scenario, taken)
            if taken.step is None:
                exits[scenario.id].append(due)
            else:
                steps[(taken.step.rank, taken.step.channel, scenario.id)].append(due)
        raised = 0
        for group in exits.values():
            self._escalate(customer, group, now, writes)
            raised += 1
        if not steps:
            return 0, raised
        gap_end = (
            None
            if customer.last_contact_at is None
            else customer.last_contact_at + self.policy.min_gap
        )
        firmest = max(steps)
        for key, group in steps.items():
            if key == firmest and (gap_end is None or gap_end <= now):
                continue
            wait_until = max(now + self.policy.min_gap, gap_end or now)
            for due in group:
                later = send_instant(
                    wait_until.date(),
                    country=customer.country,
                    time_zone=customer.time_zone,
                    window=self.policy.window,
                    not_before=wait_until,
                )
                self._store(due.state, replace(due.state, next_action_at=later), now, writes)
        if gap_end is not None and gap_end > now:
            return 0, raised
        self._remind(customer, steps[firmest], now, writes, account)
        writes.contacts.append(customer.customer_id)
        return 1, raised

    def _store(
        self,
        before: InvoiceState,
        after: InvoiceState,
        now: datetime,
        writes: _Writes,
    ) -> None:
        # the tick moves invoices through their scenario; the rest is not saved (SAVE_PROGRESS)
        assert (after.invoice_id, after.due_date, after.amount, after.open_amount) == (
            before.invoice_id,
            before.due_date,
            before.amount,
            before.open_amount,
        )
        assert (after.scenario_id, after.pause_reason) == (before.scenario_id, before.pause_reason)
        writes.states.append(after)
        if (before.position, before.status, before.next_action_at) != (
            after.position,
            after.status,
            after.next_action_at,
        ):
            changed = outgoing.state_changed(after, now)
            if changed is not None:
                writes.records.append(changed)

    def _remind(
        self,
        customer: Customer,
        group: list[_Due],
        now: datetime,
        writes: _Writes,
        account: list[tuple[str, Decimal, int]],
    ) -> None:
        step: Step = max((d.taken.step for d in group if d.taken.step), key=lambda s: s.offset_days)
        scenario_id = group[0].scenario.id
        invoice_ids = [d.state.invoice_id for d in group]
        scheduled = max(d.state.next_action_at or now for d in group)
        rid = reminder_id(customer.customer_id, scenario_id, step.name, invoice_ids)
        record = outgoing.reminder_due(
            reminder_id=rid,
            now=now,
            customer=customer,
            scenario_id=scenario_id,
            step=step,
            scheduled_for=min(scheduled, now),
            invoices=[d.state for d in group],
            account=account,
        )
        writes.records.append(record)
        writes.reminders.append(record)
        writes.sent[(step.channel, step.level)] += 1
        for due in group:
            taken_step = due.taken.step
            assert taken_step is not None
            for skipped in due.taken.skipped:
                writes.skipped.append((due.state.invoice_id, scenario_id, skipped.name))
            moved = replace(
                due.state,
                position=due.taken.position + 1,
                last_step_name=taken_step.name,
                last_level=taken_step.level,
                last_action_at=now,
                resumed=False,
            )
            self._store(due.state, rescheduled(self.policy, moved, customer, now), now, writes)

    def _escalate(
        self,
        customer: Customer,
        group: list[_Due],
        now: datetime,
        writes: _Writes,
    ) -> None:
        scenario = group[0].scenario
        assert scenario.exit_action is not None
        totals: defaultdict[str, Decimal] = defaultdict(Decimal)
        for due in group:
            totals[due.state.currency] += due.state.open_amount
        writes.raised[scenario.exit_action] += 1
        writes.records.append(
            OutgoingRecord.of(
                DUNNING_ACTIONS,
                EscalationRaised(
                    event_id=uuid.uuid4(),
                    occurred_at=now,
                    source=SOURCE,
                    payload=Escalation(
                        customer_id=customer.customer_id,
                        company_code=customer.company_code,
                        scenario_id=scenario.id,
                        action=scenario.exit_action,
                        invoices=tuple(_dunned(d.state, customer, now) for d in group),
                        total_open=tuple(
                            PositiveMoney(amount=v, currency=c) for c, v in sorted(totals.items())
                        ),
                    ),
                ),
            )
        )
        for due in group:
            for skipped in due.taken.skipped:
                writes.skipped.append((due.state.invoice_id, scenario.id, skipped.name))
            after = replace(
                due.state, position=len(scenario.steps) + 1, status="escalated", next_action_at=None
            )
            self._store(due.state, after, now, writes)
