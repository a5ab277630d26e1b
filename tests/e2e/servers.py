"""A Kafka broker and a PostgreSQL cluster owned by the system test, so it may restart them.

The services use fixed topic names and consumer groups, so a system run needs a broker of
its own: :class:`OwnKafka` runs ``infra/kafka.sh`` with its own home, data and ports.
:class:`OwnPostgres` runs ``infra/postgres.sh`` with its own cluster name and port, for the
run that restarts PostgreSQL; it is dropped at the end.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run(script: str, action: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["bash", str(ROOT / "infra" / script), action],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"infra/{script} {action} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout.strip()


@dataclass
class OwnKafka:
    home: Path
    port: int
    controller_port: int

    @classmethod
    def create(cls, home: Path) -> OwnKafka:
        home.mkdir(parents=True, exist_ok=True)
        shared = ROOT / ".cache" / "kafka"
        for libs in shared.glob("libs-*"):  # reuse the jars `make setup` resolved
            link = home / libs.name
            if not link.exists():
                link.symlink_to(libs, target_is_directory=True)
        return cls(home, free_port(), free_port())

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": "",
            "RELANCE_KAFKA_HOME": str(self.home),
            "RELANCE_KAFKA_PORT": str(self.port),
            "RELANCE_KAFKA_CONTROLLER_PORT": str(self.controller_port),
            "RELANCE_KAFKA_HEAP": "512m",
        }

    def start(self) -> None:
        _run("kafka.sh", "start", self.env())

    def stop(self) -> None:
        _run("kafka.sh", "stop", self.env())

    def destroy(self) -> None:
        _run("kafka.sh", "reset", self.env())
        shutil.rmtree(self.home, ignore_errors=True)


@dataclass
class OwnPostgres:
    cluster: str
    port: int

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": "",
            "RELANCE_PG_CLUSTER": self.cluster,
            "RELANCE_PG_PORT": str(self.port),
        }

    @property
    def url(self) -> str:
        return f"postgresql://relance:relance@127.0.0.1:{self.port}/relance"

    def start(self) -> None:
        _run("postgres.sh", "start", self.env())

    def stop(self) -> None:
        _run("postgres.sh", "stop", self.env())

    def destroy(self) -> None:
        versions = sorted(Path("/usr/lib/postgresql").glob("*"))
        if not versions:
            return
        command = ["pg_dropcluster", "--stop", versions[-1].name, self.cluster]
        # pg_dropcluster leaves the configuration directory behind when it holds a file it
        # did not write (infra/postgres.sh's conf.d/relance.conf): removed with it
        leftover = ["rm", "-rf", f"/etc/postgresql/{versions[-1].name}/{self.cluster}"]
        if os.geteuid() != 0:
            command.insert(0, "sudo")
            leftover.insert(0, "sudo")
        subprocess.run(command, capture_output=True, timeout=120)
        subprocess.run(leftover, capture_output=True, timeout=60)
