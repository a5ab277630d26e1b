from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import asyncpg
import pytest

from contracts.envelope import Event
from contracts.topics import Topic
from services.console.app import DEFINITION, SCHEMA
from services.console.projection import apply_events
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import BatchProcessor
from services.runtime.database import create_pool
from services.runtime.dead_letter import IncomingRecord
from services.runtime.settings import DatabaseSettings
from tests.integration.console.story import NOW


async def migrated_pool(database_url: str) -> asyncpg.Pool:
    await migrations.apply_async(database_url, SCHEMA, DEFINITION.migrations)
    return await create_pool(DatabaseSettings(url=database_url), SCHEMA)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await migrated_pool(database_url)
    yield pool
    await pool.close()


async def feed(
    pool: asyncpg.Pool, events: Sequence[tuple[Topic, Event]], batch_size: int = 50
) -> None:
    """Apply ``events`` through the kit's batch processor, as the consumer would."""
    records = [
        IncomingRecord(topic.name, 0, offset, topic.key(event), topic.value(event))
        for offset, (topic, event) in enumerate(events)
    ]
    processor = BatchProcessor(
        "console", DEFINITION.consumes, apply_events, pool, SimulatedClock(NOW)
    )
    for start in range(0, len(records), batch_size):
        await processor.process(records[start : start + batch_size])


@pytest.fixture
def database_schemas() -> tuple[str, ...]:
    """The console's schema, migrated, in each test's fresh database."""
    return ("console",)
