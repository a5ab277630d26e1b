"""What Relance's services cost while nothing happens: CPU seconds per minute idle.

Run with ``python -m bench.idle --seconds 30`` (Kafka at ``KAFKA_BOOTSTRAP_SERVERS``,
PostgreSQL at ``DATABASE_URL``, the same defaults as :mod:`bench.limits`).

It starts every service as the demo does (``relance run <service>``, one process each, the
demo's settings: a file clock, loops ticking every 0.1 s, the stand-in providers), in a
fresh database and with consumer groups of their own (``..._CONSUMER_GROUP``) whose
offsets are first committed at the end of each topic, so that the shared topics' history
is not replayed and nothing collides with another user of the broker. Once every service
is ready and a few seconds have passed (start-up's work done), it reads each process's
CPU time from ``/proc/<pid>/stat``, waits ``--seconds``, reads it again and prints each
process's CPU seconds per minute idle, with the load average before and after and the host's
pydantic figure (as ``bench.limits --only pydantic``), since other users share the host.
PostgreSQL's backends serving the services' database are counted too (the queries of idle
loops cost there as well); the Kafka broker is shared with other users and is not.

``--setting NAME=VALUE`` (repeatable) overrides a variable, to compare settings, e.g.
``--setting RELANCE_SCHEDULER_TICK_INTERVAL_S=1``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.console import host_now
from bench.limits import DEFAULT_BOOTSTRAP, DEFAULT_DATABASE_URL
from services.runtime import migrations
from services.runtime.topic_admin import create_topics
from simulation.cluster import (
    SERVICES,
    ServiceProcess,
    definition,
    fresh_database,
    service_environment,
)
from simulation.providers import (
    COMPANIES_FILE,
    LetterDrop,
    Providers,
    SmtpCollector,
    TwilioStandIn,
    free_port,
    no_clock,
)
from simulation.run import LINK_KEY, machine_keys

SETTLE_S = 5.0  # after ready: start-up's own work (migrations checked, first ticks) is done
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S


def backends(database: str) -> list[int]:
    """The PostgreSQL server processes serving ``database`` (their title names it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                if title.startswith("postgres:") and f" {database} " in title:
                    found.append(int(entry.name))
    return found


def cpu_of(pids: dict[str, int | list[int]]) -> dict[str, float]:
    seconds = {}
    for name, pid in pids.items():
        total = 0.0
        for one in pid if isinstance(pid, list) else [pid]:
            with contextlib.suppress(OSError):
                total += cpu_seconds(one)
        seconds[name] = total
    return seconds


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


async def commit_at_end(bootstrap: str, group: str, topics: Sequence[str]) -> None:
    """Commit ``group``'s offsets at the end of every partition of ``topics``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return
        ends = await consumer.end_offsets(partitions)
        consumer.assign(partitions)
        await consumer.commit({tp: offset for tp, offset in ends.items()})
    finally:
        await consumer.stop()


def demo_settings(providers: Providers, portal_port: int) -> dict[str, str]:
    """The variables the demo gives the services (simulation/run.py), idle-relevant ones."""
    return {
        **providers.notifier_environment(),
        "RELANCE_LINKS_KEYS": LINK_KEY,
        "RELANCE_LINKS_BASE_URL": f"http://127.0.0.1:{portal_port}",
        "RELANCE_PORTAL_COMPANIES_FILE": str(COMPANIES_FILE),
        "RELANCE_NOTIFIER_DISPATCH_INTERVAL_S": "0.1",
        "RELANCE_NOTIFIER_CHANNEL_RATES_PER_S": "{}",
        "RELANCE_SCHEDULER_TICK_INTERVAL_S": "0.1",
        "RELANCE_DISPUTES_TICK_INTERVAL_S": "0.1",
        "RELANCE_DISPUTES_API_PORT": str(free_port()),
        "RELANCE_AUTH_API_KEYS": machine_keys(),
        "RELANCE_REPORTING_REFRESH_INTERVAL_S": "60",
        "RELANCE_REPORTING_DSO_MONTHS": "6",
    }


async def measure(
    bootstrap: str, admin_url: str, seconds: float, overrides: dict[str, str]
) -> dict[str, float]:
    run_id = secrets.token_hex(4)
    work = Path(tempfile.mkdtemp(prefix=f"relance-idle-{run_id}-"))
    (work / "letters").mkdir()
    clock_file = work / "clock"
    clock_file.write_text(datetime(2026, 3, 2, 9, 0, tzinfo=UTC).isoformat())
    database = f"relance_idle_{run_id}"
    database_url = await fresh_database(admin_url, database)
    await create_topics({"bootstrap_servers": bootstrap})
    for service in SERVICES:
        found = definition(service)
        await asyncio.to_thread(migrations.apply, database_url, found.schema, found.migrations)
    smtp = SmtpCollector(clock=no_clock)
    smtp.start()
    sms = TwilioStandIn(clock=no_clock)
    await sms.start()
    providers = Providers(smtp, sms, LetterDrop(work / "letters"))
    portal_port = free_port()
    extra = demo_settings(providers, portal_port)
    processes: dict[str, ServiceProcess] = {}
    for service in SERVICES:
        group = f"relance-{service}-idle-{run_id}"
        await commit_at_end(bootstrap, group, [t.name for t in definition(service).consumes])
        extra[f"RELANCE_{service.upper()}_CONSUMER_GROUP"] = group
    extra.update(overrides)
    try:
        for service in SERVICES:
            port = portal_port if service == "portal" else free_port()
            environment = service_environment(
                service,
                base=os.environ,
                bootstrap=bootstrap,
                database_url=database_url,
                clock_file=clock_file,
                port=port,
                extra=extra,
            )
            processes[service] = ServiceProcess(
                service, service, environment, work / f"{service}.log", port
            )
        await asyncio.gather(*(p.start() for p in processes.values()))
        await asyncio.gather(*(p.ready() for p in processes.values()))
        await asyncio.sleep(SETTLE_S)
        pids: dict[str, int | list[int]] = {
            n: p.process.pid for n, p in processes.items() if p.process is not None
        }
        # the services' connections, kept open by their pools (one that opens meanwhile is
        # not counted: the figure is a floor)
        pids["postgresql"] = backends(database)
        before = cpu_of(pids)
        began = time.monotonic()
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - began
        after = cpu_of(pids)
        return {n: (after[n] - before[n]) * 60 / elapsed for n in pids}
    finally:
        await asyncio.gather(*(p.stop() for p in processes.values()))
        smtp.stop()
        await sms.stop()
        with contextlib.suppress(Exception):
            import asyncpg

            connection = await asyncpg.connect(admin_url)
            try:
                await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            finally:
                await connection.close()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.idle", description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0, help="idle time measured")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable given to every service (repeatable)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    overrides = dict(s.split("=", 1) for s in args.setting)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_BOOTSTRAP)
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    print(f"before: load average {load_average()}; {host_now()}", flush=True)
    figures = asyncio.run(measure(bootstrap, database_url, args.seconds, overrides))
    print(f" after: load average {load_average()}")
    print(f"CPU seconds per minute idle ({args.seconds:.0f} s measured):")
    services = {n: v for n, v in figures.items() if n in SERVICES}
    for name, value in services.items():
        print(f"  {name:<10} {value:6.2f}")
    print(f"  {'services':<10} {sum(services.values()):6.2f}")
    print(f"  {'postgresql':<10} {figures['postgresql']:6.2f}  (this database's backends)")


if __name__ == "__main__":
    main()
