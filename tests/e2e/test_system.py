"""The system test: all services as processes on a real Kafka and PostgreSQL, on simulated
time, checked against an independent oracle computed from the generated history; then the
same run again while services are SIGKILLed and restarted and Kafka and PostgreSQL restart,
whose outcome must be the same.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from contracts.topics import DISPUTE_COMMANDS
from simulation.checks import Outcome, comparable, outcome_of, verdict
from simulation.cluster import SERVICES, definition
from simulation.generator import Size, generate
from simulation.oracle import expected_actions
from simulation.run import Options, Run, simulate
from tests.e2e.servers import OwnKafka, OwnPostgres, free_port
from tests.infrastructure import Servers

pytestmark = pytest.mark.e2e

LIBRARY = Path(__file__).parent / "scenarios"
SEED = 7
SIZE = Size.small()
OUTCOMES: dict[str, Outcome] = {}


def disputes_pause() -> bool:
    """Whether this version's disputes service turns CRM commands into pauses."""
    return DISPUTE_COMMANDS in definition("disputes").consumes


@pytest.fixture(scope="module")
def own_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnKafka]:
    kafka = OwnKafka.create(tmp_path_factory.mktemp("kafka"))
    kafka.start()
    yield kafka
    kafka.destroy()


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[OwnPostgres]:
    postgres = OwnPostgres(f"relance_e2e_{uuid.uuid4().hex[:6]}", free_port())
    postgres.start()
    yield postgres
    postgres.destroy()


async def drop_database(admin_url: str, name: str) -> None:
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def options(workdir: Path, bootstrap: str, admin_url: str, **changes: Any) -> Options:
    return Options(
        size=SIZE,
        seed=SEED,
        workdir=workdir,
        bootstrap=bootstrap,
        admin_database_url=admin_url,
        database_name=f"e2e_{uuid.uuid4().hex[:10]}",
        scenarios_path=LIBRARY,
        answer_calls=False,
        progress_every=5,
        quiet_timeout_s=240,
        **changes,
    )


async def run_and_read(chosen: Options) -> tuple[Run, Outcome]:
    try:
        run = await simulate(chosen)  # stops what it started if it fails
        try:
            await run.run()
            found = await outcome_of(run)
        finally:
            await run.stop()
    finally:
        await drop_database(chosen.admin_database_url, chosen.database_name)
    return run, found


def report(title: str, lines: list[str]) -> None:
    print(f"\n{title}")
    for line in lines:
        print("  " + line)


async def test_a_run_matches_the_oracle(
    own_kafka: OwnKafka, infrastructure: Servers, tmp_path: Path
) -> None:
    began = time.monotonic()
    chosen = options(tmp_path, own_kafka.bootstrap, infrastructure.database_url)
    run, found = await run_and_read(chosen)
    result = verdict(run, found, LIBRARY, disputes_pause=disputes_pause())
    report(
        f"system run checked against the oracle ({time.monotonic() - began:.0f} s):", result.lines
    )
    assert found.actions, "the run sent no reminder at all"
    assert run.history.bad
    assert found.dead_letters
    assert not result.failures, result.failures
    OUTCOMES["undisturbed"] = found


class Faults:
    """SIGKILL each service once at a random moment, restart Kafka once and PostgreSQL once.

    The scheduler and the notifier are killed in the evening of a day with reminders to
    send, while they decide and send; the others in the morning or the evening.
    """

    def __init__(
        self, kafka: OwnKafka, postgres: OwnPostgres, days: int, busy: list[int], seed: int
    ) -> None:
        self.kafka = kafka
        self.postgres = postgres
        self.rng = random.Random(seed)
        span = range(2, days - 2)
        self.kills = {
            service: (
                (self.rng.choice(busy), "evening")
                if service in ("scheduler", "notifier")
                else (self.rng.choice(span), self.rng.choice(("morning", "evening")))
            )
            for service in SERVICES
        }
        self.kafka_day = self.rng.choice(span)
        self.postgres_day = self.rng.choice([d for d in span if d != self.kafka_day])
        self.injected: list[str] = []
        self.tasks: list[asyncio.Task[None]] = []

    async def __call__(self, run: Run, day: int, phase: str) -> None:
        if phase == "morning" and day == self.kafka_day:
            await asyncio.to_thread(self.kafka.stop)
            await asyncio.to_thread(self.kafka.start)
            await run.restart_clients()
            self.injected.append(f"day {day}: Kafka broker stopped and started")
        if phase == "morning" and day == self.postgres_day:
            await asyncio.to_thread(self.postgres.stop)
            await asyncio.sleep(1)
            await asyncio.to_thread(self.postgres.start)
            await run.restart_clients()
            self.injected.append(f"day {day}: PostgreSQL stopped and started")
        for service, (kill_day, kill_phase) in self.kills.items():
            if (kill_day, kill_phase) == (day, phase):
                delay = self.rng.uniform(0.0, 0.6)
                self.tasks.append(asyncio.create_task(self.kill(run, service, delay)))
                self.injected.append(
                    f"day {day} {phase}: SIGKILL {service} {delay:.2f} s into the phase"
                )

    async def kill(self, run: Run, service: str, delay: float) -> None:
        run.restarting.add(service)
        try:
            await asyncio.sleep(delay)
            process = run.processes[service]
            await process.kill()
            await process.restart()
        finally:
            run.restarting.discard(service)


async def test_faults_change_nothing(
    own_kafka: OwnKafka, own_postgres: OwnPostgres, tmp_path: Path
) -> None:
    began = time.monotonic()
    history = generate(SIZE, SEED)
    expected = expected_actions(history, LIBRARY, disputes_pause=disputes_pause())
    per_day = Counter((a.day - history.size.start).days for a in expected if a.level != "exit")
    busy = sorted(d for d, n in per_day.items() if n >= 5 and 2 <= d < SIZE.days - 2)
    faults = Faults(own_kafka, own_postgres, SIZE.days, busy, seed=SEED)
    chosen = options(tmp_path, own_kafka.bootstrap, own_postgres.url, hook=faults)
    run, found = await run_and_read(chosen)
    await asyncio.gather(*faults.tasks)
    result = verdict(run, found, LIBRARY, disputes_pause=disputes_pause())
    report("faults injected:", faults.injected + run.events_log)
    report(
        f"run with faults checked against the oracle ({time.monotonic() - began:.0f} s):",
        result.lines,
    )
    kills = {n: p.kills for n, p in run.processes.items()}
    assert all(kills[s] == 1 for s in SERVICES), kills
    assert not result.failures, result.failures
    undisturbed = OUTCOMES.get("undisturbed")
    if undisturbed is not None:
        same = comparable(undisturbed) == comparable(found)
        print(
            f"  {'ok  ' if same else 'FAIL'}  outcome identical to the undisturbed run "
            "(reminders per invoice and day, deliveries, ledger, reporting, dead letters)"
        )
        assert same
