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
import multiprocessing
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from asyncpg import Record

from contracts.dunning import EscalationRaised
from contracts.topics import DUNNING_ACTIONS
from services.runtime.business_days import is_business_day
from services.runtime.clock import Clock
from services.runtime.database import Connection, Pool
from services.runtime.outbox import EnqueuedRow, OutgoingRecord, enqueue_rows, enqueued_row
from services.scheduler import metrics, outgoing, proposals, queries
from services.scheduler.domain.contact_rule import Decision, Move, decide
from services.scheduler.domain.proposals import confirmation, may_need_confirmation
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
        if decision.spent:
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
        if decision.postponed:
            self.moved(decision.postponed, now, policy, customer)
        reminding = decision.reminder
        if reminding is not None:
            step = reminding.step
            record = outgoing.reminder_due(
                reminder_id=reminding.reminder_text,
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
                if may_need_confirmation(policy, scenario, step):
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
            assert after.invoice_id == before.invoice_id
            assert after.due_date == before.due_date
            assert after.amount == before.amount
            assert after.open_amount == before.open_amount
            assert after.scenario_id == before.scenario_id
            assert after.pause_reason == before.pause_reason
            self.states.append(after)
            if (
                before.next_step != after.next_step
                or before.status != after.status
                or before.next_action_at != after.next_action_at
            ):
                heading = None if policy is None else heading_for(policy.library, after, customer)
                changed = outgoing.state_changed(after, now, heading)
                if changed is not None:
                    self.records.append(changed)

    def sealed(self, reminders: int = 0, escalations: int = 0) -> Sealed:
        """The statements' parameters, ready to write (what a deciding process sends back)."""
        progress = None
        if self.states:
            rows = {s.invoice_id: _progress(s) for s in self.states}  # the last one wins
            progress = _dumps(list(rows.values()))
        # each reminder is serialised once, for the outbox; sent_reminder keeps its payload,
        # cut out of the event's text (PostgreSQL parses each payload once, instead of a
        # whole array of events and then each event's payload again)
        # enqueued_row's rows, each kind of headers encoded once (a tick's records share a
        # few header tuples, alive meanwhile: their ids name them for the loop's length)
        outbox: list[EnqueuedRow] = []
        encoded: dict[int, str] = {}
        for r in self.records:
            headers = encoded.get(id(r.headers))
            if headers is None:
                headers = encoded[id(r.headers)] = enqueued_row(r)[3]
            outbox.append((r.topic, r.key, r.value, headers, r.event_id))
        return Sealed(
            outbox=outbox,
            progress=progress,
            reminders=(
                [r.event_id for r in self.reminders],
                [(r.key or b"").decode() for r in self.reminders],
                [outgoing.payload_text(r) for r in self.reminders],
            ),
            contacts=([c for c, _ in self.contacts], [at for _, at in self.contacts]),
            skipped=[list(column) for column in zip(*self.skipped, strict=True)],
            proposed=self.proposed,
            sent=self.sent,
            raised=self.raised,
            reminded=reminders,
            escalated=escalations,
        )


@dataclass
class Sealed:
    """A batch's decisions as the parameters of the tick's statements: written by
    :meth:`flush` in the tick's transaction, counted by :meth:`count` once committed."""

    outbox: list[EnqueuedRow] = field(default_factory=list)
    progress: str | None = None  # queries.SAVE_PROGRESS's JSON rows
    reminders: tuple[list[uuid.UUID | str | None], list[str], list[str]] = ([], [], [])
    contacts: tuple[list[str], list[datetime]] = ([], [])  # customers, instants
    skipped: list[list[str]] = field(default_factory=list)  # columns
    proposed: list[proposals.Raised] = field(default_factory=list)
    sent: Counter[tuple[str, str]] = field(default_factory=Counter)  # (channel, level)
    raised: Counter[str] = field(default_factory=Counter)  # exit action
    reminded: int = 0  # customers reminded
    escalated: int = 0  # escalations raised

    async def flush(self, connection: Connection, now: datetime) -> None:
        if self.progress is not None:
            await connection.execute(queries.SAVE_PROGRESS, self.progress)
        if self.reminders[0]:
            await connection.execute(queries.RECORD_REMINDERS, *self.reminders, now)
        if self.contacts[0]:
            await connection.execute(queries.SET_LAST_CONTACTS, *self.contacts)
        if self.skipped:
            await connection.execute(queries.RECORD_SKIPPED, *self.skipped, now)
        if self.proposed:
            await proposals.write_raised(connection, self.proposed)
        await enqueue_rows(connection, self.outbox)

    def portable(self) -> Sealed:
        """The same with the events' ids as text: a batch's thousand ``uuid.UUID`` cost more
        to pickle than the rest of its rows (PostgreSQL reads either)."""
        self.outbox = [(t, k, v, h, None if e is None else str(e)) for t, k, v, h, e in self.outbox]
        ids, customers, payloads = self.reminders
        self.reminders = ([None if r is None else str(r) for r in ids], customers, payloads)
        return self

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


def _decide_customer(
    policy: Policy,
    customer: Customer,
    states: list[InvoiceState],
    now: datetime,
    account: Sequence[tuple[str, Decimal, int]],
    writes: _Writes,
) -> tuple[int, int]:
    """One customer's decision added to ``writes``; the reminders and escalations it makes."""
    decision = decide(policy, customer, states, now)
    writes.add(decision, now, account, policy)
    return decision.reminder is not None, len(decision.escalations)


@dataclass(frozen=True)
class Batch:
    """What a deciding process needs of a tick: its instant, the claimed customers' rows, their
    due invoices' rows (in the tick's order), their open accounts, and the policy when it is
    not the one the process last received (at the first batch and after a library change)."""

    now: datetime
    customer_columns: tuple[str, ...]
    customers: list[tuple[object, ...]]
    invoice_columns: tuple[str, ...]
    invoices: list[tuple[object, ...]]
    accounts: dict[str, list[tuple[str, Decimal, int]]]
    policy: Policy | None


_worker_policy: Policy | None = None  # a deciding process's own copy


def _start_deciding(gen0_threshold: int) -> None:
    from services.runtime import gc_tuning

    gc_tuning.tune(gen0_threshold)  # as the service's own process, once started


def _decide_batch(batch: Batch) -> Sealed:
    """In a deciding process: the batch's decisions, sealed for the tick's writes."""
    global _worker_policy
    if batch.policy is not None:
        _worker_policy = batch.policy
    policy = _worker_policy
    assert policy is not None, "the first batch carries the policy"
    customers = {}
    for values in batch.customers:
        customer = Customer.of(dict(zip(batch.customer_columns, values, strict=True)))
        customers[customer.customer_id] = customer
    by_customer: defaultdict[str, list[InvoiceState]] = defaultdict(list)
    for values in batch.invoices:
        state = InvoiceState.of(dict(zip(batch.invoice_columns, values, strict=True)))
        by_customer[state.customer_id].append(state)
    writes = _Writes()
    reminders = escalations = 0
    for customer_id, states in by_customer.items():
        reminded, escalated = _decide_customer(
            policy, customers[customer_id], states, batch.now, batch.accounts[customer_id], writes
        )
        reminders += reminded
        escalations += escalated
    return writes.sealed(reminders, escalations).portable()


def _ready() -> None:
    """Nothing: a call that makes the pool start its process."""


class DecidingProcess:
    """A process of its own that decides the ticks' batches, on another core than the tick's
    claims and writes (which stay in the service's process, in the tick's transaction).

    What goes there is values only (the rows as tuples, the open accounts, the policy when it
    changed); what comes back is the statements' parameters (:class:`Sealed`). The process
    decides one batch at a time, in the order they were sent.
    """

    def __init__(self, gen0_threshold: int) -> None:
        # spawned, not forked: the service has threads and open sockets
        self._executor = ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_deciding,
            initargs=(gen0_threshold,),
        )
        self.library_sent: object = None  # the library of the policy last sent

    async def decide(
        self,
        policy: Policy,
        now: datetime,
        customers: dict[str, Record],
        invoices: list[Record],
        accounts: dict[str, list[tuple[str, Decimal, int]]],
    ) -> Sealed:
        send_policy = policy.library is not self.library_sent
        if send_policy:
            self.library_sent = policy.library  # the process receives batches in order
        first_customer = next(iter(customers.values()))
        batch = Batch(
            now=now,
            customer_columns=tuple(first_customer.keys()),
            customers=[tuple(row.values()) for row in customers.values()],
            invoice_columns=tuple(invoices[0].keys()) if invoices else (),
            invoices=[tuple(row.values()) for row in invoices],
            accounts=accounts,
            policy=policy if send_policy else None,
        )
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, _decide_batch, batch)
        except BaseException:
            self.library_sent = None  # the next batch carries the policy again
            raise

    async def warm_up(self) -> None:
        """Start the process now (it imports the scheduler), not at the first batch."""
        await asyncio.get_running_loop().run_in_executor(self._executor, _ready)

    def pids(self) -> list[int]:
        """The process's id (for benchmarks counting its CPU)."""
        return list(self._executor._processes)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def load_calendars(today: date) -> None:
    """Load the public-holiday calendars now rather than in the first tick, which after a
    restart is the catch-up's: the holidays package loads its countries at the first calendar
    asked for (0.1-0.15 s of CPU, a few percent of a large drain), whichever country it is,
    and the others' then take a fraction of a millisecond."""
    is_business_day(today, "FR")


