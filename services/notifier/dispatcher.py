"""Sending pending deliveries, outside any consumer transaction, and recording the outcome.

``dispatch_concurrency`` lanes side by side (each its own claims, as replicas); a lane
claims and composes ``dispatch_look_ahead`` deliveries ahead while it checks, sends and
records one (steps 2 and 3 are one delivery at a time per lane). Each delivery in three
steps:

1. in a short transaction, claim a due delivery (``FOR UPDATE SKIP LOCKED``, so replicas
   share the work) whose company is not suspended, drop the invoices settled, cancelled,
   disputed, promised, in a plan or held by a collector (until a date not yet passed) since
   the reminder was scheduled (suppressing the delivery if none is left, or if every
   recipient opted out; the recipients who opted out are left out, the others still
   receive it, and the claim records who was left out), push it to the customer's
   next sending-window instant if it is outside the window, else compose the message and
   record it, its hash and its recipients with status ``sending`` and a lease;
2. wait for the channel's rate limit, check again (one statement: suspension, settlement,
   dispute, promise or plan, hold, opt-out, the window, and the claim still ours with enough
   of its lease left) and, if anything changed, hand the delivery back to the claim without
   consuming an attempt; else hand the message to the provider, with no transaction open;
3. in a second transaction, record the outcome (``sent``, a retry with backoff and jitter,
   or ``failed``) and put the delivery event in the outbox.

A crash between the provider accepting (2) and the outcome being recorded (3) leaves the
delivery ``sending``; once its lease expires it is sent again with the same Message-ID.
That window is the one allowed duplicate.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    wait_exponential,
    wait_random,
)

from contracts.dunning import DunnedInvoice, Reminder
from contracts.envelope import Event
from contracts.notifications import (
    DeliveryFailed,
    DeliverySent,
    DeliverySuppressed,
    Failure,
    ProviderDelivery,
    Suppression,
    SuppressionReason,
)
from contracts.topics import NOTIFIER_DELIVERIES, Topic
from services.notifier import queries, reference_rates
from services.notifier.channels.adapter import ChannelAdapter, Outgoing, Receipt
from services.notifier.channels.email.adapter import EmailAdapter
from services.notifier.channels.phone import tasks as call_tasks
from services.notifier.composing.composer import CustomerView, EmailComposer, OpenItem
from services.notifier.composing.workers import ComposingWorkers
from services.notifier.domain.commitments import BrokenCommitment
from services.notifier.domain.handlings import Handlings, handlings_of
from services.notifier.domain.sending_time import Place, next_window_instant
from services.notifier.domain.suppression import SilenceFacts, reachable, silence
from services.notifier.errors import DeliveryError, ListeningLost
from services.notifier.metrics import (
    DELIVERIES,
    FINAL_CHECK_REFUSALS,
    LISTENER_ERRORS,
    WINDOW_WAITS,
)
from services.notifier.rate_limit import RateLimiter
from services.notifier.settings import NotifierSettings
from services.runtime import outbox
from services.runtime.clock import Clock
from services.runtime.database import TRANSIENT_ERRORS, Connection, Pool
from services.runtime.logs import get_logger
from services.runtime.loops import Step, Wakeup, every, pause

if TYPE_CHECKING:
    from services.notifier.previews import Previews

log = get_logger(__name__)
EVENT_NAMESPACE = uuid.UUID("0e3b8f4a-52c1-4a77-b3f4-7c9d1e2a6b58")

# The dispatcher's listening connection (:meth:`Dispatcher.listen`): an attempt to listen
# that fails waits LISTEN_RETRY_INITIAL_S, doubling up to LISTEN_RETRY_MAX_S (each with up to
# LISTEN_RETRY_INITIAL_S of jitter); a session lost after listening LISTEN_STEADY_S or longer
# listens again at once. A listening connection is probed every LISTEN_PROBE_S (its own
# ``listen_probe_s``); a probe, or a close at stop, that takes LISTEN_PROBE_TIMEOUT_S fails.
LISTEN_RETRY_INITIAL_S = 0.2
LISTEN_RETRY_MAX_S = 10.0
LISTEN_STEADY_S = 10.0
LISTEN_PROBE_S = 30.0
LISTEN_PROBE_TIMEOUT_S = 5.0
ListenConnection = Callable[[], Awaitable["asyncpg.Connection[asyncpg.Record]"]]


@dataclass(frozen=True)
class Claimed:
    delivery_id: uuid.UUID
    reminder: Reminder
    attempt: int
    invoice_ids: tuple[str, ...]
    adapter: ChannelAdapter
    outgoing: Outgoing


@dataclass(frozen=True)
class Claim:
    """What one claim did: ``found`` a due delivery or not; ``sending`` holds the message
    to hand to its provider, or ``None`` when the claim's transaction settled the delivery
    itself (suppressed, failed before sending, turned into a call task) or found nothing."""

    found: bool
    sending: Claimed | None = None
    place: Place | None = None


NOTHING_DUE = Claim(found=False)
SETTLED = Claim(found=True)


def retry_delay(attempt: int, base_s: float, max_s: float, rng: random.Random) -> float:
    """Exponential backoff with jitter: between half and all of ``base * 2**(attempt-1)``."""
    ceiling = min(max_s, base_s * 2.0 ** (attempt - 1))
    return float(ceiling * (0.5 + rng.random() / 2))


@dataclass
class Dispatcher:
    pool: Pool
    clock: Clock
    settings: NotifierSettings
    adapters: Mapping[str, ChannelAdapter]
    composer: EmailComposer
    topic: Topic = NOTIFIER_DELIVERIES
    rng: random.Random = field(default_factory=random.Random)
    limiter: RateLimiter | None = None
    previews: Previews | None = None  # an approved proposal is sent as it was previewed
    workers: ComposingWorkers | None = None  # emails composed in worker processes
    # Opens the connection of its own that :meth:`listen` listens on for new deliveries
    # (``services.runtime.database.connect``); None: the lanes only poll.
    listen_connection: ListenConnection | None = None
    listen_probe_s: float = LISTEN_PROBE_S
    # Rung when a consumer commits a reference rate (the NOTIFY of
    # ``reference_rates.RECORD_RATE``), on the same listening connection: the rate book
    # reloads then (``RateBook.run``), not only every ``reference_rates_refresh_s``.
    rates_changed: Wakeup | None = None
    listening_pid: int | None = field(default=None, init=False)  # its backend, while it listens
    # errors of the listening side since it last listened, and when the first of them came
    _listener_errors: int = field(default=0, init=False)
    _listener_away_since: float = field(default=0.0, init=False)

    async def run(self, stop: asyncio.Event) -> None:
        """Dispatch until ``stop``, ``dispatch_concurrency`` lanes side by side, each with
        ``dispatch_look_ahead`` deliveries claimed and composed ahead (see :meth:`lane`);
        each step of a lane sleeps ``dispatch_interval_s`` when nothing is due, or while the
        database is away, or until a new delivery is recorded (:meth:`listen`). A step that
        fails stops the others (and the service)."""
        wake = Wakeup()
        try:
            async with asyncio.TaskGroup() as lanes:
                lanes.create_task(self.listen(wake, stop))
                for lane in range(self.settings.dispatch_concurrency):
                    for ahead, step in enumerate(self.lane()):
                        loop = every(
                            lambda: self.settings.dispatch_interval_s,
                            step,
                            name=f"dispatcher-{lane}-{ahead}",
                            tolerate=TRANSIENT_ERRORS,
                            wake=wake,
                        )
                        lanes.create_task(loop(stop))
        finally:
            if self.workers is not None:
                self.workers.close()

    async def listen(self, wake: Wakeup, stop: asyncio.Event) -> None:
        """Ring ``wake`` whenever a consumer commits a new delivery (the ``NOTIFY`` of
        ``queries.RECORD_DELIVERY``, any replica's), until ``stop``: an idle lane then claims
        it at once rather than up to ``dispatch_interval_s`` later. The lanes' own interval
        still finds everything else (retries, released holds, a delivery recorded while the
        listening connection was away): the listener only makes them sooner.

        So nothing of the listening side may end the dispatcher: any error (the connection
        refused or lost, PostgreSQL restarting, asyncpg's protocol errors, a failing
        callback) is logged and counted, its connection terminated, and the listener listens
        again on a new one after a backoff (:data:`LISTEN_RETRY_INITIAL_S` doubling up to
        :data:`LISTEN_RETRY_MAX_S`; at once when the lost session had listened
        :data:`LISTEN_STEADY_S`), while the lanes poll. Only cancellation goes through.

        The connection is one of its own (``listen_connection``), not the pool's: a
        ``LISTEN`` lives as long as the service, so a pooled one would be taken from the
        lanes, the consumer and HTTP for good, and, when it breaks, handed back to the pool's
        reset (the full reset query of :func:`~services.runtime.database.holds_session_state`)
        in whatever state it broke in. Its own connection is terminated on any error and
        never reused; the pool never sees it."""
        if self.listen_connection is None:
            return
        while not stop.is_set():
            retrying = AsyncRetrying(
                retry=retry_if_exception_type(Exception),
                wait=wait_exponential(multiplier=LISTEN_RETRY_INITIAL_S, max=LISTEN_RETRY_MAX_S)
                + wait_random(0, LISTEN_RETRY_INITIAL_S),
                sleep=functools.partial(pause, stop),
                before_sleep=self._listener_retrying,
            )
            async for attempt in retrying:  # until a session ends by ``stop`` or after long
                with attempt:
                    started = time.monotonic()
                    try:
                        await self._listen_once(wake, stop)
                    except Exception as exc:
                        if time.monotonic() - started < LISTEN_STEADY_S:
                            raise  # again after a backoff that grows while it keeps failing
                        self._listener_error(exc, retry_in_s=0.0)  # listen at once

    async def _listen_once(self, wake: Wakeup, stop: asyncio.Event) -> None:
        """Listen on a new connection until ``stop`` (then close it) or until it fails (then
        terminate it and raise): probed every ``listen_probe_s`` so that a connection broken
        without closing (a half-open socket, a protocol left mid-operation) is found too."""
        if stop.is_set() or self.listen_connection is None:
            return
        lost = Wakeup()  # rung when the connection closes, or a callback failed
        failures: list[Exception] = []
        connection = await self.listen_connection()
        try:
            connection.add_termination_listener(lambda _: lost.ring())
            schema: str = await connection.fetchval("SELECT current_schema()")

            def _channel(prefix: str) -> str:
                # schemas are ASCII identifiers: a character is a byte, as left() counts
                return (prefix + schema)[: queries.CHANNEL_BYTES]

            def _ringing(target: Wakeup) -> Callable[..., None]:
                def _notified(*_: object) -> None:
                    try:
                        target.ring()
                    except Exception as exc:  # asyncpg calls this on its own: nobody sees it
                        failures.append(exc)
                        lost.ring()

                return _notified

            channel = _channel(queries.DELIVERY_CHANNEL_PREFIX)
            await connection.add_listener(channel, _ringing(wake))
            rates = self.rates_changed
            if rates is not None:
                rates_channel = _channel(reference_rates.RATES_CHANNEL_PREFIX)
                await connection.add_listener(rates_channel, _ringing(rates))
            self.listening_pid = connection.get_server_pid()
            if self._listener_errors:  # the end of an outage, as loud as its errors were
                log.warning(
                    "dispatcher_listener_back",
                    channel=channel,
                    backend_pid=self.listening_pid,
                    after_errors=self._listener_errors,
                    away_s=round(time.monotonic() - self._listener_away_since, 3),
                )
                self._listener_errors = 0
            else:
                log.info("dispatcher_listening", channel=channel, backend_pid=self.listening_pid)
            wake.ring()  # what was recorded before the LISTEN is claimed now
            if rates is not None:
                rates.ring()  # and a rate recorded while nobody listened is loaded
            while not stop.is_set():
                await pause(stop, self.listen_probe_s, lost, 0)
                if failures:
                    raise failures[0]
                if lost.rings or connection.is_closed():
                    raise ListeningLost("the listening connection was closed")
                if not stop.is_set():
                    await connection.fetchval("SELECT 1", timeout=LISTEN_PROBE_TIMEOUT_S)
        except BaseException:
            connection.terminate()  # broken, or cancelled mid-operation: never reused
            raise
        else:
            try:
                await connection.close(timeout=LISTEN_PROBE_TIMEOUT_S)
            except Exception:
                connection.terminate()
        finally:
            self.listening_pid = None

    def _listener_error(self, error: BaseException, *, retry_in_s: float, attempt: int = 1) -> None:
        """Log (the error's type and text: no setting, no address beyond what asyncpg says)
        and count an error of the listening side."""
        if not self._listener_errors:
            self._listener_away_since = time.monotonic()
        self._listener_errors += 1
        LISTENER_ERRORS.labels("notifier", type(error).__name__).inc()
        log.warning(
            "dispatcher_listener_failed",
            error_type=type(error).__name__,
            error=repr(error),
            attempt=attempt,
            retry_in_s=round(retry_in_s, 3),
        )

    def _listener_retrying(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        sleep = state.next_action.sleep if state.next_action is not None else 0.0
        if error is not None:
            self._listener_error(error, retry_in_s=sleep, attempt=state.attempt_number)

    async def dispatch_all(self, concurrency: int = 1, look_ahead: int | None = None) -> int:
        """Dispatch until nothing is due, ``concurrency`` lanes side by side, each with
        ``look_ahead`` deliveries composed ahead (``dispatch_look_ahead`` unless given);
        return how many deliveries were handled."""

        async def drain(step: Step) -> int:
            handled = 0
            while await step():
                handled += 1
            return handled

        steps = [step for _ in range(concurrency) for step in self.lane(look_ahead)]
        return sum(await asyncio.gather(*(drain(step) for step in steps)))

    def lane(self, look_ahead: int | None = None) -> list[Step]:
        """One lane: ``look_ahead + 1`` steps that claim and compose side by side (in the
        composing workers), while the lane's final check, provider call and record of the
        outcome run for one delivery at a time, in the order their messages were composed.
        So the next messages are composed while one is sent, and the duplicate window is
        one delivery's, as with no look-ahead; at most ``look_ahead`` deliveries of a lane
        wait, claimed and composed, for their turn.

        Once a claim found nothing due, the lane asks whether anything is due (one statement,
        no transaction) before it claims again: an idle lane costs a round trip per interval
        rather than the claim's three."""
        ahead = self.settings.dispatch_look_ahead if look_ahead is None else look_ahead
        sending = asyncio.Lock()  # FIFO: the turns go in the order the claims were composed
        idle = False  # the lane's last claim found nothing due

        async def step() -> bool:
            nonlocal idle
            if idle and not await self.pool.fetchval(queries.ANY_DUE, self.clock.now()):
                return False  # what the claim would have found, in one round trip
            claim = await self._claim()
            idle = not claim.found
            if claim.sending is None:
                return claim.found
            async with sending:
                await self.deliver(claim)
            return True

        return [step] * (ahead + 1)

    async def deliver(self, claim: Claim) -> None:
        """A claimed and composed delivery's turn: wait for the channel's rate limit, check
        again, hand it to the provider and record the outcome. The connection is taken before
        the final check, so that the record of an accepted message (the duplicate window)
        never waits for the pool, whatever the claims ahead hold."""
        claimed = claim.sending
        assert claimed is not None
        if self.limiter is not None:
            await self.limiter.wait(claimed.reminder.channel)
        async with self.pool.acquire() as connection:
            place = claim.place or self._default_place
            if not await self.final_check(claimed, place, connection=connection):
                return
            try:
                outgoing = replace(claimed.outgoing, attempt=claimed.attempt)
                receipt = await claimed.adapter.send(outgoing)
            except DeliveryError as exc:
                await self._failed(
                    connection,
                    claimed.delivery_id,
                    claimed.reminder,
                    claimed.attempt,
                    exc,
                    claimed.invoice_ids,
                )
            else:
                await self._sent(connection, claimed, receipt)

    @property
    def _default_place(self) -> Place:
        return Place(self.settings.default_country, self.settings.default_time_zone)

    async def final_check(
        self, claimed: Claimed, place: Place, *, connection: Connection | None = None
    ) -> bool:
        """Right before the provider call: may the message still go? If not, the delivery
        goes back to the claim (pending, its attempt taken back), which then drops it with
        its reason, holds it or pushes it to the window, as for any other.

        The claim's lease must also still be this dispatcher's, with at least
        ``sending_lease_margin_s`` left for the send and its record: a delivery claimed ahead
        that waited too long for its turn is not sent on a lease that may end meanwhile
        (another dispatcher may claim it then); it goes back to the claim if it is still
        ours, and is left to whoever claimed it again if not."""
        if connection is None:
            async with self.pool.acquire() as own:
                return await self.final_check(claimed, place, connection=own)
        now = self.clock.now()
        row = await connection.fetchrow(
            queries.FINAL_CHECK,
            claimed.reminder.company_code,
            claimed.reminder.customer_id,
            list(claimed.invoice_ids),
            list(claimed.outgoing.recipients),
            now,
            claimed.delivery_id,
            claimed.attempt,
            now + timedelta(seconds=self.settings.sending_lease_margin_s),
        )
        assert row is not None
        later = next_window_instant(now, place, self.settings.sending_window)
        refused = [name for name, value in row.items() if value]
        if not refused and later is None:
            return True
        async with connection.transaction():
            unclaimed = await connection.fetchval(
                queries.UNCLAIM, claimed.delivery_id, later or now, now, claimed.attempt
            )
            if unclaimed is not None:
                await connection.execute(queries.DROP_ATTEMPT, claimed.delivery_id, claimed.attempt)
        FINAL_CHECK_REFUSALS.labels("notifier", claimed.reminder.channel).inc()
        log.info(
            "delivery_final_check_refused",
            delivery_id=str(claimed.delivery_id),
            causes=refused or ["outside_window"],
            handed_back=unclaimed is not None,
        )
        return False

    async def _claim(self) -> Claim:
        now = self.clock.now()
        async with self.pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(queries.CLAIM_DUE, now)
            if row is None:
                return NOTHING_DUE
            reminder = Reminder.model_validate_json(row["reminder"])
            delivery_id: uuid.UUID = row["delivery_id"]
            attempt = int(row["attempts"]) + 1
            invoice_ids = [i.invoice_id for i in reminder.invoices]
            handled = handlings_of(
                await connection.fetch(queries.SILENCE_FACTS, reminder.customer_id, invoice_ids)
            )
            kept = silence(
                reminder.invoices,
                SilenceFacts(
                    closed=handled.closed,
                    disputed=handled.disputed,
                    whole_account_disputed=handled.whole_account,
                    paused=handled.paused,
                    held=frozenset(row["held"]),
                ),
            )
            remaining_ids = tuple(i.invoice_id for i in kept.remaining)
            if not kept.remaining:
                assert kept.reason is not None
                await self._suppress(connection, delivery_id, reminder, attempt, kept.reason, now)
                return SETTLED
            if reminder.channel == "phone_call":
                # A call task is internal work for a collector, not a contact: it is created
                # at once; the collector calls in office hours (not the sending window).
                await self._call_task(
                    connection, delivery_id, reminder, attempt, kept.remaining, now, handled
                )
                return SETTLED
            adapter = self.adapters.get(reminder.channel)
            try:
                if adapter is None:
                    raise DeliveryError(
                        f"channel {reminder.channel} is not available", retryable=False
                    )
                customer, place, opted_out = await self._customer(
                    connection, reminder.customer_id, handled
                )
                later = next_window_instant(now, place, self.settings.sending_window)
                if later is not None:
                    await connection.execute(queries.PUSH_TO_WINDOW, delivery_id, later, now)
                    WINDOW_WAITS.labels("notifier", reminder.channel).inc()
                    log.info(
                        "delivery_outside_window",
                        delivery_id=str(delivery_id),
                        next_attempt_at=later.isoformat(),
                    )
                    return SETTLED
                if reminder.proposal is not None and self.previews is not None:
                    outgoing = await self.previews.approved_outgoing(
                        connection, reminder, kept.remaining, adapter, customer, now
                    )
                else:
                    outgoing = await self._prepare(adapter, reminder, kept.remaining, customer, now)
            except DeliveryError as exc:
                await self._record_failure(
                    connection, delivery_id, reminder, attempt, exc, remaining_ids, now
                )
                return SETTLED
            left_out: tuple[str, ...] = ()
            if opted_out & set(outgoing.recipients):
                # some recipients opted out: the message again without their addresses
                reach = reachable(customer.contacts, opted_out)
                left_out = tuple(a for a in reach.left_out if a in outgoing.recipients)
                try:
                    outgoing = await self._prepare(
                        adapter,
                        reminder,
                        kept.remaining,
                        replace(customer, contacts=reach.contacts),
                        now,
                    )
                except DeliveryError:  # nobody left in the reminder's role
                    outgoing = replace(outgoing, recipients=())
                if not outgoing.recipients:
                    await self._suppress(
                        connection, delivery_id, reminder, attempt, "opted_out", now
                    )
                    return SETTLED
                log.info(
                    "delivery_recipients_opted_out",
                    delivery_id=str(delivery_id),
                    left_out=len(left_out),
                    recipients=len(outgoing.recipients),
                )
            await connection.execute(
                queries.START_SENDING,
                delivery_id,
                now + timedelta(seconds=self.settings.sending_lease_s),
                list(remaining_ids),
                list(outgoing.recipients),
                outgoing.tracking_id,
                outgoing.content,
                hashlib.sha256(outgoing.content).hexdigest(),
                adapter.provider,
                now,
                list(left_out),
            )
            await connection.execute(queries.START_ATTEMPT, delivery_id, attempt, now)
            return Claim(
                found=True,
                sending=Claimed(delivery_id, reminder, attempt, remaining_ids, adapter, outgoing),
                place=place,
            )

    async def _prepare(
        self,
        adapter: ChannelAdapter,
        reminder: Reminder,
        invoices: tuple[DunnedInvoice, ...],
        customer: CustomerView,
        now: datetime,
    ) -> Outgoing:
        """The adapter's exact content; an email composed by a worker process if there are."""
        if self.workers is not None and isinstance(adapter, EmailAdapter):
            return await adapter.prepare_in(self.workers, reminder, invoices, customer, now)
        return adapter.prepare(reminder, invoices, customer, now)

    async def _suppress(
        self,
        connection: Connection,
        delivery_id: uuid.UUID,
        reminder: Reminder,
        attempt: int,
        reason: SuppressionReason,
        now: datetime,
    ) -> None:
        invoice_ids = [i.invoice_id for i in reminder.invoices]
        await connection.execute(
            queries.MARK_FINAL, delivery_id, "suppressed", reason, invoice_ids, now
        )
        await self._emit(
            connection,
            DeliverySuppressed(
                **self._envelope(delivery_id, "suppressed", attempt, now),
                payload=Suppression(
                    **self._delivery(delivery_id, reminder, tuple(invoice_ids), now),
                    reason=reason,
                ),
            ),
        )
        DELIVERIES.labels("notifier", reminder.channel, "suppressed").inc()
        log.info("delivery_suppressed", delivery_id=str(delivery_id), reason=reason)

    async def _call_task(
        self,
        connection: Connection,
        delivery_id: uuid.UUID,
        reminder: Reminder,
        attempt: int,
        invoices: tuple[DunnedInvoice, ...],
        now: datetime,
        handled: Handlings,
    ) -> None:
        """A phone reminder becomes a call task for a collector, in the claim's transaction."""
        invoice_ids = tuple(i.invoice_id for i in invoices)
        try:
            customer, _, _ = await self._customer(connection, reminder.customer_id, handled)
            script = self.composer.render_reminder(reminder, invoices, customer, now).text
        except DeliveryError as exc:
            await self._record_failure(
                connection, delivery_id, reminder, attempt, exc, invoice_ids, now
            )
            return
        task_id = call_tasks.task_id_of(delivery_id)
        await connection.execute(
            queries.CREATE_CALL_TASK,
            task_id,
            delivery_id,
            reminder.reminder_id,
            reminder.customer_id,
            customer.name,
            list(invoice_ids),
            list(customer.contacts),
            script,
            now,
        )
        await connection.execute(queries.SET_ATTEMPTS, delivery_id, attempt)
        await connection.execute(
            queries.MARK_FINAL, delivery_id, "sent", None, list(invoice_ids), now
        )
        await connection.execute(
            queries.MARK_SENT, delivery_id, "call task created", now, str(task_id)
        )
        await self._emit(
            connection,
            DeliverySent(
                **self._envelope(delivery_id, "sent", attempt, now),
                payload=ProviderDelivery(
                    **self._delivery(delivery_id, reminder, invoice_ids, now),
                    provider=call_tasks.PROVIDER,
                    provider_tracking_id=str(task_id),
                ),
            ),
        )
        DELIVERIES.labels("notifier", reminder.channel, "sent").inc()

    async def customer_view(
        self, connection: Connection, customer_id: str, invoice_ids: list[str]
    ) -> CustomerView:
        """The customer as a message about ``invoice_ids`` would show them now."""
        handled = handlings_of(
            await connection.fetch(queries.SILENCE_FACTS, customer_id, invoice_ids)
        )
        view, _, _ = await self._customer(connection, customer_id, handled)
        return view

    async def _customer(
        self, connection: Connection, customer_id: str, handled: Handlings
    ) -> tuple[CustomerView, Place, frozenset[str]]:
        """The customer's view for composing, where they are, and their opted-out addresses."""
        row = await connection.fetchrow(queries.CUSTOMER, customer_id)
        if row is None:
            raise DeliveryError(f"customer {customer_id} not known yet", retryable=True)
        items = tuple(
            OpenItem(
                r["invoice_id"],
                r["invoice_number"],
                r["due_date"],
                r["currency"].strip(),
                r["amount"],
                r["open_amount"],
                r["open_amount_changes"],
                r["service_code"],
                r["commitment_number"],
                r["late_interest_rate"],
            )
            for r in await connection.fetch(queries.OPEN_ITEMS_OF, customer_id)
        )
        place = (
            Place(row["country"], row["time_zone"])
            if row["country"] and row["time_zone"]
            else self._default_place
        )
        view = CustomerView.of_row(
            row["name"],
            row["language"],
            row["contacts"],
            items,
            handled=handled.marks(i.invoice_id for i in items),
            customer_type=row["customer_type"] or "business",
            broken=tuple(
                BrokenCommitment(
                    r["kind"],
                    r["invoice_id"],
                    r["due_on"],
                    r["amount"],
                    r["currency"],
                    made_on=r["made_on"],
                    instalment_number=r["instalment_number"],
                )
                for r in await connection.fetch(queries.BROKEN_COMMITMENTS_OF, customer_id)
            ),
        )
        return view, place, frozenset(row["opted_out"])

    async def _sent(self, connection: Connection, claimed: Claimed, receipt: Receipt) -> None:
        now = self.clock.now()
        event = DeliverySent(
            **self._envelope(claimed.delivery_id, "sent", claimed.attempt, now),
            payload=ProviderDelivery(
                **self._delivery(claimed.delivery_id, claimed.reminder, claimed.invoice_ids, now),
                provider=claimed.adapter.provider,
                provider_tracking_id=receipt.tracking_id,
            ),
        )
        await connection.execute(  # one statement: the duplicate window's only round trip
            queries.RECORD_SENT,
            claimed.delivery_id,
            receipt.reply,
            now,
            receipt.tracking_id,
            claimed.attempt,
            *outbox.enqueued_row(outbox.OutgoingRecord.of(self.topic, event)),
            outbox.channel_name(""),
        )
        DELIVERIES.labels("notifier", claimed.reminder.channel, "sent").inc()

    async def _failed(
        self,
        connection: Connection,
        delivery_id: uuid.UUID,
        reminder: Reminder,
        attempt: int,
        error: DeliveryError,
        invoice_ids: tuple[str, ...],
    ) -> None:
        now = self.clock.now()
        async with connection.transaction():
            await connection.execute(
                queries.FINISH_ATTEMPT, delivery_id, attempt, now, "failed", error.reason
            )
            await self._record_failure(
                connection, delivery_id, reminder, attempt, error, invoice_ids, now
            )

    async def _record_failure(
        self,
        connection: Connection,
        delivery_id: uuid.UUID,
        reminder: Reminder,
        attempt: int,
        error: DeliveryError,
        invoice_ids: tuple[str, ...],
        now: datetime,
    ) -> None:
        await connection.execute(queries.SET_ATTEMPTS, delivery_id, attempt)
        if error.retryable and attempt < self.settings.max_attempts:
            delay = retry_delay(
                attempt, self.settings.retry_base_s, self.settings.retry_max_s, self.rng
            )
            await connection.execute(
                queries.MARK_RETRY, delivery_id, now + timedelta(seconds=delay), error.reason, now
            )
            DELIVERIES.labels("notifier", reminder.channel, "retried").inc()
            log.warning(
                "delivery_retry", delivery_id=str(delivery_id), attempt=attempt, error=error.reason
            )
            return
        await connection.execute(
            queries.MARK_FINAL, delivery_id, "failed", error.reason, list(invoice_ids), now
        )
        await self._emit(
            connection,
            DeliveryFailed(
                **self._envelope(delivery_id, "failed", attempt, now),
                payload=Failure(
                    **self._delivery(delivery_id, reminder, invoice_ids, now),
                    provider=self._provider(reminder.channel),
                    reason=error.reason[:1000],
                    retryable=False,
                    attempt=attempt,
                ),
            ),
        )
        DELIVERIES.labels("notifier", reminder.channel, "failed").inc()
        log.warning("delivery_failed", delivery_id=str(delivery_id), error=error.reason)

    def _provider(self, channel: str) -> str | None:
        adapter = self.adapters.get(channel)
        return adapter.provider if adapter is not None else None

    # -- events -------------------------------------------------------------------------

    async def _emit(self, connection: Connection, event: Event) -> None:
        await outbox.enqueue(connection, [outbox.OutgoingRecord.of(self.topic, event)])

    @staticmethod
    def _envelope(
        delivery_id: uuid.UUID, outcome: str, attempt: int, now: datetime
    ) -> dict[str, Any]:
        return {
            "event_id": uuid.uuid5(EVENT_NAMESPACE, f"{delivery_id}/{outcome}/{attempt}"),
            "occurred_at": now,
            "source": "notifier",
        }

    @staticmethod
    def _delivery(
        delivery_id: uuid.UUID, reminder: Reminder, invoice_ids: tuple[str, ...], now: datetime
    ) -> dict[str, Any]:
        return {
            "delivery_id": delivery_id,
            "reminder_id": reminder.reminder_id,
            "customer_id": reminder.customer_id,
            "invoice_ids": tuple(invoice_ids),
            "channel": reminder.channel,
            "at": now,
        }
