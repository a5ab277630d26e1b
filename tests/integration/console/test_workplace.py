"""My day's other sources, a call's page data, Disputes, Promises and plans, Team and
Operations on a real PostgreSQL; the dead-letter census on a real Kafka."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from uuid import uuid4

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from contracts import ledger
from contracts.topics import LEDGER_EVENTS
from services.console import queries, read_model, team
from services.console.dead_letters import DeadLetterCensus
from tests.integration.console.conftest import feed
from tests.integration.console.story import NOW, events, money, uid
from tests.integration.console.test_read_model import COLLECTOR, MANAGER
from tests.integration.console.workplace_story import TASK_ID, workplace_events
from tests.kafka_tools import create_topics, unique

pytestmark = pytest.mark.integration

LATER = NOW + timedelta(days=6)  # after the plan's first instalment was missed


async def test_my_day_holds_every_source_and_filters(pool: asyncpg.Pool) -> None:
    await feed(pool, [*events(), *workplace_events()])
    items = await read_model.worklist(
        pool, COLLECTOR, LATER.date(), LATER, read_model.WorkFilter(), 50
    )
    kinds = [(i.kind, i.customer_id, i.at_risk) for i in items]
    assert kinds[0] == ("unmatched_cash", "C-1001", Decimal("2400"))
    assert ("missed_instalment", "C-666", Decimal("400")) in kinds
    call = next(i for i in items if i.kind == "call_due")
    assert call.reference == str(uid("reminder call A"))
    level_2 = await read_model.worklist(
        pool, COLLECTOR, LATER.date(), LATER, read_model.WorkFilter(level="formal_notice"), 50
    )
    assert level_2 == []
    other = await read_model.worklist(
        pool, MANAGER, LATER.date(), LATER, read_model.WorkFilter(collector_code="C99"), 50
    )
    assert {i.customer_id for i in other} == {"C-2001"}
    assert await read_model.collectors(pool, MANAGER) == ["C12", "C99"]

    found = await read_model.call(pool, uid("reminder call A"))
    assert found is not None
    assert (found.call_task_id, found.currency) == (TASK_ID, "USD")
    assert [i.invoice_number for i in found.invoices] == ["INV-4"]


async def test_the_money_at_risk_follows_the_invoices(pool: asyncpg.Pool) -> None:
    """A dispute's and a bounce's money at risk are kept as their invoices are paid."""
    settled = ledger.InvoiceSettled(
        event_id=uid("INV-2 settled"),
        occurred_at=LATER,
        source="ingestion",
        payload=ledger.Settlement(
            company_code="FR01",
            customer_id="C-1001",
            invoice_id="FR01/INV-2",
            invoice_number="INV-2",
            settled_on=LATER.date(),
            cause="payment",
            cause_document_id="PAY-2",
            previous_open_amount=money("800"),
            amount=money("800"),
            issue_date=date(2026, 2, 1),
            due_date=date(2026, 3, 3),
        ),
    )
    await feed(pool, [*events(), (LEDGER_EVENTS, settled)])
    items = await read_model.worklist(
        pool, COLLECTOR, LATER.date(), LATER, read_model.WorkFilter(), 50
    )
    at_risk = {i.kind: i.at_risk for i in items}
    assert at_risk["delivery_trouble"] == Decimal("700")  # INV-1 alone is still open
    assert at_risk["overdue_dispute"] == Decimal("0")


async def test_disputes_promises_and_plans(pool: asyncpg.Pool) -> None:
    await feed(pool, [*events(), *workplace_events()])
    rows, summary, owners = await read_model.disputes(
        pool, COLLECTOR, read_model.DisputeFilter(), NOW, 50
    )
    assert [(r["customer_id"], r["category"], r["owner_role"]) for r in rows] == [
        ("C-1001", "delivery", "sales")
    ]
    assert [(s["owner"], s["category"], s["up_to_30"], s["overdue"]) for s in summary] == [
        ("sales", "delivery", 1, 1)
    ]
    assert owners == ["sales"]
    older = read_model.DisputeFilter(older_than_days=30)
    assert (await read_model.disputes(pool, COLLECTOR, older, NOW, 50))[0] == []

    promises, plans = await read_model.promises_and_plans(pool, COLLECTOR, LATER.date(), 50)
    assert [(p["customer_id"], p["state"]) for p in promises] == [("C-1001", "broken")]
    assert [(p.customer_id, p.missed, p.missed_amount, p.next_due) for p in plans] == [
        ("C-666", 1, Decimal("400"), LATER.date().replace(month=4, day=20))
    ]


async def test_team_figures(pool: asyncpg.Pool) -> None:
    await feed(pool, [*events(), *workplace_events()])
    figures = await team.team(pool, MANAGER, NOW, 14)
    assert {(r["company_code"], r["currency"]) for r in figures.aged} >= {("FR01", "EUR")}
    fr = next(r for r in figures.aged if (r["company_code"], r["currency"]) == ("FR01", "EUR"))
    assert fr["total"] == sum(
        (fr[b] or 0) for b in ("not_due", "d1_30", "d31_60", "d61_90", "over_90")
    )
    assert len(figures.dso_dates) == team.DSO_POINTS
    assert figures.dso_dates[-1] == NOW.date()
    assert {c.collector_code for c in figures.collectors} == {"C12", "C99"}
    c12 = next(c for c in figures.collectors if c.collector_code == "C12")
    assert c12.customers == 2
    assert c12.promises_broken == 1
    ops = await team.operations(pool, 10)
    assert {f["topic"] for f in ops.freshness} == {
        "ledger.events.v1",
        "dunning.actions.v1",
        "notifier.deliveries.v1",
        "disputes.events.v1",
    }


async def test_the_census_counts_dead_letters_and_records_refusals(
    pool: asyncpg.Pool, kafka_bootstrap: str
) -> None:
    commands_dlq = unique("dunning.commands.v1.dlq")
    ledger_dlq = unique("ledger.events.v1.dlq")
    await create_topics(kafka_bootstrap, [commands_dlq, ledger_dlq], partitions=1)
    command_id = uuid4()
    await pool.execute(
        queries.RECORD_SENT_COMMAND, command_id, "C-1001", "hold", None, {}, "local:camille", NOW
    )
    refused = {
        "event_type": "command.hold",
        "payload": {
            "command_id": str(command_id),
            "customer_id": "C-1001",
            "actor": {"subject": "local:camille"},
        },
    }
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for topic, value, reason in [
            (commands_dlq, json.dumps(refused).encode(), "hold_date_past"),
            (ledger_dlq, b"not json", "malformed_json"),
            (ledger_dlq, b"{}", "malformed_json"),
        ]:
            await producer.send_and_wait(
                topic,
                value,
                headers=[("dlq.reason", reason.encode()), ("dlq.detail", b"the day is past")],
            )
    finally:
        await producer.stop()
    census = DeadLetterCensus(
        pool, {"bootstrap_servers": kafka_bootstrap}, (commands_dlq, ledger_dlq), commands_dlq
    )
    await census.step()
    await census.step()  # from where it stopped: nothing counted twice
    counts = {(r["reason"], r["records"]) for r in await pool.fetch(queries.DEAD_LETTER_COUNTS)}
    assert counts == {("hold_date_past", 1), ("malformed_json", 2)}
    assert await read_model.waiting_commands(pool, "C-1001", 10) == []
    [refusal] = await read_model.refused_commands(pool, "C-1001", 10)
    assert (refusal.command, refusal.reason, refusal.actor_subject) == (
        "hold",
        "hold_date_past",
        "local:camille",
    )
