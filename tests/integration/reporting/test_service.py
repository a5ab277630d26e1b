"""The reporting service's wiring: start-up, refresh loop, and events through real Kafka."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from contracts.topics import (
    DISPUTE_EVENTS,
    DUNNING_ACTIONS,
    FX_RATES,
    LEDGER_EVENTS,
    NOTIFIER_DELIVERIES,
)
from services.reporting.app import DEFINITION, build
from services.reporting.projection import apply_events
from services.reporting.settings import ReportingSettings
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import BatchProcessor
from services.runtime.outbox import KafkaRecordSender
from services.runtime.service import ServiceContext, Supervisor, make_broker, subscribe
from services.runtime.settings import KafkaSettings
from tests.integration.reporting.conftest import feed, migrated_pool
from tests.integration.reporting.generated_ledger import TODAY, _at, generate
from tests.kafka_tools import create_topics, eventually, produce, unique

pytestmark = pytest.mark.integration


def test_consumes_the_topics_it_projects() -> None:
    assert [t.name for t in DEFINITION.consumes] == [
        LEDGER_EVENTS.name,
        DUNNING_ACTIONS.name,
        NOTIFIER_DELIVERIES.name,
        DISPUTE_EVENTS.name,
        FX_RATES.name,
    ]


async def test_start_writes_settings_and_the_refresh_loop_fills_derived_tables(
    database_url: str, kafka_bootstrap: str
) -> None:
    pool = await migrated_pool(database_url)
    settings = ReportingSettings(
        reporting_currency="USD", bucket_edges=(15, 45), bi_role="relance_bi_start_test"
    )
    context = ServiceContext(
        name="reporting",
        settings=settings,
        pool=pool,
        clock=SimulatedClock(_at(TODAY, 0)),
        sender=KafkaRecordSender({"bootstrap_servers": kafka_bootstrap}, "reporting-test"),
    )
    await context.sender.start()
    stop = asyncio.Event()
    try:
        parts = await build(context)
        assert parts.handler is apply_events
        labels = await pool.fetch("SELECT label FROM aging_buckets ORDER BY bucket_order")
        assert [r["label"] for r in labels] == ["not_due", "1-15", "16-45", "over_45"]
        assert await pool.fetchval("SELECT reporting_currency FROM report_parameters") == "USD"
        role = await pool.fetchrow(
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", settings.bi_role
        )
        assert role is not None

        await feed(pool, generate(21, invoice_count=40).events)
        loop = asyncio.create_task(parts.loops["refresh"](stop))

        async def refreshed() -> bool:
            snapshots = await pool.fetchval(
                "SELECT count(*) FROM aged_balance_snapshots WHERE snapshot_date = $1", TODAY
            )
            dso = await pool.fetchval("SELECT count(*) FROM dso_monthly")
            return bool(snapshots) and dso == 2 * settings.dso_months

        await eventually(refreshed)
        buckets = await pool.fetch("SELECT DISTINCT bucket FROM aged_balance_snapshots")
        assert {r["bucket"] for r in buckets} <= {"not_due", "1-15", "16-45", "over_45"}
        stop.set()
        await asyncio.wait_for(loop, 10)
    finally:
        stop.set()
        await context.sender.stop()
        await pool.close()


async def test_ledger_events_through_kafka_reach_open_items(
    database_url: str, kafka_bootstrap: str
) -> None:
    topics = [dataclasses.replace(t, name=unique(t.name)) for t in DEFINITION.consumes]
    by_name = {t.name.split(".", 1)[1]: t for t in topics}
    await create_topics(kafka_bootstrap, [n for t in topics for n in (t.name, t.dead_letter)])
    generated = generate(22, invoice_count=30)
    for topic in topics:
        original = topic.name.split(".", 1)[1]
        records = [
            (topic.key(event), topic.value(event))
            for t, event in generated.events
            if t.name == original
        ]
        await produce(kafka_bootstrap, topic.name, records)
    assert set(by_name) == {t.name for t in DEFINITION.consumes}

    pool = await migrated_pool(database_url)
    settings = ReportingSettings(kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap))
    processor = BatchProcessor(
        "reporting", topics, apply_events, pool, SimulatedClock(_at(TODAY, 0))
    )
    supervisor = Supervisor("reporting-test")
    broker = make_broker(settings.kafka, "reporting-test", graceful_timeout=10)
    subscribe(
        broker,
        processor,
        group_id=unique("reporting"),
        settings=settings,
        on_fatal=supervisor.fail,
    )
    await broker.start()
    try:

        async def all_applied() -> bool:
            return bool(await pool.fetchval("SELECT count(*) FROM inbox") == len(generated.events))

        await eventually(all_applied)
        open_now = {
            i.invoice_id
            for i in generated.invoices.values()
            if (state := i.at(TODAY)) is not None and state[0] > 0
        }
        rows = await pool.fetch("SELECT invoice_id FROM open_items")
        assert {r["invoice_id"] for r in rows} == open_now
        assert supervisor.failure is None
    finally:
        await broker.stop()
        await supervisor.shutdown(grace_s=5)
        await pool.close()
