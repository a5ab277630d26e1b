"""A batch's ledger events, applied together by the tracker (services.scheduler.ledger_run),
end as the same events applied one at a time: the same rows in ``customer`` and
``dunning_invoice``, the same ``dunning.state.changed`` in the same order (ids aside)."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.envelope import Event
from contracts.erp import Segment
from contracts.topics import DUNNING_ACTIONS
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import UnitOfWork
from services.runtime.database import Connection, create_pool
from services.runtime.outbox import OutgoingRecord
from services.runtime.settings import DatabaseSettings
from services.scheduler.app import policy_of
from services.scheduler.commands import CommandDesk, handler
from services.scheduler.domain.assignment import AssignmentRule, Match
from services.scheduler.domain.state import Policy
from services.scheduler.settings import SchedulerSettings
from services.scheduler.tracking import Tracker
from tests.integration.scheduler import fixtures
from tests.integration.scheduler.fixtures import SCHEMA
from tests.ledger_facts import credit_balance_changed

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "scheduler" / "migrations"
START = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
DUE = date(2026, 12, 1)
OWNERS = {"N1": "C1", "N2": "C1", "N3": "C2", "N4": "C3", "N5": "C2"}  # invoice number -> customer
DISPUTES = {number: uuid.uuid5(uuid.NAMESPACE_URL, number) for number in OWNERS}


def _policy(owing: bool = True) -> Policy:
    """The default library (whose rules do not read what a customer owes), with, if
    ``owing``, a rule that does: customers owing 2,000 EUR or more follow ``bad_payer``."""
    policy = policy_of(SchedulerSettings())
    assignment = policy.library.assignment
    if not owing:  # then a run does not read what its customers owe
        assert all(rule.when.min_outstanding is None for rule in assignment.rules)
        return policy
    rule = AssignmentRule(scenario="bad_payer", when=Match(min_outstanding=Decimal("2000")))
    rules = (assignment.rules[0], rule, *assignment.rules[1:])  # after the good payers
    library = replace(policy.library, assignment=assignment.model_copy(update={"rules": rules}))
    return replace(policy, library=library)


@dataclass(frozen=True)
class Upsert:
    customer_id: str
    profile: str
    version: int

    def event(self) -> Event:
        return fixtures.customer(
            self.customer_id, Segment(payer_profile=self.profile), version=self.version
        )


@dataclass(frozen=True)
class Open:
    number: str
    amount: str

    def event(self) -> Event:
        return fixtures.opened(OWNERS[self.number], self.number, DUE, self.amount)


@dataclass(frozen=True)
class Change:
    number: str
    open_amount: str
    due: date

    def event(self) -> Event:
        previous = "300.00" if self.open_amount == "1200.00" else "1200.00"  # a reversal
        return fixtures.amount_changed(
            OWNERS[self.number], self.number, self.due, previous, self.open_amount
        )


@dataclass(frozen=True)
class Close:
    number: str
    cancelled: bool

    def event(self) -> Event:
        if self.cancelled:
            return fixtures.cancelled(OWNERS[self.number], self.number)
        return fixtures.settled(OWNERS[self.number], self.number, DUE)


@dataclass(frozen=True)
class Credit:
    """A fact the tracker ignores: it must neither end the run nor change anything."""

    customer_id: str

    def event(self) -> Event:
        return credit_balance_changed(self.customer_id, fixtures.AT)


@dataclass(frozen=True)
class Dispute:
    """A pause or its end: it reads the tables, so it ends the run."""

    number: str
    resolved: bool

    def event(self) -> Event:
        customer_id = OWNERS[self.number]
        if self.resolved:
            return fixtures.dispute_resolved(customer_id, self.number, DISPUTES[self.number])
        return fixtures.dispute_opened(customer_id, self.number, DISPUTES[self.number])


Fact = Upsert | Open | Change | Close | Credit | Dispute
numbers = st.sampled_from(sorted(OWNERS))
facts: st.SearchStrategy[Fact] = st.one_of(
    st.builds(
        Upsert,
        st.sampled_from(["C1", "C2", "C3"]),
        st.sampled_from(["negligent", "bad_payer", "good_payer"]),
        st.integers(1, 3),
    ),
    st.builds(Open, numbers, st.sampled_from(["1200.00", "900.00"])),
    st.builds(
        Change,
        numbers,
        st.sampled_from(["300.00", "700.0", "1200.00"]),
        st.sampled_from([DUE, DUE + timedelta(days=10)]),
    ),
    st.builds(Close, numbers, st.booleans()),
    st.builds(Credit, st.sampled_from(["C1", "C2"])),
    st.builds(Dispute, numbers, st.booleans()),
)

# Before the batch: C1 and C2 known, N1 (C1) under way, N3 (C2) opened, C2 held by a collector.
EARLIER: list[Fact] = [
    Upsert("C1", "negligent", 1),
    Upsert("C2", "negligent", 1),
    Open("N1", "1200.00"),
    Open("N3", "900.00"),
]
UNDER_WAY = """
UPDATE dunning_invoice SET last_step_name = 'courtesy', last_level = 'preventive',
    last_action_at = $1 WHERE invoice_id = 'FR01/N1'
