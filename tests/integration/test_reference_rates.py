"""The reference interest rates file reaches Kafka as events a consumer can rebuild the
late-payment rates from; loading it twice publishes the same event ids."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from contracts.reference import ReferenceInterestRatePublished
from contracts.topics import INTEREST_RATES
from services.runtime.late_payment import FRANCE, ReferenceRates, interest_terms
from services.runtime.reference_rates import as_reference_rates, publish_interest_rates
from tests.kafka_tools import consume, create_topics, unique

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RATES = (
    "# two ECB changes around 1 July 2024\n"
    "kind,valid_from,rate,checked\n"
    "ecb_mro,2023-09-20,4.50,stored\n"
    "ecb_mro,2024-06-12,4.25,stored\n"
)


async def test_published_rates_rebuild_the_rates_of_each_half_year(kafka_bootstrap: str) -> None:
    topic = dataclasses.replace(INTEREST_RATES, name=unique(INTEREST_RATES.name))
    await create_topics(kafka_bootstrap, [topic.name, topic.dead_letter], partitions=1)
    options: dict[str, object] = {"bootstrap_servers": kafka_bootstrap}
    now = datetime(2026, 12, 6, tzinfo=UTC)
    assert await publish_interest_rates(options, RATES, now, topic) == 2
    assert await publish_interest_rates(options, RATES, now, topic) == 2  # loaded twice
    records = await consume(kafka_bootstrap, topic.name, 4)
    events = [topic.parse(record.value) for record in records]
    assert all(isinstance(event, ReferenceInterestRatePublished) for event in events)
    assert {record.key for record in records} == {b"ecb_mro"}
    assert len({event.event_id for event in events}) == 2  # the copies carry the same ids
    rates = ReferenceRates(
        as_reference_rates(
            event.payload for event in events if isinstance(event, ReferenceInterestRatePublished)
        )
    )
    terms = interest_terms(FRANCE, "business")
    assert terms.yearly_rate(date(2024, 6, 30), rates, date(2024, 6, 1)) == Decimal("14.50")
    assert terms.yearly_rate(date(2024, 7, 1), rates, date(2024, 6, 1)) == Decimal("14.25")


def test_a_bad_file_publishes_nothing_and_names_its_lines(tmp_path: Path) -> None:
    bad = tmp_path / "rates.csv"
    bad.write_text(RATES + "ecb_mro,2024-09-18,3.65\nboe_base_rate,tomorrow,5,stored\n")
    done = subprocess.run(
        [sys.executable, "-m", "services.runtime.reference_rates", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"},
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert f"{bad}: line 5: expected 4 columns" in done.stderr
    assert f"{bad}: line 6: valid_from" in done.stderr
    assert "nothing published." in done.stderr
