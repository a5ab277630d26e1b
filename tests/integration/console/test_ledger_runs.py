"""A batch's ledger events applied set-based end as the same events applied one at a time.

The projection applies a run of consecutive ledger events in layers, one statement per kind
and layer (``services.console.ledger_run``). Against a real PostgreSQL: every table of the
console's schema (the read model, the Team page's trigger-kept sums, the money at risk of
disputes, failed deliveries and phone reminders, the timeline) must end exactly as with each
event's own statements run one after the other, over the story's customers interleaved with
drawn ledger events (re-opened, paid, settled, cancelled invoices, customers moving between
collectors, credit balances, parked cash) and events the console ignores; and a batch of
ingestion's realistic mix must take a handful of statements, not several per event.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.ledger_consumers import ledger_records
from contracts import dunning, ledger
from contracts.envelope import Event
from contracts.erp import Segment
from contracts.money import Money, PositiveMoney
from contracts.topics import DUNNING_ACTIONS, LEDGER_EVENTS
from services.console.app import SCHEMA
from services.console.ledger_run import in_layers
from services.console.projection import apply_events, freshness_of, statements_for
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import UnitOfWork
from services.runtime.database import Connection
from tests.integration.console.conftest import migrated_pool
from tests.integration.console.story import NOW, events

pytestmark = pytest.mark.integration

# The story's invoices (and one it does not have): customer, due date, amount, currency.
INVOICES = {
    "INV-1": ("C-1001", date(2026, 1, 31), "1200", "EUR"),
    "INV-2": ("C-1001", date(2026, 3, 3), "800", "EUR"),
    "INV-4": ("C-1001", date(2026, 2, 15), "300", "USD"),
    "INV-9": ("C-666", date(2026, 2, 1), "900", "EUR"),
    "INV-7": ("C-666", date(2026, 3, 20), "450", "EUR"),
}
KINDS = ("opened", "changed", "settled", "cancelled", "customer", "credit", "parked", "ignored")


def _money(amount: str, currency: str) -> PositiveMoney:
    return PositiveMoney(amount=Decimal(amount), currency=currency)


def _event(kind: str, number: str, variant: int, minute: int) -> tuple[Any, Event]:
    """A ledger event (or one the console ignores) about ``number``'s invoice or customer."""
    customer, due, amount, currency = INVOICES[number]
    if variant:
        due += timedelta(days=10)
    common: dict[str, Any] = {
        "event_id": uuid4(),
        "occurred_at": NOW + timedelta(minutes=minute),
        "source": "ingestion",
    }
    invoice = {
        "company_code": "FR01",
        "customer_id": customer,
        "invoice_id": f"FR01/{number}",
        "invoice_number": number,
    }
    full = _money(amount, currency)
    part = _money(str((Decimal(amount) / (3 + variant)).quantize(Decimal("0.01"))), currency)
    if kind == "opened":
        payload: Any = ledger.OpenedInvoice(
            **invoice,
            issue_date=date(2026, 1, 1),
            due_date=due,
            amount=full,
            open_amount=full if variant else part,
        )
        return LEDGER_EVENTS, ledger.InvoiceOpened(**common, payload=payload)
    if kind == "changed":
        payload = ledger.OpenAmountChange(
            **invoice,
            # a payment lowers the open amount, a reversal reopens the invoice from zero
            previous_open_amount=Money(
                amount=(full.amount, Decimal(0))[variant], currency=currency
            ),
            open_amount=part,
            cause=("payment", "reversal")[variant],
            cause_document_id=f"PAY-{minute}",
            due_date=due,
            amount=full,
            value_date=(None, date(2026, 3, 10))[variant],
        )
        return LEDGER_EVENTS, ledger.OpenAmountChanged(**common, payload=payload)
    if kind == "settled":
        payload = ledger.Settlement(
            **invoice,
            settled_on=date(2026, 3, 12 + variant),
            cause="payment",
            cause_document_id=f"PAY-{minute}",
            previous_open_amount=part,
            amount=full,
            issue_date=date(2026, 1, 1),
            due_date=due,
        )
        return LEDGER_EVENTS, ledger.InvoiceSettled(**common, payload=payload)
    if kind == "cancelled":
        payload = ledger.Cancellation(
            **invoice, previous_open_amount=Money(amount=part.amount, currency=currency)
        )
        return LEDGER_EVENTS, ledger.LedgerInvoiceCancelled(**common, payload=payload)
    if kind == "customer":
        payload = ledger.LedgerCustomer(
            customer_id=customer,
            company_code="FR01",
            version=2 + minute,
            name=f"{customer} renamed {minute}",
            country="FR",
            time_zone="Europe/Paris",
            language="fr",
            segment=Segment(
                market=("domestic", "export")[variant], tags=(f"collector:C{12 + 28 * variant}",)
            ),
        )
        return LEDGER_EVENTS, ledger.LedgerCustomerUpserted(**common, payload=payload)
    if kind == "credit":
        payload = ledger.CreditBalanceChange(
            company_code="FR01",
            customer_id=customer,
            currency=currency,
            balance=Decimal(10 + variant),
            delta=Decimal(10),
            cause="payment",
            cause_document_id=f"PAY-{minute}",
        )
        return LEDGER_EVENTS, ledger.CreditBalanceChanged(**common, payload=payload)
    if kind == "parked":
        document = {
            "company_code": "FR01",
            "customer_id": customer,
            "kind": "payment",
            "document_id": f"PAY-{number}",
        }
        if variant:
            payload = ledger.UnmatchedCashClearance(**document, outcome="matched")
            return LEDGER_EVENTS, ledger.UnmatchedCashCleared(**common, payload=payload)
        payload = ledger.UnmatchedCash(
            **document,
            amount=part,
            value_date=date(2026, 3, 11),
            awaiting=(number,),
        )
        return LEDGER_EVENTS, ledger.UnmatchedCashRecorded(**common, payload=payload)
    payload = dunning.CampaignRun(  # consumed, and nothing of it kept
        campaign_id=f"year_end_{minute}",
        template="statement",
        step_name="year_end_statement",
        level="preventive",
        channel="email",
        company_codes=("FR01",),
        by="local:jeanne",
        at=common["occurred_at"],
        customers_reached=1,
        invoices_reached=1,
    )
    return DUNNING_ACTIONS, dunning.CampaignLaunched(
        **{**common, "source": "scheduler"}, payload=payload
    )


