from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import os
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from hypothesis import HealthCheck, settings

from services.runtime import migrations
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
def database_schemas() -> tuple[str, ...]:
    """The services whose schemas a test's fresh database starts with, migrated: none here.

    A directory whose tests all migrate the same schemas says so in its conftest; its fresh
    databases are then copies of a template migrated once per session (``CREATE DATABASE ...
    TEMPLATE``: a tenth of what running the migrations again for each test costs). Applying
    the same migrations again in the test finds nothing pending."""
    return ()


class Databases:
    """The session's templates, and the test databases dropped in the background.

    ``DROP DATABASE`` makes the server take an immediate checkpoint and waits for it: what
    every other database wrote since the last one is flushed then. A test does not wait for
    it: the drop runs on a thread of its own, and the session waits for the last one at its
    end."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.templates: dict[tuple[str, ...], str] = {}
        self.dropping = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        self.drops: list[concurrent.futures.Future[None]] = []

    async def template(self, schemas: tuple[str, ...]) -> str:
        if schemas not in self.templates:
            name = f"template_{'_'.join(schemas)}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            await self.execute(f'CREATE DATABASE "{name}"')
            for service in schemas:
                definition = importlib.import_module(f"services.{service}.app").DEFINITION
                await migrations.apply_async(
                    _with_database(self.url, name), definition.schema, definition.migrations
                )
            self.templates[schemas] = name
        return self.templates[schemas]

    async def execute(self, statement: str) -> None:
        admin = await asyncpg.connect(self.url)
        try:
            await admin.execute(statement)
        finally:
            await admin.close()

    def drop(self, name: str) -> None:
        statement = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        self.drops.append(self.dropping.submit(asyncio.run, self.execute(statement)))

    def close(self) -> None:
        for name in self.templates.values():
            self.drop(name)
        self.dropping.shutdown(wait=True)
        for drop in self.drops:
            drop.result()  # a drop that failed fails the session's end, with its reason


@pytest.fixture(scope="session")
def _databases(infrastructure: Servers) -> Iterator[Databases]:
    databases = Databases(infrastructure.database_url)
    yield databases
    databases.close()


@pytest.fixture
async def database_url(
    _databases: Databases, database_schemas: tuple[str, ...]
) -> AsyncIterator[str]:
    """A fresh database for one test, dropped afterwards: empty, or with the schemas of
    ``database_schemas`` migrated."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    if database_schemas:
        template = await _databases.template(database_schemas)
        await _databases.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    else:
        await _databases.execute(f'CREATE DATABASE "{name}"')
    yield _with_database(_databases.url, name)
    _databases.drop(name)
