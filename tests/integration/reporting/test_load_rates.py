"""Rates loaded from a file go through Kafka like any rate, and are applied once."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from contracts.topics import FX_RATES
from services.reporting.cli import publish_rates
from services.runtime.dead_letter import IncomingRecord
from tests.integration.reporting.conftest import processor
from tests.integration.reporting.test_html_report import _relance
from tests.kafka_tools import consume, create_topics, unique

pytestmark = pytest.mark.integration

RATES = (
    "base_currency,quote_currency,valid_on,rate\n"
    "EUR,USD,2026-03-02,1.0842\n"
    "GBP,EUR,2026-03-02,1.1711\n"
    "EUR,CHF,2026-03-02,0.9365\n"
)


async def test_published_rates_reach_the_rates_table_once(
    pool: asyncpg.Pool, kafka_bootstrap: str
) -> None:
    topic = dataclasses.replace(FX_RATES, name=unique(FX_RATES.name))
    await create_topics(kafka_bootstrap, [topic.name, topic.dead_letter])
    options: dict[str, object] = {"bootstrap_servers": kafka_bootstrap}
    assert await publish_rates(options, RATES, "system", topic) == 3
    assert await publish_rates(options, RATES, "system", topic) == 3  # loaded twice
    records = await consume(kafka_bootstrap, topic.name, 6)
    assert len(records) == 6
    batch = [IncomingRecord(FX_RATES.name, r.partition, r.offset, r.key, r.value) for r in records]
    await processor(pool).process(batch)
    rows = await pool.fetch(
        "SELECT base_currency, quote_currency, valid_on, rate FROM fx_rates ORDER BY 1, 2"
    )
    assert [tuple(r) for r in rows] == [
        ("EUR", "CHF", date(2026, 3, 2), Decimal("0.9365")),
        ("EUR", "USD", date(2026, 3, 2), Decimal("1.0842")),
        ("GBP", "EUR", date(2026, 3, 2), Decimal("1.1711")),
    ]
    assert await pool.fetchval("SELECT count(*) FROM inbox") == 3  # the copies were ignored
    inverse = await pool.fetchval("SELECT round(fx_rate('USD', 'EUR', '2026-03-03'), 12)")
    assert inverse == (Decimal(1) / Decimal("1.0842")).quantize(Decimal("1e-12"))


async def test_a_bad_file_publishes_nothing_and_names_its_lines(
    database_url: str, tmp_path: Path
) -> None:
    bad = tmp_path / "rates.csv"
    bad.write_text(RATES + "EUR,USD,2026-03-02,1.09\nUSD,JPY,tomorrow,150\n", encoding="utf-8")
    code, _, stderr = await _relance(database_url, "report", "load-rates", str(bad))
    assert code == 1
    assert f"{bad}: line 5: EUR/USD on 2026-03-02 already on line 2" in stderr
    assert f"{bad}: line 6: valid_on" in stderr
    assert "nothing published." in stderr
    code, _, stderr = await _relance(database_url, "report", "load-rates", str(tmp_path / "none"))
    assert code == 1
    assert "cannot read" in stderr
