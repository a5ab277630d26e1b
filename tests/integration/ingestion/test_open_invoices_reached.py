"""A batch reads, of a paying customer's open invoices, only those its payments can reach.

``LedgerHandler.load`` reads each paying customer's open invoices in the payment's currency
oldest first up to the first whose older ones owe what the batch's payments bring (plus
what the invoices read by key owed): a payment spread oldest first cannot go further. The
tests pin which invoices are read, and check on random ledgers and batches that the book
applies them exactly as it does with every open invoice of the paying customers read.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from contracts import erp
from contracts.envelope import Event
from contracts.money import PositiveMoney
from services.ingestion import queries
from services.ingestion.domain.book import Book
from services.ingestion.handler import LedgerHandler
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import UnitOfWork
from services.runtime.database import Connection
from tests.unit.ingestion.erp_events import credit_note, invoice, payment

pytestmark = pytest.mark.integration

CLOCK = SimulatedClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class _EveryOpenInvoice(LedgerHandler):
    """The reads as they were: every open invoice of each paying customer."""

    async def load(self, work: UnitOfWork, events: Sequence[Event]) -> Book:
        book = await super().load(work, events)
        invoices = dict(book.invoices)
        rows = await work.connection.fetch(
            f"SELECT {queries._INVOICE_COLUMNS} FROM invoices "
            "WHERE status = 'open' AND customer_id = ANY($1::text[])",
            sorted({e.payload.customer_id for e in events}),
        )
        for row in map(queries._invoice, rows):
            invoices.setdefault(row.key, row)
        return Book(
            invoices=invoices,
            customers=book.customers,
            balances=book.balances,
            credit_lots=book.credit_lots,
            documents=book.documents,
            parked=book.parked,
        )


async def _stored(connection: Connection, events: Sequence[Event]) -> None:
    work = UnitOfWork(connection, CLOCK)
    await LedgerHandler().handle(work, events)
    assert work.rejected == {}
    await connection.execute("DELETE FROM outbox")


async def _applied(
    connection: Connection, handler: LedgerHandler, events: Sequence[Event]
) -> tuple[Book, tuple[Any, ...]]:
    book = await handler.load(UnitOfWork(connection, CLOCK), events)
    book.apply_all(events)
    return book, (
        [(a.invoice_number, a.kind, a.document_id, a.amount) for a in book.allocations],
        [r.value for r in book.emitted],
        [(e.event_id, reason) for e, reason, _ in book.rejected],
        sorted(
            (k, r.open_amount, r.status, r.settled_on)
            for k in book.changed_invoices
            for r in (book.invoices[k],)
        ),
    )


def _due(number: str, due: date, amount: str = "100.00") -> erp.InvoiceIssued | erp.InvoiceUpdated:
    return invoice(number, amount, due=due)


def _invoices(book: Book) -> list[str]:
    return sorted(number for _, number in book.invoices)


async def test_a_payment_reads_the_oldest_open_invoices_its_amount_reaches(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as connection, connection.transaction():
        await _stored(
            connection,
            [_due(f"F{n}", date(2026, 2, n)) for n in range(1, 7)]
            + [invoice("U1", currency="USD", due=date(2026, 1, 20))]
            + [invoice("O1", customer_id="C2", due=date(2026, 1, 20))],
        )
        events = [payment("P1", "150.00")]
        book, _ = await _applied(connection, LedgerHandler(), events)
        # F1 owes 100 before F2 (less than 150), 200 before F3: F3 cannot be reached; the
        # dollars and the other customer's invoices are not read
        assert _invoices(book) == ["F1", "F2"]
        assert [(a.invoice_number, a.amount) for a in book.allocations] == [
            ("F1", Decimal("100.00")),
            ("F2", Decimal("50.00")),
        ]
        exact = await _applied(connection, LedgerHandler(), [payment("P2", "200.00")])
        assert _invoices(exact[0]) == ["F1", "F2"]  # the older ones owe 200 before F3


async def test_invoices_the_batch_pays_otherwise_leave_the_payment_its_reach(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as connection, connection.transaction():
        await _stored(connection, [_due(f"F{n}", date(2026, 2, n)) for n in range(1, 7)])
        # the credit note pays F1 off before the payment: 150 go to F2 and F3
        events = [credit_note("A1", "100.00", "F1"), payment("P1", "150.00")]
        book, _ = await _applied(connection, LedgerHandler(), events)
        assert [(a.invoice_number, a.amount) for a in book.allocations] == [
            ("F1", Decimal("100.00")),
            ("F2", Decimal("100.00")),
            ("F3", Decimal("50.00")),
        ]
        assert book.balances.get(("FR01", "C1", "EUR"), Decimal(0)) == 0
        # a payment whose reference names the newest invoice pays that one
        book, _ = await _applied(
            connection, LedgerHandler(), [payment("P2", "100.00", reference=" F6 ")]
        )
        assert [(a.invoice_number, a.amount) for a in book.allocations] == [
            ("F6", Decimal("100.00"))
        ]


def _issued(number: str, issued: date, amount: str = "100.00") -> erp.InvoiceIssued:
    return erp.InvoiceIssued(
        event_id=uuid.uuid4(),
        occurred_at=AT,
        source="test-erp",
        payload=erp.InvoicePayload(
            company_code="FR01",
            customer_id="C1",
            invoice_number=number,
            version=1,
            issue_date=issued,
            due_date=date(2026, 2, 1),
            amount=PositiveMoney(amount=Decimal(amount), currency="EUR"),
        ),
    )


async def test_invoices_due_the_same_day_are_reached_in_the_order_they_are_paid(
    pool: asyncpg.Pool,
) -> None:
    # all due on 1 February; paid oldest issue date first, then by number as Python orders
    # str ("F2" < "f1" < "É0"); stored in another order
    async with pool.acquire() as connection, connection.transaction():
        await _stored(
            connection,
            [
                _issued("A9", date(2026, 1, 9)),
                _issued("É0", date(2026, 1, 5)),
                _issued("f1", date(2026, 1, 5)),
                _issued("F2", date(2026, 1, 5)),
                _issued("Z0", date(2026, 1, 1)),
            ],
        )
        book, _ = await _applied(connection, LedgerHandler(), [payment("P1", "250.00")])
        assert _invoices(book) == ["F2", "Z0", "f1"]
        assert [(a.invoice_number, a.amount) for a in book.allocations] == [
            ("Z0", Decimal("100.00")),
            ("F2", Decimal("100.00")),
            ("f1", Decimal("50.00")),
        ]


def _random_invoice(
    rng: random.Random, number: str, customer: str, currency: str, version: int = 1
) -> erp.InvoiceIssued | erp.InvoiceUpdated:
    issue = date(2026, 1, 1) + timedelta(days=rng.choice((0, 0, 3)))
    payload = erp.InvoicePayload(
        company_code="FR01",
        customer_id=customer,
        invoice_number=number,
        version=version,
        issue_date=issue,
        # few distinct days: invoices due the same day, ordered by issue date then number
        due_date=issue + timedelta(days=rng.choice((10, 10, 20, 30))),
        amount=PositiveMoney(amount=Decimal(rng.randrange(1, 30)) * 10, currency=currency),
    )
    envelope: dict[str, Any] = {
        "event_id": uuid.UUID(int=rng.getrandbits(128)),
        "occurred_at": AT + timedelta(seconds=rng.randrange(10**6)),
        "source": "test-erp",
    }
    if version > 1:
        return erp.InvoiceUpdated(**envelope, payload=payload)
    return erp.InvoiceIssued(**envelope, payload=payload)


def _random_batch(rng: random.Random, stored: dict[str, tuple[str, str]], seed: int) -> list[Event]:
    numbers = sorted(stored)
    events: list[Event] = []
    for n in range(rng.randrange(2, 9)):
        customer = rng.choice(("C1", "C2"))
        currency = rng.choice(("EUR", "EUR", "USD"))
        mine = [k for k, (c, _) in stored.items() if c == customer] or numbers
        roll = rng.random()
        if roll < 0.5:
            reference = rng.choice([*mine, "nothing like it"]) if rng.random() < 0.3 else None
            allocations = (
                ((rng.choice(mine), str(rng.randrange(1, 60))),) if rng.random() < 0.2 else ()
            )
            events.append(
                payment(
                    f"P{seed}-{n}",
                    str(rng.randrange(10, 700)),
                    customer_id=customer,
                    currency=currency,
                    reference=reference,
                    allocations=allocations,
                )
            )
        elif roll < 0.7:
            named = rng.choice(mine) if rng.random() < 0.7 else None
            events.append(
                credit_note(
                    f"A{seed}-{n}", str(rng.randrange(10, 300)), named, customer_id=customer
                )
            )
        elif roll < 0.85:
            number = rng.choice(numbers)
            owner, its_currency = stored[number]
            events.append(_random_invoice(rng, number, owner, its_currency, version=2))
        else:
            events.append(_random_invoice(rng, f"N{seed}-{n}", customer, currency))
    return events


async def test_random_batches_apply_as_with_every_open_invoice_read(pool: asyncpg.Pool) -> None:
    read, everything = 0, 0
    for seed in range(40):
        rng = random.Random(seed)
        stored: dict[str, tuple[str, str]] = {}
        history: list[Event] = []
        for n in range(rng.randrange(3, 16)):
            # numbers whose order as bytes (the C collation) is not their order as written
            number = rng.choice(("F", "f", "É", "F-", "F ")) + str(n)
            customer = rng.choice(("C1", "C2"))
            currency = rng.choice(("EUR", "EUR", "USD"))
            stored[number] = (customer, currency)
            history.append(_random_invoice(rng, number, customer, currency))
        for n in range(rng.randrange(0, 4)):  # some paid in part already
            number = rng.choice(sorted(stored))
            customer, currency = stored[number]
            history.append(
                payment(
                    f"S{seed}-{n}",
                    str(rng.randrange(10, 200)),
                    customer_id=customer,
                    currency=currency,
                    allocations=((number, "5"),),
                )
            )
        events = _random_batch(rng, stored, seed)
        async with pool.acquire() as connection:
            transaction = connection.transaction()
            await transaction.start()
            try:
                await _stored(connection, history)
                book, applied = await _applied(connection, LedgerHandler(), events)
                reference, as_before = await _applied(connection, _EveryOpenInvoice(), events)
            finally:
                await transaction.rollback()
        assert applied == as_before, seed
        read += len(book.invoices)
        everything += len(reference.invoices)
    assert read < everything * 0.9  # the batches did read fewer invoices
