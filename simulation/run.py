"""The run controller: services as processes, a simulated clock, the history day by day.

For each simulated day ``d``:

1. morning (06:00 UTC, before any sending window opens in Europe or America): start or lift
   the planned suspension of sending, publish the ERP records and the CRM's dispute
   commands of the day, wait for quiescence;
2. sending: the clock moves to each of the day's sending instants in turn (``timeline.py``:
   the fewest UTC instants such that every customer's 09:00-18:00 local window holds one;
   the first is the phase called "evening"), the scheduler's timers fire and the notifier
   sends; wait for quiescence at each;
3. answer the call tasks the notifier opened (demo only), wait for quiescence.

Each move of the clock goes through a barrier (``clock_barrier.py``): nothing is published
until every service process is bound to see the new instant.

Faults (the system test) are injected at chosen days and phases through :class:`Faults`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import random
import secrets
import shutil
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
from aiokafka import AIOKafkaProducer

from simulation.clock_barrier import move_clock
from simulation.cluster import (
    SERVICES,
    Quiescence,
    ServiceProcess,
    fresh_database,
    fresh_topics,
    service_environment,
)
from simulation.generator import History, Record, Size, generate
from simulation.providers import (
    COMPANIES_FILE,
    LetterDrop,
    Providers,
    SmtpCollector,
    TwilioStandIn,
    free_port,
)
from simulation.semi_automatic import (
    EDITABLE_CHANNEL,
    EDITABLE_LEVELS,
    PROPOSED,
    REVIEW_DAYS,
    Collector,
    Pending,
    plan_decisions,
    request,
)
from simulation.timeline import sending_instants
from simulation.timing import (
    Timings,
    kafka_broker_pid,
    load_average,
    own_cpu_s,
    share,
    with_children,
)

# The simulated collector's key for the notifier's call tasks (one per run, never reused).
COLLECTOR_KEY = secrets.token_urlsafe(32)
# The console's key for the notifier's previews of proposals (one per run, never printed).
CONSOLE_KEY = secrets.token_urlsafe(32)
# The console's key for the scheduler's operators' routes (a campaign's dry run, the library's
# versions), a credit manager's there (one per run, never printed).
CONSOLE_OPERATIONS_KEY = secrets.token_urlsafe(32)
# The key that signs the customers' links, shared by the notifier and the portal (one per run).
LINK_KEY = secrets.token_urlsafe(32)


def machine_keys() -> str:
    """The machine keys the services accept (``RELANCE_AUTH_API_KEYS``): the simulated
    collector's, which closes call tasks, and the console's two (``--keep``): one reads the
    proposals' previews at the notifier, the other a campaign's dry run and the library's
    versions at the scheduler."""
    return (
        f"collector:simulated-collector:{COLLECTOR_KEY},collector:console:{CONSOLE_KEY},"
        f"credit_manager:console-operations:{CONSOLE_OPERATIONS_KEY}"
    )


MORNING = clock_time(6, 0)

Hook = Callable[["Run", int, str], Awaitable[None]]


@dataclass(frozen=True)
class SuspensionPlan:
    """Suspend sending for one company's customers from the morning of ``first_day`` until
    the morning of ``resume_day`` (``relance scheduler suspend --company`` / ``resume``)."""

    company_code: str
    first_day: int
    resume_day: int
    reason: str = "ERP migration (simulated)"
    by: str = "ops.simulated@example.com"

    def __post_init__(self) -> None:
        if self.resume_day <= self.first_day:
            raise ValueError("a suspension is resumed after the day it starts")


@dataclass
class SuspensionRecord:
    """What the controller did: the simulated instants, and whether each command worked."""

    plan: SuspensionPlan
    suspended_at: datetime | None = None
    resumed_at: datetime | None = None
    problems: list[str] = field(default_factory=list)
    # the company's invoices whose scheduler timer fell due while suspended (read each
    # morning of the suspension), those of them settled or cancelled by the resumption
    # (never reminded: the first tick after it finds them closed), and the company's
    # deliveries the notifier held at the resumption
    held: set[str] = field(default_factory=set)
    paid_meanwhile: set[str] = field(default_factory=set)
    held_deliveries: int = 0


@dataclass
class Options:
    size: Size
    seed: int = 42
    workdir: Path = Path(".cache/demo")
    bootstrap: str = "127.0.0.1:9092"
    admin_database_url: str = "postgresql://relance:relance@127.0.0.1:5433/relance"
    database_name: str = "relance_demo"
    scenarios_path: Path | None = None
    answer_calls: bool = True
    progress: bool = True
    progress_every: int = 1
    hook: Hook | None = None
    quiet_timeout_s: float = 300.0
    # More than one process of a service share its consumer group's partitions and, for the
    # scheduler and the notifier, their due work (SKIP LOCKED): the demo runs a few.
    replicas: dict[str, int] = field(default_factory=dict)
    # suspend one company's sending for a few days mid-run, then resume (None: no suspension)
    suspension: SuspensionPlan | None = None
    # the notifier's templates (None: the shipped ones, which mark editable paragraphs)
    templates_path: Path | None = None
    # a simulated collector decides the proposals of the steps to confirm (semi_automatic.py)
    decide_proposals: bool = False
    # settings of the services (RELANCE_<SERVICE>_...) over the run's own
    settings: dict[str, str] = field(default_factory=dict)


@dataclass
class DayStats:
    day: date
    erp_records: int
    commands: int
    providers: dict[str, int]
    call_tasks_answered: int
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)


@dataclass
class Run:
    options: Options
    history: History
    database_url: str = ""
    clock_file: Path = Path()
    providers: Providers | None = None
    processes: dict[str, ServiceProcess] = field(default_factory=dict)
    quiescence: Quiescence | None = None
    producer: AIOKafkaProducer | None = None
    days: list[DayStats] = field(default_factory=list)
    answers: Counter[str] = field(default_factory=Counter)
    published: int = 0
    started_at: float = field(default_factory=time.monotonic)
    generation_s: float = 0.0
    events_log: list[str] = field(default_factory=list)
    restarting: set[str] = field(default_factory=set)
    instant: datetime | None = None  # the simulated instant the clock file holds
    suspension: SuspensionRecord | None = None
    collector: Collector = field(default_factory=Collector)
    timings: Timings = field(default_factory=Timings)
    barriers: int = 0
    barrier_s: float = 0.0

    # setup ----------------------------------------------------------------------------------

    def now_at(self, day: int, at: clock_time) -> datetime:
        return datetime.combine(self.history.day_of(day), at, tzinfo=UTC)

    def simulated_now(self) -> datetime | None:
        """The instant the controller last wrote (the providers stamp what they receive)."""
        return self.instant

    async def set_clock(self, instant: datetime) -> None:
        """Move the clock; return once every service process is bound to see ``instant``."""
        self.instant = instant
        began = time.monotonic()
        await move_clock(self.clock_file, instant)
        self.barriers += 1
        self.barrier_s += time.monotonic() - began

    def sending_instants(self, index: int) -> list[datetime]:
        zones = {c.time_zone for c in self.history.customers.values()}
        return sending_instants(self.history.day_of(index), zones)

    async def start(self) -> None:
        options = self.options
        work = options.workdir.resolve()
        for sub in ("letters", "logs"):
            shutil.rmtree(work / sub, ignore_errors=True)
            (work / sub).mkdir(parents=True, exist_ok=True)
        self.clock_file = work / "clock"
        await self.set_clock(self.now_at(0, clock_time(5, 0)))
        self.say(f"database {options.database_name}, fresh topics on {options.bootstrap}")
        self.database_url = await fresh_database(options.admin_database_url, options.database_name)
        await fresh_topics(options.bootstrap)
        self.timings.lap("database and topics")
        smtp = SmtpCollector(clock=self.simulated_now)
        smtp.start()
        sms = TwilioStandIn(clock=self.simulated_now)
        await sms.start()
        self.providers = Providers(smtp, sms, LetterDrop(work / "letters"))
        # the interactive emails' links lead to the portal process (its port chosen here)
        portal_port = free_port()
        extra = {
            **self.providers.notifier_environment(),
            "RELANCE_LINKS_KEYS": LINK_KEY,
            "RELANCE_LINKS_BASE_URL": f"http://127.0.0.1:{portal_port}",
            # the portal speaks as each account's company, like the notifier's messages
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
        if options.scenarios_path is not None:
            extra["RELANCE_SCHEDULER_SCENARIOS_PATH"] = str(options.scenarios_path.resolve())
        if options.templates_path is not None:
            extra["RELANCE_NOTIFIER_TEMPLATES_DIR"] = str(options.templates_path.resolve())
        extra.update(options.settings)
        await asyncio.to_thread(self._migrate)
        self.timings.lap("migrations")
        for service in SERVICES:
            replicas = options.replicas.get(service, 1)
            for replica in range(1, replicas + 1):
                name = service if replica == 1 else f"{service}-{replica}"
                port = portal_port if name == "portal" else free_port()
                environment = service_environment(
                    service,
                    base=os.environ,
                    bootstrap=options.bootstrap,
                    database_url=self.database_url,
                    clock_file=self.clock_file,
                    port=port,
                    extra=extra,
                )
                self.processes[name] = ServiceProcess(
                    name, service, environment, work / "logs" / f"{name}.log", port
                )
        await asyncio.gather(*(p.start() for p in self.processes.values()))
        await asyncio.gather(*(p.ready() for p in self.processes.values()))
        self.timings.lap("services started")
        self.say(
            f"services ready in {self.timings.phases['services started']:.1f} s: "
            + ", ".join(
                f"{n} (pid {p.process.pid if p.process else '?'}, :{p.port})"
                for n, p in self.processes.items()
            )
        )
        self.quiescence = Quiescence(
            options.bootstrap, self.database_url, notices_received=smtp.distinct_notice_count
        )
        if options.suspension is not None:
            self.suspension = SuspensionRecord(options.suspension)
        await self.quiescence.start()
        await self._start_producer()
        self.timings.lap("clients")

    def _migrate(self) -> None:
        from services.runtime import migrations
        from simulation.cluster import definition

        for name in SERVICES:
            found = definition(name)
            migrations.apply(self.database_url, found.schema, found.migrations)

    async def _start_producer(self) -> None:
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.options.bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
        )
        await self.producer.start()

    async def restart_clients(self) -> None:
        """After a broker or database restart."""
        if self.producer is not None:
            with contextlib.suppress(Exception):
                await self.producer.stop()
        await self._start_producer()
        assert self.quiescence is not None
        await self.quiescence.reconnect()

    async def stop(self) -> None:
        for process in self.processes.values():
            with contextlib.suppress(Exception):
                await process.stop()
        if self.quiescence is not None:
            await self.quiescence.close()
        if self.producer is not None:
            with contextlib.suppress(Exception):
                await self.producer.stop()
        if self.providers is not None:
            self.providers.smtp.stop()
            await self.providers.sms.stop()

    # the day loop ---------------------------------------------------------------------------

    def say(self, line: str) -> None:
        if self.options.progress:
            print(line, flush=True)

    async def publish(self, records: list[Record]) -> None:
        assert self.producer is not None
        for attempt in range(60):
            try:
                futures = [
                    await self.producer.send(r.topic, value=r.value, key=r.key) for r in records
                ]
                await asyncio.gather(*futures)
                self.published += len(records)
                return
            except Exception as exc:  # the broker is restarting: the same records again
                if attempt == 59:
                    raise
                self.say(f"  publish retry after {type(exc).__name__}")
                await asyncio.sleep(1)
                await self.restart_clients()

    async def quiet(self, instant: datetime) -> None:
        assert self.quiescence is not None
        await self.quiescence.wait(instant, self.options.quiet_timeout_s, tend=self.tend)
        if self.providers is not None:
            self.providers.letters.stamp(instant)

    async def tend(self) -> None:
        """Restart a service that exited on its own (a supervisor's job)."""
        for name, process in self.processes.items():
            if name in self.restarting or process.alive or process.process is None:
                continue
            code = process.process.returncode
            self.events_log.append(f"{name} exited by itself (code {code}); restarted")
            self.say(f"  {name} exited by itself (code {code}); restarting it")
            await process.restart()

    async def hook(self, day: int, phase: str) -> None:
        if self.options.hook is not None:
            await self.options.hook(self, day, phase)

    async def day(self, index: int) -> None:
        began = time.monotonic()
        phases: dict[str, float] = {}
        mark = began

        def lap(name: str) -> None:
            nonlocal mark
            now = time.monotonic()
            phases[name] = now - mark
            mark = now

        morning = self.now_at(index, MORNING)
        await self.set_clock(morning)
        records = self.history.timeline[index]
        commands = self.history.commands[index]
        await self.hook(index, "morning")
        await self.suspend_or_resume(index)
        if index == 0:  # master data first, then the documents that name it
            await self.publish(self.history.opening_customers)
            await self.quiet(morning)
        if index == 0:
            # the opening balance: the CRM's commands only once the ledger events of the
            # invoices they name have reached every service
            await self.publish(records)
            await self.quiet(morning)
            lap("erp")
            await self.publish(commands)
        else:
            # a dispute names invoices issued on earlier days, already known everywhere
            await self.publish(records + commands)
        await self.quiet(morning)
        lap("erp+crm")
        instants = self.sending_instants(index)
        for number, instant in enumerate(instants):
            await self.set_clock(instant)
            await self.hook(index, "evening" if number == 0 else "sending")
            await self.quiet(instant)
            if number == 0 and self.options.decide_proposals:
                await self.decide_proposals(index)
        lap("dunning")
        answered = 0
        if self.options.answer_calls:
            answered = await self.answer_calls(index)
            if answered:
                await self.quiet(instants[-1])
        lap("calls")
        assert self.providers is not None
        stats = DayStats(
            self.history.day_of(index),
            len(records) + (len(self.history.opening_customers) if index == 0 else 0),
            len(commands),
            self.providers.counts(),
            answered,
            time.monotonic() - began,
            phases,
        )
        self.days.append(stats)
        if index % self.options.progress_every == 0 or index == self.history.size.days - 1:
            await self.progress(index, stats)

    async def suspend_or_resume(self, index: int) -> None:
        """Run the scheduler's ``suspend`` or ``resume`` command on the planned mornings."""
        record = self.suspension
        if record is None:
            return
        plan = record.plan
        if plan.first_day < index <= plan.resume_day:
            await self.note_held(record, index == plan.resume_day)
        if index == plan.first_day:
            arguments = ["suspend", "--company", plan.company_code, "--reason", plan.reason]
        elif index == plan.resume_day:
            arguments = ["resume", "--company", plan.company_code]
        else:
            return
        problem = await self.scheduler_command([*arguments, "--by", plan.by])
        if problem is not None:
            record.problems.append(f"day {index}: relance scheduler {arguments[0]}: {problem}")
            self.say(f"  {record.problems[-1]}")
        if index == plan.first_day:
            record.suspended_at = self.instant
        else:
            record.resumed_at = self.instant
        done = "suspended" if index == plan.first_day else "resumed"
        self.events_log.append(
            f"day {index}: sending {done} for {plan.company_code}"
            + ("" if problem is None else " (the command failed)")
        )

    async def note_held(self, record: SuspensionRecord, resuming: bool) -> None:
        """Before the morning's records: the suspended company's invoices whose timer has
        fallen due (held by the suspension); at the resumption, before it, which of them
        were closed meanwhile and how many deliveries the notifier holds."""
        company = record.plan.company_code
        rows = await self.fetch(
            "SELECT invoice_id FROM scheduler.dunning_invoice WHERE invoice_id LIKE $1 "
            "AND status = 'active' AND next_action_at <= $2",
            f"{company}/%",
            self.instant,
        )
        record.held.update(r["invoice_id"] for r in rows)
        if not resuming:
            return
        closed = await self.fetch(
            "SELECT invoice_id FROM scheduler.dunning_invoice "
            "WHERE invoice_id = ANY($1::text[]) AND status = 'closed'",
            sorted(record.held),
        )
        record.paid_meanwhile = {r["invoice_id"] for r in closed}
        record.held_deliveries = int(
            await self.scalar(
                "SELECT count(*) FROM notifier.deliveries "
                "WHERE company_code = $1 AND status IN ('pending', 'sending')",
                company,
            )
        )

    async def scheduler_command(self, arguments: list[str]) -> str | None:
        """``relance scheduler ARGS`` with the scheduler's environment; None if it worked."""
        scheduler = next(p for p in self.processes.values() if p.service == "scheduler")
        executable = Path(sys.executable).with_name("relance")
        command = [str(executable)] if executable.exists() else [sys.executable, "-m", "relance"]
        process = await asyncio.create_subprocess_exec(
            *command,
            "scheduler",
            *arguments,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
            env=dict(scheduler.environment),
        )
        output, _ = await process.communicate()
        if process.returncode == 0:
            return None
        # the last line that says something (typer draws its errors in a box)
        said = [
            line.strip(" │╭╮╰╯─")
            for line in output.decode(errors="replace").splitlines()
            if line.strip(" │╭╮╰╯─")
        ]
        return f"exit {process.returncode}: {(said or ['no output'])[-1][:300]}"

    async def progress(self, index: int, stats: DayStats) -> None:
        await self.sample_cpu()
        calls = await self.scalar("SELECT count(*) FROM notifier.call_tasks")
        counts = stats.providers
        self.say(
            f"{stats.day}  day {index + 1:>3}/{self.history.size.days}  "
            f"events {self.published:>7}  email {counts['email']:>6}  sms {counts['sms']:>5}  "
            f"letters {counts['letters']:>5}  calls {calls:>5}  "
            f"({time.monotonic() - self.started_at:5.0f} s; day "
            + " ".join(f"{k} {v:.1f}" for k, v in stats.phases.items())
            + ")"
        )

    async def scalar(self, query: str, *args: Any) -> Any:
        assert self.quiescence is not None
        assert self.quiescence._pool is not None
        return await self.quiescence._pool.fetchval(query, *args)

    async def fetch(self, query: str, *args: Any) -> list[Any]:
        assert self.quiescence is not None
        assert self.quiescence._pool is not None
        return list(await self.quiescence._pool.fetch(query, *args))

    async def run(self) -> None:
        self.timings.lap("before the first day")
        for index in range(self.history.size.days):
            await self.day(index)
        self.timings.lap("simulated days")

    # where the time went ----------------------------------------------------------------------

    async def sample_cpu(self) -> None:
        """Note the CPU seconds of the services, the database's backends and the broker."""
        cpu = self.timings.cpu
        for process in self.processes.values():
            if process.process is not None:  # with its children: the composing processes
                cpu.sample(f"services/{process.service}", with_children([process.process.pid]))
        with contextlib.suppress(Exception):
            rows = await self.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            )
            cpu.sample("postgresql", (r["pid"] for r in rows))
        broker = kafka_broker_pid()
        if broker is not None:
            cpu.sample("kafka", (broker,))

    async def timing_lines(self) -> list[str]:
        """Where the wall time went, what waiting cost, and the CPU of the demo's processes."""
        await self.sample_cpu()
        timings = self.timings
        wall = time.monotonic() - timings.began
        phases = timings.phases
        days = phases.get("simulated days", 0.0)
        per_step: defaultdict[str, float] = defaultdict(float)
        for stats in self.days:
            for step, seconds in stats.phases.items():
                per_step[step] += seconds
        waits = self.quiescence.stats if self.quiescence is not None else None
        lines = [
            "",
            f"Where the time went ({wall:.0f} s wall; load average {timings.load_at_start} "
            f"at the start, {load_average()} now, on {os.cpu_count()} cores):",
            "  " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in phases.items()),
            f"  {len(self.days)} days: "
            + ", ".join(f"{step} {seconds:.0f} s" for step, seconds in per_step.items())
            + f"; slowest day {max((d.seconds for d in self.days), default=0):.1f} s",
        ]
        idle = self.barrier_s
        if waits is not None:
            idle += waits.confirming_s
            lines.append(
                f"  quiescence: {waits.waits} waits, {waits.total_s:.0f} s in all; "
                f"{waits.observations} observations, {waits.observing_s:.0f} s asking "
                f"({1000 * waits.observing_s / max(1, waits.observations):.0f} ms each), "
                f"{waits.sleeping_s:.0f} s between them; {waits.confirming_s:.0f} s from the "
                "first quiet observation to the confirming one"
            )
        lines.append(
            f"  clock barriers: {self.barriers}, {self.barrier_s:.1f} s; idle waiting "
            f"(barriers and confirmations) {idle:.0f} s, {share(idle, days)} of the days"
        )
        cpu = timings.cpu
        controller = own_cpu_s()  # since the process started, imports included
        groups = {
            "controller": controller,
            "services": cpu.total("services"),
            "PostgreSQL backends": cpu.total("postgresql"),
            "Kafka broker": cpu.total("kafka"),
        }
        total = sum(groups.values())
        lines.append(
            f"  CPU: {total:.0f} s = "
            + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in groups.items() if seconds)
            + f"; {share(total, wall * (os.cpu_count() or 1))} of the cores over the wall time"
        )
        services = {p.service for p in self.processes.values()}
        per_service = {name: cpu.total(f"services/{name}") for name in services}
        lines.append(
            "  per service (replicas and their composing processes included): "
            + ", ".join(
                f"{name} {seconds:.0f} s"
                for name, seconds in sorted(per_service.items(), key=lambda i: -i[1])
            )
        )
        return lines

    # the customer's page ----------------------------------------------------------------------

    async def open_portal_links(self) -> tuple[int, int]:
        """A customer clicks the link of an interactive email: the newest few received are
        opened on the portal process; how many answered 200, of how many."""
        assert self.providers is not None
        links = self.providers.smtp.portal_links()
        opened = 0
        async with aiohttp.ClientSession() as http:
            for link in links:
                async with http.get(link, allow_redirects=False) as page:
                    if page.status == 200:
                        opened += 1
        return opened, len(links)

    # proposals (steps to confirm) ------------------------------------------------------------

    async def decide_proposals(self, index: int) -> None:
        """On a review day, at the day's first sending instant: decide the proposals
        raised on earlier days through the scheduler's commands API, as a collector
        (``semi_automatic.plan_decisions``); an edited proposal's new version is approved
        once raised, in a second pass."""
        today = self.history.day_of(index)
        if today.weekday() not in REVIEW_DAYS or self.instant is None:
            return
        scheduler = next(p for p in self.processes.values() if p.service == "scheduler")
        base = f"http://127.0.0.1:{scheduler.port}/v1/commands"
        languages = {c.customer_id: c.language for c in self.history.customers.values()}
        collector = self.collector
        async with aiohttp.ClientSession(headers={"X-API-Key": COLLECTOR_KEY}) as http:
            for _ in range(2):
                rows = await self.fetch(
                    "SELECT proposal_id::text AS proposal_id, version, customer_id, raised_at, "
                    f"{PROPOSED} ->> 'reminder_id' AS reminder_id, "
                    f"{PROPOSED} ->> 'level' AS level, {PROPOSED} ->> 'channel' AS channel, "
                    f"{PROPOSED} ->> 'language' AS language "
                    "FROM scheduler.proposal WHERE status = 'pending' AND timed_out_at IS NULL"
                )
                reminders = {r["proposal_id"]: r["reminder_id"] for r in rows}
                waiting = [
                    Pending(
                        r["proposal_id"],
                        r["version"],
                        r["customer_id"],
                        r["raised_at"].date(),
                        editable=r["channel"] == EDITABLE_CHANNEL and r["level"] in EDITABLE_LEVELS,
                    )
                    for r in rows
                ]
                decisions = plan_decisions(collector, waiting, today)
                if not decisions:
                    return
                edited = False
                for decision in decisions:
                    name, body = request(decision, today, languages)
                    async with http.post(f"{base}/{name}", json=body) as reply:
                        if reply.status != 202:
                            text = (await reply.text())[:300]
                            collector.refused.append(f"{today} {name}: {reply.status} {text}")
                            self.say(f"  {collector.refused[-1]}")
                            continue
                    count = len(decision.proposals)
                    first = decision.proposals[0].proposal_id
                    if decision.kind == "edit":
                        edited = True
                        paragraph = next(iter(body["paragraphs"].values()))
                        collector.edited[first] = paragraph
                        collector.edited_reminders[reminders[first]] = paragraph
                        assert self.providers is not None
                        self.providers.smtp.watched.add(reminders[first])
                    elif decision.kind == "postpone":
                        collector.postponed += 1
                    elif decision.kind == "skip":
                        collector.skipped += 1
                    else:
                        collector.approved += count
                        if decision.kind == "approve_bulk":
                            collector.approved_in_bulk += count
                            collector.bulk_commands += 1
                    self.events_log.append(f"day {index}: {name} x{count}")
                await self.quiet(self.instant)
                if not edited:
                    return

    # call tasks -----------------------------------------------------------------------------

    async def answer_calls(self, index: int) -> int:
        """Close the open call tasks as a collector would after calling the customer."""
        bases = [
            f"http://127.0.0.1:{p.port}" for p in self.processes.values() if p.service == "notifier"
        ]
        answered = 0
        gate = asyncio.Semaphore(8)

        async def close(http: aiohttp.ClientSession, number: int, task: dict[str, Any]) -> None:
            nonlocal answered
            outcome = self.outcome_of(task, index)
            base = bases[number % len(bases)]  # spread over the notifier's replicas
            async with (
                gate,
                http.post(f"{base}/call-tasks/{task['task_id']}/close", json=outcome) as reply,
            ):
                if reply.status == 200:
                    answered += 1
                    self.answers[str(outcome["outcome"])] += 1

        async with aiohttp.ClientSession(headers={"X-API-Key": COLLECTOR_KEY}) as http:
            seen: set[str] = set()
            while True:
                async with http.get(f"{bases[0]}/call-tasks", params={"status": "open"}) as reply:
                    tasks = (await reply.json())["tasks"]
                fresh = [t for t in tasks if t["task_id"] not in seen]
                if not fresh:
                    return answered
                seen.update(t["task_id"] for t in fresh)
                await asyncio.gather(*(close(http, n, t) for n, t in enumerate(fresh)))

    def outcome_of(self, task: dict[str, Any], index: int) -> dict[str, Any]:
        history = self.history
        customer = history.customers.get(task["customer_id"])
        digest = hashlib.sha256(task["task_id"].encode()).digest()
        rng = random.Random(int.from_bytes(digest[:8], "big"))  # noqa: S311 (simulation)
        profile = customer.profile if customer else "negligent"
        roll = rng.random()
        invoice_ids = tuple(task["invoice_ids"])
        base: dict[str, Any] = {"closed_by": "collector.simulated@example.com"}
        if (profile == "disputer" and roll < 0.5) or roll < 0.06:
            return {**base, "outcome": "dispute_raised", "dispute_reason": "goods not received"}
        promise_share = {"bad_payer": 0.5, "insolvent": 0.55, "administrative": 0.5}.get(
            profile, 0.65
        )
        if roll < promise_share:
            open_total = sum(
                (history.open_amount(i, index) for i in invoice_ids if i in history.invoices),
                Decimal(0),
            )
            if open_total <= 0:
                return {**base, "outcome": "no_answer"}
            currency = history.invoices[invoice_ids[0]].currency
            paid_on = history.next_payment_day(invoice_ids, index)
            if paid_on is not None and paid_on - index <= 21:
                promised = history.day_of(paid_on)  # the customer keeps it
            else:
                promised = history.day_of(index + rng.randint(5, 12))
            return {
                **base,
                "outcome": "promise_to_pay",
                "promised_date": promised.isoformat(),
                "promised_amount": {"amount": format(open_total, "f"), "currency": currency},
            }
        if roll < promise_share + 0.25:
            return {**base, "outcome": "no_answer"}
        return {**base, "outcome": "wrong_contact"}


async def simulate(options: Options, timings: Timings | None = None) -> Run:
    """Generate, start everything, run every day; the caller prints and stops."""
    timings = timings or Timings()
    history = generate(options.size, options.seed)
    run = Run(options, history, timings=timings)
    run.generation_s = timings.lap("generation")
    run.say(
        f"generated {len(history.customers)} customers, {len(history.invoices)} invoices, "
        f"{history.record_count} records ({len(history.bad)} bad) in {run.generation_s:.1f} s"
    )
    try:
        await run.start()
    except BaseException:
        await run.stop()
        raise
    return run


def history_digest(history: History) -> str:
    """A fingerprint of the generated records, to show that a seed gives the same history."""
    digest = hashlib.sha256()
    for record in history.opening_customers:
        digest.update(record.value)
    for day in history.timeline:
        for record in day:
            digest.update(record.value)
    for day in history.commands:
        for record in day:
            digest.update(record.value)
    return digest.hexdigest()[:16]


def as_json(value: Any) -> str:
    return json.dumps(value, default=str, indent=2)


def start_of(history: History) -> date:
    return history.size.start


def end_of(history: History) -> date:
    return history.size.start + timedelta(days=history.size.days - 1)
