"""A batch's ledger events applied in layers end as the same events applied one at a time.

The projection sends a run of ledger events together by type, each invoice's (customer's,
credit balance's, parked document's) events in their order (``projection.in_layers``): the
tables must end exactly as with one event per batch, the open-amount history of every
invoice in the same order."""

from __future__ import annotations

import asyncio
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import ledger
from contracts.envelope import Event
from contracts.money import Money, PositiveMoney
from services.reporting.projection import apply_events, in_layers
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import UnitOfWork
from services.runtime.database import Connection
from tests.infrastructure import Servers
from tests.integration.reporting.conftest import feed, migrated_pool
from tests.integration.reporting.generated_ledger import generate

pytestmark = pytest.mark.integration

TABLES = {
    "invoices": "SELECT * FROM invoices ORDER BY invoice_id",
    # the ledger's order within each invoice (seq), not the global numbering
    "invoice_open_amounts": """
        SELECT invoice_id, event_id, effective_on, occurred_at, open_amount, due_date, cause,
               delta, rank() OVER (PARTITION BY invoice_id ORDER BY seq) AS place
        FROM invoice_open_amounts ORDER BY invoice_id, place""",
    "credit_balances": "SELECT * FROM credit_balances ORDER BY customer_id, currency",
    "customers": "SELECT * FROM customers ORDER BY customer_id",
    "unmatched_cash_documents": (
        "SELECT * FROM unmatched_cash_documents ORDER BY company_code, kind, document_id"
    ),
    "aged_balance_current": (
        "SELECT * FROM aged_balance_current"
        " ORDER BY company_code, customer_id, currency, bucket_order"
    ),
}


