"""A batch of ledger events, applied set-based, ends as the same events applied one at a time."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import ledger
from contracts.envelope import Event
from contracts.money import Money
from services.notifier import queries
from services.notifier.handler import handle
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import UnitOfWork
from tests.ledger_facts import credit_balance_changed
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parents[3] / "services" / "notifier" / "migrations"
INVOICES = ("INV-1", "INV-2")
FEB_10, FEB_20 = date(2026, 2, 10), date(2026, 2, 20)


def _eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


@dataclass(frozen=True)
class Opened:
    number: str
    amount: str
    due: date

    def event(self) -> Event:
        return ledger.InvoiceOpened(
            event_id=uuid.uuid4(),
            occurred_at=samples.NOW,
            source="ingestion",
            payload=ledger.OpenedInvoice(
                company_code="FR01",
                customer_id=samples.CUSTOMER,
                invoice_id=f"FR01/{self.number}",
                invoice_number=self.number,
                issue_date=date(2026, 1, 1),
                due_date=self.due,
                amount=samples.eur(self.amount),
                open_amount=samples.eur(self.amount),
            ),
        )


@dataclass(frozen=True)
class Changed:
    """A partial payment or a correction (``after`` is what remains open)."""

    number: str
    before: str
    after: str
    value_date: date | None

    def event(self) -> Event:
        return ledger.OpenAmountChanged(
            event_id=uuid.uuid4(),
            occurred_at=samples.NOW,
            source="ingestion",
            payload=ledger.OpenAmountChange(
                company_code="FR01",
                customer_id=samples.CUSTOMER,
                invoice_id=f"FR01/{self.number}",
                invoice_number=self.number,
                previous_open_amount=_eur(self.before),
                open_amount=samples.eur(self.after),
                cause="correction",
                cause_document_id="DOC-1",
                due_date=date(2026, 1, 31),
                amount=samples.eur("1200.00"),
                value_date=self.value_date,
            ),
        )


@dataclass(frozen=True)
class Closed:
    number: str
    cancelled: bool

    def event(self) -> Event:
        if self.cancelled:
            return ledger.LedgerInvoiceCancelled(
                event_id=uuid.uuid4(),
                occurred_at=samples.NOW,
                source="ingestion",
                payload=ledger.Cancellation(
                    company_code="FR01",
                    customer_id=samples.CUSTOMER,
                    invoice_id=f"FR01/{self.number}",
                    invoice_number=self.number,
                    previous_open_amount=_eur("700.00"),
                ),
            )
        return samples.invoice_settled(self.number)


@dataclass(frozen=True)
class CreditChanged:
    """A fact of the ledger the notifier keeps no view of: it must not change the end."""

    def event(self) -> Event:
        return credit_balance_changed(samples.CUSTOMER, samples.NOW, source="ingestion")


Fact = Opened | Changed | Closed | CreditChanged
numbers = st.sampled_from(INVOICES)
facts: st.SearchStrategy[Fact] = st.one_of(
    st.builds(Opened, numbers, st.sampled_from(["1000.00", "1200.00"]), st.just(FEB_10)),
    st.builds(
        Changed,
        numbers,
        st.sampled_from(["1200.00", "700.00"]),
        # 700.0 and 700.00 are the same amount: the history keeps the first written
        st.sampled_from(["700.00", "700.0", "300.00"]),
        st.sampled_from([None, FEB_10, FEB_20]),
    ),
    st.builds(Closed, numbers, st.booleans()),
    st.just(CreditChanged()),
)


async def _end_state(
    connection: asyncpg.Connection, earlier: list[Event], batch: list[Event], batched: bool
) -> tuple[list[Any], list[Any]]:
    """The notifier's view after ``earlier`` one at a time then ``batch``; rolled back."""
    transaction = connection.transaction()
    await transaction.start()
    try:
        work = UnitOfWork(connection, SimulatedClock(samples.NOW))
        for event in earlier:
            await handle(work, [event])
        if batched:
            await handle(work, batch)
        else:
            for event in batch:
                await handle(work, [event])
        items = await connection.fetch(
            "SELECT invoice_id, customer_id, invoice_number, due_date, currency, amount,"
            " open_amount, open_amount_changes::text AS changes FROM open_items"
            " ORDER BY invoice_id"
        )
        closed = await connection.fetch("SELECT * FROM closed_invoices ORDER BY invoice_id")
        return [tuple(r) for r in items], [tuple(r) for r in closed]
    finally:
        await transaction.rollback()


async def _compare(url: str, earlier: list[Fact], batch: list[Fact]) -> None:
    await migrations.apply_async(url, "notifier", MIGRATIONS)
    connection = await asyncpg.connect(url, server_settings={"search_path": "notifier"})
    try:
        before = [f.event() for f in earlier]
        events = [f.event() for f in batch]
        one_at_a_time = await _end_state(connection, before, events, batched=False)
        batched = await _end_state(connection, before, events, batched=True)
    finally:
        await connection.close()
    assert batched == one_at_a_time


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    earlier=st.lists(facts, max_size=3),
    batch=st.lists(facts, min_size=1, max_size=8),
)
def test_a_batch_ends_as_its_events_applied_one_at_a_time(
    database_url: str, earlier: list[Fact], batch: list[Fact]
) -> None:
    asyncio.run(_compare(database_url, earlier, batch))