async def _tables(connection: Connection) -> dict[str, list[str]]:
    """Every table of the console's schema, its rows as sorted text."""
    names = await connection.fetch(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY table_name",
        SCHEMA,
    )
    return {
        r["table_name"]: sorted(
            json.dumps(dict(row), default=str, sort_keys=True)
            for row in await connection.fetch(f'SELECT * FROM {SCHEMA}."{r["table_name"]}"')
        )
        for r in names
    }


# Migration 0007's trigger, one call per invoice row, in place of 0018's statement triggers.
ROW_TRIGGERS = """
ALTER TABLE invoices DISABLE TRIGGER team_on_invoices_inserted;
ALTER TABLE invoices DISABLE TRIGGER team_on_invoices_updated;
ALTER TABLE invoices DISABLE TRIGGER team_on_invoices_deleted;
CREATE TRIGGER team_on_invoice AFTER INSERT OR UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION team_track_invoice();
"""


async def _one_at_a_time(work: UnitOfWork, batch: Sequence[Event]) -> None:
    """Each event's own statements, one after the other (the console before runs)."""
    for event in batch:
        for sql, args in statements_for(event):
            await work.connection.execute(sql, *args)
    for sql, args in freshness_of(batch, work.clock.now()):
        await work.connection.execute(sql, *args)


async def _applied(
    connection: Connection,
    batch: Sequence[Event],
    together: bool,
    statements: list[str] | None = None,
    row_triggers: bool = False,
) -> dict[str, list[str]]:
    """The tables after ``batch`` in a transaction rolled back afterwards; the statements
    applying it added to ``statements``; with ``row_triggers``, the Team page's aggregates
    kept by migration 0007's trigger per invoice row instead of 0018's per statement."""

    def note(query: Any) -> None:
        if statements is not None:
            statements.append(query.query)

    transaction = connection.transaction()
    await transaction.start()
    try:
        if row_triggers:
            await connection.execute(ROW_TRIGGERS)
        work = UnitOfWork(connection, SimulatedClock(NOW))
        connection.add_query_logger(note)
        try:
            await (apply_events if together else _one_at_a_time)(work, batch)
        finally:
            connection.remove_query_logger(note)
        return await _tables(connection)
    finally:
        await transaction.rollback()


drawn_events = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.sampled_from(sorted(INVOICES)),
        st.integers(0, 1),
        st.integers(0, 40),  # where in the story it comes
    ),
    min_size=5,
    max_size=30,
)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=drawn_events)
def test_a_batch_of_interleaved_events_ends_as_one_event_at_a_time(
    database_url: str, drawn: list[tuple[str, str, int, int]]
) -> None:
    batch = [event for _, event in events()]
    for minute, (kind, number, variant, place) in enumerate(drawn):
        batch.insert(min(place, len(batch)), _event(kind, number, variant, minute)[1])

    async def check() -> None:
        pool = await migrated_pool(database_url)  # idempotent: migrates once
        try:
            async with pool.acquire() as connection:
                one_at_a_time = await _applied(connection, batch, together=False)
                together = await _applied(connection, batch, together=True)
                before = await _applied(connection, batch, together=False, row_triggers=True)
        finally:
            await pool.close()
        assert one_at_a_time["invoices"]
        assert one_at_a_time["timeline"]
        assert one_at_a_time["team_daily_flows"]
        assert together == one_at_a_time
        assert together == before  # and as the row trigger kept the Team page's figures

    asyncio.run(check())


def _realistic_batch(erp_events: int) -> list[Event]:
    """The ledger events ingestion publishes for ``bench.ingestion``'s mix, parsed."""
    return [LEDGER_EVENTS.parse(r.value) for r in ledger_records(erp_events)]


async def test_a_realistic_batch_takes_a_few_statements_and_ends_the_same(
    pool: asyncpg.Pool,
) -> None:
    batch = _realistic_batch(300)
    assert len(batch) > 400
    one_by_one: list[str] = []
    together: list[str] = []
    async with pool.acquire() as connection:
        expected = await _applied(connection, batch, together=False, statements=one_by_one)
        before = await _applied(connection, batch, together=False, row_triggers=True)
        assert before == expected
        # once before counting: asyncpg reads the array types' codecs on first use
        assert await _applied(connection, batch, together=True) == expected
        await _applied(connection, batch, together=True, statements=together)
    assert len(expected["timeline"]) > 300
    # One at a time: four or five statements per event. Set-based: at most one per kind
    # (customers and their segments two) and layer, then the run's money at risk (three)
    # and timeline entries, and the topic's freshness.
    assert len(one_by_one) > 4 * len(batch)
    layers = len(in_layers(batch))
    assert 5 <= len(together) <= 4 * layers + 5, together
    assert len(together) < len(batch) / 8
