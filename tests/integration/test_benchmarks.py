"""The benchmarks under bench/ still run, on small sizes, against the real servers: each
prints its figures with the host's beside them, and the ingestion benchmark reconciles the
ledger it built with what it generated. No figure is asserted beyond being there and
positive: speed is what the benchmarks measure, not what a test decides."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def run_bench(module: str, *args: str, database_url: str, bootstrap: str = "") -> str:
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap or "127.0.0.1:1",
    }
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{module} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def figure(output: str, name: str) -> float:
    """The number printed after ``name:`` (``name: 1,234.5``) or ``name`` (``name 12.5``)."""
    found = re.search(rf"^\s*{re.escape(name)}:? ([\d,.]+)", output, re.MULTILINE)
    assert found, f"no figure {name!r} in:\n{output[-3000:]}"
    return float(found.group(1).replace(",", ""))


def assert_host_figures(output: str) -> None:
    """The load before and after and a pydantic figure of the run, so a noisy host shows."""
    assert re.search(r"load average before: [\d.]+ [\d.]+ [\d.]+", output), output[-2000:]
    assert re.search(r"load average after: [\d.]+ [\d.]+ [\d.]+", output), output[-2000:]
    assert re.search(r"pydantic_validate now: [\d,]+/s", output), output[-2000:]


def test_ingestion_end_to_end_reconciles_the_ledger_to_the_cent(
    database_url: str, kafka_bootstrap: str
) -> None:
    output = run_bench(
        "bench.ingestion",
        "--events",
        "2000",
        "--batch",
        "500",
        "--consumers",
        "2",
        database_url=database_url,
        bootstrap=kafka_bootstrap,
    )
    assert "ledger reconciled with the generator to the cent" in output
    assert figure(output, "balances_differing") == 0
    assert figure(output, "balances_checked") > 0
    assert figure(output, "dead_lettered") == 0
    assert figure(output, "events") == 2000
    assert figure(output, "published_records") > 2000  # about 1.5 ledger events per ERP event
    assert figure(output, "cpu_us_per_event_replicas") > 0
    assert figure(output, "cpu_us_per_event_postgres") > 0
    assert figure(output, "replica0_peak_rss_mib") > 0
    # each replica's share: every record taken (a rebalance may hand a batch over twice),
    # every ledger event published by one relay or the other
    taken = figure(output, "replica0_records") + figure(output, "replica1_records")
    assert 2000 <= taken < 4000
    published = figure(output, "replica0_published") + figure(output, "replica1_published")
    assert published == figure(output, "published_records")
    assert 0 < figure(output, "cores_busy_share") < 1.5
    assert re.search(r"load average before: [\d.]+", output)
    assert re.search(r"load average after: [\d.]+", output)
    # the run's topics are gone: a million-event run leaves about 2 GB otherwise
    found = re.search(r"^topics: (bench-[0-9a-f]+)\.\*", output, re.MULTILINE)
    assert found, output[-2000:]
    left = asyncio.run(_topics(kafka_bootstrap))
    assert [t for t in left if t.startswith(found.group(1) + ".")] == []


async def _topics(bootstrap: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return list(await admin.list_topics())
    finally:
        await admin.close()


def test_ingestion_in_memory_benchmarks_reconcile_and_print_the_host(database_url: str) -> None:
    applied = run_bench(
        "bench.ingestion_apply", "--events", "2000", "--rounds", "1", database_url=database_url
    )
    assert "ledger reconciled with the generator to the cent" in applied
    assert figure(applied, "apply: best") > 0
    assert_host_figures(applied)
    paused = run_bench(
        "bench.ingestion_gc_pause", "--events", "2000", "--rounds", "1", database_url=database_url
    )
    assert "both ledgers reconciled with the generator to the cent" in paused
    assert_host_figures(paused)


def test_ingestion_database_benchmarks_count_client_and_server(database_url: str) -> None:
    writes = run_bench(
        "bench.ingestion_writes",
        "--events",
        "2000",
        "--batch",
        "500",
        "--rounds",
        "1",
        database_url=database_url,
    )
    assert figure(writes, "client: best") > 0
    assert figure(writes, "PostgreSQL: best") >= 0
    assert_host_figures(writes)
    relay = run_bench(
        "bench.ingestion_relay", "--rows", "2000", "--rounds", "1", database_url=database_url
    )
    assert figure(relay, "relay: best") > 0
    assert_host_figures(relay)


def test_scheduler_emits_every_due_reminder_and_times_the_empty_tick(database_url: str) -> None:
    output = run_bench(
        "bench.scheduler",
        "--database-url",
        database_url,
        "--sizes",
        "4000",
        "--empty-ticks",
        "2",
        database_url=database_url,
    )
    found = re.search(
        r"4,000 open invoices .*\|\s+(\d+) due, .*:\s+(\d+) reminders .*empty tick: median "
        r"([\d.]+) ms.*load average [\d.]+ -> [\d.]+ \| pydantic now [\d,]+ events/s",
        output,
    )
    assert found, output[-3000:]
    due, reminders, empty_tick_ms = int(found[1]), int(found[2]), float(found[3])
    assert due == 200  # the bench's due share, 5 %
    assert reminders == due
    assert empty_tick_ms > 0


def test_a_payment_suppresses_its_reminder_and_none_is_sent_once_it_is_visible(
    database_url: str, kafka_bootstrap: str
) -> None:
    output = run_bench(
        "bench.suppression",
        "--payments",
        "8",
        "--payment-rate",
        "8",
        "--erp-rate",
        "50",
        "--pydantic-events",
        "5000",
        database_url=database_url,
        bootstrap=kafka_bootstrap,
    )
    # the bench stops publishing when no paid-to-be reminder is left waiting (the notifier
    # drained the queue first on a fast host): every payment published is measured
    published = figure(output, "payments_published")
    assert 1 <= published <= 8
    assert figure(output, "payment_to_suppression_count") == published
    assert figure(output, "not_suppressed_in_time") == 0
    assert figure(output, "raced_accepted_after_settlement_visible") == 0
    assert figure(output, "payment_to_suppression_p99_ms") > 0
    assert figure(output, "cpu_s_notifier") > 0
    assert re.search(r"^ after: load average [\d.]+", output, re.MULTILINE)
    assert re.search(r"pydantic_validate, this run: [\d,]+ events/s", output)


def test_reminders_due_are_all_sent_and_their_latency_measured(
    database_url: str, kafka_bootstrap: str
) -> None:
    output = run_bench(
        "bench.due_to_sent",
        "--seconds",
        "2",
        "--rate",
        "5",
        "--pydantic-events",
        "5000",
        database_url=database_url,
        bootstrap=kafka_bootstrap,
    )
    assert figure(output, "sent") == 10
    assert figure(output, "failed") == 0
    assert figure(output, "not_done") == 0
    assert figure(output, "due_to_sent_count") == 10
    assert figure(output, "due_to_sent_p50_ms") > 0
