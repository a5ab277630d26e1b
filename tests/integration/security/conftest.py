"""Throwaway servers for the TLS and SCRAM tests, started once per session.

``infra/kafka-secure.sh`` makes a CA and a certificate, formats its storage with the SCRAM
users and starts a SASL_SSL-only broker; ``infra/postgres-tls.sh`` does the same for a
TLS-only PostgreSQL server. Both run on free ports in temporary folders and are stopped
when the session ends; the shared plaintext broker and cluster are never touched.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.runtime.settings import KafkaSettings

ROOT = Path(__file__).resolve().parents[3]
KAFKA_SCRIPT = ROOT / "infra" / "kafka-secure.sh"
POSTGRES_SCRIPT = ROOT / "infra" / "postgres-tls.sh"


@dataclass(frozen=True)
class SecureKafka:
    env: dict[str, str]  # the KAFKA_* settings a service needs, as `kafka-secure.sh env`
    home: Path

    @property
    def ca_file(self) -> Path:
        return Path(self.env["KAFKA_SSL_CAFILE"])

    def settings(self, **overrides: object) -> KafkaSettings:
        values: dict[str, object] = {
            "bootstrap_servers": self.env["KAFKA_BOOTSTRAP_SERVERS"],
            "security_protocol": self.env["KAFKA_SECURITY_PROTOCOL"],
            "sasl_mechanism": self.env["KAFKA_SASL_MECHANISM"],
            "sasl_username": self.env["KAFKA_SASL_USERNAME"],
            "sasl_password": self.env["KAFKA_SASL_PASSWORD"],
            "ssl_cafile": self.env["KAFKA_SSL_CAFILE"],
        }
        return KafkaSettings.model_validate({**values, **overrides})


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _run(script: Path, action: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["bash", str(script), action],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{script.name} {action} failed:\n{done.stderr}")
    return done.stdout


class _Server:
    """A throwaway server's script, started in the background and awaited when needed."""

    def __init__(self, script: Path, env: dict[str, str], stop: str) -> None:
        self.script, self.env, self._stop = script, env, stop
        self._starting = subprocess.Popen(
            ["bash", str(script), "start"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._error: str | None = None

    def ready(self) -> None:
        if self._starting.returncode is None:
            _, stderr = self._starting.communicate(timeout=600)
            if self._starting.returncode != 0:
                self._error = stderr
        if self._error is not None:
            raise RuntimeError(f"{self.script.name} start failed:\n{self._error}")

    def run(self, action: str) -> str:
        return _run(self.script, action, self.env)

    def stop(self) -> None:
        if self._starting.returncode is None:
            self._starting.communicate(timeout=600)
        self.run(self._stop)


@dataclass(frozen=True)
class _Servers:
    kafka: _Server
    kafka_home: Path
    postgres: _Server
    postgres_home: Path


@pytest.fixture(scope="session")
def _secure_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Servers]:
    """Both servers, started at once: each boots while the other's tests run."""
    kafka_port, controller_port, postgres_port = _free_ports(3)
    kafka_home = tmp_path_factory.mktemp("kafka-secure")
    # Not under pytest's root-only temporary folder: as root, PostgreSQL runs as the
    # `postgres` user, which must reach its files.
    postgres_home = Path(tempfile.mkdtemp(prefix="relance-postgres-tls-"))
    kafka = _Server(
        KAFKA_SCRIPT,
        {
            **os.environ,
            "RELANCE_KAFKA_SECURE_HOME": str(kafka_home),
            "RELANCE_KAFKA_SECURE_PORT": str(kafka_port),
            "RELANCE_KAFKA_SECURE_CONTROLLER_PORT": str(controller_port),
        },
        stop="stop",
    )
    try:
        postgres = _Server(
            POSTGRES_SCRIPT,
            {
                **os.environ,
                "RELANCE_PG_TLS_HOME": str(postgres_home),
                "RELANCE_PG_TLS_PORT": str(postgres_port),
            },
            stop="reset",
        )
        try:
            yield _Servers(kafka, kafka_home, postgres, postgres_home)
        finally:
            postgres.stop()
    finally:
        kafka.stop()


@pytest.fixture(scope="session")
def secure_kafka(_secure_servers: _Servers) -> SecureKafka:
    """A Kafka broker that only speaks SASL_SSL with SCRAM-SHA-512 (``kafka-secure.sh``)."""
    _secure_servers.kafka.ready()
    env = _secure_servers.kafka.run("env")
    settings = dict(line.split("=", 1) for line in env.splitlines() if line)
    return SecureKafka(settings, _secure_servers.kafka_home)


@dataclass(frozen=True)
class TlsPostgres:
    url: str  # sslmode=verify-full against the server's own CA
    ca_file: Path


@pytest.fixture(scope="session")
def tls_postgres(_secure_servers: _Servers) -> TlsPostgres:
    """A PostgreSQL server that only takes TLS on TCP (``infra/postgres-tls.sh``)."""
    _secure_servers.postgres.ready()
    url = _secure_servers.postgres.run("url").strip()
    return TlsPostgres(url, _secure_servers.postgres_home / "certs" / "ca.crt")
