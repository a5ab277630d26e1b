"""The six services as separate processes, and what the run needs around them.

:class:`ServiceProcess` runs ``relance run <service>`` with an environment pointing to the
simulated clock file, the loopback providers and the run's own database, and can stop it
(SIGTERM), kill it (SIGKILL) and start it again on the same HTTP port.

:class:`Quiescence` tells when the system has done everything the current instant asks
for. It is quiet when, twice in a row with nothing published in between:

- every consumer group has committed the end offset of every partition it consumes
  (consumer lag 0, read with Kafka's admin API);
- every service's outbox is empty (nothing left to publish);
- no scheduler timer is due at the simulated instant (``next_action_at <= now``), and no
  timer of the disputes service (owner reminders, promise deadlines, payment plan checks);
- no notifier delivery is due (pending and due, or sending with an expired lease);
  a scheduler timer or a delivery held by a suspension of its company is not due: it
  waits for the resumption;
- no notifier notice is due (owner reminders of disputes, written confirmations of
  promises: pending and due, or sending with an expired lease; a confirmation to a
  customer of a suspended company is held, not due), and every notice the
  notifier has claimed or sent has reached the SMTP stand-in (a notice being sent has a
  lease in the future, so it is not "due", yet it has not arrived: it is waited for). A
  notice cut off by a SIGKILL between its claim and the SMTP server stays claimed until its
  lease expires on a later simulated day; after ``stranded_after_s`` seconds of real time
  without change, such a shortfall no longer holds the day (the notifier's crash window).

A service stopped on purpose for a while (an outage of the system test) is left out: its
consumer groups' lag, its outbox and its timers wait for it to come back (``absent``).

The two observations are compared on the sum of all end offsets, so an event published
between the checks of one observation is caught by the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import OffsetAndMetadata

from contracts.topics import ALL_TOPICS
from services.runtime.service import ServiceDefinition
from simulation.timing import WaitStats

SERVICES = ("ingestion", "scheduler", "notifier", "disputes", "reporting", "portal")
# Settings of the kit that several services read alike: the customers' links, minted by the
# notifier and checked by the portal with the same keys, and who may call the services' APIs.
SHARED_PREFIXES = ("RELANCE_LINKS_", "RELANCE_AUTH_")

# The timers of the disputes service, as the columns of its schema that hold them.
DISPUTE_TIMERS = (
    ("dispute", "status = 'open' AND next_reminder_at <= $1"),
    ("promise", "status = 'open' AND deadline_at <= $1"),
    ("payment_plan", "status = 'active' AND next_check_at <= $1"),
)


def definition(service: str) -> ServiceDefinition:
    import importlib

    found: ServiceDefinition = importlib.import_module(f"services.{service}.app").DEFINITION
    return found


def with_database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


async def fresh_database(admin_url: str, name: str) -> str:
    """Drop and create database ``name`` on the server of ``admin_url``; return its URL."""
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return with_database(admin_url, name)


async def fresh_topics(bootstrap: str) -> None:
    """Delete Relance's topics and consumer groups if present, then create them again."""
    from services.runtime.topic_admin import create_topics

    names = {t.name for t in ALL_TOPICS} | {t.dead_letter for t in ALL_TOPICS}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        present = [n for n in await admin.list_topics() if n in names]
        if present:
            await admin.delete_topics(present)
            deadline = time.monotonic() + 60
            while set(await admin.list_topics()) & set(present):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"topics not deleted after 60 s: {present}")
                await asyncio.sleep(0.5)
        groups = [
            g[0] for g in await admin.list_consumer_groups() if str(g[0]).startswith("relance-")
        ]
        if groups:
            with contextlib.suppress(Exception):
                await admin.delete_consumer_groups(groups)
    finally:
        await admin.close()
    for attempt in range(20):
        try:
            await create_topics({"bootstrap_servers": bootstrap})
            return
        except Exception:  # a deletion still in progress on the broker
            if attempt == 19:
                raise
            await asyncio.sleep(1)


