"""The read-only database role BI tools use: the ``reporting`` schema and nothing else.

Created at start if missing (the service's own role has CREATEROLE), as NOLOGIN; with a
password in the settings it may log in with it. Without one an existing role's login is left
as it is, so that an unset setting neither opens a door nor closes one set by hand.
The kit's tables (inbox, outbox, consumed offsets, migration log) stay out of its reach:
the outbox holds dead-lettered records, whose raw bytes may contain personal data.
"""

from __future__ import annotations

import contextlib

import asyncpg

from services.reporting.errors import ReportingError
from services.runtime.database import Connection

PRIVATE_TABLES = ("inbox", "outbox", "consumed_offsets")


class BiRoleFailed(ReportingError):
    """The read-only BI role could not be created or granted."""


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def ensure_bi_role(
    connection: Connection, role: str, schema: str, password: str | None
) -> None:
    """Create or update ``role`` and grant it read access to ``schema`` only."""
    r, s = _ident(role), _ident(schema)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
        if not exists:
            # another replica may create it meanwhile
            with contextlib.suppress(asyncpg.DuplicateObjectError):
                await connection.execute(f"CREATE ROLE {r} NOLOGIN")
        if password is not None:
            # ALTER ROLE takes no bind parameters: quote the literal with the server's rules.
            literal = await connection.fetchval("SELECT quote_literal($1)", password)
            await connection.execute(f"ALTER ROLE {r} LOGIN PASSWORD {literal}")
        database = await connection.fetchval("SELECT current_database()")
        async with connection.transaction():
            await connection.execute(f"GRANT CONNECT ON DATABASE {_ident(database)} TO {r}")
            await connection.execute(f"GRANT USAGE ON SCHEMA {s} TO {r}")
            await connection.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {r}")
            await connection.execute(
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT ON TABLES TO {r}"
            )
            private = [
                row[0]
                for row in await connection.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = $1 "
                    "AND (tablename = ANY($2::text[]) OR tablename LIKE '\\_yoyo%' "
                    "OR tablename LIKE 'yoyo%')",
                    schema,
                    list(PRIVATE_TABLES),
                )
            ]
            for table in private:
                await connection.execute(f"REVOKE ALL ON {s}.{_ident(table)} FROM {r}")
    except asyncpg.PostgresError as exc:
        raise BiRoleFailed(f"could not set up role {role!r}: {exc}") from exc
