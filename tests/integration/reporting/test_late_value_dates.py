"""Past balances stay true when money is recorded late: generated histories, end to end.

Each example is an ERP history of invoices and payments published in a shuffled order:
invoices exported days after their issue date, payments imported days after their value
date (the next morning's bank file, a partial payment published a week late), payments
that arrive before their invoice naming it in their allocations (parked) or only in their
reference (credit, used when the invoice arrives), several on one day, some settling the
invoice at the very instant it opens. The history goes through ingestion's handler on
PostgreSQL (schema ``ledger``), its ledger events through reporting's projection (schema
``reporting``), and every day's ``open_items_as_of``, ``aged_balance_as_of``, snapshot,
month-end receivables of the DSO, and today's maintained aged balance, must equal an
oracle computed here from the generated documents alone: an invoice is open from its
issue date, and each payment counts from its value date (or the invoice's issue date
when it was paid before the invoice was issued).

One invoice per customer, so that which invoice a payment pays does not depend on the
allocation rules.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import erp
from contracts.envelope import Event
from contracts.money import PositiveMoney
from contracts.topics import ERP_INVOICES, ERP_PAYMENTS, LEDGER_EVENTS
from services.ingestion.app import DEFINITION as INGESTION
from services.ingestion.handler import LedgerHandler
from services.reporting import queries as reporting_queries
from services.reporting import refresh
from services.reporting.app import DEFINITION as REPORTING
from services.reporting.domain.aging import DEFAULT_EDGES, bucket_of, buckets
from services.reporting.domain.dso import month_end
from services.reporting.projection import apply_events
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import BatchProcessor
from services.runtime.database import create_pool
from services.runtime.dead_letter import IncomingRecord
from services.runtime.settings import DatabaseSettings
from tests.conftest import Databases, _with_database
from tests.infrastructure import Servers

pytestmark = pytest.mark.integration

DAY0 = date(2026, 1, 1)
TODAY = date(2026, 4, 1)  # after every value date and publication
CENT = Decimal("0.01")
TEMPLATE: list[str] = []  # the name of the module's template database (fixture base_url)
CLOCK = SimulatedClock(datetime(2026, 4, 1, 8, 0, tzinfo=UTC))


@dataclass
class PaymentPlan:
    payment_id: str
    amount: Decimal
    value_date: date
    published: tuple[date, int]
    naming: str  # "allocation", "reference" or "unnamed"


@dataclass
class InvoicePlan:
    number: str
    customer_id: str
    issue_date: date
    due_date: date
    amount: Decimal
    published: tuple[date, int]
    payments: list[PaymentPlan] = field(default_factory=list)

    def open_on(self, day: date) -> Decimal | None:
        """The oracle: open from the issue date, each payment from its value date."""
        if day < self.issue_date:
            return None
        paid = sum(
            (p.amount for p in self.payments if max(p.value_date, self.issue_date) <= day),
            Decimal(0),
        )
        return self.amount - paid


@st.composite
def histories(draw: st.DrawFn) -> list[InvoicePlan]:
    invoices = []
    for k in range(draw(st.integers(1, 4))):
        issue = DAY0 + timedelta(days=draw(st.integers(0, 20)))
        amount = Decimal(draw(st.integers(1_000, 100_000))) / 100
        plan = InvoicePlan(
            number=f"F{k}",
            customer_id=f"C{k}",
            issue_date=issue,
            due_date=issue + timedelta(days=draw(st.integers(0, 30))),
            amount=amount,
            # the ERP's export may lag the issue date
            published=(issue + timedelta(days=draw(st.integers(0, 3))), draw(st.integers(0, 9))),
        )
        left = amount
        settle = draw(st.booleans())
        count = draw(st.integers(0, 3))
        for n in range(count):
            if left <= 0:
                break
            last = n == count - 1
            if last and settle:
                part = left
            else:
                part = min(left, Decimal(draw(st.integers(1, int(amount * 100)))) / 100)
            left -= part
            value_date = issue + timedelta(days=draw(st.integers(-3, 40)))
            # the bank file comes the next morning, or a week later
            published = (
                value_date + timedelta(days=draw(st.sampled_from([0, 1, 1, 2, 7]))),
                draw(st.integers(0, 9)),
            )
            naming = draw(st.sampled_from(["allocation", "reference", "unnamed"]))
            plan.payments.append(PaymentPlan(f"P{k}-{n}", part, value_date, published, naming))
        invoices.append(plan)
    return invoices


def _at(published: tuple[date, int]) -> datetime:
    day, rank = published
    return datetime.combine(day, time(6, 0), tzinfo=UTC) + timedelta(minutes=rank)


def erp_events(history: list[InvoicePlan]) -> list[Event]:
    stamped: list[tuple[tuple[date, int], int, Event]] = []
    for invoice in history:
        stamped.append(
            (
                invoice.published,
                len(stamped),
                erp.InvoiceIssued(
                    event_id=uuid.uuid4(),
                    occurred_at=_at(invoice.published),
                    source="test-erp",
                    payload=erp.InvoicePayload(
                        company_code="FR01",
                        customer_id=invoice.customer_id,
                        invoice_number=invoice.number,
                        version=1,
                        issue_date=invoice.issue_date,
                        due_date=invoice.due_date,
                        amount=PositiveMoney(amount=invoice.amount, currency="EUR"),
                    ),
                ),
            )
        )
        for p in invoice.payments:
            stamped.append(
                (
                    p.published,
                    len(stamped),
                    erp.PaymentReceived(
                        event_id=uuid.uuid4(),
                        occurred_at=_at(p.published),
                        source="test-bank",
                        payload=erp.PaymentPayload(
                            payment_id=p.payment_id,
                            company_code="FR01",
                            customer_id=invoice.customer_id,
                            received_on=p.value_date,
                            amount=PositiveMoney(amount=p.amount, currency="EUR"),
                            allocations=(
                                (erp.Allocation(invoice_number=invoice.number, amount=p.amount),)
                                if p.naming == "allocation"
                                else ()
                            ),
                            reference=invoice.number if p.naming == "reference" else None,
                        ),
                    ),
                )
            )
    stamped.sort(key=lambda s: (s[0], s[1]))
    return [event for _, _, event in stamped]


def expected_items(history: list[InvoicePlan], day: date) -> set[tuple[str, date, Decimal]]:
    return {
        (f"FR01/{i.number}", i.due_date, open_amount)
        for i in history
        if (open_amount := i.open_on(day)) is not None and open_amount > 0
    }


def expected_aged(
    history: list[InvoicePlan], day: date
) -> set[tuple[str, str, str, int, int, Decimal]]:
    labels = [b.label for b in buckets(DEFAULT_EDGES)]
    rows = set()
    for i in history:
        open_amount = i.open_on(day)
        if open_amount is None or open_amount <= 0:
            continue
        order = labels.index(bucket_of((day - i.due_date).days, DEFAULT_EDGES))
        rows.add(("FR01", i.customer_id, "EUR", order, 1, open_amount))
    return rows


MAINTAINED = """
SELECT company_code, customer_id, currency, bucket_order, invoice_count, open_amount
FROM aged_balance_current WHERE invoice_count > 0
"""
AS_OF = """
SELECT company_code, customer_id, currency, bucket_order, invoice_count, open_amount
FROM aged_balance_as_of($1)
"""


async def _ingest(url: str, events: list[Event]) -> list[Event]:
    """ERP events through ingestion's handler in batches; the ledger events it published."""
    await migrations.apply_async(url, INGESTION.schema, INGESTION.migrations)
    pool = await create_pool(DatabaseSettings(url=url), INGESTION.schema)
    try:
        processor = BatchProcessor(
            "ingestion", INGESTION.consumes, LedgerHandler().handle, pool, CLOCK
        )
        records = [
            IncomingRecord(
                (ERP_PAYMENTS if isinstance(e, erp.PaymentReceived) else ERP_INVOICES).name,
                0,
                offset,
                e.customer_id.encode(),
                e.model_dump_json().encode(),
            )
            for offset, e in enumerate(events)
        ]
        for start in range(0, len(records), 3):  # small batches: events meet across batches
            await processor.process(records[start : start + 3])
        rows = await pool.fetch(
            "SELECT value FROM outbox WHERE topic = $1 ORDER BY id", "ledger.events.v1"
        )
        assert await pool.fetchval("SELECT count(*) FROM parked_documents") == 0
        return [LEDGER_EVENTS.parse(bytes(r["value"])) for r in rows]
    finally:
        await pool.close()


