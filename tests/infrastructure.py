"""Where the tests find Kafka and PostgreSQL, in this order:

1. ``KAFKA_BOOTSTRAP_SERVERS`` and ``DATABASE_URL`` from the environment;
2. testcontainers, when a Docker engine answers a ping (the ``docker`` client alone is
   not enough: many machines have the client and no engine);
3. the local servers of ``infra/kafka.sh`` and ``infra/postgres.sh``, started if needed.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Servers:
    kafka_bootstrap: str
    database_url: str
    origin: str


def docker_engine_answers() -> bool:
    """True when a Docker engine answers ``GET /_ping`` on its socket (or ``DOCKER_HOST``)."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        if host.startswith("unix://"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            address: str | tuple[str, int] = host.removeprefix("unix://")
        elif host.startswith("tcp://"):
            name, _, port = host.removeprefix("tcp://").partition(":")
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            address = (name, int(port or 2375))
        else:
            return False
        with sock:
            sock.settimeout(2)
            sock.connect(address)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            status_line = sock.recv(1024).split(b"\r\n", 1)[0]
            return status_line.startswith(b"HTTP/1.") and b" 200 " in status_line + b" "
    except OSError:
        return False


def _script(name: str, *args: str) -> str:
    result = subprocess.run(
        ["bash", str(ROOT / "infra" / name), *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return result.stdout.strip()


@contextmanager
def servers() -> Iterator[Servers]:
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    database = os.environ.get("DATABASE_URL")
    if kafka and database:
        yield Servers(kafka, database, "environment")
        return
    if docker_engine_answers():
        from testcontainers.kafka import KafkaContainer
        from testcontainers.postgres import PostgresContainer

        with ExitStack() as stack:
            if not kafka:
                container = stack.enter_context(KafkaContainer().with_kraft())
                kafka = container.get_bootstrap_server()
            if not database:
                pg = stack.enter_context(PostgresContainer("postgres:16", driver=None))
                database = pg.get_connection_url()
            yield Servers(kafka, database, "testcontainers")
        return
    if not kafka:
        _script("kafka.sh", "start")
        kafka = "127.0.0.1:" + os.environ.get("RELANCE_KAFKA_PORT", "9092")
    if not database:
        _script("postgres.sh", "start")
        database = _script("postgres.sh", "url")
    yield Servers(kafka, database, "local scripts")
