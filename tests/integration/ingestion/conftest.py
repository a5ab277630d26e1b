"""Fixtures of the ingestion integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.ingestion.app import DEFINITION
from services.runtime import migrations
from services.runtime.database import create_pool
from services.runtime.settings import DatabaseSettings


@pytest.fixture
def database_schemas() -> tuple[str, ...]:
    """Ingestion's schema, migrated, in each test's fresh database."""
    return ("ingestion",)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on ingestion's schema, migrated."""
    await migrations.apply_async(database_url, DEFINITION.schema, DEFINITION.migrations)
    pool = await create_pool(DatabaseSettings(url=database_url), DEFINITION.schema)
    yield pool
    await pool.close()
