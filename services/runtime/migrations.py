"""Schema migrations: ordered SQL files per service, applied by yoyo.

Each service owns one PostgreSQL schema. Its migrations are the runtime kit's files
(``services/runtime/migrations``: inbox and outbox) followed by the service's own
(``services/<name>/migrations``), plain SQL applied in file-name order inside
transactions. yoyo records what it applied in the service's schema and takes a lock, so
several replicas starting at once apply each migration once.

yoyo was chosen over Alembic because the migrations are plain SQL with no ORM models to
autogenerate from; it needs a synchronous driver (psycopg 3), so migrations run in a
thread at start.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from pathlib import Path

import psycopg
from yoyo import get_backend, read_migrations

from services.runtime import sql
from services.runtime.errors import MigrationError

KIT_MIGRATIONS = Path(__file__).parent / "migrations"


def _yoyo_url(database_url: str, schema: str) -> str:
    parts = urllib.parse.urlsplit(database_url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    query["schema"] = schema
    return urllib.parse.urlunsplit(
        ("postgresql+psycopg", parts.netloc, parts.path, urllib.parse.urlencode(query), "")
    )


def apply(database_url: str, schema: str, service_migrations: Path | None) -> list[str]:
    """Create ``schema`` if needed and apply pending migrations; return their ids."""
    try:
        with psycopg.connect(database_url, autocommit=True) as connection:
            # CREATE SCHEMA IF NOT EXISTS checks the CREATE privilege on the database even when
            # the schema exists; a service's own role owns its schema and needs no more.
            exists = connection.execute(sql.SCHEMA_EXISTS, (schema,)).fetchone()
            if exists is None:
                connection.execute(sql.CREATE_SCHEMA.format(schema=schema).encode())
        sources = [str(KIT_MIGRATIONS)]
        if service_migrations is not None:
            sources.append(str(service_migrations))
        backend = get_backend(_yoyo_url(database_url, schema))
        try:
            migrations = read_migrations(*sources)
            with backend.lock():
                pending = backend.to_apply(migrations)
                backend.apply_migrations(pending)
        finally:
            backend.connection.close()  # yoyo leaves its connection open
        return [m.id for m in pending]
    except psycopg.Error as exc:
        raise MigrationError(f"migrating schema {schema!r} failed: {exc}") from exc


async def apply_async(database_url: str, schema: str, service_migrations: Path | None) -> list[str]:
    return await asyncio.to_thread(apply, database_url, schema, service_migrations)
