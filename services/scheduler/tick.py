"""The tick: read the customers with due invoices, decide what they get, write it.

One tick is one transaction. It claims customers with due invoices (``FOR UPDATE SKIP
LOCKED`` on the customer row, so that two replicas never group the same customer), reads
their due invoices and open totals, asks the contact rule
(:func:`services.scheduler.domain.contact_rule.decide`, pure) what each customer gets, and
writes the decisions in a few set-based statements: at most one ``dunning.reminder.due`` per
customer, a ``dunning.escalation.raised`` for invoices past the amicable phase, the moved
timers and their ``dunning.state.changed``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from contracts.dunning import EscalationRaised
from contracts.topics import DUNNING_ACTIONS
from services.runtime.clock import Clock
from services.runtime.database import Connection, Pool
from services.runtime.outbox import OutgoingRecord, enqueue
from services.scheduler import metrics, outgoing, proposals, queries
from services.scheduler.domain.contact_rule import Decision, Move, decide
from services.scheduler.domain.proposals import confirmation
from services.scheduler.domain.reminders import escalation
from services.scheduler.domain.state import Customer, InvoiceState, Policy, heading_for
from services.scheduler.library_store import adopt, unknown_versions
from services.scheduler.outgoing import SOURCE

SERVICE = "scheduler"


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
    contacts: list[tuple[str, datetime]] = field(default_factory=list)  # customer, instant
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    reminders: list[OutgoingRecord] = field(default_factory=list)
    sent: Counter[tuple[str, str]] = field(default_factory=Counter)  # (channel, level)
    raised: Counter[str] = field(default_factory=Counter)  # exit action
    proposed: list[proposals.Raised] = field(default_factory=list)  # steps to confirm

    def add(
        self,
        decision: Decision,
        now: datetime,
        account: Sequence[tuple[str, Decimal, int]],
        policy: Policy | None = None,
    ) -> None:
        """The records and rows of one customer's decision, in the order they happened."""
        customer = decision.customer
        self.moved(decision.spent, now, policy, customer)
        for escalating in decision.escalations:
            scenario = escalating.scenario
            assert scenario.exit_action is not None
            self.raised[scenario.exit_action] += 1
            payload = escalation(customer, scenario, escalating.invoices, now)
            event = EscalationRaised(
                event_id=uuid.uuid4(), occurred_at=now, source=SOURCE, payload=payload
            )
            self.records.append(OutgoingRecord.of(DUNNING_ACTIONS, event))
            self.moved(escalating.moves, now, policy, customer)
        self.moved(decision.postponed, now, policy, customer)
        reminding = decision.reminder
        if reminding is not None:
            step = reminding.step
            record = outgoing.reminder_due(
                reminder_id=reminding.reminder_id,
                now=now,
                customer=customer,
                scenario_id=reminding.scenario_id,
                step=step,
                scheduled_for=reminding.scheduled_for,
                invoices=reminding.invoices,
                account=account,
            )
            confirm = None
            if policy is not None and reminding.scenario_id in policy.library.scenarios:
                scenario = policy.library.scenarios[reminding.scenario_id]
                outstanding = proposals.outstanding_of(account)
                confirm = confirmation(policy, customer, scenario, step, outstanding)
            if policy is not None and confirm is not None:
                # a step to confirm: a proposal instead of the reminder; the invoices wait
                raised = proposals.raised(policy, customer, reminding, record, confirm, now)
                self.proposed.append(raised)
                self.records.append(raised.record)
                for _, after in raised.moves:
                    changed = outgoing.state_changed(
                        after, now, heading_for(policy.library, after, customer)
                    )
                    if changed is not None:
                        self.records.append(changed)
                self.skipped.extend(decision.skipped)
                return
            self.records.append(record)
            self.reminders.append(record)
            self.sent[(step.channel, step.level)] += 1
            self.moved(reminding.moves, now, policy, customer)
            self.contacts.append((customer.customer_id, reminding.scheduled_for))
        self.skipped.extend(decision.skipped)

    def moved(
        self,
        moves: Sequence[Move],
        now: datetime,
        policy: Policy | None = None,
        customer: Customer | None = None,
    ) -> None:
        for before, after in moves:
            # the tick moves invoices through their scenario; the rest is not saved
            # (SAVE_PROGRESS)
            assert (after.invoice_id, after.due_date, after.amount, after.open_amount) == (
                before.invoice_id,
                before.due_date,
                before.amount,
                before.open_amount,
            )
            assert (after.scenario_id, after.pause_reason) == (
                before.scenario_id,
                before.pause_reason,
            )
            self.states.append(after)
            if (before.next_step, before.status, before.next_action_at) != (
                after.next_step,
                after.status,
                after.next_action_at,
            ):
                heading = None if policy is None else heading_for(policy.library, after, customer)
                changed = outgoing.state_changed(after, now, heading)
                if changed is not None:
                    self.records.append(changed)

    async def flush(self, connection: Connection, now: datetime) -> None:
        if self.states:
            progress = {s.invoice_id: _progress(s) for s in self.states}  # the last one wins
            await connection.execute(queries.SAVE_PROGRESS, _dumps(list(progress.values())))
        if self.reminders:
            # each reminder is serialised once, for the outbox; sent_reminder keeps its
            # payload, cut out of the event's text (PostgreSQL parses each payload once,
            # instead of a whole array of events and then each event's payload again)
            await connection.execute(
                queries.RECORD_REMINDERS,
                [r.event_id for r in self.reminders],
                [(r.key or b"").decode() for r in self.reminders],
                [outgoing.payload_text(r) for r in self.reminders],
                now,
            )
        if self.contacts:
            customer_ids, instants = zip(*self.contacts, strict=True)
            await connection.execute(queries.SET_LAST_CONTACTS, customer_ids, instants)
        if self.skipped:
            await connection.execute(
                queries.RECORD_SKIPPED,
                *(list(c) for c in zip(*self.skipped, strict=True)),
                now,
            )
        if self.proposed:
            await proposals.write_raised(connection, self.proposed)
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
        state.next_step,
        state.status,
        state.resumed,
        state.last_step_name,
        state.last_level,
        None if state.last_action_at is None else outgoing.instant(state.last_action_at),
        None if state.next_action_at is None else outgoing.instant(state.next_action_at),
        state.scenario_version,
        state.awaiting_delivery,
    ]


