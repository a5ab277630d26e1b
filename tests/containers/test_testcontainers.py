"""The servers started through testcontainers (tests/infrastructure.py) serve Relance.

Run where a Docker-compatible engine answers and neither ``KAFKA_BOOTSTRAP_SERVERS`` nor
``DATABASE_URL`` is set, e.g. podman's (``scripts/image engine``) with the images of
``scripts/image test-images`` (``scripts/image containers`` does all of it). Elsewhere the
tests are skipped, unless ``RELANCE_REQUIRE_CONTAINERS=1`` (CI), which makes that a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from contracts import topics
from tests.infrastructure import Servers
from tests.kafka_tools import consume, create_topics, produce, unique

pytestmark = pytest.mark.containers


@pytest.fixture(scope="module")
def containers(infrastructure: Servers) -> Servers:
    if infrastructure.origin != "testcontainers":
        reason = f"Kafka and PostgreSQL come from {infrastructure.origin}, not testcontainers"
        if os.environ.get("RELANCE_REQUIRE_CONTAINERS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return infrastructure


def relance(servers: Servers, database_url: str, *args: str) -> str:
    environment = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": servers.kafka_bootstrap,
        "DATABASE_URL": database_url,
    }
    result = subprocess.run(
        [sys.executable, "-m", "relance", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_records_keep_their_order_per_key(containers: Servers) -> None:
    topic = unique("order")
    await create_topics(containers.kafka_bootstrap, [topic])
    sent = [(b"customer-1", b"%d" % n) for n in range(20)]
    await produce(containers.kafka_bootstrap, topic, sent)

    received = await consume(containers.kafka_bootstrap, topic, expected=len(sent))

    assert [(r.key, r.value) for r in received] == sent


async def test_topics_are_created_by_the_command(containers: Servers, database_url: str) -> None:
    output = relance(containers, database_url, "topics", "create")

    admin = AIOKafkaAdminClient(bootstrap_servers=containers.kafka_bootstrap)
    await admin.start()
    try:
        present = set(await admin.list_topics())
    finally:
        await admin.close()
    assert "topic" in output
    expected = {spec.name for spec in topics.ALL_TOPICS}
    assert expected <= present, sorted(expected - present)


async def test_migrations_apply_to_the_database(containers: Servers, database_url: str) -> None:
    output = relance(containers, database_url, "migrate", "ingestion")

    # "ingestion: schema <name>: applied <n> migration(s)"
    schema = output.split("schema ", 1)[1].split(":", 1)[0]
    connection = await asyncpg.connect(database_url)
    try:
        tables = await connection.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1", schema
        )
    finally:
        await connection.close()
    assert tables > 0, output
