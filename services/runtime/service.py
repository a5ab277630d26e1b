"""Running a service: wiring, supervised background tasks, graceful shutdown.

A service declares a :class:`ServiceDefinition`: its name, its PostgreSQL schema and
migrations, the topics it consumes, and a ``build`` function that receives the shared
resources (:class:`ServiceContext`) and returns its parts (:class:`ServiceParts`): the
batch handler, named background loops, and HTTP routes (FastAPI routers). :func:`run` does
the rest, the same way for every service:

start: listen for SIGTERM and SIGINT, migrate, open the pool, try the producer once, start
the outbox relay and the service's loops under supervision, start the HTTP server, connect
the consumer (a supervised task that retries), report ready. A signal during start-up stops
it where it is and closes what was opened.

Kafka is not needed to start or to serve HTTP: when it cannot be reached, the relay leaves
the events in the outbox (PostgreSQL buffers them) and retries with a backoff, the consumer
connects when the broker comes back (aiokafka reconnects by itself afterwards), and
``/readyz`` answers "degraded" with the reason while ``/healthz`` stays ok. A Kafka that
answers but refuses us (a certificate that does not verify, a SASL login refused) is a
configuration error: the service stops and says why.

stop (SIGTERM, SIGINT, or a supervised task failing): report not ready; at once, let the
batch in progress finish and commit (FastStream's graceful timeout, ``drain_timeout_s``)
and stop the loops and the relay (the same time bound); then close the hooks, producer,
pool and HTTP server within :data:`CLOSE_TIMEOUT_S`. The worst case,
:func:`worst_case_stop_s`, must fit in the Deployments' ``terminationGracePeriodSeconds``.
A failed task makes the process exit non-zero so that its supervisor (Kubernetes,
systemd) restarts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import signal
import ssl
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from aiokafka.errors import (
    AuthenticationFailedError,
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)
from fastapi import APIRouter
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.subscriber.usecase import BatchSubscriber
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from contracts.topics import Topic
from services.runtime import gc_tuning, logs, metrics, migrations
from services.runtime.clock import Clock, clock_from_setting
from services.runtime.consumer import BatchProcessor, Handler, record_lag
from services.runtime.database import TRANSIENT_ERRORS, Pool, create_pool
from services.runtime.dead_letter import IncomingRecord
from services.runtime.errors import ConfigurationError, SupervisedTaskFailed, TransientError
from services.runtime.health import HealthState, HttpServer, build_app
from services.runtime.loops import pause
from services.runtime.outbox import KafkaRecordSender, OutboxRelay, kafka_unavailable
from services.runtime.settings import KafkaSettings, ServiceSettings
from services.runtime.time_order import TimeOrder

log = logs.get_logger(__name__)

# After the drain: the consumer's leaving its group and committing, beyond its graceful
# timeout; then closing the service's hook, the producer, the pool and the HTTP server.
CONSUMER_STOP_MARGIN_S = 5.0
CLOSE_TIMEOUT_S = 10.0
KAFKA_RETRY_MAX_S = 30.0  # the longest wait between two attempts to reach Kafka


def worst_case_stop_s(drain_timeout_s: float) -> float:
    """The longest a SIGTERM takes to stop a service (see the module's docstring)."""
    return drain_timeout_s + CONSUMER_STOP_MARGIN_S + CLOSE_TIMEOUT_S


Loop = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


@dataclass
class ServiceContext:
    """The shared resources a service's ``build`` receives."""

    name: str
    settings: ServiceSettings
    pool: Pool
    clock: Clock
    sender: KafkaRecordSender


@dataclass
class ServiceParts:
    handler: Handler | None = None
    loops: Mapping[str, Loop] = field(default_factory=dict)
    routes: Sequence[APIRouter] = ()
    on_stop: Callable[[], Awaitable[None]] | None = None
    # one batch at a time per partition number, across replicas (BatchProcessor)
    partition_locks: bool = False
    # skip redelivered records by the partitions' offsets kept with the state instead of an
    # inbox row per event: only for state that recognises a repeated event itself
    # (BatchProcessor.dedupe_by_offsets)
    dedupe_by_offsets: bool = False
    # a batch's records written to the outbox in chunks (BatchProcessor.outbox_chunks)
    outbox_chunks: bool = False
    # no cyclic collection while a batch is under way (BatchProcessor.gc_paused): for
    # batches whose objects all stay alive until the batch ends
    gc_paused: bool = False


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    schema: str
    migrations: Path | None
    consumes: Sequence[Topic]
    settings_class: type[ServiceSettings]
    build: Callable[[ServiceContext], Awaitable[ServiceParts]]

    @property
    def group_id(self) -> str:
        return f"relance-{self.name}"


class Supervisor:
    """Named background tasks; the first one to fail stops the service."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.stop = asyncio.Event()
        self.failed = asyncio.Event()
        self.failure: BaseException | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, name: str, loop: Loop) -> None:
        task = asyncio.create_task(loop(self.stop), name=f"{self.service}:{name}")
        task.add_done_callback(functools.partial(self._done, name))
        self._tasks[name] = task

    def _done(self, name: str, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if isinstance(exc, ConfigurationError):
            self.fail(exc, name)  # said as it is: the operator has something to fix
        elif exc is not None:
            self.fail(SupervisedTaskFailed(f"task {name!r} failed: {exc!r}"), name)
        elif not self.stop.is_set():
            self.fail(SupervisedTaskFailed(f"task {name!r} returned before stop"), name)

    def fail(self, exc: BaseException, task: str = "consumer") -> None:
        metrics.TASK_FAILURES.labels(self.service, task).inc()
        log.error("task_failed", task=task, error=repr(exc))
        if self.failure is None:
            self.failure = exc
        self.failed.set()

    async def shutdown(self, grace_s: float) -> None:
        self.stop.set()
        tasks = list(self._tasks.values())
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace_s)
        for task in pending:
            log.warning("task_cancelled_on_stop", task=task.get_name())
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def make_broker(settings: KafkaSettings, client_id: str, graceful_timeout: float) -> KafkaBroker:
    security: BaseSecurity | None = None
    ssl_context = settings.ssl_context()
    if settings.sasl_mechanism:
        user = settings.sasl_username or ""
        password = settings.sasl_password.get_secret_value() if settings.sasl_password else ""
        sasl = {
            "PLAIN": SASLPlaintext,
            "SCRAM-SHA-256": SASLScram256,
            "SCRAM-SHA-512": SASLScram512,
        }
        security = sasl[settings.sasl_mechanism](
            user, password, ssl_context=ssl_context, use_ssl=ssl_context is not None
        )
    elif ssl_context is not None:
        security = BaseSecurity(ssl_context=ssl_context, use_ssl=True)
    return KafkaBroker(
        settings.bootstrap_servers,
        client_id=client_id,
        security=security,
        graceful_timeout=graceful_timeout,
        logger=None,
    )


async def start_sender(sender: KafkaRecordSender, settings: KafkaSettings) -> None:
    """Start a producer made without a diagnosis; when Kafka refuses it, say why (TLS,
    SASL) instead of only aiokafka's "Unable to bootstrap"."""
    try:
        await sender.start()
    except KafkaConnectionError as exc:
        await sender.stop()
        raise await kafka_refusal(settings) from exc


async def kafka_refusal(settings: KafkaSettings) -> ConfigurationError | TransientError:
    """Connect to each bootstrap server once to find why the clients could not.

    A certificate that does not verify or a refused SASL login is a configuration error
    (restarting will not help); anything else is transient.
    """
    from aiokafka.conn import create_conn

    options = settings.client_options()
    options.pop("bootstrap_servers")
    reasons: list[str] = []
    for server in settings.bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            connection = await create_conn(host, int(port), request_timeout_ms=10_000, **options)
        except ssl.SSLError as err:
            return ConfigurationError(
                f"Kafka at {server}: TLS handshake failed ({err}); check KAFKA_SSL_CAFILE "
                f"and KAFKA_SECURITY_PROTOCOL={settings.security_protocol}"
            )
        except (
            SaslAuthenticationFailed,
            AuthenticationFailedError,
            UnsupportedSaslMechanismError,
        ) as err:
            return ConfigurationError(
                f"Kafka at {server} refused the SASL login of user "
                f"{settings.sasl_username!r} with {settings.sasl_mechanism} ({err}); check "
                "KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM"
            )
        except (OSError, KafkaError, TimeoutError) as err:
            reasons.append(f"{server}: {err!r}")
        else:
            connection.close()
            reasons.append(f"{server}: connected on a second attempt")
    return TransientError(f"cannot connect to Kafka ({'; '.join(reasons)})")


async def _undecoded(message: Any) -> None:
    """A FastStream decoder that leaves the bodies alone: the handler reads raw records."""
    return None


class _PatientBatchSubscriber(BatchSubscriber):
    """FastStream's batch subscriber without its sleep after an empty poll.

    FastStream asks aiokafka for up to ``batch_timeout_ms`` of records and, when none came,
    sleeps as long again before the next poll. aiokafka's ``getmany`` already waits on a
    future that its background fetcher (a long poll at the broker, ``fetch_max_wait_ms``)
    resolves the moment records arrive: the wait costs no CPU and adds no latency, the
    sleep adds both a delay for the next record and, kept short for the sake of that delay,
    a wake-up every few tens of milliseconds. Without the sleep, a long
    ``batch_timeout_ms`` keeps an idle consumer asleep and a record still starts its batch
    at once.
    """

    __slots__ = ()
    time_order: TimeOrder | None = None  # set per subscriber (services.runtime.time_order)

    async def get_msg(self, consumer: Any) -> tuple[Any, ...]:
        loop = asyncio.get_running_loop()
        began = loop.time()
        order = self.time_order
        partitions = () if order is None else await order.partitions(consumer)
        messages = await consumer.getmany(
            *partitions, timeout_ms=self.batch_timeout_ms, max_records=self.max_records
        )
        if order is not None:
            order.taken(messages)
        if not messages:
            # getmany returns nothing before its timeout only when something is off (the
            # broker away): wait out the rest rather than poll again at once
            rest = self.batch_timeout_ms / 1000 - (loop.time() - began)
            if rest > 0:
                await asyncio.sleep(rest)
        return tuple(itertools.chain.from_iterable(messages.values()))


def _without_idle_sleep(subscriber: Any, time_order: TimeOrder | None = None) -> None:
    if type(subscriber) is not BatchSubscriber:  # a FastStream upgrade changed its classes
        raise TypeError(f"expected FastStream's BatchSubscriber, got {type(subscriber)!r}")
    subscriber.__class__ = _PatientBatchSubscriber
    cast(_PatientBatchSubscriber, subscriber).time_order = time_order


def subscribe(
    broker: KafkaBroker,
    processor: BatchProcessor,
    *,
    group_id: str,
    settings: ServiceSettings,
    on_fatal: Callable[[BaseException], None],
) -> Any:
    """Consume the processor's topics in batches; commit offsets after each transaction."""
    subscriber = broker.subscriber(
        *[topic.name for topic in processor.topics],
        group_id=group_id,
        batch=True,
        max_records=settings.batch_max_records,
        batch_timeout_ms=settings.batch_timeout_ms,
        auto_offset_reset="earliest",
        heartbeat_interval_ms=settings.heartbeat_interval_ms,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        # The processor parses each record with its topic's contract; FastStream's own
        # JSON decoding of every body would be thrown away (it cost ~20 µs per record).
        decoder=_undecoded,
    )
    _without_idle_sleep(
        subscriber,
        TimeOrder(
            settings.time_order_skew_ms,
            settings.time_order_max_hold_s,
            backlog=settings.batch_max_records,
        )
        if settings.time_order
        else None,
    )

    @subscriber
    async def on_batch(message: KafkaMessage) -> None:
        raw = message.raw_message
        records = tuple(IncomingRecord.of(r) for r in (raw if isinstance(raw, tuple) else (raw,)))
        try:
            await processor.process(records)
        except TRANSIENT_ERRORS as exc:
            on_fatal(exc)  # retried for minutes already: let the supervisor restart us
            raise
        except Exception as exc:
            on_fatal(exc)
            raise
        record_lag(processor.service, getattr(message, "consumer", None), records)

    return subscriber


@dataclass
class _Running:
    """What a started service holds, for its stop."""

    state: HealthState
    supervisor: Supervisor
    broker: KafkaBroker | None = None
    closers: list[tuple[str, Callable[[], Awaitable[None]]]] = field(default_factory=list)


async def run(definition: ServiceDefinition, settings: ServiceSettings) -> int:
    """Run a service until SIGTERM/SIGINT or a failure; return the process exit code."""
    logs.configure(definition.name, settings.log_level)
    stop_requested = asyncio.Event()
    event_loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        event_loop.add_signal_handler(sig, stop_requested.set)
    supervisor = Supervisor(definition.name)
    running = _Running(HealthState(definition.name), supervisor)
    try:
        starting = asyncio.ensure_future(_start(definition, settings, running))
        signalled = asyncio.ensure_future(stop_requested.wait())
        await asyncio.wait([starting, signalled], return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            log.info("stopping_during_start")
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
            await _stop(running, settings)
            log.info("stopped", failed=False)
            return 0
        signalled.cancel()
        try:
            starting.result()
        except BaseException:
            await _stop(running, settings)
            raise
        waiters = [
            asyncio.ensure_future(stop_requested.wait()),
            asyncio.ensure_future(supervisor.failed.wait()),
        ]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        running.state.draining = True
        if supervisor.failure is not None:
            running.state.failure = str(supervisor.failure)
        log.info("draining", reason="failure" if supervisor.failure else "signal")
        await _stop(running, settings)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            event_loop.remove_signal_handler(sig)
    log.info("stopped", failed=supervisor.failure is not None)
    if isinstance(supervisor.failure, ConfigurationError):
        raise supervisor.failure
    return 1 if supervisor.failure is not None else 0


async def _start(
    definition: ServiceDefinition, settings: ServiceSettings, running: _Running
) -> None:
    clock = clock_from_setting(settings.clock)
    database_url = settings.database.url.get_secret_value()
    applied = await migrations.apply_async(database_url, definition.schema, definition.migrations)
    log.info("migrated", schema=definition.schema, applied=applied)
    pool = await create_pool(settings.database, definition.schema)
    running.closers.append(("pool", functools.partial(_close_pool, pool)))
    client_id = f"{settings.kafka.client_id_prefix}-{definition.name}"
    sender = KafkaRecordSender(
        settings.kafka.client_options(),
        client_id=client_id,
        diagnose=functools.partial(kafka_refusal, settings.kafka),
    )
    running.closers.append(("producer", sender.stop))
    try:
        await sender.start()
    except TransientError as exc:  # the relay connects it when Kafka is back
        log.warning("kafka_unavailable_at_start", error=str(exc))
    context = ServiceContext(definition.name, settings, pool, clock, sender)
    parts = await definition.build(context)
    if parts.on_stop is not None:
        running.closers.append(("on_stop", parts.on_stop))

    supervisor = running.supervisor
    state = running.state

    async def database_ready() -> str | None:
        return None if await pool.fetchval("SELECT 1") == 1 else "database did not answer"

    state.checks["database"] = database_ready
    broker = make_broker(settings.kafka, client_id, graceful_timeout=settings.drain_timeout_s)
    consumer = KafkaConsumerLink(definition.name, broker, settings.kafka)
    if parts.handler is not None and definition.consumes:
        processor = BatchProcessor(
            service=definition.name,
            topics=definition.consumes,
            handler=parts.handler,
            pool=pool,
            clock=clock,
            dead_letter_max_ratio=settings.dead_letter_max_ratio,
            partition_locks=parts.partition_locks,
            dedupe_by_offsets=parts.dedupe_by_offsets,
            outbox_chunks=parts.outbox_chunks,
            gc_paused=parts.gc_paused,
        )
        subscribe(
            broker,
            processor,
            group_id=settings.consumer_group or definition.group_id,
            settings=settings,
            on_fatal=supervisor.fail,
        )
    relay = OutboxRelay(
        definition.name,
        pool,
        sender,
        batch_size=settings.outbox_batch_size,
        kafka_retry_max_s=KAFKA_RETRY_MAX_S,
    )

    async def connect_producer(stop: asyncio.Event) -> None:
        backoff = 1.0
        while not sender.started and not stop.is_set():
            try:
                await sender.start()
            except TransientError as exc:
                log.warning("kafka_producer_waiting", error=str(exc), retry_in_s=backoff)
                await pause(stop, backoff)
                backoff = min(backoff * 2, KAFKA_RETRY_MAX_S)
        await stop.wait()

    async def kafka_reachable() -> str | None:
        if not sender.started:
            return "producer: not connected yet"
        if consumer.problem is not None:
            return consumer.problem
        if relay.kafka_problem is not None:
            return relay.kafka_problem
        try:
            await asyncio.wait_for(sender.probe(), timeout=1.5)
        except Exception as exc:
            return f"unreachable: {type(exc).__name__}: {exc}"
        return None

    state.degradations["kafka"] = kafka_reachable
    supervisor.start("kafka-producer", connect_producer)
    supervisor.start("outbox-relay", relay.run)
    for name, background in parts.loops.items():
        supervisor.start(name, background)
    http = HttpServer(build_app(state, parts.routes), settings.http_host, settings.http_port)
    await http.start()
    running.closers.append(("http", http.stop))
    if settings.gc_gen0_threshold:
        gc_tuning.tune(settings.gc_gen0_threshold)
    running.broker = broker
    supervisor.start("kafka-consumer", consumer.run)
    state.started = True
    log.info("started", http_port=http.port, consumes=[t.name for t in definition.consumes])


class KafkaConsumerLink:
    """Starts the FastStream broker (its consumer) and keeps trying while Kafka cannot be
    reached, with a backoff doubling up to :data:`KAFKA_RETRY_MAX_S`; a refusal (TLS,
    SASL) fails the task. Once started, aiokafka reconnects on its own after an outage
    and FastStream's fetch loop waits out the errors meanwhile."""

    def __init__(self, service: str, broker: KafkaBroker, settings: KafkaSettings) -> None:
        self.service = service
        self.broker = broker
        self.settings = settings
        self.problem: str | None = "consumer: not connected yet"

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 1.0
        while not stop.is_set():
            try:
                await self.broker.start()
            except Exception as exc:
                if not isinstance(exc, OSError) and not kafka_unavailable(exc):
                    raise
                with contextlib.suppress(Exception):
                    await self.broker.stop()
                refusal = await kafka_refusal(self.settings)
                if isinstance(refusal, ConfigurationError):
                    raise refusal from None
                self.problem = f"consumer: {refusal}"
                metrics.KAFKA_UNAVAILABLE.labels(self.service, "consumer").set(1)
                log.warning("kafka_consumer_waiting", error=str(refusal), retry_in_s=backoff)
                await pause(stop, backoff)
                backoff = min(backoff * 2, KAFKA_RETRY_MAX_S)
                continue
            self.problem = None
            metrics.KAFKA_UNAVAILABLE.labels(self.service, "consumer").set(0)
            log.info("kafka_consumer_started")
            break
        await stop.wait()


async def _stop(running: _Running, settings: ServiceSettings) -> None:
    """Drain the consumer and stop the supervised tasks at once, then close the rest."""
    running.state.draining = True

    async def drain_consumer() -> None:
        if running.broker is None:
            return
        try:
            await asyncio.wait_for(
                running.broker.stop(), timeout=settings.drain_timeout_s + CONSUMER_STOP_MARGIN_S
            )
        except TimeoutError:
            log.error("drain_timeout", seconds=settings.drain_timeout_s)
        except Exception as exc:
            log.warning("consumer_stop_failed", error=repr(exc))

    await asyncio.gather(
        drain_consumer(), running.supervisor.shutdown(grace_s=settings.drain_timeout_s)
    )
    deadline = asyncio.get_running_loop().time() + CLOSE_TIMEOUT_S
    for name, close in reversed(running.closers):
        remaining = max(0.1, deadline - asyncio.get_running_loop().time())
        try:
            await asyncio.wait_for(close(), timeout=remaining)
        except TimeoutError:
            log.error("close_timeout", part=name)
        except Exception as exc:
            log.warning("close_failed", part=name, error=repr(exc))


async def _close_pool(pool: Pool) -> None:
    try:
        await asyncio.wait_for(pool.close(), timeout=5)
    except TimeoutError:
        pool.terminate()
