from __future__ import annotations

import urllib.parse
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from hypothesis import HealthCheck, settings

from tests.infrastructure import Servers, servers

# Property tests assert behaviour, never speed: Hypothesis's default 200 ms deadline per
# example and its too_slow health check turn a shared, loaded CI host into false failures.
# Speed is measured under bench/.
settings.register_profile("relance", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("relance")


@pytest.fixture(scope="session")
def infrastructure() -> Iterator[Servers]:
    with servers() as found:
        yield found


@pytest.fixture(scope="session")
def kafka_bootstrap(infrastructure: Servers) -> str:
    return infrastructure.kafka_bootstrap


def _with_database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


@pytest.fixture
async def database_url(infrastructure: Servers) -> AsyncIterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(infrastructure.database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield _with_database(infrastructure.database_url, name)
    admin = await asyncpg.connect(infrastructure.database_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
