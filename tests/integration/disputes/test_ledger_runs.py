"""A batch's ledger events, applied together as a run (services.disputes.ledger_run), end as
the same events applied one at a time: the same rows in every table the ledger's events
touch, the same events in the outbox in the same order, the same commands rejected; and a
run costs a few statements, not a few per event."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest
from asyncpg.exceptions import DeadlockDetectedError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import disputes, ledger
from contracts.envelope import Event
from contracts.erp import Segment
from contracts.money import Money, PositiveMoney
from contracts.topics import DISPUTE_COMMANDS, DISPUTE_EVENTS, LEDGER_EVENTS
from services.disputes.app import DEFINITION, policy_of
from services.disputes.casebook import Casebook
from services.disputes.handler import COMMANDS, CommandHandler
from services.disputes.settings import DisputesSettings
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import BatchProcessor, UnitOfWork
from services.runtime.database import Connection, create_pool
from services.runtime.dead_letter import IncomingRecord
from services.runtime.outbox import OutgoingRecord
from services.runtime.settings import DatabaseSettings
from tests.integration.disputes.harness import command
from tests.ledger_facts import credit_balance_changed

pytestmark = pytest.mark.integration

# 03:30 UTC: the same day in Paris, the day before in New York (a promise kept on either)
START = datetime(2026, 11, 20, 3, 30, tzinfo=UTC)
TODAY = date(2026, 11, 20)
OWNERS = {  # invoice number -> customer (C3 is unknown before the batch: the default zone)
    "N1": "C1",
    "N2": "C1",
    "N3": "C1",
    "N4": "C2",
    "N5": "C2",
    "N6": "C2",
    "N7": "C3",
}
ZONES = ("Europe/Paris", "America/New_York")
TABLES = {  # table -> its order (serial ids left out, their order kept)
    "customer": "customer_id",
    "invoice": "invoice_id",
    "payment": "id",
    "dispute": "dispute_id",
    "dispute_transition": "id",
    "promise": "promise_id",
    "payment_plan": "plan_id",
    "customer_promise_record": "customer_id",
}


def _eur(value: str) -> PositiveMoney:
    return PositiveMoney(amount=Decimal(value), currency="EUR")


def _invoice(number: str) -> dict[str, str]:
    return {
        "company_code": "FR01",
        "customer_id": OWNERS[number],
        "invoice_id": f"FR01/{number}",
        "invoice_number": number,
    }


def _fact(cls: type[Event], payload: Any) -> Event:
    return cls.model_validate(
        {"event_id": uuid.uuid4(), "occurred_at": START, "source": "ledger", "payload": payload}
    )


@dataclass(frozen=True)
class Upsert:
    customer_id: str
    zone: str
    version: int

    def event(self) -> Event:
        return _fact(
            ledger.LedgerCustomerUpserted,
            ledger.LedgerCustomer(
                customer_id=self.customer_id,
                company_code="FR01",
                version=self.version,
                name=f"Customer {self.customer_id}",
                country="FR",
                time_zone=self.zone,
                language="fr",
                segment=Segment(payer_profile="negligent"),
            ),
        )


@dataclass(frozen=True)
class Open:
    number: str
    amount: str

    def event(self) -> Event:
        return _fact(
            ledger.InvoiceOpened,
            ledger.OpenedInvoice(
                **_invoice(self.number),
                issue_date=TODAY - timedelta(days=40),
                due_date=TODAY - timedelta(days=10),
                amount=_eur(self.amount),
                open_amount=_eur(self.amount),
            ),
        )


@dataclass(frozen=True)
class Change:
    """A payment, a reversal (reopening), a credit note, a correction or a credit balance
    used on the invoice."""

    number: str
    previous: str
    now_open: str
    cause: ledger.OpenAmountCause

    def event(self) -> Event:
        return _fact(
            ledger.OpenAmountChanged,
            ledger.OpenAmountChange(
                **_invoice(self.number),
                previous_open_amount=Money(amount=Decimal(self.previous), currency="EUR"),
                open_amount=_eur(self.now_open),
                cause=self.cause,
                cause_document_id="DOC-1",
                due_date=TODAY - timedelta(days=10),
                amount=_eur("2000.00"),
            ),
        )


@dataclass(frozen=True)
class Settle:
    number: str
    paid: str
    cause: ledger.SettlementCause

    def event(self) -> Event:
        return _fact(
            ledger.InvoiceSettled,
            ledger.Settlement(
                **_invoice(self.number),
                settled_on=TODAY,
                cause=self.cause,
                cause_document_id="PAY-1",
                previous_open_amount=_eur(self.paid),
                amount=_eur("2000.00"),
                issue_date=TODAY - timedelta(days=40),
                due_date=TODAY - timedelta(days=10),
            ),
        )


@dataclass(frozen=True)
class Cancel:
    number: str

    def event(self) -> Event:
        return _fact(
            ledger.LedgerInvoiceCancelled,
            ledger.Cancellation(
                **_invoice(self.number),
                previous_open_amount=Money(amount=Decimal("100.00"), currency="EUR"),
            ),
        )


@dataclass(frozen=True)
class Credit:
    """A fact the service ignores: it must neither end the run nor change anything."""

    customer_id: str

    def event(self) -> Event:
        return credit_balance_changed(self.customer_id, START)


@dataclass(frozen=True)
class Promise:
    """A command between ledger events: it reads the tables, so it ends the run (and may
    be rejected: an invoice closed or already promised)."""

    number: str
    amount: str

    def event(self) -> Event:
        return _promise(OWNERS[self.number], [self.number], self.amount, TODAY + timedelta(days=3))


def _promise(
    customer_id: str, numbers: Sequence[str], amount: str, on: date, kind: str = "promise"
) -> Event:
    return command(
        "promise.record",
        disputes.Promise.model_validate(
            {
                "promise_id": uuid.uuid4(),
                "customer_id": customer_id,
                "invoice_ids": [f"FR01/{n}" for n in numbers],
                "promised_date": on,
                "amount": _eur(amount),
                "channel": "portal" if kind == "payment_announced" else "phone_call",
                "recorded_by": "collector@creditor.example",
                "kind": kind,
            }
        ),
    )


def _dispute(customer_id: str, numbers: Sequence[str], whole_account: bool) -> Event:
    return command(
        "dispute.open",
        disputes.DisputeRequest.model_validate(
            {
                "dispute_id": uuid.uuid5(uuid.NAMESPACE_URL, f"{customer_id}{numbers}"),
                "customer_id": customer_id,
                "invoice_ids": [f"FR01/{n}" for n in numbers],
                "whole_account": whole_account,
                "category": "administrative",
                "text": "The purchase order number is missing.",
                "raised_by": "customer",
            }
        ),
    )


def _earlier() -> list[Event]:
    """Before the batch: C1 in Paris, C2 in New York; C1's N1 and N2 under a promise of
    600 EUR and a justified dispute awaiting their correction, N3 under a plan of three
    instalments; C2's N4 under a payment a provider announced, N5 under a promise of 150
    EUR, its whole account disputed."""
    c1_dispute = _dispute("C1", ["N1", "N2"], whole_account=False)
    plan = disputes.PaymentPlan(
        plan_id=uuid.uuid4(),
        customer_id="C1",
        invoice_ids=("FR01/N3",),
        agreed_on=TODAY,
        instalments=tuple(
            disputes.Instalment(due_date=TODAY + timedelta(days=d), amount=_eur("300.00"))
            for d in (1, 20, 40)
        ),
        agreed_by="collector@creditor.example",
    )
    return [
        Upsert("C1", "Europe/Paris", 1).event(),
        Upsert("C2", "America/New_York", 1).event(),
        Open("N1", "500.00").event(),
        Open("N2", "700.00").event(),
        Open("N3", "900.00").event(),
        Open("N4", "300.00").event(),
        Open("N5", "400.00").event(),
        _promise("C1", ["N1", "N2"], "600.00", TODAY + timedelta(days=5)),
        command("payment_plan.agree", plan),
        _promise("C2", ["N4"], "300.00", TODAY, kind="payment_announced"),
        _promise("C2", ["N5"], "150.00", TODAY + timedelta(days=5)),
        c1_dispute,
        command(
            "dispute.resolve",
            disputes.DisputeResolution(
                dispute_id=c1_dispute.payload.dispute_id,
                customer_id="C1",
                outcome="justified",
                by="collector@creditor.example",
            ),
        ),
        _dispute("C2", ["N4"], whole_account=True),
    ]


Fact = Upsert | Open | Change | Settle | Cancel | Credit | Promise
numbers = st.sampled_from(sorted(OWNERS))
facts: st.SearchStrategy[Fact] = st.one_of(
    st.builds(
        Upsert, st.sampled_from(["C1", "C2", "C3"]), st.sampled_from(ZONES), st.integers(1, 3)
    ),
    st.builds(Open, numbers, st.sampled_from(["300.00", "800.00"])),
    st.builds(
        Change,
        numbers,
        st.sampled_from(["400.00", "900.00"]),
        st.sampled_from(["100.00", "350.0"]),
        st.sampled_from(["payment", "credit_note", "correction", "credit_balance"]),
    ),
    st.builds(
        Change, numbers, st.sampled_from(["0.00", "100.00"]), st.just("350.0"), st.just("reversal")
    ),
    st.builds(
        Settle,
        numbers,
        st.sampled_from(["150.00", "600.00"]),
        st.sampled_from(["payment", "credit_note"]),
    ),
    st.builds(Cancel, numbers),
    st.builds(Credit, st.sampled_from(["C1", "C2"])),
    st.builds(Promise, numbers, st.sampled_from(["100.00", "200.00"])),
)

State = tuple[dict[str, list[dict[str, Any]]], list[Any], list[Any]]


def _handler() -> CommandHandler:
    settings = DisputesSettings(promise_grace_days=1)
    return CommandHandler(Casebook(policy_of(settings)), settings.call_dispute_category)


async def _end_state(
    connection: Connection, earlier: Sequence[Event], batch: Sequence[Event], batched: bool
) -> State:
    """The tables, the events emitted and the commands rejected after ``earlier`` then
    ``batch``; rolled back."""
    transaction = connection.transaction()
    await transaction.start()
    try:
        handler = _handler()
        work = UnitOfWork(connection, SimulatedClock(START - timedelta(hours=1)))
        for event in earlier:
            await handler.apply(work, event)
        assert not work.rejected  # the promises, the plan and the disputes are there
        work = UnitOfWork(connection, SimulatedClock(START))
        if batched:  # as the consumer hands a batch
            await handler.handle(work, batch)
        else:
            for event in batch:  # a run of one ledger event at a time
                await handler.apply(work, event)
        tables = {}
        for table, order in TABLES.items():
            rows = await connection.fetch(f"SELECT * FROM {table} ORDER BY {order}")
            tables[table] = [{k: v for k, v in r.items() if k != "id"} for r in rows]
        emitted = [(r.topic, r.key, r.value, r.headers) for r in work.emitted]
        return tables, emitted, sorted(work.rejected.items())
    finally:
        await transaction.rollback()


async def _compare(url: str, batch: Sequence[Fact]) -> State:
    await migrations.apply_async(url, DEFINITION.schema, DEFINITION.migrations)
    pool = await create_pool(DatabaseSettings(url=url), DEFINITION.schema, min_size=1, max_size=1)
    try:
        earlier, events = _earlier(), [f.event() for f in batch]
        async with pool.acquire() as connection:
            one_at_a_time = await _end_state(connection, earlier, events, batched=False)
            batched = await _end_state(connection, earlier, events, batched=True)
    finally:
        await pool.close()
    assert batched == one_at_a_time
    return batched


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(facts, min_size=1, max_size=16))
def test_a_batch_of_ledger_events_ends_as_its_events_applied_one_at_a_time(
    database_url: str, batch: list[Fact]
) -> None:
    asyncio.run(_compare(database_url, batch))


def _types(emitted: list[Any]) -> list[str]:
    return [dict(headers)["event_type"].decode() for _, _, _, headers in emitted]


# One batch of the cases a run must get right from memory, each after an earlier event of
# the run changed what it reads.
STORY: list[Fact] = [
    Credit("C1"),
    Upsert("C2", "Europe/Paris", 2),  # C2's day is now the 20th, not the 19th
    Upsert("C2", "America/New_York", 1),  # older: ignored
    Change("N1", "500.00", "100.00", "payment"),  # 400 of C1's 600 promised
    Open("N6", "250.00"),  # joins C2's whole-account dispute
    Open("N6", "250.00"),  # replayed: changes nothing
    Change("N2", "700.00", "300.00", "payment"),  # 800 of 600: C1's promise kept
    Change("N1", "100.00", "50.00", "credit_note"),  # the correction C1's dispute awaits
    Settle("N2", "300.00", "credit_note"),  # the last one: the dispute is resolved
    Change("N3", "900.00", "600.00", "payment"),  # the plan's first instalment
    Change("N5", "400.00", "300.00", "payment"),  # not enough for C2's promise
    Promise("N3", "100.00"),  # rejected (the plan holds N3): it ends the run
    Change("N5", "300.00", "200.00", "payment"),  # C2's promise kept (on its day)
    Open("N7", "300.00"),  # a customer not known yet
    Settle("N3", "600.00", "payment"),  # the plan completed
    Cancel("N4"),  # the announced payment's invoice cancelled: kept, not in the record
]


def test_a_run_reads_what_its_earlier_events_wrote(database_url: str) -> None:
    """The cases a run must get right from memory (``STORY``)."""
    tables, emitted, rejected = asyncio.run(_compare(database_url, STORY))
    assert [reason for _, (reason, _) in rejected] == ["overlapping_payment_plan"]
    assert _types(emitted) == [
        "dispute.opened",  # N6 added
        "promise.kept",
        "dispute.correction_received",
        "dispute.correction_received",
        "promise.kept",
        "payment_plan.completed",
        "promise.kept",
    ]
    promises = {tuple(p["invoice_ids"]): p for p in tables["promise"]}
    assert promises[("FR01/N1", "FR01/N2")]["received"] == Decimal("800.00")
    assert promises[("FR01/N5",)]["closed_on"] == TODAY  # in Paris since version 2
    assert promises[("FR01/N4",)]["status"] == "kept"
    records = {
        r["customer_id"]: (r["kept"], r["broken"]) for r in tables["customer_promise_record"]
    }
    assert records == {"C1": (1, 0), "C2": (1, 0)}
    (c1_dispute,) = [d for d in tables["dispute"] if d["customer_id"] == "C1"]
    assert (c1_dispute["status"], c1_dispute["awaiting"]) == ("resolved", [])
    (c2_dispute,) = [d for d in tables["dispute"] if d["customer_id"] == "C2"]
    assert c2_dispute["invoice_ids"] == ["FR01/N4", "FR01/N5", "FR01/N6"]
    assert [p["amount"] for p in tables["payment"]] == [
        Decimal("400.00"),
        Decimal("400.00"),
        Decimal("300.00"),
        Decimal("100.00"),
        Decimal("100.00"),
        Decimal("600.00"),
    ]
    (plan,) = tables["payment_plan"]
    assert (plan["status"], plan["received"]) == ("completed", Decimal("900.00"))


class CountingConnection:
    """A connection that counts the statements sent through it."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.statements = 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.connection, name)
        if name not in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
            return attribute

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.statements += 1
            return await attribute(*args, **kwargs)

        return counted


