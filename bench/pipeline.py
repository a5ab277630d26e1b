"""A small Relance for the latency benchmarks: ingestion and the notifier, a process each.

Both services run as in production, one process each, on real Kafka and PostgreSQL, with
the runtime kit's pieces (``services.runtime.service``) and their own settings' defaults:
ingestion's consumer (the ``LedgerHandler`` in batches, one transaction each) and its
outbox relay; the notifier's consumer (``handle`` on ``dunning.actions`` and
``ledger.events``), its dispatcher loop with the shared rate limiter and its outbox relay.
Everything lives on fresh topics prefixed ``bench-<hex>.`` and a fresh database
``bench_latency_<hex>``, both removed at the end. The driver (the benchmark's own process)
publishes the ERP and scheduler events, and runs an aiosmtpd server on loopback that notes
when it accepted each message.

The bench adds two triggers to its own copy of the schemas: on the notifier's
``closed_invoices`` and on the ledger's ``invoices`` (settled), each ``NOTIFY``ing the
invoice id. PostgreSQL delivers a notification when the transaction that wrote the row
commits, so the driver learns, within a few milliseconds and never early, the moment a
settlement became visible to the dispatcher's claim and final check, and the moment
ingestion committed it.

It also gives the shared measuring kit: load average, the ``bench.limits`` pydantic figure
measured in the same run, CPU time by pid (the driver, the service processes and the
PostgreSQL backends of the bench's database) and percentiles.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import multiprocessing
import multiprocessing.process
import os
import signal
import socket
import time
import urllib.parse
import uuid
from collections.abc import Callable, Coroutine, Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiosmtpd.controller import Controller

from bench.ingestion import erp_mix
from bench.limits import DEFAULT_BOOTSTRAP, DEFAULT_DATABASE_URL, measure_pydantic
from bench.notifier import Accepting
from contracts import dunning, erp
from contracts.envelope import Event
from contracts.ledger import invoice_id_of
from contracts.money import PositiveMoney
from contracts.topics import DUNNING_ACTIONS, ERP_TOPICS, LEDGER_EVENTS, NOTIFIER_DELIVERIES, Topic
from services.ingestion.app import DEFINITION as INGESTION
from services.ingestion.handler import LedgerHandler
from services.ingestion.settings import IngestionSettings
from services.notifier.app import DEFINITION as NOTIFIER
from services.notifier.app import channel_adapters
from services.notifier.composing.composer import EmailComposer
from services.notifier.dispatcher import Dispatcher
from services.notifier.handler import handle
from services.notifier.rate_limit import SharedRateLimiter
from services.notifier.settings import NotifierSettings, SmtpSettings
from services.runtime import gc_tuning, logs, migrations
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import BatchProcessor
from services.runtime.database import connect, create_pool
from services.runtime.outbox import KafkaRecordSender, OutboxRelay
from services.runtime.service import Supervisor, make_broker, subscribe
from services.runtime.settings import DatabaseSettings, KafkaSettings, ServiceSettings

# A Monday, 10:00 in Paris: inside every customer's sending window.
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
COMPANY = "FR01"
PARTITIONS = 6
CLOSED_CHANNEL = "bench_closed"
AMOUNT = Decimal("1250.00")

# On the bench's own copy of the notifier's schema only: a notification per invoice of the
# bench's customers (ids "L…") closed, delivered when the consumer's transaction commits.
CLOSED_TRIGGER = f"""
CREATE FUNCTION notifier.bench_closed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CLOSED_CHANNEL}', NEW.invoice_id);
    RETURN NEW;
END $$;
CREATE TRIGGER bench_closed AFTER INSERT ON notifier.closed_invoices
FOR EACH ROW WHEN (NEW.invoice_id LIKE '{COMPANY}/L%')
EXECUTE FUNCTION notifier.bench_closed();
"""

# The same on the ledger's side: the moment ingestion's transaction settling a bench
# invoice committed (its ledger.invoice.settled is in the outbox from then on).
SETTLED_CHANNEL = "bench_settled"
SETTLED_TRIGGER = f"""
CREATE FUNCTION ledger.bench_settled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{SETTLED_CHANNEL}', NEW.company_code || '/' || NEW.invoice_number);
    RETURN NEW;
END $$;
CREATE TRIGGER bench_settled AFTER INSERT OR UPDATE ON ledger.invoices
FOR EACH ROW WHEN (NEW.status = 'settled' AND NEW.customer_id LIKE 'L%')
EXECUTE FUNCTION ledger.bench_settled();
"""

DEMO_COMPANIES = Path(__file__).resolve().parents[1] / "simulation" / "companies.yaml"
"""The demo's invented companies: every generated invoice belongs to one of them."""