class Ticker:
    """Emits what falls due, ``concurrency`` ticks (transactions) at a time.

    Concurrent ticks claim different customers (``SKIP LOCKED``), like replicas do: while one
    waits on PostgreSQL, another decides, so the database and Python work in parallel. With a
    :class:`DecidingProcess`, the decisions run there, on another core, while this process
    sends the other ticks' statements.
    """

    def __init__(
        self,
        pool: Pool,
        clock: Clock,
        policy: Policy,
        batch_size: int = 500,
        concurrency: int = 1,
        deciding: DecidingProcess | None = None,
    ) -> None:
        self.pool = pool
        self.clock = clock
        self.policy = policy
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.deciding = deciding
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

    async def _tick_in(self, connection: Connection) -> tuple[TickOutcome, Sealed]:
        now = self.clock.now()
        customers: dict[str, Record] = {}
        for row in await connection.fetch(queries.CLAIM_DUE_CUSTOMERS, now, self.batch_size):
            customers.setdefault(row["customer_id"], row)  # once per due invoice
        if not customers:
            return TickOutcome(0, 0, 0), Sealed()
        invoices = await connection.fetch(queries.DUE_INVOICES, list(customers), now)
        if unknown_versions(
            self.policy, [(r["scenario_id"], r["scenario_version"]) for r in invoices]
        ):
            await adopt(connection, self.policy)  # a library version accepted elsewhere
        accounts: defaultdict[str, list[tuple[str, Decimal, int]]] = defaultdict(list)
        due_customers = list(dict.fromkeys(r["customer_id"] for r in invoices))
        for row in await connection.fetch(queries.OPEN_ACCOUNTS, due_customers):
            accounts[row["customer_id"]].append((row["currency"], row["total"], row["invoices"]))
        if self.deciding is not None:
            sealed = await self.deciding.decide(
                self.policy, now, customers, invoices, {c: accounts[c] for c in due_customers}
            )
        else:
            sealed = await self._decide_here(now, customers, invoices, accounts)
        await sealed.flush(connection, now)
        return TickOutcome(len(customers), sealed.reminded, sealed.escalated), sealed

    async def _decide_here(
        self,
        now: datetime,
        customer_rows: dict[str, Record],
        invoices: list[Record],
        accounts: defaultdict[str, list[tuple[str, Decimal, int]]],
    ) -> Sealed:
        by_customer: defaultdict[str, list[InvoiceState]] = defaultdict(list)
        if invoices:
            read = InvoiceState.reader(tuple(invoices[0].keys()))  # one query's columns
            for row in invoices:
                state = read(row)
                by_customer[state.customer_id].append(state)
        writes = _Writes()
        reminders = escalations = 0
        async with self._deciding:
            for n, (customer_id, states) in enumerate(by_customer.items(), 1):
                customer = Customer.of(customer_rows[customer_id])
                reminded, escalated = _decide_customer(
                    self.policy, customer, states, now, accounts[customer_id], writes
                )
                reminders += reminded
                escalations += escalated
                if n % _DECIDE_SLICE == 0:
                    # let the replica's other ticks send their next statement (without this,
                    # a tick whose statement PostgreSQL has answered waits for this whole
                    # batch's decisions before sending the next one); they do not start
                    # deciding meanwhile: two batches decided in turns would both be late,
                    # and their writes would then reach PostgreSQL together
                    await asyncio.sleep(0)
        return writes.sealed(reminders, escalations)