_dumps = json.JSONEncoder(separators=(",", ":")).encode

# Customers decided between two yields to the event loop (a few milliseconds of Python).
_DECIDE_SLICE = 50


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
        # one tick decides at a time: the others send their statements meanwhile
        self._deciding = asyncio.Lock()

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
        if unknown_versions(self.policy, [s for due in by_customer.values() for s in due]):
            await adopt(connection, self.policy)  # a library version accepted elsewhere
        accounts: defaultdict[str, list[tuple[str, Decimal, int]]] = defaultdict(list)
        for row in await connection.fetch(queries.OPEN_ACCOUNTS, list(by_customer)):
            accounts[row["customer_id"]].append((row["currency"], row["total"], row["invoices"]))
        reminders = escalations = 0
        async with self._deciding:
            for n, (customer_id, states) in enumerate(by_customer.items(), 1):
                decision = decide(self.policy, customers[customer_id], states, now)
                writes.add(decision, now, accounts[customer_id], self.policy)
                reminders += decision.reminder is not None
                escalations += len(decision.escalations)
                if n % _DECIDE_SLICE == 0:
                    # let the replica's other ticks send their next statement (without this,
                    # a tick whose statement PostgreSQL has answered waits for this whole
                    # batch's decisions before sending the next one); they do not start
                    # deciding meanwhile: two batches decided in turns would both be late,
                    # and their writes would then reach PostgreSQL together
                    await asyncio.sleep(0)
        await writes.flush(connection, now)
        return TickOutcome(len(customers), reminders, escalations), writes
