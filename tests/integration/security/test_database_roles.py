"""One PostgreSQL role per service, as k8s/base/postgres/cluster.yaml sets them up.

The Cluster's bootstrap SQL runs on a real server (the TLS one), the roles get a login and
password as CloudNativePG gives them from their Secrets, and then each service's real
migrations run as its own role: each can build its schema, and none can read or change
another's. The BI role reads the reporting tables and nothing else.
"""

from __future__ import annotations

import importlib
import urllib.parse
import uuid
from pathlib import Path

import asyncpg
import pytest
import yaml

from relance.cli import SERVICES
from services.reporting.bi_role import ensure_bi_role
from services.runtime import migrations
from services.runtime.service import ServiceDefinition
from tests.integration.security.conftest import TlsPostgres

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
CLUSTER = ROOT / "k8s" / "base" / "postgres" / "cluster.yaml"


def bootstrap_sql(database: str) -> list[str]:
    (cluster,) = [
        d for d in yaml.safe_load_all(CLUSTER.read_text()) if d and d["kind"] == "Cluster"
    ]
    statements: list[str] = cluster["spec"]["bootstrap"]["initdb"]["postInitApplicationSQL"]
    return [s.replace("DATABASE relance ", f'DATABASE "{database}" ') for s in statements]


def as_role(url: str, role: str, password: str, database: str) -> str:
    parts = urllib.parse.urlsplit(url)
    netloc = f"{role}:{password}@{parts.hostname}:{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc, path="/" + database))


def definition(service: str) -> ServiceDefinition:
    found: ServiceDefinition = importlib.import_module(f"services.{service}.app").DEFINITION
    return found


async def test_each_service_migrates_its_own_schema_and_only_reaches_it(
    tls_postgres: TlsPostgres,
) -> None:
    database = f"roles_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(tls_postgres.url)
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()
    admin = await asyncpg.connect(as_role(tls_postgres.url, "relance", "relance-tls", database))
    passwords = {f"relance_{s}": uuid.uuid4().hex for s in SERVICES} | {"relance_bi": "bi"}
    try:
        for statement in bootstrap_sql(database):
            await admin.execute(statement)
        for role, password in passwords.items():  # what CloudNativePG's managed roles do
            await admin.execute(f"ALTER ROLE {role} LOGIN PASSWORD '{password}'")
    finally:
        await admin.close()

    urls = {s: as_role(tls_postgres.url, f"relance_{s}", passwords[f"relance_{s}"], database)
            for s in SERVICES}  # fmt: skip
    for service in SERVICES:
        found = definition(service)
        applied = await migrations.apply_async(urls[service], found.schema, found.migrations)
        assert "kit_0001_inbox_outbox" in applied, service

    schemas = {service: definition(service).schema for service in SERVICES}
    for service in SERVICES:
        connection = await asyncpg.connect(urls[service])
        try:
            for other, schema in schemas.items():
                if other == service:
                    assert await connection.fetchval(f"SELECT count(*) FROM {schema}.outbox") == 0
                    continue
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await connection.fetchval(f"SELECT count(*) FROM {schema}.outbox")
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await connection.execute(f"CREATE TABLE {schema}.intruder (x int)")
        finally:
            await connection.close()

    reporting = await asyncpg.connect(urls["reporting"])
    try:  # what the reporting service does at every start, as its own role
        await ensure_bi_role(reporting, "relance_bi", schemas["reporting"], None)
        await reporting.execute("CREATE TABLE reporting.later (x int)")
    finally:
        await reporting.close()
    bi = await asyncpg.connect(as_role(tls_postgres.url, "relance_bi", "bi", database))
    try:
        assert await bi.fetchval("SELECT count(*) FROM reporting.later") == 0
        for forbidden in ("reporting.outbox", "reporting.inbox", "ledger.outbox"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await bi.fetchval(f"SELECT count(*) FROM {forbidden}")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await bi.execute("INSERT INTO reporting.later VALUES (1)")
    finally:
        await bi.close()
