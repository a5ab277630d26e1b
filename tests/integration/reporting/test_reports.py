"""Disputes, promises, plans, escalations, deliveries and collectors against the model."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import asyncpg
import pytest

from tests.integration.reporting.conftest import feed
from tests.integration.reporting.generated_ledger import (
    CENT,
    TODAY,
    dispute_resolution,
    generate,
    open_disputes,
    rate_on,
)

pytestmark = pytest.mark.integration


async def test_open_disputes_by_reason_owner_and_age_match_the_model(
    pool: asyncpg.Pool,
) -> None:
    generated = generate(16, invoice_count=200)
    await feed(pool, generated.events)
    for as_of in (TODAY, TODAY - timedelta(days=30)):
        rows = await pool.fetch("SELECT * FROM open_disputes_as_of($1)", as_of)
        found = {
            (r["category"], r["owner_role"], r["age_band"]): (
                r["disputes"],
                r["overdue_disputes"],
                r["invoices"],
                r["disputed_amount_reporting"],
            )
            for r in rows
        }
        expected = open_disputes(generated, as_of)
        assert expected, as_of
        assert found == expected, as_of
    # the whole-account dispute holds every open invoice of its customer
    whole = await pool.fetchrow("SELECT * FROM dispute_items_as_of($1) WHERE whole_account", TODAY)
    assert whole is not None
    assert whole["invoice_count"] > 0
    assert (whole["state"], whole["overdue"], whole["age_days"]) == ("open", True, 10)


async def test_time_to_resolve_matches_the_model(pool: asyncpg.Pool) -> None:
    generated = generate(17, invoice_count=200)
    await feed(pool, generated.events)
    rows = await pool.fetch("SELECT * FROM dispute_resolution")
    found = {
        (r["category"], r["owner_role"], r["outcome"]): (
            r["resolved"],
            r["average_days_to_resolve"],
            r["resolved_late"],
        )
        for r in rows
    }
    expected = dispute_resolution(generated)
    assert expected
    assert found == expected
    assert any(late for _, _, late in expected.values())
    # a resolved dispute is no longer open, and counts its days to resolve
    resolved = await pool.fetch(
        "SELECT days_to_resolve, state FROM dispute_items_as_of($1) WHERE outcome IS NOT NULL",
        TODAY,
    )
    assert resolved
    assert all(r["state"] == "resolved" and r["days_to_resolve"] > 0 for r in resolved)


async def test_promise_rates_plans_and_escalation_amounts(pool: asyncpg.Pool) -> None:
    generated = generate(10, invoice_count=120)
    await feed(pool, generated.events)
    expected: dict[str, list[str]] = {}
    for promise_id, status in generated.promises.items():
        expected.setdefault(generated.promise_customers[promise_id], []).append(status)
    rows = await pool.fetch("SELECT * FROM promise_rates")
    found = {
        r["customer_id"]: (r["promises"], r["kept"], r["broken"], r["broken_rate"]) for r in rows
    }

    def rate(statuses: list[str]) -> Decimal | None:
        closed = [s for s in statuses if s != "pending"]
        if not closed:
            return None
        broken = Decimal(closed.count("broken")) / len(closed)
        return broken.quantize(Decimal("0.0001"), ROUND_HALF_UP)

    assert found == {
        customer: (len(s), s.count("kept"), s.count("broken"), rate(s))
        for customer, s in expected.items()
    }

    plans = await pool.fetch("SELECT * FROM payment_plan_summary")
    by_status: dict[str, int] = {}
    for status, _ in generated.plans.values():
        by_status[status] = by_status.get(status, 0) + 1
    found_plans: dict[str, int] = {}
    for row in plans:
        found_plans[row["status"]] = found_plans.get(row["status"], 0) + row["plans"]
    assert found_plans == by_status
    assert sum(r["plans_with_missed_instalments"] for r in plans) == sum(
        1 for _, missed in generated.plans.values() if missed
    )

    summary = await pool.fetch("SELECT * FROM escalation_summary")
    total = sum(
        (
            (amount * rate_on(generated.escalated_currency[event_id], TODAY)).quantize(  # type: ignore[operator]
                CENT, ROUND_HALF_UP
            )
            for event_id, amount in generated.escalated.items()
        ),
        Decimal(0),
    )
    assert sum(r["escalations"] for r in summary) == len(generated.escalated)
    assert sum(r["total_open_reporting"] for r in summary) == total
    assert {r["action"] for r in summary} == {"collection_agency"}


async def test_deliveries_keep_the_latest_outcome_and_nothing_personal(
    pool: asyncpg.Pool,
) -> None:
    generated = generate(18, invoice_count=150)
    await feed(pool, generated.events, batch_size=13)
    rows = await pool.fetch("SELECT delivery_id::text, status, failures FROM deliveries")
    assert {r["delivery_id"]: (r["status"], r["failures"]) for r in rows} == generated.deliveries
    assert {s for s, _ in generated.deliveries.values()} == {"sent", "delivered", "suppressed"}
    assert any(f for _, f in generated.deliveries.values())
    # only reminders handed to a provider have sent invoices
    sent = await pool.fetchval("SELECT count(*) FROM sent_invoices")
    assert sent == len(generated.reminders)
    calls = await pool.fetch("SELECT outcome FROM call_outcomes")
    assert calls
    assert {r["outcome"] for r in calls} == {"no_answer"}


async def test_collectors_come_from_customer_tags_and_reach_the_worklist(
    pool: asyncpg.Pool,
) -> None:
    generated = generate(19, invoice_count=120)
    await feed(pool, generated.events)
    rows = await pool.fetch("SELECT customer_id, collector FROM customers")
    assert {r["customer_id"]: r["collector"] for r in rows} == generated.collectors
    today = await pool.fetchval("SELECT current_date")
    view = await pool.fetch(
        "SELECT rank, customer_id, collector, amount_at_risk, oldest_days_overdue "
        "FROM collector_worklist ORDER BY rank"
    )
    function = await pool.fetch(
        "SELECT rank, customer_id, collector, amount_at_risk, oldest_days_overdue "
        "FROM collector_worklist_as_of($1) ORDER BY rank",
        today,
    )
    assert view
    assert [tuple(r) for r in view] == [tuple(r) for r in function]
    assert {r["collector"] for r in view} >= {"north", "south"}
    # the documented roll-up by collector adds up to the aged balance
    by_collector = await pool.fetch(
        "SELECT c.collector, a.bucket, sum(a.open_amount_reporting) AS total "
        "FROM aged_balance a JOIN customers c USING (customer_id) GROUP BY 1, 2"
    )
    total = await pool.fetchval("SELECT sum(open_amount_reporting) FROM aged_balance")
    assert sum(r["total"] for r in by_collector) == total
