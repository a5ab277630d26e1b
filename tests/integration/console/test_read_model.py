"""The console's read model from the public topics: customers, open items, timeline,
worklist and search, on a real PostgreSQL (and once through a real Kafka)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import asyncpg
import pytest

from services.console import read_model
from services.console.app import DEFINITION
from services.console.projection import apply_events
from services.console.settings import ConsoleSettings
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import BatchProcessor
from services.runtime.identity import Identity, Portfolio
from services.runtime.service import Supervisor, make_broker, subscribe
from services.runtime.settings import KafkaSettings
from tests.integration.console.conftest import feed, migrated_pool
from tests.integration.console.story import (
    NOW,
    SCRIPT_NAME,
    TODAY,
    call_closed,
    events,
    uid,
)
from tests.kafka_tools import create_topics, eventually, produce, unique

pytestmark = pytest.mark.integration

COLLECTOR = Identity(
    "local:camille", "Camille", frozenset({"collector"}), Portfolio.of(collector_codes=["C12"])
)
MANAGER = Identity("local:dominique", "Dominique", frozenset({"credit_manager"}))


async def test_open_items_carry_status_age_and_totals_per_currency(pool: asyncpg.Pool) -> None:
    await feed(pool, events())
    items, totals = await read_model.open_items(pool, "C-1001", TODAY)
    assert {i.invoice_number: (i.open_amount, i.status, i.age) for i in items} == {
        "INV-1": (Decimal("700"), "overdue", "31_60"),  # its promise was broken
        "INV-2": (Decimal("800"), "disputed", "1_30"),
        "INV-3": (Decimal("500"), "due", "not_due"),
        "INV-4": (Decimal("300"), "overdue", "1_30"),
    }
    first = next(i for i in items if i.invoice_number == "INV-1")
    assert (first.step_name, first.level) == ("level_1_email", "level_1")
    assert [(t.currency, t.total) for t in totals] == [
        ("EUR", Decimal("2000")),
        ("USD", Decimal("300")),
    ]
    eur = totals[0].by_age
    assert (eur["not_due"], eur["1_30"], eur["31_60"]) == (Decimal(500), Decimal(800), Decimal(700))
    plan_items, _ = await read_model.open_items(pool, "C-666", TODAY)
    assert [i.status for i in plan_items] == ["in_plan"]


async def test_the_timeline_tells_the_customers_story_newest_first(pool: asyncpg.Pool) -> None:
    await feed(pool, [*events(), call_closed()])
    entries = await read_model.timeline(pool, "C-1001", 100)
    assert [e.kind for e in entries] == [
        "call_task.closed",
        "reminder.due",  # the call, due today
        "invoice.opened",  # INV-3
        "promise.broken",
        "dispute.opened",
        "delivery.bounced",
        "reminder.due",
        "promise.made",
        "invoice.payment",
        "invoice.opened",  # INV-2
        "invoice.opened",  # INV-4
        "invoice.opened",  # INV-1
    ]
    call = entries[0].facts
    assert (call["outcome"], call["promised"], call["note"]) == (
        "promise_to_pay",
        {"amount": "300", "currency": "USD"},
        "Rappeler le 27 si rien <i>reçu</i>",
    )
    assert entries[4].facts["text"] == "Livraison incomplète <b>2 cartons manquants</b>"
    assert entries[5].facts == {
        "channel": "email",
        "numbers": ["INV-1", "INV-2"],
        "delivery": str(uid("delivery A")),
        "provider": "smtp",
        "reason": "550 mailbox unknown",
        "bounce": "hard",
    }


async def test_my_day_ranks_by_money_at_risk_within_the_portfolio(pool: asyncpg.Pool) -> None:
    await feed(pool, events())
    mine = await read_model.worklist(pool, COLLECTOR, TODAY, NOW, read_model.WorkFilter(), 50)
    assert [(i.kind, i.customer_id, i.currency, i.at_risk) for i in mine] == [
        ("delivery_trouble", "C-1001", "EUR", Decimal("1500")),
        ("overdue_dispute", "C-1001", "EUR", Decimal("800")),
        ("broken_promise", "C-1001", "EUR", Decimal("700")),
        ("call_due", "C-1001", "USD", Decimal("300")),
    ]
    everyone = await read_model.worklist(pool, MANAGER, TODAY, NOW, read_model.WorkFilter(), 50)
    assert everyone[0].customer_id == "C-2001"
    assert everyone[0].at_risk == Decimal("5000")
    only_de = await read_model.worklist(
        pool, MANAGER, TODAY, NOW, read_model.WorkFilter("DE02"), 50
    )
    assert {i.company_code for i in only_de} == {"DE02"}
    assert await read_model.companies(pool, COLLECTOR) == ["FR01"]
    assert await read_model.companies(pool, MANAGER) == ["DE02", "FR01"]

    await feed(pool, [call_closed()])
    after_call = await read_model.worklist(pool, COLLECTOR, TODAY, NOW, read_model.WorkFilter(), 50)
    assert "call_due" not in {i.kind for i in after_call}


async def test_search_finds_names_with_typos_numbers_and_invoices(pool: asyncpg.Pool) -> None:
    await feed(pool, events())
    by_name = await read_model.search(pool, MANAGER, "Atelier Dubos", 10)
    assert by_name
    assert by_name[0].customer_id == "C-1001"
    assert [f.customer_id for f in await read_model.search(pool, MANAGER, "C-2001", 10)] == [
        "C-2001"
    ]
    invoice = await read_model.search(pool, MANAGER, "INV-D1", 10)
    assert [(f.customer_id, f.invoice_number) for f in invoice] == [("C-2001", "INV-D1")]
    assert await read_model.search(pool, COLLECTOR, "Nordwind", 10) == []  # not C12's
    scripted = await read_model.search(pool, COLLECTOR, "script", 10)
    assert [f.name for f in scripted] == [SCRIPT_NAME]
    assert await read_model.search(pool, MANAGER, "%%", 10) == []  # wildcards are text


async def test_replaying_the_topics_changes_nothing(pool: asyncpg.Pool) -> None:
    await feed(pool, events())
    before = await pool.fetch("SELECT * FROM timeline ORDER BY event_id")
    await feed(pool, events())
    assert await pool.fetch("SELECT * FROM timeline ORDER BY event_id") == before


async def test_the_story_through_kafka_reaches_the_read_model(
    database_url: str, kafka_bootstrap: str
) -> None:
    topics = [dataclasses.replace(t, name=unique(t.name)) for t in DEFINITION.consumes]
    renamed = {t.name.split(".", 1)[1]: t for t in topics}
    await create_topics(kafka_bootstrap, [n for t in topics for n in (t.name, t.dead_letter)])
    story = events()
    for original, topic in renamed.items():
        records = [(topic.key(e), topic.value(e)) for t, e in story if t.name == original]
        await produce(kafka_bootstrap, topic.name, records)
    pool = await migrated_pool(database_url)
    settings = ConsoleSettings(kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap))
    processor = BatchProcessor("console", topics, apply_events, pool, SimulatedClock(NOW))
    supervisor = Supervisor("console-test")
    broker = make_broker(settings.kafka, "console-test", graceful_timeout=10)
    subscribe(
        broker, processor, group_id=unique("console"), settings=settings, on_fatal=supervisor.fail
    )
    await broker.start()
    try:

        async def all_applied() -> bool:
            return bool(await pool.fetchval("SELECT count(*) FROM inbox") == len(story))

        await eventually(all_applied)
        items, _ = await read_model.open_items(pool, "C-1001", TODAY)
        assert len(items) == 4
        assert supervisor.failure is None
    finally:
        await broker.stop()
        await supervisor.shutdown(grace_s=5)
        await pool.close()