@dataclass
class ServiceProcess:
    name: str  # the service, or the service and a replica number (notifier-2)
    service: str
    environment: Mapping[str, str]
    log_path: Path
    port: int
    process: asyncio.subprocess.Process | None = None
    starts: int = 0
    kills: int = 0

    async def start(self) -> None:
        executable = Path(sys.executable).with_name("relance")
        command = [str(executable)] if executable.exists() else [sys.executable, "-m", "relance"]
        log = open(self.log_path, "ab")  # noqa: SIM115, ASYNC230 (the child writes to it)
        try:
            self.process = await asyncio.create_subprocess_exec(
                *command,
                "run",
                self.service,
                stdout=log,
                stderr=log,
                stdin=asyncio.subprocess.DEVNULL,
                env=dict(self.environment),
                start_new_session=True,
            )
        finally:
            log.close()
        self.starts += 1

    async def ready(self, timeout_s: float = 90.0) -> None:
        import aiohttp

        deadline = time.monotonic() + timeout_s
        async with aiohttp.ClientSession() as http:
            while True:
                if self.process is not None and self.process.returncode is not None:
                    raise RuntimeError(
                        f"{self.name} exited with {self.process.returncode}; see {self.log_path}"
                    )
                with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                    async with http.get(
                        f"http://127.0.0.1:{self.port}/readyz",
                        timeout=aiohttp.ClientTimeout(total=2),
                    ) as reply:
                        if reply.status == 200:
                            return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} not ready after {timeout_s} s")
                await asyncio.sleep(0.2)

    async def restart(self, attempts: int = 10) -> None:
        """Start again until ready: a process may exit while a server it needs restarts."""
        for attempt in range(attempts):
            if not self.alive:
                await self.start()
            try:
                await self.ready()
                return
            except RuntimeError:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(1)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def kill(self) -> None:
        """SIGKILL: no drain, no goodbye."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()
            self.kills += 1

    async def stop(self, timeout_s: float = 30.0) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), timeout_s)
        except TimeoutError:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()


def service_environment(
    service: str,
    *,
    base: Mapping[str, str],
    bootstrap: str,
    database_url: str,
    clock_file: Path,
    port: int,
    extra: Mapping[str, str],
) -> dict[str, str]:
    prefix = f"RELANCE_{service.upper()}_"
    env = {k: v for k, v in base.items() if not k.startswith("RELANCE_")}
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "DATABASE_URL": database_url,
            "DATABASE_POOL_MAX_SIZE": "5",
            f"{prefix}CLOCK": f"file:{clock_file}",
            f"{prefix}HTTP_PORT": str(port),
            f"{prefix}LOG_LEVEL": os.environ.get("RELANCE_SIMULATION_LOG_LEVEL", "WARNING"),
            f"{prefix}DRAIN_TIMEOUT_S": "10",
        }
    )
    env.update(
        {
            k: v
            for k, v in extra.items()
            if k.startswith((prefix, *SHARED_PREFIXES)) or not k.startswith("RELANCE_")
        }
    )
    return env


@dataclass
class Observation:
    lag: dict[str, int]
    outbox: dict[str, int]
    timers_due: int
    deliveries_due: int
    end_offsets: int
    notices_due: int = 0
    notices_unreceived: int = 0  # claimed or sent by the notifier, not at the SMTP server
    # claimed by a dispatcher whose lease runs: being composed and sent right now (a clock
    # advanced meanwhile would make the provider receive it later than it was checked)
    deliveries_in_flight: int = 0

    @property
    def busy(self) -> bool:
        """Work the database shows (Kafka's lag apart)."""
        return bool(
            any(self.outbox.values())
            or self.timers_due
            or self.deliveries_due
            or self.notices_due
            or self.notices_unreceived
            or self.deliveries_in_flight
        )

    @property
    def quiet(self) -> bool:
        return not any(self.lag.values()) and not self.busy

    def describe(self) -> str:
        return (
            f"lag={ {k: v for k, v in self.lag.items() if v} } "
            f"outbox={ {k: v for k, v in self.outbox.items() if v} } "
            f"timers_due={self.timers_due} deliveries_due={self.deliveries_due} "
            f"notices_due={self.notices_due} notices_unreceived={self.notices_unreceived} "
            f"deliveries_in_flight={self.deliveries_in_flight}"
        )


def notices_unreceived(claimed_or_sent: int, received: int) -> int:
    """Notices the notifier claimed or sent that the SMTP server has not received."""
    return max(0, claimed_or_sent - received)


@dataclass
class Quiescence:
    bootstrap: str
    database_url: str
    services: tuple[str, ...] = SERVICES
    # between two observations while there is work left: from poll_first_s, growing by
    # half at each busy one up to poll_s (a short wait is seen soon, a long one asks less)
    poll_first_s: float = 0.01
    poll_s: float = 0.1
    confirm_s: float = 0.0  # between a first quiet observation and the confirming one
    # the distinct notices the SMTP stand-in received (None: notices are not waited for)
    notices_received: Callable[[], int] | None = None
    stranded_after_s: float = 10.0
    # services stopped on purpose (an outage): their lag and timers are not waited for
    absent: set[str] = field(default_factory=set)
    _admin: AIOKafkaAdminClient | None = None
    _consumer: AIOKafkaConsumer | None = None
    _pool: asyncpg.Pool | None = None
    _groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _query: str | None = None
    _claimed_query: str | None = None  # the notices claimed or sent (None: no such table)
    _schemas: dict[str, str] = field(default_factory=dict)
    _coordinators: dict[str, int] = field(default_factory=dict)
    _group_service: dict[str, str] = field(default_factory=dict)
    _shortfall: tuple[int, float] | None = None  # (notices unreceived, since when)
    _in_flight: tuple[int, float] | None = None  # (deliveries in flight, since when)
    stats: WaitStats = field(default_factory=WaitStats)

    async def start(self) -> None:
        for service in self.services:
            found = definition(service)
            self._schemas[service] = found.schema
            if found.consumes:
                self._groups[found.group_id] = tuple(t.name for t in found.consumes)
                self._group_service[found.group_id] = service
        await self._connect_kafka()
        self._pool = await asyncpg.create_pool(self.database_url, min_size=1, max_size=2)

    async def _connect_kafka(self) -> None:
        self._admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await self._admin.start()
        self._consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None)
        await self._consumer.start()

    async def reconnect(self) -> None:
        """After a broker or database restart: drop the clients and open new ones."""
        await self.close()
        await self._connect_kafka()
        self._pool = await asyncpg.create_pool(self.database_url, min_size=1, max_size=2)

    async def close(self) -> None:
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.stop()
        if self._admin is not None:
            with contextlib.suppress(Exception):
                await self._admin.close()
        if self._pool is not None:
            with contextlib.suppress(Exception):
                await self._pool.close()
        self._consumer = self._admin = self._pool = None
        self._coordinators.clear()

    async def observe(self, now: datetime) -> Observation:
        """What is left to do at ``now``: PostgreSQL's counts first, Kafka's only when none.

        While the services are busy the database already says so, and the observation stops
        there: asking Kafka for every group's offsets twenty times a second was most of the
        demo controller's own work outside its SMTP stand-in, and load on the broker.
        """
        assert self._admin is not None
        assert self._consumer is not None
        assert self._pool is not None
        if self._query is None:
            self._query = await self._build_query()
        row = await self._pool.fetchrow(self._query, now)
        assert row is not None
        outbox = {
            k.removeprefix("outbox_"): int(v)
            for k, v in row.items()
            if k.startswith("outbox_") and k.removeprefix("outbox_") not in self.absent
        }
        timers = int(row["timers_disputes"])
        if "scheduler" not in self.absent:
            timers += int(row["timers_scheduler"])
        deliveries = int(row["deliveries"])
        notices_due, unreceived = int(row["notices_due"]), 0
        in_flight = self._stranded_in_flight(int(row["deliveries_in_flight"]))
        database = Observation({}, outbox, timers, deliveries, -1, notices_due, 0, in_flight)
        if database.busy:
            return database
        if self.notices_received is not None and self._claimed_query is not None:
            # counted only now: it reads every notice sent so far (no index says "sent"),
            # the costliest count of all, and a busy database has already answered
            claimed = int(await self._pool.fetchval(self._claimed_query))
            unreceived = self._unreceived(claimed, self.notices_received())
            if unreceived:
                database.notices_unreceived = unreceived
                return database
        partitions: dict[str, list[TopicPartition]] = {}
        for topics in self._groups.values():
            for topic in topics:
                if topic not in partitions:
                    found = self._consumer.partitions_for_topic(topic)
                    if not found:
                        await self._consumer._client.force_metadata_update()
                        found = self._consumer.partitions_for_topic(topic) or set()
                    partitions[topic] = [TopicPartition(topic, p) for p in sorted(found)]
        every = [tp for tps in partitions.values() for tp in tps]
        ends: dict[TopicPartition, int] = await self._consumer.end_offsets(every)
        groups = [g for g in self._groups if self._group_service.get(g) not in self.absent]
        offsets = await asyncio.gather(*(self._group_offsets(g) for g in groups))
        lag: dict[str, int] = {}
        for group, committed in zip(groups, offsets, strict=True):
            behind = 0
            for topic in self._groups[group]:
                for tp in partitions[topic]:
                    done = committed.get(tp)
                    behind += max(0, ends.get(tp, 0) - (done.offset if done else 0))
            lag[group] = behind
        return Observation(
            lag, outbox, timers, deliveries, sum(ends.values()), notices_due, unreceived, in_flight
        )

    def _stranded_in_flight(self, count: int) -> int:
        """Deliveries a dispatcher holds under a running lease, less any stranded by a crash
        (their lease only ends on the simulated clock, which waits for quiet)."""
        if not count:
            self._in_flight = None
            return 0
        now = time.monotonic()
        if self._in_flight is None or self._in_flight[0] != count:
            self._in_flight = (count, now)
            return count
        return 0 if now - self._in_flight[1] > self.stranded_after_s else count

    def _unreceived(self, claimed: int, received: int) -> int:
        """The notices still on their way to the SMTP server, less any stranded by a crash."""
        short = notices_unreceived(claimed, received)
        if not short:
            self._shortfall = None
            return 0
        now = time.monotonic()
        if self._shortfall is None or self._shortfall[0] != short:
            self._shortfall = (short, now)
            return short
        return 0 if now - self._shortfall[1] > self.stranded_after_s else short

    async def _group_offsets(self, group: str) -> dict[TopicPartition, OffsetAndMetadata]:
        """The group's committed offsets, from its coordinator (looked up once, not per call)."""
        assert self._admin is not None
        coordinator = self._coordinators.get(group)
        if coordinator is None:
            coordinator = self._coordinators[group] = await self._admin.find_coordinator(group)
        try:
            offsets: dict[
                TopicPartition, OffsetAndMetadata
            ] = await self._admin.list_consumer_group_offsets(group, coordinator)
        except Exception:
            self._coordinators.pop(group, None)  # moved, or the broker restarted: ask again
            raise
        return offsets

    async def _build_query(self) -> str:
        """One statement for every count, over the tables that exist (after migrations)."""
        assert self._pool is not None
        async with self._pool.acquire() as connection:

            async def exists(name: str) -> bool:
                return bool(await connection.fetchval("SELECT to_regclass($1)", name))

            columns = []
            for service, schema in self._schemas.items():
                if await exists(f"{schema}.outbox"):
                    columns.append(f"(SELECT count(*) FROM {schema}.outbox) AS outbox_{service}")
            scheduler_timers = "0"
            if await exists("scheduler.dunning_invoice"):
                held = ""
                if await exists("scheduler.sending_suspension"):
                    # a suspended company's timers wait for the resumption: not due now
                    held = (
                        " AND NOT EXISTS (SELECT 1 FROM scheduler.customer c "
                        "JOIN scheduler.sending_suspension s ON s.resumed_at IS NULL "
                        "AND (s.company_code IS NULL OR s.company_code = c.company_code) "
                        "WHERE c.customer_id = d.customer_id)"
                    )
                scheduler_timers = (
                    "(SELECT count(*) FROM scheduler.dunning_invoice d "
                    f"WHERE next_action_at IS NOT NULL AND next_action_at <= $1{held})"
                )
            timers = ["0"]
            for table, condition in DISPUTE_TIMERS:
                if not await exists(f"disputes.{table}"):
                    continue
                part = f"(SELECT count(*) FROM disputes.{table} WHERE {condition})"
                try:  # another version of the schema: its timers are not waited for
                    await connection.fetchval(f"SELECT {part}", datetime.now(UTC))
                except asyncpg.PostgresError:
                    continue
                timers.append(part)
            deliveries = in_flight = "0"
            if await exists("notifier.deliveries"):
                in_flight = (
                    "(SELECT count(*) FROM notifier.deliveries "
                    "WHERE status = 'sending' AND lease_until > $1)"
                )
                held = ""
                if await exists("notifier.suspensions"):
                    # held while the company's sending is suspended: not due now
                    held = (
                        " AND NOT EXISTS (SELECT 1 FROM notifier.suspensions s "
                        "WHERE s.lifted_at IS NULL "
                        "AND (s.company_code IS NULL OR s.company_code = d.company_code))"
                    )
                deliveries = (
                    "(SELECT count(*) FROM notifier.deliveries d WHERE "
                    "((status = 'pending' AND next_attempt_at <= $1) "
                    f"OR (status = 'sending' AND lease_until <= $1)){held})"
                )
            notices_due = "0"
            self._claimed_query = None
            if await exists("notifier.notices"):
                held = ""
                if await exists("notifier.suspensions"):
                    # a notice to a customer of a suspended company (a promise's written
                    # confirmation) is held like a delivery; an owner's email is not
                    held = (
                        " AND (n.kind IN ('owner_reminder', 'owner_assignment') OR NOT EXISTS ("
                        "SELECT 1 FROM notifier.customers c "
                        "JOIN notifier.suspensions s ON s.lifted_at IS NULL "
                        "AND (s.company_code IS NULL OR s.company_code = c.company_code) "
                        "WHERE c.customer_id = n.customer_id))"
                    )
                notices_due = (
                    "(SELECT count(*) FROM notifier.notices n "
                    f"WHERE status IN ('pending', 'sending') AND next_attempt_at <= $1{held})"
                )
                self._claimed_query = (
                    "SELECT count(*) FROM notifier.notices WHERE status IN ('sending', 'sent')"
                )
        columns += [
            f"{scheduler_timers} AS timers_scheduler",
            f"{' + '.join(timers)} AS timers_disputes",
            f"{deliveries} AS deliveries",
            f"{in_flight} AS deliveries_in_flight",
            f"{notices_due} AS notices_due",
        ]
        return "SELECT " + ", ".join(columns) + ", $1::timestamptz AS at"

    async def wait(
        self,
        now: datetime,
        timeout_s: float = 300.0,
        tend: Callable[[], Awaitable[None]] | None = None,
    ) -> Observation:
        """Wait until two quiet observations in a row see the same end offsets.

        ``tend`` runs before each observation (the controller restarts a service that
        exited on its own there, as Kubernetes or systemd would).
        """
        stats = self.stats
        stats.waits += 1
        began = time.monotonic()
        deadline = began + timeout_s
        previous: Observation | None = None
        last: Observation | None = None
        first_quiet: float | None = None  # when the current streak of quiet ones began
        poll = self.poll_first_s
        try:
            while True:
                if tend is not None:
                    await tend()
                asked = time.monotonic()
                try:
                    last = await self.observe(now)
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, Exception) as exc:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"not quiescent after {timeout_s} s: {exc!r}") from exc
                    await asyncio.sleep(0.5)
                    continue
                finally:
                    stats.observations += 1
                    stats.observing_s += time.monotonic() - asked
                if not last.quiet:
                    previous = first_quiet = None
                elif previous is not None and previous.end_offsets == last.end_offsets:
                    assert first_quiet is not None
                    stats.confirming_s += time.monotonic() - first_quiet
                    return last
                else:
                    previous = last
                    first_quiet = first_quiet or asked
                if time.monotonic() > deadline:
                    raise RuntimeError(f"not quiescent after {timeout_s} s: {last.describe()}")
                # Quiet once: confirm at once. Nothing that is still to be done can hide
                # from an observation (an event consumed and not yet committed is lag, one
                # being relayed is still in its outbox, a due timer or delivery is counted
                # until the transaction that handles it commits), so the second one only has
                # to start after the first ended, to catch what happened during the first.
                if first_quiet == asked:
                    pause = self.confirm_s
                else:
                    pause, poll = poll, min(self.poll_s, poll * 1.5)
                slept = time.monotonic()
                await asyncio.sleep(pause)
                stats.sleeping_s += time.monotonic() - slept
        finally:
            stats.total_s += time.monotonic() - began


