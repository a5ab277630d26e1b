"""Reference interest rates consumed by the notifier from Kafka reach its statements."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date
from decimal import Decimal

import asyncpg
import pytest

from contracts.reference import ReferenceInterestRate, ReferenceInterestRatePublished
from contracts.topics import INTEREST_RATES
from services.notifier.composing.composer import CustomerView, EmailComposer
from services.notifier.handler import handle
from services.notifier.reference_rates import RateBook
from services.notifier.settings import NotifierSettings
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import BatchProcessor
from services.runtime.dead_letter import IncomingRecord
from tests.kafka_tools import consume, create_topics, produce, unique
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration
CUSTOMER = CustomerView(
    name="ACME",
    language="fr",
    contacts=({"role": "billing", "email": "compta@acme.example"},),
    customer_type="business",
)


def rate_published(kind: str, valid_from: date, rate: str) -> ReferenceInterestRatePublished:
    return ReferenceInterestRatePublished(
        event_id=uuid.uuid4(),
        occurred_at=samples.NOW,
        source="relance-reference-rates",
        payload=ReferenceInterestRate.model_validate(
            {"kind": kind, "valid_from": valid_from, "rate": rate}
        ),
    )


async def test_a_rate_consumed_from_kafka_is_the_one_statements_use(
    pool: asyncpg.Pool, kafka_bootstrap: str
) -> None:
    settings = NotifierSettings(company_countries={"FR01": "FR"})
    book = RateBook()
    composer = EmailComposer.load(settings, book)
    clock = SimulatedClock(samples.NOW)
    topic = dataclasses.replace(INTEREST_RATES, name=unique(INTEREST_RATES.name))
    await create_topics(kafka_bootstrap, [topic.name])
    due = samples.reminder("INV-1")
    await book.refresh(pool)
    before = composer.render_reminder(due, due.invoices, CUSTOMER, samples.NOW).statement
    assert before.interest_unknown  # no rate yet: interest left out, never guessed
    assert before.totals[0].interest == 0

    events = (
        rate_published("ecb_mro", date(2025, 6, 11), "2.15"),
        rate_published("ecb_mro", date(2025, 6, 11), "2.15"),  # loaded again: harmless
    )
    await produce(kafka_bootstrap, topic.name, [(topic.key(e), topic.value(e)) for e in events])
    records = await consume(kafka_bootstrap, topic.name, expected=2)
    processor = BatchProcessor("notifier", [topic], handle, pool, clock)
    outcome = await processor.process([IncomingRecord.of(r) for r in records])
    assert outcome.dead_lettered == 0
    await book.refresh(pool)
    after = composer.render_reminder(due, due.invoices, CUSTOMER, samples.NOW)
    assert not after.statement.interest_unknown
    assert after.statement.annual_rate_percent == Decimal("12.15")
    # 700 EUR x 12.15% x 30 days / 365
    assert after.statement.lines[0].interest == Decimal("6.99")
    assert "12,15 %" in after.text
    rows = await pool.fetch("SELECT kind, valid_from, rate FROM reference_interest_rates")
    assert [(r["kind"], r["valid_from"], r["rate"]) for r in rows] == [
        ("ecb_mro", date(2025, 6, 11), Decimal("2.1500"))
    ]
