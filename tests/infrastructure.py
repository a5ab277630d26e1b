"""Where the tests find Kafka and PostgreSQL, in this order:

1. ``KAFKA_BOOTSTRAP_SERVERS`` and ``DATABASE_URL`` from the environment;
2. testcontainers, when a Docker engine answers a ping (the ``docker`` client alone is
   not enough: many machines have the client and no engine);
3. the local servers of ``infra/kafka.sh`` and ``infra/postgres.sh``, started if needed.

Through testcontainers, ``RELANCE_TEST_KAFKA_IMAGE`` and ``RELANCE_TEST_POSTGRES_IMAGE`` name
locally built images (``scripts/image test-images``: Debian packages and the Maven Central
jars, for machines that cannot reach Docker Hub), started as generic containers with their
own wait strategies; without them, testcontainers' Kafka and PostgreSQL modules start their
Docker Hub images.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
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
        with ExitStack() as stack:
            if not kafka:
                kafka = _kafka_container(stack)
            if not database:
                database = _postgres_container(stack)
            yield Servers(kafka, database, "testcontainers")
        return
    if not kafka:
        _script("kafka.sh", "start")
        kafka = "127.0.0.1:" + os.environ.get("RELANCE_KAFKA_PORT", "9092")
    if not database:
        _script("postgres.sh", "start")
        database = _script("postgres.sh", "url")
    yield Servers(kafka, database, "local scripts")


STARTUP_TIMEOUT = 180  # seconds; a JVM and initdb on a loaded two-core machine


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _kafka_container(stack: ExitStack) -> str:
    image = os.environ.get("RELANCE_TEST_KAFKA_IMAGE")
    if not image:
        from testcontainers.community.kafka import KafkaContainer

        module = stack.enter_context(KafkaContainer().with_kraft())
        bootstrap: str = module.get_bootstrap_server()
        return bootstrap
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy

    # The broker advertises the address clients use, so the port is published unchanged
    # (infra/images/kafka-entrypoint listens on KAFKA_PORT and advertises KAFKA_ADVERTISED).
    port = _free_port()
    container = DockerContainer(image)
    bootstrap = f"{container.get_container_host_ip()}:{port}"
    container.with_bind_ports(port, port).with_envs(
        KAFKA_PORT=str(port), KAFKA_ADVERTISED=bootstrap
    ).waiting_for(
        LogMessageWaitStrategy("Kafka Server started").with_startup_timeout(STARTUP_TIMEOUT)
    )
    stack.enter_context(container)
    _wait_for_metadata(bootstrap)
    return bootstrap


def _wait_for_metadata(bootstrap: str) -> None:
    """Started is not serving: wait until the broker answers a metadata request."""
    deadline = time.monotonic() + 60
    while (
        subprocess.run(
            [sys.executable, str(ROOT / "infra" / "kafka_ready.py"), bootstrap],
            capture_output=True,
            timeout=30,
        ).returncode
        != 0
    ):
        if time.monotonic() > deadline:
            raise TimeoutError(f"Kafka in a container on {bootstrap} serves no metadata")
        time.sleep(1)


def _postgres_container(stack: ExitStack) -> str:
    image = os.environ.get("RELANCE_TEST_POSTGRES_IMAGE")
    if not image:
        from testcontainers.community.postgres import PostgresContainer

        module = stack.enter_context(PostgresContainer("postgres:16", driver=None))
        url: str = module.get_connection_url()
        return url
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy

    user = password = name = "relance"
    container = (
        DockerContainer(image)
        .with_exposed_ports(5432)
        .with_envs(POSTGRES_USER=user, POSTGRES_PASSWORD=password, POSTGRES_DB=name)
        .waiting_for(
            LogMessageWaitStrategy(
                "database system is ready to accept connections"
            ).with_startup_timeout(STARTUP_TIMEOUT)
        )
    )
    stack.enter_context(container)
    host = container.get_container_host_ip()
    return f"postgresql://{user}:{password}@{host}:{container.get_exposed_port(5432)}/{name}"
