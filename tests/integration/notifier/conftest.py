from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from aiosmtpd.controller import Controller

from services.runtime import migrations
from services.runtime.database import create_pool
from services.runtime.settings import DatabaseSettings
from tests.integration.notifier.harness import Mailbox, free_port
from tests.unit.notifier.conftest import companies_file  # noqa: F401 (autouse fixture)

MIGRATIONS = Path(__file__).parents[3] / "services" / "notifier" / "migrations"


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    await migrations.apply_async(database_url, "notifier", MIGRATIONS)
    pool = await create_pool(DatabaseSettings(url=database_url), "notifier")
    yield pool
    await pool.close()


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture
def database_schemas() -> tuple[str, ...]:
    """The notifier's schema, migrated, in each test's fresh database."""
    return ("notifier",)