async def partitions_of(consumer: AIOKafkaConsumer, name: str) -> list[TopicPartition]:
    """The partitions of a topic, waiting for metadata that names it (a fresh client)."""
    deadline = time.monotonic() + 15
    while True:
        await consumer._client.force_metadata_update()
        found = consumer.partitions_for_topic(name)
        if found or time.monotonic() > deadline:
            return [TopicPartition(name, p) for p in sorted(found or ())]
        await asyncio.sleep(0.2)


async def topic_counts(bootstrap: str, names: list[str]) -> dict[str, int]:
    """How many records each topic holds (end minus beginning offsets)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        counts: dict[str, int] = {}
        for name in names:
            tps = await partitions_of(consumer, name)
            if not tps:
                counts[name] = 0
                continue
            ends = await consumer.end_offsets(tps)
            starts = await consumer.beginning_offsets(tps)
            counts[name] = sum(ends[tp] - starts[tp] for tp in tps)
        return counts
    finally:
        await consumer.stop()


async def read_topic(bootstrap: str, name: str) -> list[Any]:
    """Every record of a topic, from the beginning to the current end."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        tps = await partitions_of(consumer, name)
        if not tps:
            raise RuntimeError(f"topic {name} not found on the broker")
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        starts = await consumer.beginning_offsets(tps)
        for tp in tps:
            consumer.seek(tp, starts[tp])
        records: list[Any] = []
        remaining = {tp for tp in tps if ends[tp] > starts[tp]}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000, max_records=5000)
            for tp, found in batch.items():
                records.extend(found)
                if found and found[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        return records
    finally:
        await consumer.stop()