def _busy_day(rounds: int) -> list[Event]:
    """``rounds`` times: every invoice paid a little, a credit balance, a reversal."""
    events = []
    for _ in range(rounds):
        for number in sorted(OWNERS):
            events.append(Change(number, "400.00", "390.00", "payment").event())
        events.append(Credit("C1").event())
        events.append(Change("N6", "0.00", "10.00", "reversal").event())
    return events


async def _statements(url: str, batch: Sequence[Event], batched: bool) -> int:
    await migrations.apply_async(url, DEFINITION.schema, DEFINITION.migrations)
    pool = await create_pool(DatabaseSettings(url=url), DEFINITION.schema, min_size=1, max_size=1)
    try:
        async with pool.acquire() as connection, connection.transaction():
            handler = _handler()
            work = UnitOfWork(connection, SimulatedClock(START - timedelta(hours=1)))
            await handler.handle(work, _earlier())
            counting = CountingConnection(connection)
            work = UnitOfWork(cast(Connection, counting), SimulatedClock(START))
            if batched:
                await handler.handle(work, batch)
            else:
                for event in batch:
                    await handler.handle(work, [event])
            return counting.statements
    finally:
        await pool.close()


def test_a_run_costs_a_few_statements_whatever_its_length(database_url: str) -> None:
    """Reads of promises, plans, invoices, customers and promise records, writes of
    invoices, payments, promises and plans: the same nine for 9 events or 45."""
    small, large = _busy_day(1), _busy_day(5)
    statements = asyncio.run(_statements(database_url, small, batched=True))
    assert statements == asyncio.run(_statements(database_url, large, batched=True)) <= 11
    # one event at a time: a run per event, its statements each time
    assert asyncio.run(_statements(database_url, large, batched=False)) > 5 * len(large)


