"""Reference interest rates consumed by the notifier from Kafka reach its statements: at once,
not at the rate book's next refresh (the dispatcher's listener hears the consumer's commit),
also after the listening connection was lost."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import asyncpg
import pytest

from contracts.reference import ReferenceInterestRate, ReferenceInterestRatePublished
from contracts.topics import INTEREST_RATES
from services.notifier.composing.composer import CustomerView, EmailComposer
from services.notifier.dispatcher import Dispatcher
from services.notifier.handler import handle
from services.notifier.reference_rates import RateBook
from services.notifier.settings import NotifierSettings
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import BatchProcessor
from services.runtime.database import connect
from services.runtime.dead_letter import IncomingRecord
from services.runtime.errors import NoReferenceRate
from services.runtime.loops import Wakeup
from services.runtime.settings import DatabaseSettings
from tests.integration.notifier.harness import listening
from tests.kafka_tools import consume, create_topics, eventually, produce, unique
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


RATES = "relance_rates_"  # the channel's prefix (reference_rates.RATES_CHANNEL_PREFIX)
REFRESH_S = 300.0  # the default: far longer than the test waits, only the announcement can


def _knows(book: RateBook, valid_from: date, rate: str) -> bool:
    try:
        return book.rates.in_force("ecb_mro", valid_from) == Decimal(rate)
    except NoReferenceRate:
        return False


async def _loaded(book: RateBook, valid_from: date, rate: str) -> None:
    """Until the book in memory (not the table) holds ``rate`` from ``valid_from``; a few
    seconds at most, where its own refresh comes only after ``REFRESH_S``."""

    async def known() -> bool:
        return _knows(book, valid_from, rate)

    await eventually(known, timeout_s=5, interval_s=0.02)


async def _record(pool: asyncpg.Pool, *events: ReferenceInterestRatePublished) -> None:
    """The notifier's consumer applies ``events`` (as from Kafka) and commits."""
    topic = INTEREST_RATES
    records = [
        IncomingRecord(topic.name, 0, offset, topic.key(e), topic.value(e))
        for offset, e in enumerate(events)
    ]
    processor = BatchProcessor("notifier", [topic], handle, pool, SimulatedClock(samples.NOW))
    outcome = await processor.process(records)
    assert outcome.dead_lettered == 0


@contextlib.asynccontextmanager
async def _running(
    pool: asyncpg.Pool, database_url: str
) -> AsyncIterator[tuple[RateBook, Dispatcher]]:
    """A notifier's rate book and dispatcher (lanes, listener) as the service wires them."""
    settings = NotifierSettings(company_countries={"FR01": "FR"}, dispatch_interval_s=60.0)
    book = RateBook()
    changed = Wakeup()
    dispatcher = Dispatcher(
        pool,
        SimulatedClock(samples.NOW),
        settings,
        {},
        EmailComposer.load(settings, book),
        listen_connection=functools.partial(
            connect, DatabaseSettings(url=database_url), "notifier", "listener"
        ),
        rates_changed=changed,
    )
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(dispatcher.run(stop)),
        asyncio.create_task(book.run(pool, REFRESH_S, stop, wake=changed)),
    ]
    try:
        yield book, dispatcher
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=15)


async def test_a_rate_recorded_reaches_the_running_notifier_statements_at_once(
    pool: asyncpg.Pool, database_url: str
) -> None:
    async with _running(pool, database_url) as (book, dispatcher):
        await listening(pool, dispatcher, channel=RATES)
        await asyncio.sleep(0.2)  # the book's first refresh found no rate
        assert not _knows(book, date(2025, 6, 11), "2.15")

        await _record(pool, rate_published("ecb_mro", date(2025, 6, 11), "2.15"))
        await _loaded(book, date(2025, 6, 11), "2.15")

        # a correction of the same day replaces it, as promptly
        await _record(pool, rate_published("ecb_mro", date(2025, 6, 11), "2.40"))
        await _loaded(book, date(2025, 6, 11), "2.40")


async def test_after_its_listening_backend_ended_the_notifier_still_hears_new_rates(
    pool: asyncpg.Pool, database_url: str
) -> None:
    async with _running(pool, database_url) as (book, dispatcher):
        first = await listening(pool, dispatcher, channel=RATES)
        assert await pool.fetchval("SELECT pg_terminate_backend($1)", first)
        # recorded while nobody may be listening: loaded when the listener is back at most
        await _record(pool, rate_published("ecb_mro", date(2025, 6, 11), "2.15"))
        await listening(pool, dispatcher, other_than=first, channel=RATES)
        await _loaded(book, date(2025, 6, 11), "2.15")

        await _record(pool, rate_published("ecb_mro", date(2025, 12, 17), "2.00"))
        await _loaded(book, date(2025, 12, 17), "2.00")