@pytest.fixture
async def second_database_url(infrastructure: Servers) -> AsyncIterator[str]:
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(infrastructure.database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    parts = urllib.parse.urlsplit(infrastructure.database_url)
    yield urllib.parse.urlunsplit(parts._replace(path="/" + name))
    admin = await asyncpg.connect(infrastructure.database_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _tables(pool: asyncpg.Pool) -> dict[str, list[tuple[Any, ...]]]:
    async with pool.acquire() as connection:
        return {
            name: [tuple(row) for row in await connection.fetch(query)]
            for name, query in TABLES.items()
        }


@pytest.mark.parametrize("seed", [3, 4])
async def test_a_batch_in_layers_ends_as_one_event_at_a_time(
    database_url: str, second_database_url: str, seed: int
) -> None:
    generated = generate(seed)
    one_by_one = await migrated_pool(database_url)
    together = await migrated_pool(second_database_url)
    try:
        await feed(one_by_one, generated.events, batch_size=1)
        await feed(together, generated.events, batch_size=500)
        expected = await _tables(one_by_one)
        assert len(expected["invoice_open_amounts"]) > 100  # the history is not trivial
        assert await _tables(together) == expected
    finally:
        await one_by_one.close()
        await together.close()


def test_layers_keep_each_invoices_order_and_group_by_type() -> None:
    events = [
        event
        for _, event in generate(5).events
        if isinstance(
            event, ledger.InvoiceOpened | ledger.OpenAmountChanged | ledger.InvoiceSettled
        )
    ][:300]
    layered = in_layers(events)
    assert sorted(map(id, layered)) == sorted(map(id, events))

    def per_invoice(sequence: list[Any]) -> dict[str, list[uuid.UUID]]:
        order: dict[str, list[uuid.UUID]] = {}
        for event in sequence:
            order.setdefault(event.payload.invoice_id, []).append(event.event_id)
        return order

    assert per_invoice(layered) == per_invoice(events)
    runs = sum(1 for i, e in enumerate(layered) if i == 0 or type(layered[i - 1]) is not type(e))
    original = sum(1 for i, e in enumerate(events) if i == 0 or type(events[i - 1]) is not type(e))
    assert runs < original


# Generated orders of one customer's ledger events, in any order of types (a reversal after a
# settlement, an opening after a change): the generated histories above keep the usual order.
FEB_10, FEB_20 = date(2026, 2, 10), date(2026, 2, 20)
NUMBERS = ("INV-1", "INV-2")
CUSTOMER = "C-1"


def _eur(amount: str) -> PositiveMoney:
    return PositiveMoney(amount=Decimal(amount), currency="EUR")


def _event(kind: str, number: str, variant: int, at: int) -> Event:
    common: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "occurred_at": datetime(2026, 2, 1, tzinfo=UTC) + timedelta(minutes=at),
        "source": "ingestion",
    }
    invoice = {
        "company_code": "FR01",
        "customer_id": CUSTOMER,
        "invoice_id": f"FR01/{number}",
        "invoice_number": number,
    }
    due = (FEB_10, FEB_20)[variant % 2]
    if kind == "opened":
        amount = _eur(("1000.00", "1200.00")[variant % 2])
        return ledger.InvoiceOpened(
            **common,
            payload=ledger.OpenedInvoice(
                **invoice,
                issue_date=date(2026, 1, 10),
                due_date=due,
                amount=amount,
                open_amount=amount,
            ),
        )
    if kind == "changed":
        return ledger.OpenAmountChanged(
            **common,
            payload=ledger.OpenAmountChange(
                **invoice,
                # a payment lowers the open amount, a reversal reopens the invoice from zero
                previous_open_amount=Money(
                    amount=Decimal(("1000.00", "0.00")[variant % 2]), currency="EUR"
                ),
                open_amount=_eur(("700.00", "300.00")[variant % 2]),
                cause=("payment", "reversal")[variant % 2],
                cause_document_id="PAY-1",
                due_date=due,
                amount=_eur("1200.00"),
                value_date=(None, FEB_10)[variant % 2],
            ),
        )
    if kind == "settled":
        return ledger.InvoiceSettled(
            **common,
            payload=ledger.Settlement(
                **invoice,
                settled_on=(FEB_10, FEB_20)[variant % 2],
                cause="payment",
                cause_document_id="PAY-2",
                previous_open_amount=_eur("300.00"),
                amount=_eur("1200.00"),
                issue_date=date(2026, 1, 10),
                due_date=due,
            ),
        )
    if kind == "cancelled":
        return ledger.LedgerInvoiceCancelled(
            **common,
            payload=ledger.Cancellation(
                **invoice, previous_open_amount=Money(amount=Decimal("700.00"), currency="EUR")
            ),
        )
    return ledger.CreditBalanceChanged(
        **common,
        payload=ledger.CreditBalanceChange(
            company_code="FR01",
            customer_id=CUSTOMER,
            currency="EUR",
            balance=Decimal(("50.00", "80.00")[variant % 2]),
            delta=Decimal("50.00"),
            cause="payment",
            cause_document_id="PAY-3",
        ),
    )


facts = st.lists(
    st.tuples(
        st.sampled_from(["opened", "changed", "settled", "cancelled", "credit"]),
        st.sampled_from(NUMBERS),
        st.integers(0, 1),
    ),
    min_size=1,
    max_size=10,
)


async def _applied(
    connection: Connection, events: list[Event], together: bool
) -> dict[str, list[tuple[Any, ...]]]:
    transaction = connection.transaction()
    await transaction.start()
    try:
        work = UnitOfWork(connection, SimulatedClock(datetime(2026, 3, 1, tzinfo=UTC)))
        if together:
            await apply_events(work, events)
        else:
            for event in events:
                await apply_events(work, [event])
        return {
            name: [tuple(row) for row in await connection.fetch(query)]
            for name, query in TABLES.items()
        }
    finally:
        await transaction.rollback()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=facts)
def test_any_order_of_an_invoices_events_ends_the_same_in_layers(
    database_url: str, drawn: list[tuple[str, str, int]]
) -> None:
    events = [_event(kind, number, variant, at) for at, (kind, number, variant) in enumerate(drawn)]

    async def check() -> None:
        pool = await migrated_pool(database_url)  # idempotent: migrates once
        try:
            async with pool.acquire() as connection:
                one_at_a_time = await _applied(connection, events, together=False)
                together = await _applied(connection, events, together=True)
        finally:
            await pool.close()
        assert together == one_at_a_time

    asyncio.run(check())