"""
HOLD = "UPDATE customer SET held_until = $1, hold_reason = 'collector' WHERE customer_id = 'C2'"

State = tuple[list[dict[str, Any]], list[dict[str, Any]], list[Any]]


async def _end_state(
    connection: Connection, policy: Policy, batch: list[Event], batched: bool
) -> State:
    """The tables and the events emitted after ``EARLIER`` then ``batch``; rolled back."""
    transaction = connection.transaction()
    await transaction.start()
    try:
        tracker = Tracker(policy)
        work = UnitOfWork(connection, SimulatedClock(START))
        for fact in EARLIER:
            await tracker.apply(work, fact.event())
        await connection.execute(UNDER_WAY, START - timedelta(days=2))
        await connection.execute(HOLD, START + timedelta(days=5))
        work = UnitOfWork(connection, SimulatedClock(START))
        if batched:  # through the scheduler's handler, as its consumer hands a batch
            await handler(tracker.apply, CommandDesk(policy))(work, batch)
        else:
            for event in batch:
                await tracker.apply(work, event)
        customers = await connection.fetch("SELECT * FROM customer ORDER BY customer_id")
        invoices = await connection.fetch("SELECT * FROM dunning_invoice ORDER BY invoice_id")
        emitted = []
        for record in work.emitted:
            # the bytes and headers the contract's model gives (the state changes' ids are
            # kept as text, the model's as a UUID: compared as UUIDs)
            model = OutgoingRecord.of(DUNNING_ACTIONS, DUNNING_ACTIONS.parse(record.value))
            assert record._replace(event_id=record.event_uuid) == model
            event = json.loads(record.value)
            del event["event_id"]
            emitted.append((record.topic, record.key, event))
        return [dict(r) for r in customers], [dict(r) for r in invoices], emitted
    finally:
        await transaction.rollback()


async def _compare(url: str, batch: list[Fact], owing: bool = True) -> State:
    await migrations.apply_async(url, SCHEMA, MIGRATIONS)
    pool = await create_pool(DatabaseSettings(url=url), SCHEMA, min_size=1, max_size=1)
    policy = _policy(owing)
    try:
        events = [f.event() for f in batch]
        async with pool.acquire() as connection:
            one_at_a_time = await _end_state(connection, policy, events, batched=False)
            batched = await _end_state(connection, policy, events, batched=True)
    finally:
        await pool.close()
    assert batched == one_at_a_time
    return batched


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(facts, min_size=1, max_size=14), owing=st.booleans())
def test_a_batch_of_ledger_events_ends_as_its_events_applied_one_at_a_time(
    database_url: str, batch: list[Fact], owing: bool
) -> None:
    asyncio.run(_compare(database_url, batch, owing))


def test_a_run_reads_what_its_earlier_events_wrote(database_url: str) -> None:
    """The cases a run must get right from memory, in one batch: a customer first known in
    the run, what a customer owes growing with its openings (2,000 EUR: ``bad_payer``),
    an opening under a collector's hold, a settlement and its reversal, an older version of
    a customer, and a pause between ledger events."""
    batch: list[Fact] = [
        Upsert("C3", "negligent", 1),
        Open("N4", "1200.00"),
        Credit("C1"),
        Open("N2", "1200.00"),  # C1 owes 2,400 EUR with N1: bad_payer
        Open("N3", "900.00"),  # replayed: changes nothing
        Open("N5", "500.00"),  # C2 is held by a collector
        Close("N1", cancelled=False),
        Change("N1", "700.0", DUE),  # a reversal reopens it
        Upsert("C1", "negligent", 2),
        Upsert("C1", "bad_payer", 1),  # older: ignored
        Dispute("N4", resolved=False),
        Change("N4", "300.00", DUE),
    ]
    customers, invoices, emitted = asyncio.run(_compare(database_url, batch))
    rows = {r["invoice_id"]: r for r in invoices}
    assert [c["customer_id"] for c in customers] == ["C1", "C2", "C3"]
    assert customers[0]["version"] == 2
    assert (rows["FR01/N1"]["status"], rows["FR01/N1"]["open_amount"]) == ("active", 700)
    assert rows["FR01/N5"]["held_until"] == START + timedelta(days=5)
    assert rows["FR01/N5"]["hold_reason"] == "collector"
    states = [e["payload"] for _, _, e in emitted if e["event_type"] == "dunning.state.changed"]
    # owing 2,400 EUR when it opened, 1,900 once N1 was settled and reopened at 700
    assert [s["scenario_id"] for s in states if s["invoice_id"] == "FR01/N2"] == [
        "bad_payer",
        "negligent",
    ]
    assert rows["FR01/N2"]["scenario_id"] == "negligent"
    assert [s["paused"] for s in states if s["invoice_id"] == "FR01/N4"] == [False, True, True]
    (n5,) = [s for s in states if s["invoice_id"] == "FR01/N5"]
    assert (n5["pause_reason"], n5["next_action_at"]) == ("hold", None)