# ---------------------------------------------------------------------------------------
# Measuring kit
# ---------------------------------------------------------------------------------------


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} cores)"


def pydantic_reference(events: int) -> float:
    """``bench.limits``' pydantic figure (events/s on one core), measured now."""
    return measure_pydantic(events)[0].value


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def spread(name: str, values: Sequence[float]) -> dict[str, float]:
    """p50, p99, max and count of ``values`` (milliseconds)."""
    return {
        f"{name}_p50_ms": percentile(values, 0.50),
        f"{name}_p99_ms": percentile(values, 0.99),
        f"{name}_max_ms": max(values) if values else float("nan"),
        f"{name}_count": float(len(values)),
    }


def cpu_s_of(pids: Iterable[int]) -> dict[int, float]:
    """CPU seconds (user + system) used so far by each of ``pids`` that still runs."""
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[int, float] = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            continue  # ended meanwhile
        used[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return used


@dataclasses.dataclass
class CpuMeter:
    """CPU of the bench's own processes, by pid: the driver (this process), the service
    processes it started, and its database's PostgreSQL backends.

    The backends are found in ``pg_stat_activity`` (the bench's database is its own, so
    every backend on it serves the bench). A backend that ends between the two readings is
    not counted; one that starts meanwhile is counted from zero. The Kafka broker serves
    everyone and cannot be split by client: it is not counted.
    """

    admin_url: str
    database: str
    services: dict[str, int] = dataclasses.field(default_factory=dict)  # name -> pid
    _start: dict[int, float] = dataclasses.field(default_factory=dict)
    _started_at: float = 0.0

    async def _backends(self) -> list[int]:
        connection = await asyncpg.connect(self.admin_url)
        try:
            rows = await connection.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1", self.database
            )
        finally:
            await connection.close()
        return [int(r["pid"]) for r in rows]

    async def start(self) -> None:
        pids = [os.getpid(), *self.services.values(), *await self._backends()]
        self._start = cpu_s_of(pids)
        self._started_at = time.perf_counter()

    async def stop(self) -> dict[str, float]:
        backends = await self._backends()
        now = cpu_s_of([os.getpid(), *self.services.values(), *backends])
        wall = time.perf_counter() - self._started_at

        def used(pid: int) -> float:
            return now.get(pid, 0.0) - self._start.get(pid, 0.0)

        figures = {"wall_s": wall, "cpu_s_driver": used(os.getpid())}
        for name, pid in self.services.items():
            figures[f"cpu_s_{name}"] = used(pid)
        figures["cpu_s_postgres_backends"] = sum(used(pid) for pid in backends)
        figures["postgres_backends"] = float(len(backends))
        total = sum(v for k, v in figures.items() if k.startswith("cpu_s_"))
        figures["cores_used"] = total / wall if wall else 0.0
        return figures


# ---------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------


def customer_id(n: int) -> str:
    return f"L{n:06d}"


def invoice_number(n: int) -> str:
    return f"L{n:06d}"


def invoice_id(n: int) -> str:
    return invoice_id_of(COMPANY, invoice_number(n))


def _envelope() -> dict[str, Any]:
    return {"event_id": uuid.uuid4(), "occurred_at": NOW, "source": "bench-erp"}


def erp_customer(n: int) -> erp.CustomerUpserted:
    return erp.CustomerUpserted(
        **_envelope(),
        payload=erp.CustomerPayload(
            customer_id=customer_id(n),
            version=1,
            company_code=COMPANY,
            name=f"Client {n} SAS",
            country="FR",
            time_zone="Europe/Paris",
            language="fr",
            contacts=(erp.Contact(role="billing", email=f"compta{n}@client.example"),),
        ),
    )


def erp_invoice(n: int) -> erp.InvoiceIssued:
    return erp.InvoiceIssued(
        **_envelope(),
        payload=erp.InvoicePayload(
            company_code=COMPANY,
            customer_id=customer_id(n),
            invoice_number=invoice_number(n),
            version=1,
            issue_date=date(2026, 1, 2),
            due_date=date(2026, 2, 1),
            amount=PositiveMoney(amount=AMOUNT, currency="EUR"),
        ),
    )


def erp_payment(n: int) -> erp.PaymentReceived:
    """The whole invoice paid, allocated to it by the ERP."""
    return erp.PaymentReceived(
        **_envelope(),
        payload=erp.PaymentPayload(
            payment_id=f"PL{n:06d}-{uuid.uuid4().hex[:6]}",
            company_code=COMPANY,
            customer_id=customer_id(n),
            received_on=date(2026, 3, 2),
            amount=PositiveMoney(amount=AMOUNT, currency="EUR"),
            allocations=(erp.Allocation(invoice_number=invoice_number(n), amount=AMOUNT),),
            reference=invoice_number(n),
        ),
    )


