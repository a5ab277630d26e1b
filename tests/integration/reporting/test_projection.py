"""The reporting tables against an independent computation on a generated history."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import asyncpg
import pytest

from contracts import ledger
from contracts.envelope import Event
from contracts.topics import LEDGER_EVENTS, Topic
from services.reporting import queries
from services.reporting.domain.aging import buckets
from services.reporting.refresh import configure
from tests.integration.reporting.conftest import feed
from tests.integration.reporting.generated_ledger import (
    TODAY,
    _at,
    aged_balance,
    generate,
    payment_delays,
    rate_on,
    step_effectiveness,
)

pytestmark = pytest.mark.integration

AS_OF_DATES = [TODAY, TODAY - timedelta(days=1), date(2025, 12, 31), date(2025, 9, 15)]


async def _aged_balance(
    pool: asyncpg.Pool, as_of: date
) -> dict[tuple[str, ...], tuple[int, Decimal, Decimal | None]]:
    rows = await pool.fetch(queries.AGED_BALANCE_AS_OF, as_of)
    return {
        (r["company_code"], r["customer_id"], r["currency"].strip(), r["bucket"]): (
            r["invoice_count"],
            r["open_amount"],
            r["open_amount_reporting"],
        )
        for r in rows
    }


@pytest.mark.parametrize("seed", [1, 2])
async def test_aged_balance_matches_the_model_today_and_in_the_past(
    pool: asyncpg.Pool, seed: int
) -> None:
    generated = generate(seed)
    await feed(pool, generated.events)
    for as_of in AS_OF_DATES:
        expected = aged_balance(generated.invoices, as_of)
        assert expected, f"the generated history has open items on {as_of}"
        assert await _aged_balance(pool, as_of) == expected, as_of


async def test_open_items_hold_the_open_invoices_of_today(pool: asyncpg.Pool) -> None:
    generated = generate(3)
    await feed(pool, generated.events)
    rows = await pool.fetch(
        "SELECT invoice_id, open_amount, due_date FROM invoices WHERE status = 'open'"
    )
    expected = {}
    for invoice in generated.invoices.values():
        state = invoice.at(TODAY)
        if state is not None and state[0] > 0:
            expected[invoice.invoice_id] = state
    assert {r["invoice_id"]: (r["open_amount"], r["due_date"]) for r in rows} == expected
    view = await pool.fetchval("SELECT count(*) FROM open_items")
    assert view == len(expected)


async def test_payment_delay_matches_the_model(pool: asyncpg.Pool) -> None:
    generated = generate(4, invoice_count=120)
    await feed(pool, generated.events)
    rows = await pool.fetch(queries.PAYMENT_DELAY_AS_OF, TODAY)
    expected = payment_delays(generated.invoices, TODAY)
    assert expected
    assert {r["customer_id"]: r["average_delay_days"] for r in rows} == expected


async def test_dunning_and_dispute_flags_reach_open_items(pool: asyncpg.Pool) -> None:
    generated = generate(5, invoice_count=120)
    await feed(pool, generated.events)
    disputed = await pool.fetchval("SELECT count(*) FROM open_items WHERE disputed")
    paused = await pool.fetchval(
        "SELECT count(*) FROM open_items WHERE paused AND pause_reason = 'promise_to_pay'"
    )
    levels = await pool.fetchval("SELECT count(*) FROM open_items WHERE dunning_level IS NOT NULL")
    assert disputed > 0
    assert paused > 0
    assert levels > 0


async def test_no_personal_data_in_the_schema(pool: asyncpg.Pool) -> None:
    generated = generate(6)
    await feed(pool, generated.events)
    rows = await pool.fetch("SELECT customer_id, name FROM customers ORDER BY 1")
    names = {row["customer_id"]: row["name"] for row in rows}
    assert names["C0"] is None  # a consumer's name is personal data
    assert names["C1"] == "Customer 1 SAS"
    tables = await pool.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'reporting' "
        "AND table_type = 'BASE TABLE' AND table_name NOT IN ('inbox', 'outbox') "
        "AND table_name NOT LIKE '%yoyo%'"
    )
    for row in tables:
        dump = await pool.fetchval(
            f"SELECT coalesce(string_agg(t::text, ' '), '') FROM {row['table_name']} AS t"
        )
        assert "@example.com" not in dump
        assert "+33" not in dump
        assert "Jeanne" not in dump


async def test_a_reversal_reopens_a_settled_invoice(pool: asyncpg.Pool) -> None:
    common = {
        "company_code": "FR01",
        "customer_id": "C1",
        "invoice_id": "FR01/X1",
        "invoice_number": "X1",
    }
    eur = {"currency": "EUR"}

    def event(cls: type[Event], day: date, payload: object) -> tuple[Topic, Event]:
        return LEDGER_EVENTS, cls.model_validate(
            {
                "event_id": uuid.uuid4(),
                "occurred_at": _at(day, 0),
                "source": "t",
                "payload": payload,
            }
        )

    events = [
        event(
            ledger.InvoiceOpened,
            date(2026, 1, 1),
            {
                **common,
                "issue_date": "2026-01-01",
                "due_date": "2026-01-31",
                "amount": {"amount": "100.00", **eur},
                "open_amount": {"amount": "100.00", **eur},
            },
        ),
        event(
            ledger.InvoiceSettled,
            date(2026, 2, 10),
            {
                **common,
                "settled_on": "2026-02-10",
                "cause": "payment",
                "cause_document_id": "P1",
                "previous_open_amount": {"amount": "100.00", **eur},
                "amount": {"amount": "100.00", **eur},
                "issue_date": "2026-01-01",
                "due_date": "2026-01-31",
            },
        ),
        event(
            ledger.OpenAmountChanged,
            date(2026, 2, 20),
            {
                **common,
                "previous_open_amount": {"amount": "0", **eur},
                "open_amount": {"amount": "100.00", **eur},
                "cause": "reversal",
                "cause_document_id": "P1-R",
                "due_date": "2026-01-31",
                "amount": {"amount": "100.00", **eur},
            },
        ),
    ]
    await feed(pool, events)
    row = await pool.fetchrow("SELECT status, open_amount, settled_on FROM invoices")
    assert row is not None
    assert (row["status"], row["open_amount"], row["settled_on"]) == ("open", Decimal(100), None)
    balance = await pool.fetch(queries.AGED_BALANCE_AS_OF, date(2026, 2, 15))
    assert balance == []
    balance = await pool.fetch(queries.AGED_BALANCE_AS_OF, date(2026, 2, 20))
    assert [(r["bucket"], r["open_amount"]) for r in balance] == [("1-30", Decimal(100))]


async def test_aged_balance_view_of_today_matches_the_model(pool: asyncpg.Pool) -> None:
    generated = generate(7)
    await feed(pool, generated.events)
    today = await pool.fetchval("SELECT current_date")
    rows = await pool.fetch("SELECT * FROM aged_balance")
    view = {
        (r["company_code"], r["customer_id"], r["currency"].strip(), r["bucket"]): (
            r["invoice_count"],
            r["open_amount"],
            r["open_amount_reporting"],
        )
        for r in rows
    }
    assert view == aged_balance(generated.invoices, today)
    assert view == await _aged_balance(pool, today)


@pytest.mark.parametrize("edges", [(15, 45), (), (7, 14, 21, 28, 60, 365)])
async def test_configured_bucket_edges_apply_to_both_aged_balances(
    pool: asyncpg.Pool, edges: tuple[int, ...]
) -> None:
    generated = generate(8)
    await feed(pool, generated.events)
    async with pool.acquire() as connection:
        await configure(connection, "EUR", buckets(edges))
    today = await pool.fetchval("SELECT current_date")
    assert await _aged_balance(pool, TODAY) == aged_balance(generated.invoices, TODAY, edges)
    rows = await pool.fetch("SELECT * FROM aged_balance")
    view = {
        (r["company_code"], r["customer_id"], r["currency"].strip(), r["bucket"]): (
            r["invoice_count"],
            r["open_amount"],
            r["open_amount_reporting"],
        )
        for r in rows
    }
    assert view == aged_balance(generated.invoices, today, edges)


async def test_worklist_ranks_customers_by_amount_at_risk(pool: asyncpg.Pool) -> None:
    generated = generate(9, invoice_count=120)
    await feed(pool, generated.events)
    await pool.execute("UPDATE customers SET risk_rating = 'critical' WHERE customer_id = 'C3'")
    today = await pool.fetchval("SELECT current_date")
    weights = {"low": Decimal("0.25"), "medium": Decimal("0.5"), "high": Decimal("0.75")}
    ratings = dict.fromkeys((f"C{n}" for n in range(8)), "medium") | {"C3": "critical"}
    overdue: dict[str, Decimal] = {}
    for invoice in generated.invoices.values():
        state = invoice.at(today)
        if state is None or state[0] <= 0 or state[1] >= today:
            continue
        rate = rate_on(invoice.currency, today)
        assert rate is not None
        converted = (state[0] * rate).quantize(Decimal("0.01"), ROUND_HALF_UP)
        overdue[invoice.customer_id] = overdue.get(invoice.customer_id, Decimal(0)) + converted
    at_risk = {
        customer: (amount * weights.get(ratings[customer], Decimal(1))).quantize(
            Decimal("0.01"), ROUND_HALF_UP
        )
        for customer, amount in overdue.items()
    }
    rows = await pool.fetch("SELECT * FROM collector_worklist ORDER BY rank")
    assert {r["customer_id"]: r["amount_at_risk"] for r in rows} == at_risk
    assert [r["amount_at_risk"] for r in rows] == sorted(at_risk.values(), reverse=True)
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))


async def test_an_amount_without_a_known_rate_converts_to_null(pool: asyncpg.Pool) -> None:
    jpy = {"amount": "5000", "currency": "JPY"}
    opened = ledger.InvoiceOpened.model_validate(
        {
            "event_id": uuid.uuid4(),
            "occurred_at": _at(date(2026, 1, 1), 0),
            "source": "t",
            "payload": {
                "company_code": "FR01",
                "customer_id": "C1",
                "invoice_id": "FR01/J1",
                "invoice_number": "J1",
                "issue_date": "2026-01-01",
                "due_date": "2026-01-31",
                "amount": jpy,
                "open_amount": jpy,
            },
        }
    )
    await feed(pool, [(LEDGER_EVENTS, opened)])
    [row] = await pool.fetch(queries.AGED_BALANCE_AS_OF, date(2026, 2, 1))
    assert (row["bucket"], row["open_amount"], row["open_amount_reporting"]) == (
        "1-30",
        Decimal(5000),
        None,
    )
    [listed] = await pool.fetch("SELECT overdue_amount_reporting FROM collector_worklist")
    assert listed["overdue_amount_reporting"] is None


async def test_promises_plans_and_escalations_match_the_history(pool: asyncpg.Pool) -> None:
    generated = generate(10, invoice_count=120)
    await feed(pool, generated.events)
    promises = await pool.fetch("SELECT promise_id::text, status FROM promises")
    assert {r["promise_id"]: r["status"] for r in promises} == generated.promises
    plans = await pool.fetch("SELECT plan_id::text, status, instalments_missed FROM payment_plans")
    assert {r["plan_id"]: (r["status"], r["instalments_missed"]) for r in plans} == (
        generated.plans
    )
    escalations = await pool.fetch("SELECT event_id::text, total_open FROM escalations")
    assert {r["event_id"]: r["total_open"] for r in escalations} == generated.escalated
    assert set(generated.promises.values()) == {"pending", "kept", "broken"}
    assert len(generated.escalated) == 3


async def test_the_documented_roll_up_runs(pool: asyncpg.Pool) -> None:
    docs = (Path(__file__).parents[3] / "docs" / "reporting.md").read_text()
    start = docs.index("`SELECT c.risk_rating") + 1
    example = " ".join(docs[start : docs.index("`", start)].split())
    generated = generate(14)
    await feed(pool, generated.events)
    rows = await pool.fetch(example)
    today = await pool.fetchval("SELECT current_date")
    assert sum(r["sum"] for r in rows) == sum(
        converted
        for _, _, converted in aged_balance(generated.invoices, today).values()
        if converted is not None
    )


async def test_step_effectiveness_matches_the_model(pool: asyncpg.Pool) -> None:
    generated = generate(15, invoice_count=200)
    await feed(pool, generated.events)
    rows = await pool.fetch("SELECT * FROM step_effectiveness")
    found = {
        r["step_name"]: (
            r["invoices_reminded"],
            r["paid_within_7_days"],
            r["paid_within_14_days"],
            r["paid_within_30_days"],
            r["promises_within_30_days"],
            r["disputes_within_30_days"],
        )
        for r in rows
    }
    expected = step_effectiveness(generated)
    assert found == expected
    assert all(r["reminders"] == r["invoices_reminded"] for r in rows)
    assert any(values[3] > 0 for values in expected.values())
    # reminders decided but never handed to a provider (suppressed) are not counted as sent
    due = {r["step_name"]: r["reminders_due"] for r in rows}
    assert due == dict(generated.reminders_due)
    assert all(r["reminders"] < r["reminders_due"] for r in rows)
