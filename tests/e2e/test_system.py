"""The system test: all services as processes on a real Kafka and PostgreSQL, on simulated
time, checked against an independent oracle computed from the generated history; then the
same run again while services are SIGKILLed and restarted, Kafka and PostgreSQL restart and
the scheduler is away for a whole day (its catch-up), whose outcome must be the same but
for what the oracle itself expects the outage to change.

Both runs suspend the sending of one company for a few days mid-run and resume it
(``relance scheduler suspend --company`` / ``resume``); the checks include "nothing reached
its customers while suspended". ``RELANCE_E2E_SUSPENSION=0`` leaves the suspension out
(the plan and its check), for a version of the services without company suspensions.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from contracts.topics import DISPUTE_COMMANDS
from simulation.checks import Outcome, comparable, outcome_of, silence_of, verdict
from simulation.cluster import SERVICES, definition
from simulation.generator import History, Size, generate
from simulation.oracle import affected_invoices, busiest_company, expected_actions
from simulation.run import Options, Run, SuspensionPlan, simulate
from simulation.summary import suspensions_and_drops
from tests.e2e.servers import OwnKafka, OwnPostgres, free_port
from tests.infrastructure import Servers

pytestmark = pytest.mark.e2e

LIBRARY = Path(__file__).parent / "scenarios"
SEED = 7
SIZE = Size.small()
OUTCOMES: dict[str, Outcome] = {}
# suspended on the morning of day 14 (Monday 2026-01-19), resumed a week later (day 21)
SUSPENDED_DAYS = range(14, 21)


def suspension_on() -> bool:
    """The switch for the suspension scenario and its check (on unless set to 0)."""
    return os.environ.get("RELANCE_E2E_SUSPENSION", "1") != "0"


def suspension_plan(history: History) -> SuspensionPlan | None:
    """Suspend the company the oracle reminds most during those days."""
    if not suspension_on():
        return None
    expected = expected_actions(history, LIBRARY, disputes_pause=disputes_pause())
    company = busiest_company(history, expected, SUSPENDED_DAYS)
    return SuspensionPlan(company, SUSPENDED_DAYS.start, SUSPENDED_DAYS.stop)


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
        suspension=suspension_plan(generate(SIZE, SEED)),
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
            # the demo summary's lines on suspensions, drops and unmatched cash, read once
            # from a real run
            report("summary:", await suspensions_and_drops(run))
        finally:
            await run.stop()
    finally:
        await drop_database(chosen.admin_database_url, chosen.database_name)
    return run, found


def report(title: str, lines: list[str], failures: Sequence[str] = ()) -> None:
    print(f"\n{title}")
    for line in lines:
        print("  " + line)
    for failure in failures:  # in full: pytest shortens the assertion's message
        print("  failed: " + failure[:3000])


async def test_a_run_matches_the_oracle(
    own_kafka: OwnKafka, infrastructure: Servers, tmp_path: Path
) -> None:
    began = time.monotonic()
    chosen = options(tmp_path, own_kafka.bootstrap, infrastructure.database_url)
    run, found = await run_and_read(chosen)
    result = verdict(
        run, found, LIBRARY, disputes_pause=disputes_pause(), suspension=suspension_on()
    )
    report("events:", run.events_log)
    report(
        f"system run checked against the oracle ({time.monotonic() - began:.0f} s):",
        result.lines,
        result.failures,
    )
    assert found.actions, "the run sent no reminder at all"
    assert run.history.bad
    assert found.dead_letters
    OUTCOMES["undisturbed"] = found  # the run with faults compares with it even so
    assert not result.failures, result.failures


class Faults:
    """SIGKILL each service once at a random moment, restart Kafka once and PostgreSQL once,
    and stop the scheduler for a whole day (an outage).

    The scheduler and the notifier are killed in the evening of a day with reminders to
    send, while they decide and send; the others in the morning or the evening. The outage:
    the scheduler stops (SIGTERM) on the morning of a busy day, before the day's records,
    and starts again on the next morning at 06:00 UTC, outside every sending window (07:00
    in Paris, 00:00 in Chicago): what fell due meanwhile must wait for the window (the
    catch-up sends only the latest step due of each invoice, on its day).
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
        taken = {self.kafka_day, self.postgres_day} | {d for d, _ in self.kills.values()}
        calm = [d for d in busy if not {d - 1, d, d + 1} & taken] or busy
        self.outage_day = self.rng.choice(calm)
        self.injected: list[str] = []
        self.tasks: list[asyncio.Task[None]] = []

    async def __call__(self, run: Run, day: int, phase: str) -> None:
        if phase == "morning" and day == self.outage_day:
            await self.away(run, "scheduler")
            self.injected.append(f"day {day}: scheduler stopped for the day (outage)")
        if phase == "morning" and day == self.outage_day + 1:
            await self.back(run, "scheduler")
            self.injected.append(f"day {day}: scheduler started again at 06:00 UTC")
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

    async def away(self, run: Run, service: str) -> None:
        assert run.quiescence is not None
        run.restarting.add(service)
        run.quiescence.absent.add(service)
        await run.processes[service].stop()

    async def back(self, run: Run, service: str) -> None:
        assert run.quiescence is not None
        try:
            await run.processes[service].restart()
        finally:
            run.quiescence.absent.discard(service)
            run.restarting.discard(service)

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
    outage = silence_of(run, frozenset({faults.outage_day}))
    result = verdict(
        run,
        found,
        LIBRARY,
        disputes_pause=disputes_pause(),
        silence=outage,
        suspension=suspension_on(),
    )
    changed = affected_invoices(
        expected_actions(history, LIBRARY, disputes_pause=disputes_pause(), silence=outage),
        expected_actions(
            history, LIBRARY, disputes_pause=disputes_pause(), silence=silence_of(run)
        ),
    )
    report("faults injected:", faults.injected + run.events_log)
    report(
        f"run with faults checked against the oracle ({time.monotonic() - began:.0f} s):",
        result.lines,
        result.failures,
    )
    kills = {n: p.kills for n, p in run.processes.items()}
    assert all(kills[s] == 1 for s in SERVICES), kills
    undisturbed = OUTCOMES.get("undisturbed")
    assert changed, "the outage changed nothing the oracle expects: no catch-up tested"
    if undisturbed is not None:
        same = comparable(undisturbed, changed) == comparable(found, changed)
        print(
            f"  {'ok  ' if same else 'FAIL'}  outcome identical to the undisturbed run "
            "(reminders per invoice and day, deliveries, ledger, reporting, dead letters), "
            f"but for the {len(changed)} invoices whose reminders the outage moves"
        )
    assert not result.failures, result.failures
    if undisturbed is not None:
        assert same