def test_opened_paid_in_part_twice_then_settled_in_one_batch(database_url: str) -> None:
    """The examples the consumer meets most: in one batch, the last word wins per invoice."""
    batch: list[Fact] = [
        Opened("INV-1", "1200.00", FEB_10),
        Opened("INV-2", "1200.00", FEB_10),
        Changed("INV-1", "1200.00", "700.00", FEB_10),
        Changed("INV-2", "1200.00", "700.00", FEB_10),
        Changed("INV-1", "700.00", "300.00", FEB_20),
        Closed("INV-2", cancelled=False),
    ]

    async def check() -> None:
        await _compare(database_url, [], batch)
        connection = await asyncpg.connect(
            database_url, server_settings={"search_path": "notifier"}
        )
        try:
            items, closed = await _end_state(
                connection, [], [f.event() for f in batch], batched=True
            )
        finally:
            await connection.close()
        (item,) = items
        assert item[0] == "FR01/INV-1"
        assert item[6] == Decimal("300.00")
        assert '"after": 700.00' in item[7]
        assert '"after": 300.00' in item[7]
        assert closed == [("FR01/INV-2", samples.CUSTOMER, "settled")]

    asyncio.run(check())


def test_a_public_bodys_platform_references_outlive_a_settlement_and_its_reversal(
    database_url: str,
) -> None:
    """The references come with the opening only; a settlement deletes the open item and a
    reversal writes it afresh from an event without them: they are kept beside it."""
    opened = samples.invoice_opened("INV-1")
    public = opened.model_copy(
        update={
            "payload": opened.payload.model_copy(
                update={"service_code": "SERV-ACHATS", "commitment_number": "EJ-2026-0417"}
            )
        }
    )
    reopened = Changed("INV-1", "0.00", "700.00", FEB_20).event()
    assert isinstance(reopened.payload, ledger.OpenAmountChange)
    reversal = reopened.model_copy(
        update={"payload": reopened.payload.model_copy(update={"cause": "reversal"})}
    )

    async def check() -> None:
        await migrations.apply_async(database_url, "notifier", MIGRATIONS)
        connection = await asyncpg.connect(
            database_url, server_settings={"search_path": "notifier"}
        )
        transaction = connection.transaction()
        await transaction.start()
        try:
            work = UnitOfWork(connection, SimulatedClock(samples.NOW))
            await handle(work, [public, samples.invoice_opened("INV-2")])
            await handle(work, [samples.invoice_settled("INV-1")])
            await handle(work, [reversal])
            rows = await connection.fetch(queries.OPEN_ITEMS_OF, samples.CUSTOMER)
        finally:
            await transaction.rollback()
            await connection.close()
        found = {r["invoice_id"]: (r["service_code"], r["commitment_number"]) for r in rows}
        assert found == {
            "FR01/INV-1": ("SERV-ACHATS", "EJ-2026-0417"),
            "FR01/INV-2": (None, None),
        }

    asyncio.run(check())


class _CountingConnection(asyncpg.Connection):
    """A real connection that counts the statements sent through it."""

    statements = 0

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        type(self).statements += 1
        return await super().execute(*args, **kwargs)

    async def executemany(self, *args: Any, **kwargs: Any) -> Any:
        type(self).statements += 1
        return await super().executemany(*args, **kwargs)

    async def fetch(self, *args: Any, **kwargs: Any) -> Any:
        type(self).statements += 1
        return await super().fetch(*args, **kwargs)


def test_facts_the_notifier_ignores_do_not_split_a_run_of_ledger_events(
    database_url: str,
) -> None:
    """A payment's ledger events come with a credit balance's change between them: the run
    of ledger events goes on past it, written with as many statements as without it."""
    facts: list[Fact] = [
        Opened("INV-1", "1200.00", FEB_10),
        CreditChanged(),
        Opened("INV-2", "1000.00", FEB_10),
        CreditChanged(),
        Changed("INV-1", "1200.00", "700.00", FEB_10),
        CreditChanged(),
        Closed("INV-2", cancelled=False),
    ]

    async def statements(batch: list[Event]) -> int:
        connection = await asyncpg.connect(
            database_url,
            server_settings={"search_path": "notifier"},
            connection_class=_CountingConnection,
        )
        transaction = connection.transaction()
        await transaction.start()
        try:
            _CountingConnection.statements = 0
            await handle(UnitOfWork(connection, SimulatedClock(samples.NOW)), batch)
            return _CountingConnection.statements
        finally:
            await transaction.rollback()
            await connection.close()

    async def check() -> None:
        await migrations.apply_async(database_url, "notifier", MIGRATIONS)
        events = [f.event() for f in facts]
        without = [e for e in events if not isinstance(e, ledger.CreditBalanceChanged)]
        assert await statements(events) == await statements(without) > 0
        await _compare(database_url, [], facts)

    asyncio.run(check())