def _records(events: Sequence[Event], first_offset: int) -> list[IncomingRecord]:
    """The events as the consumer receives them: commands and ledger facts on their topics."""
    records = []
    for offset, event in enumerate(events, start=first_offset):
        topic = DISPUTE_COMMANDS if isinstance(event, COMMANDS) else LEDGER_EVENTS
        out = OutgoingRecord.of(topic, event)
        records.append(
            IncomingRecord(topic.name, 0, offset, out.key, out.value, tuple(out.headers))
        )
    return records


async def _retried_and_replayed(url: str) -> None:
    await migrations.apply_async(url, DEFINITION.schema, DEFINITION.migrations)
    pool = await create_pool(DatabaseSettings(url=url), DEFINITION.schema, min_size=1, max_size=1)
    try:
        earlier, batch = _earlier(), [f.event() for f in STORY]
        async with pool.acquire() as connection:
            tables, emitted, _ = await _end_state(connection, earlier, batch, batched=True)
        handler, failures = _handler(), [DeadlockDetectedError("deadlock detected")]

        async def failing_once(work: UnitOfWork, events: Sequence[Event]) -> None:
            await handler.handle(work, events)
            if failures:  # after the runs wrote: the transaction is rolled back, then retried
                raise failures.pop()

        clock = SimulatedClock(START - timedelta(hours=1))
        processor = BatchProcessor("disputes", DEFINITION.consumes, handler.handle, pool, clock)
        await processor.process(_records(earlier, 0))
        after_earlier = await pool.fetchval("SELECT coalesce(max(id), 0) FROM outbox")
        clock.set(START)
        records = _records(batch, len(earlier))
        processor.handler = failing_once
        assert (await processor.process(records)).applied == len(batch) - 1  # one rejected
        assert not failures
        assert (await processor.process(records)).duplicates == len(batch)  # replayed
        async with pool.acquire() as connection:
            for table, order in TABLES.items():
                rows = await connection.fetch(f"SELECT * FROM {table} ORDER BY {order}")
                assert [{k: v for k, v in r.items() if k != "id"} for r in rows] == tables[table]
        published = await pool.fetch(
            "SELECT topic, key, value FROM outbox WHERE id > $1 AND topic = $2 ORDER BY id",
            after_earlier,
            DISPUTE_EVENTS.name,
        )
        assert [tuple(r) for r in published] == [(t, k, v) for t, k, v, _ in emitted]
    finally:
        await pool.close()


def test_a_batch_retried_after_a_transient_error_then_replayed_ends_as_applied_once(
    database_url: str,
) -> None:
    """Through the consumer's plumbing: the batch fails once after its runs wrote (rolled
    back, retried), then comes again (its events are duplicates): the tables and the
    outbox are those of the batch applied once."""
    asyncio.run(_retried_and_replayed(database_url))
