"""The Team page's maintained aggregates (migration 0007) on a real PostgreSQL: what the
triggers keep as rows change is what ``team_rebuild()`` recomputes from the state tables,
whatever the order (an invoice before its customer, a customer moving to another collector,
settlements, a cancellation, a reminder before its invoice), and the page reads the figures
a credit manager expects."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from services.console import team
from services.runtime.identity import Identity, Portfolio
from tests.integration.console.conftest import feed
from tests.integration.console.story import events
from tests.integration.console.test_read_model import MANAGER
from tests.integration.console.workplace_story import workplace_events

pytestmark = pytest.mark.integration

TABLES = {
    "team_open_invoices": "invoices <> 0 OR open_amount <> 0",
    "team_daily_flows": "issued <> 0 OR closed <> 0 OR settled <> 0",
    "team_receivable": "issued <> 0 OR closed <> 0",
    "team_steps": "reminders <> 0 OR invoices <> 0",
    "team_steps_paid": "invoices <> 0",
    "customer_segments": "customers <> 0",
}
NOW = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
TODAY = NOW.date()


async def aggregates(pool: asyncpg.Pool) -> dict[str, set[tuple[Any, ...]]]:
    """Every aggregate row that counts something."""
    return {
        table: {tuple(r) for r in await pool.fetch(f"SELECT * FROM {table} WHERE {counts}")}
        for table, counts in TABLES.items()
    }


async def assert_rebuild_agrees(pool: asyncpg.Pool) -> dict[str, set[tuple[Any, ...]]]:
    kept = await aggregates(pool)
    await pool.execute("SELECT team_rebuild()")
    assert await aggregates(pool) == kept
    return kept


async def test_the_story_kept_as_rebuilt(pool: asyncpg.Pool) -> None:
    await feed(pool, [*events(), *workplace_events()])
    kept = await assert_rebuild_agrees(pool)
    assert kept["team_open_invoices"]
    assert kept["team_steps"]


async def _customer(pool: asyncpg.Pool, customer_id: str, collector: str | None) -> None:
    await pool.execute(
        """INSERT INTO customers (customer_id, company_code, version, name, country, language,
                                  customer_type, market, risk_rating, collector_code)
           VALUES ($1, 'FR01', 1, $1, 'FR', 'fr', 'company', 'domestic', 'medium', $2)
           ON CONFLICT (customer_id) DO UPDATE SET collector_code = EXCLUDED.collector_code""",
        customer_id,
        collector,
    )


async def _invoice(
    pool: asyncpg.Pool, invoice_id: str, customer_id: str, issued: date, due: date, amount: str
) -> None:
    await pool.execute(
        """INSERT INTO invoices (invoice_id, customer_id, company_code, invoice_number,
                                 issue_date, due_date, currency, amount, open_amount, status)
           VALUES ($1, $2, 'FR01', $1, $3, $4, 'EUR', $5, $5, 'open')""",
        invoice_id,
        customer_id,
        issued,
        due,
        Decimal(amount),
    )


async def test_out_of_order_changes_kept_as_rebuilt(pool: asyncpg.Pool) -> None:
    # a reminder of a step before its invoice, the invoice before its customer
    reminder = uuid4()
    await pool.execute(
        """INSERT INTO reminders (reminder_id, customer_id, company_code, channel, level,
                                  step_name, scheduled_for, invoice_ids, scenario_id)
           VALUES ($1, 'C-1', 'FR01', 'email', 'level_1', 'first', $2, $3, 'standard')""",
        reminder,
        NOW - timedelta(days=10),
        ["I-1", "I-2"],
    )
    await _invoice(
        pool, "I-1", "C-1", TODAY - timedelta(days=60), TODAY - timedelta(days=45), "100"
    )
    await _invoice(pool, "I-2", "C-1", TODAY - timedelta(days=40), TODAY + timedelta(days=5), "50")
    await _invoice(pool, "I-3", "C-2", TODAY - timedelta(days=20), TODAY - timedelta(days=2), "30")
    await assert_rebuild_agrees(pool)
    unknown = await team.team(pool, MANAGER, NOW, 14)
    assert unknown.collectors == []  # no customer known yet: in no collector's portfolio

    await _customer(pool, "C-1", "C12")
    await _customer(pool, "C-2", "C12")
    await assert_rebuild_agrees(pool)
    # I-1 paid 5 days after the step; an open amount changes; I-3 is cancelled
    await pool.execute(
        "UPDATE invoices SET status = 'settled', open_amount = 0, closed_on = $2"
        " WHERE invoice_id = $1",
        "I-1",
        TODAY - timedelta(days=5),
    )
    await pool.execute("UPDATE invoices SET open_amount = 20 WHERE invoice_id = 'I-2'")
    await pool.execute(
        "UPDATE invoices SET status = 'cancelled', open_amount = 0, closed_on = $1"
        " WHERE invoice_id = 'I-3'",
        TODAY,
    )
    await assert_rebuild_agrees(pool)

    figures = await team.team(pool, MANAGER, NOW, 14)
    assert [(r["company_code"], r["total"], r["not_due"]) for r in figures.aged] == [
        ("FR01", Decimal("20"), Decimal("20"))
    ]
    [step] = figures.steps
    assert (step.step_name, step.reminders, step.invoices, step.paid) == ("first", 1, 2, 1)
    assert (await team.team(pool, MANAGER, NOW, 4)).steps[0].paid == 0  # paid after 5 days
    [c12] = figures.collectors
    assert (c12.collector_code, c12.customers, c12.open_invoices, c12.settled) == (
        "C12",
        2,
        1,
        1,
    )
    assert c12.open_amounts == [("EUR", Decimal("20"))]
    # DSO today: receivable 50 (I-2 at its full amount) over 150 invoiced in 90 days
    [trend] = figures.dso
    assert trend.points[-1] == (TODAY, Decimal(30))

    # C-1 moves to another collector: its invoices and its step's reminder follow
    await _customer(pool, "C-1", "C99")
    await assert_rebuild_agrees(pool)
    c99 = Identity(
        "local:x", "X", frozenset({"credit_manager"}), Portfolio.of(collector_codes=["C99"])
    )
    moved = await team.team(pool, c99, NOW, 14)
    assert [(c.collector_code, c.open_invoices, c.settled) for c in moved.collectors] == [
        ("C99", 1, 1)
    ]
    assert [s.invoices for s in moved.steps] == [2]
    c12_only = Identity(
        "local:y", "Y", frozenset({"credit_manager"}), Portfolio.of(collector_codes=["C12"])
    )
    left = await team.team(pool, c12_only, NOW, 14)
    assert left.aged == []
    assert left.steps == []
    assert [(c.collector_code, c.customers, c.open_invoices) for c in left.collectors] == [
        ("C12", 1, 0)
    ]

    # the settlement reversed (the invoice open again), then the reminder forgotten
    await pool.execute(
        "UPDATE invoices SET status = 'open', open_amount = 100 WHERE invoice_id = 'I-1'"
    )
    await pool.execute("DELETE FROM reminders WHERE reminder_id = $1", reminder)
    await assert_rebuild_agrees(pool)
    # an invoice corrected: its amount, open amount and due date at once
    await pool.execute(
        "UPDATE invoices SET amount = 60, open_amount = 25, due_date = due_date + 40"
        " WHERE invoice_id = 'I-2'"
    )
    kept = await assert_rebuild_agrees(pool)
    assert kept["team_steps_paid"] == set()