async def _project(url: str, ledger_events: list[Event]) -> asyncpg.Pool:
    await migrations.apply_async(url, REPORTING.schema, REPORTING.migrations)
    pool = await create_pool(DatabaseSettings(url=url), REPORTING.schema)
    async with pool.acquire() as connection:
        await refresh.configure(connection, "EUR", buckets(DEFAULT_EDGES))
    processor = BatchProcessor("reporting", REPORTING.consumes, apply_events, pool, CLOCK)
    records = [
        IncomingRecord(LEDGER_EVENTS.name, 0, n, e.customer_id.encode(), LEDGER_EVENTS.value(e))
        for n, e in enumerate(ledger_events)
    ]
    for start in range(0, len(records), 4):
        await processor.process(records[start : start + 4])
    return pool


async def _check(base_url: str, history: list[InvoicePlan]) -> None:
    admin = await asyncpg.connect(base_url)
    name = f"late_{uuid.uuid4().hex[:10]}"
    try:  # a copy of the module's template, migrated once: each example starts empty
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE[0]}"')
    finally:
        await admin.close()
    url = _with_database(base_url, name)
    try:
        ledger_events = await _ingest(url, erp_events(history))
        pool = await _project(url, ledger_events)
        try:
            last = max(
                [i.published[0] for i in history]
                + [p.published[0] for i in history for p in i.payments]
            )
            day = DAY0 - timedelta(days=1)
            while day <= last + timedelta(days=2):
                items = {
                    (r["invoice_id"], r["due_date"], r["open_amount"])
                    for r in await pool.fetch("SELECT * FROM open_items_as_of($1)", day)
                }
                assert items == expected_items(history, day), day
                aged = {tuple(r) for r in await pool.fetch(AS_OF, day)}
                assert {(*r[:2], r[2].strip(), *r[3:]) for r in aged} == expected_aged(
                    history, day
                ), day
                day += timedelta(days=1)
            # snapshots and the DSO's month-end receivables read the same history
            async with pool.acquire() as connection:
                for month in (date(2026, 1, 1), date(2026, 2, 1)):
                    end = month_end(month)
                    await connection.execute(reporting_queries.SNAPSHOT_AGED_BALANCE, end)
                    receivables, _ = await refresh.dso_of(connection, "FR01", month)
                    expected = sum((a for _, _, a in expected_items(history, end)), Decimal(0))
                    assert (receivables or Decimal(0)) == expected.quantize(CENT, ROUND_HALF_UP), (
                        month
                    )
                    snapshot = await connection.fetchval(
                        "SELECT coalesce(sum(open_amount), 0) FROM aged_balance_snapshots "
                        "WHERE snapshot_date = $1",
                        end,
                    )
                    assert snapshot == expected, month
                # today's maintained aged balance, the history as of today and the oracle
                assert await refresh.roll_aged_balance(connection, TODAY) in ("rebuilt", "rolled")
            maintained = {tuple(r) for r in await pool.fetch(MAINTAINED)}
            as_of_today = {tuple(r) for r in await pool.fetch(AS_OF, TODAY)}
            oracle = expected_aged(history, TODAY)
            strip = {(*r[:2], r[2].strip(), *r[3:]) for r in maintained}
            assert strip == {(*r[:2], r[2].strip(), *r[3:]) for r in as_of_today} == oracle
        finally:
            await pool.close()
    finally:
        admin = await asyncpg.connect(base_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture(scope="module")
def base_url(infrastructure: Servers) -> Iterator[str]:
    """The server's URL; each example's database is a copy of ``TEMPLATE``, a database with
    ingestion's and reporting's schemas migrated once for the module."""
    databases = Databases(infrastructure.database_url)
    TEMPLATE[:] = [asyncio.run(databases.template(("ingestion", "reporting")))]
    try:
        yield infrastructure.database_url
    finally:
        databases.close()


@settings(
    max_examples=12,  # a new dozen histories at every run; 25 took ~50 s of the CI
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories())
def test_past_balances_equal_the_oracle_when_money_is_recorded_late(
    base_url: str, history: list[InvoicePlan]
) -> None:
    asyncio.run(_check(base_url, history))


def test_a_prepayment_named_by_its_reference_counts_from_its_value_date(base_url: str) -> None:
    """Paid on 20 January by reference, imported before the invoice issued on 5 January."""
    invoice = InvoicePlan(
        "F0", "C0", date(2026, 1, 5), date(2026, 2, 4), Decimal("100"), (date(2026, 1, 25), 1)
    )
    invoice.payments.append(
        PaymentPlan("P0", Decimal("100"), date(2026, 1, 20), (date(2026, 1, 21), 0), "reference")
    )
    assert expected_items([invoice], date(2026, 1, 19)) == {
        ("FR01/F0", date(2026, 2, 4), Decimal("100"))
    }
    asyncio.run(_check(base_url, [invoice]))


def test_credit_made_of_several_prepayments_counts_from_each_value_date(base_url: str) -> None:
    """30 paid on 8 January and 70 on 25 January, both before the invoice reached Relance."""
    invoice = InvoicePlan(
        "F0", "C0", date(2026, 1, 5), date(2026, 2, 4), Decimal("100"), (date(2026, 1, 28), 0)
    )
    invoice.payments += [
        PaymentPlan("P0", Decimal("70"), date(2026, 1, 25), (date(2026, 1, 26), 0), "unnamed"),
        PaymentPlan("P1", Decimal("30"), date(2026, 1, 8), (date(2026, 1, 27), 0), "reference"),
    ]
    assert expected_items([invoice], date(2026, 1, 10)) == {
        ("FR01/F0", date(2026, 2, 4), Decimal("70"))
    }
    asyncio.run(_check(base_url, [invoice]))


def test_a_late_partial_payment_counts_from_its_value_date(base_url: str) -> None:
    """40 paid on 10 January, published on the 17th; the rest paid and published on the 12th."""
    invoice = InvoicePlan(
        "F0", "C0", date(2026, 1, 2), date(2026, 1, 31), Decimal("100"), (date(2026, 1, 2), 0)
    )
    invoice.payments += [
        PaymentPlan("P0", Decimal("40"), date(2026, 1, 10), (date(2026, 1, 17), 0), "allocation"),
        PaymentPlan("P1", Decimal("60"), date(2026, 1, 12), (date(2026, 1, 12), 0), "allocation"),
    ]
    asyncio.run(_check(base_url, [invoice]))