def reminder_due(n: int) -> dunning.ReminderDue:
    """The scheduler's decision: a first firm email about customer n's one invoice."""
    return dunning.ReminderDue(
        event_id=uuid.uuid4(),
        occurred_at=NOW,
        source="scheduler",
        payload=dunning.Reminder(
            reminder_id=uuid.uuid4(),
            customer_id=customer_id(n),
            company_code=COMPANY,
            scenario_id="bench",
            step_name="d+15-email",
            level="level_1",
            channel="email",
            recipient_role="billing",
            template="level_1",
            language="fr",
            include_penalties=True,
            escalating=False,
            scheduled_for=NOW,
            invoices=(
                dunning.DunnedInvoice(
                    invoice_id=invoice_id(n),
                    invoice_number=invoice_number(n),
                    days_overdue=29,
                    due_date=date(2026, 2, 1),
                    amount=PositiveMoney(amount=AMOUNT, currency="EUR"),
                    open_amount=PositiveMoney(amount=AMOUNT, currency="EUR"),
                ),
            ),
        ),
    )


# ---------------------------------------------------------------------------------------
# The stack
# ---------------------------------------------------------------------------------------


def _database_url(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def renamed(topic: Topic, suffix: str) -> Topic:
    return dataclasses.replace(topic, name=f"bench-{suffix}.{topic.name}")


@dataclasses.dataclass(frozen=True)
class ServiceSetup:
    """What a service process needs: where everything is."""

    bootstrap: str
    url: str
    suffix: str
    email_rate: float
    smtp_port: int


def serve(name: str, setup: ServiceSetup) -> None:
    """A service process (``ingestion`` or ``notifier``) until SIGTERM."""
    quiet_logs()
    asyncio.run(_serve(name, setup))


async def _serve(name: str, setup: ServiceSetup) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    kafka = KafkaSettings(bootstrap_servers=setup.bootstrap)
    clock = SimulatedClock(NOW)
    supervisor = Supervisor(f"bench-{name}")
    broker = make_broker(kafka, f"bench-{name}", graceful_timeout=10)
    ledger = renamed(LEDGER_EVENTS, setup.suffix)
    if name == "ingestion":
        settings: ServiceSettings = IngestionSettings(kafka=kafka)
        pool = await create_pool(DatabaseSettings(url=setup.url), INGESTION.schema, max_size=4)
        processor = BatchProcessor(
            "ingestion",
            [renamed(t, setup.suffix) for t in ERP_TOPICS],
            LedgerHandler(ledger_topic=ledger).handle,
            pool,
            clock,
        )
    else:
        notifier = NotifierSettings(
            kafka=kafka,
            channel_rates_per_s={"email": setup.email_rate} if setup.email_rate > 0 else {},
            smtp=SmtpSettings(host="127.0.0.1", port=setup.smtp_port, security="none"),
            companies_file=DEMO_COMPANIES,
        )
        settings = notifier
        pool = await create_pool(DatabaseSettings(url=setup.url), NOTIFIER.schema, max_size=6)
        processor = BatchProcessor(
            "notifier", [renamed(DUNNING_ACTIONS, setup.suffix), ledger], handle, pool, clock
        )
        composer = EmailComposer.load(notifier)
        dispatcher = Dispatcher(
            pool,
            clock,
            notifier,
            channel_adapters(notifier, composer),
            composer,
            topic=renamed(NOTIFIER_DELIVERIES, setup.suffix),
            limiter=SharedRateLimiter(pool, notifier.channel_rates_per_s),
            listen_connection=functools.partial(  # woken by a new delivery, as the service
                connect, DatabaseSettings(url=setup.url), NOTIFIER.schema, "notifier-listener"
            ),
        )
        supervisor.start("dispatcher", dispatcher.run)
    subscribe(
        broker,
        processor,
        group_id=f"bench-{setup.suffix}-{name}",
        settings=settings,
        on_fatal=supervisor.fail,
    )
    sender = KafkaRecordSender(kafka.client_options(), f"bench-{name}")
    await sender.start()
    supervisor.start(
        "outbox-relay", OutboxRelay(name, pool, sender, settings.outbox_batch_size).run
    )
    try:
        gc_tuning.tune(settings.gc_gen0_threshold)  # as services do once built
        await broker.start()
        stopped = asyncio.create_task(stop.wait())
        failed = asyncio.create_task(supervisor.failed.wait())
        await asyncio.wait([stopped, failed], return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        failed.cancel()
    finally:
        await broker.stop()
        await supervisor.shutdown(grace_s=10)
        await sender.stop()
        await pool.close()
    if supervisor.failure is not None:
        raise supervisor.failure


class Stack:
    """Ingestion and the notifier, one process each as in production, on fresh topics and a
    fresh database; the SMTP server and the listeners are in this (the driver's) process."""

    def __init__(self, bootstrap: str, admin_url: str, email_rate: float) -> None:
        self.bootstrap = bootstrap
        self.admin_url = admin_url
        self.email_rate = email_rate
        self.suffix = uuid.uuid4().hex[:8]
        self.database = f"bench_latency_{self.suffix}"
        self.url = _database_url(admin_url, self.database)
        self.erp = {t.name: renamed(t, self.suffix) for t in ERP_TOPICS}
        self.ledger = renamed(LEDGER_EVENTS, self.suffix)
        self.actions = renamed(DUNNING_ACTIONS, self.suffix)
        self.deliveries = renamed(NOTIFIER_DELIVERIES, self.suffix)
        self.smtp = Accepting()
        self.closed_at: dict[str, float] = {}  # invoice id -> when the notifier closed it
        self.settled_at: dict[str, float] = {}  # invoice id -> when the ledger settled it
        self.cpu = CpuMeter(admin_url, self.database)
        self.processes: dict[str, multiprocessing.process.BaseProcess] = {}
        self._cleanup = contextlib.AsyncExitStack()

    @property
    def topic_names(self) -> list[str]:
        topics = [*self.erp.values(), self.ledger, self.actions, self.deliveries]
        return [t.name for t in topics] + [t.dead_letter for t in topics]

    async def __aenter__(self) -> Stack:
        try:
            await self._start()
        except BaseException:
            await self._cleanup.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._cleanup.aclose()

    async def _start(self) -> None:
        cleanup = self._cleanup
        admin = await asyncpg.connect(self.admin_url)
        await admin.execute(f'CREATE DATABASE "{self.database}"')
        await admin.close()
        cleanup.push_async_callback(self._drop_database)
        kafka_admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await kafka_admin.start()
        try:
            await kafka_admin.create_topics(
                [
                    NewTopic(n, num_partitions=PARTITIONS, replication_factor=1)
                    for n in self.topic_names
                ]
            )
        finally:
            await kafka_admin.close()
        cleanup.push_async_callback(self._delete_topics)

        await migrations.apply_async(self.url, INGESTION.schema, INGESTION.migrations)
        await migrations.apply_async(self.url, NOTIFIER.schema, NOTIFIER.migrations)
        setup = await asyncpg.connect(self.url)
        await setup.execute(CLOSED_TRIGGER)
        await setup.execute(SETTLED_TRIGGER)
        await setup.close()

        port = _free_port()
        controller = Controller(self.smtp, hostname="127.0.0.1", port=port)
        controller.start()
        cleanup.callback(controller.stop)

        database = DatabaseSettings(url=self.url)
        self.ledger_pool = await create_pool(database, INGESTION.schema, max_size=2)
        cleanup.push_async_callback(self.ledger_pool.close)
        self.notifier_pool = await create_pool(database, NOTIFIER.schema, max_size=2)
        cleanup.push_async_callback(self.notifier_pool.close)

        listener = await asyncpg.connect(self.url)
        cleanup.push_async_callback(listener.close)

        def closed(_: object, __: object, ___: object, invoice: object) -> None:
            self.closed_at.setdefault(str(invoice), time.perf_counter())

        def settled(_: object, __: object, ___: object, invoice: object) -> None:
            self.settled_at.setdefault(str(invoice), time.perf_counter())

        await listener.add_listener(CLOSED_CHANNEL, closed)
        await listener.add_listener(SETTLED_CHANNEL, settled)

        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", linger_ms=5, enable_idempotence=True
        )
        await self.producer.start()
        cleanup.push_async_callback(self.producer.stop)

        setup_of = ServiceSetup(self.bootstrap, self.url, self.suffix, self.email_rate, port)
        context = multiprocessing.get_context("spawn")
        cleanup.push_async_callback(self._stop_services)
        for name in ("ingestion", "notifier"):
            process = context.Process(target=serve, args=(name, setup_of), name=f"bench-{name}")
            process.start()
            self.processes[name] = process
            assert process.pid is not None
            self.cpu.services[name] = process.pid

    async def _stop_services(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            await asyncio.to_thread(process.join, 20)
            if process.is_alive():
                process.kill()

    async def _drop_database(self) -> None:
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        finally:
            await admin.close()

    async def _delete_topics(self) -> None:
        kafka_admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await kafka_admin.start()
        try:
            await kafka_admin.delete_topics(self.topic_names)
        finally:
            await kafka_admin.close()

    async def ledger_backlog(self) -> tuple[int, int]:
        """Records on the bench's ledger topic, and how many the notifier has not committed."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            committed = await admin.list_consumer_group_offsets(f"bench-{self.suffix}-notifier")
        finally:
            await admin.close()
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap)
        await consumer.start()
        try:
            partitions = [TopicPartition(self.ledger.name, p) for p in range(PARTITIONS)]
            ends = await consumer.end_offsets(partitions)
        finally:
            await consumer.stop()
        done = {tp: max(0, meta.offset) for tp, meta in committed.items()}
        total = sum(ends.values())
        return total, sum(ends[tp] - done.get(tp, 0) for tp in partitions)

    def check(self) -> None:
        for name, process in self.processes.items():
            if process.exitcode is not None:
                raise RuntimeError(f"the {name} process ended (exit code {process.exitcode})")

    # -- publishing ----------------------------------------------------------------------

    async def publish_erp(self, topic: Topic, event: Event) -> asyncio.Future[Any]:
        """Hand one ERP event to the producer, on the bench's copy of ``topic``; the future
        completes on Kafka's acknowledgement."""
        future: asyncio.Future[Any] = await self.producer.send(
            self.erp[topic.name].name, value=topic.value(event), key=topic.key(event)
        )
        return future

    async def publish_reminder(self, event: dunning.ReminderDue) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = await self.producer.send(
            self.actions.name, value=self.actions.value(event), key=self.actions.key(event)
        )
        return future

    async def customers_ready(self, count: int, invoices: bool, timeout_s: float = 300) -> None:
        """Wait until the notifier knows ``count`` bench customers (and the ledger their
        invoices, if ``invoices``)."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.check()
            known = await self.notifier_pool.fetchval(
                "SELECT count(*) FROM customers WHERE customer_id LIKE 'L%'"
            )
            booked = (
                await self.ledger_pool.fetchval(
                    "SELECT count(*) FROM invoices WHERE customer_id LIKE 'L%'"
                )
                if invoices
                else count
            )
            if known >= count and booked >= count:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"after {timeout_s} s: {known} customers, {booked} invoices")
            await asyncio.sleep(0.2)


def erp_background(stack: Stack, count: int) -> list[tuple[str, bytes, bytes]]:
    """``count`` records of the realistic ERP mix (``bench.ingestion.erp_mix``), serialised
    beforehand for the bench's topics; their customers ("C…") are not the bench's ("L…")."""
    return [
        (stack.erp[topic.name].name, topic.key(event), topic.value(event))
        for topic, event in erp_mix(count, seed=11)
    ]


async def background_erp(
    stack: Stack, records: Sequence[tuple[str, bytes, bytes]], rate: float, stop: asyncio.Event
) -> int:
    """Publish ``records`` at ``rate`` a second until ``stop`` or the end; return how many."""
    if rate <= 0:
        return 0
    tick = 0.05
    per_tick = max(1, round(rate * tick))
    sent = 0
    started = time.perf_counter()
    while not stop.is_set() and sent < len(records):
        futures = [
            await stack.producer.send(name, value=value, key=key)
            for name, key, value in records[sent : sent + per_tick]
        ]
        sent += len(futures)
        await asyncio.gather(*futures)
        ahead = started + sent / rate - time.perf_counter()
        if ahead > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=ahead)
    if sent >= len(records):
        print(f"the background ERP stream ran out after {sent} events", flush=True)
    return sent


def quiet_logs() -> None:
    """Only errors from the services' loggers (a statement's missing ECB rate, say, is
    logged as a warning for every email)."""
    logs.configure("bench", level="ERROR")


def print_figures(figures: dict[str, float]) -> None:
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:>{width}}: {value:,.3f}")


def run_between_host_figures(
    run: Callable[[str, str], Coroutine[Any, Any, dict[str, float]]], pydantic_events: int
) -> dict[str, float]:
    """``run(bootstrap, database_url)`` with the services' logs quiet, between the load
    average before and after and a ``bench.limits`` pydantic figure of the moment; prints
    and returns its figures."""
    quiet_logs()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_BOOTSTRAP)
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    print(f"before: {load_average()}", flush=True)
    reference = pydantic_reference(pydantic_events)
    print(f"bench.limits pydantic_validate, this run: {reference:,.0f} events/s", flush=True)
    figures = asyncio.run(run(bootstrap, database_url))
    print(f" after: {load_average()}")
    print_figures(figures)
    return figures
