"""Following letters at their provider: one loop, one ``poll`` function per provider.

Maileva and AR24 are asked, every ``interval_s``, about each letter they have not yet
reported as final. A provider's ``poll`` reads what it says about one letter and records
it through :class:`TrackingRecord`: each proof once as a document of the delivery, each
status once as a report, and a final status as a ``delivery.delivered`` or
``delivery.bounced`` event. Errors are handled the same way for every provider: a letter
the provider cannot tell about now (a :class:`~services.notifier.errors.DeliveryError`)
is logged and polled again next round without holding the others up; a round that cannot
start (the provider or the database unavailable) is logged and tried again after the
interval; anything else is a bug and stops the service.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import aiohttp

from contracts.notifications import Bounce, DeliveryBounced, DeliveryDelivered, ProviderDelivery
from contracts.topics import NOTIFIER_DELIVERIES, Topic
from services.notifier import queries
from services.notifier.errors import DeliveryError
from services.runtime import outbox
from services.runtime.clock import Clock
from services.runtime.database import TRANSIENT_ERRORS, Pool
from services.runtime.logs import get_logger
from services.runtime.loops import every

log = get_logger(__name__)

# A provider or a network that does not answer now: the letter is polled again next round.
PROVIDER_UNAVAILABLE: tuple[type[BaseException], ...] = (
    DeliveryError,
    aiohttp.ClientError,
    OSError,
    TimeoutError,
)


class TrackingRecord:
    """Where a provider's ``poll`` records what it learnt: proofs, statuses, final events."""

    def __init__(
        self, pool: Pool, clock: Clock, *, provider: str, namespace: uuid.UUID, topic: Topic
    ) -> None:
        self.pool = pool
        self.clock = clock
        self.provider = provider
        self.namespace = namespace
        self.topic = topic

    async def document(
        self, row: Mapping[str, Any], kind: str, content: bytes, detail: Mapping[str, Any]
    ) -> int:
        """Store a proof once as a document of the delivery; 1 when it is new."""
        inserted = await self.pool.fetchval(
            queries.RECORD_DOCUMENT,
            row["delivery_id"],
            kind,
            content,
            self.clock.now(),
            dict(detail),
        )
        return 0 if inserted is None else 1

    async def report(
        self,
        row: Mapping[str, Any],
        code: str,
        detail: Mapping[str, Any],
        outcome: str | None,
        *,
        bounce_kind: Literal["hard", "soft"] = "hard",
        bounce_reason: str = "",
    ) -> int:
        """Record a status once (1 when new); an ``outcome`` (delivered, bounced) also
        emits its delivery event in the same transaction."""
        now = self.clock.now()
        async with self.pool.acquire() as connection, connection.transaction():
            inserted = await connection.fetchval(
                queries.RECORD_REPORT, row["delivery_id"], code, now, dict(detail)
            )
            if inserted is None:
                return 0
            if outcome is None:
                return 1
            event = provider_report_event(
                row,
                code=code,
                now=now,
                provider=self.provider,
                namespace=self.namespace,
                outcome=outcome,
                bounce_kind=bounce_kind,
                bounce_reason=bounce_reason,
            )
            await outbox.enqueue(connection, [outbox.OutgoingRecord.of(self.topic, event)])
        return 1


Poll = Callable[[aiohttp.ClientSession, Mapping[str, Any], TrackingRecord], Awaitable[int]]


@dataclass(frozen=True)
class TrackedProvider:
    """What the loop needs of a provider: its name, the statuses after which a letter is no
    longer followed, an HTTP session, and ``poll`` for one letter (how many things were
    new)."""

    name: str
    namespace: uuid.UUID
    final_codes: Sequence[str]
    session: Callable[[], AbstractAsyncContextManager[aiohttp.ClientSession]]
    poll: Poll


class LetterTracker:
    """Polls a provider for the letters it has not yet reported as final."""

    def __init__(
        self,
        pool: Pool,
        clock: Clock,
        provider: TrackedProvider,
        *,
        interval_s: float = 3600.0,
        follow_days: int = 60,
        topic: Topic = NOTIFIER_DELIVERIES,
    ) -> None:
        self.pool = pool
        self.clock = clock
        self.provider = provider
        self.interval_s = interval_s
        self.follow_days = follow_days
        self.topic = topic
        self.record = TrackingRecord(
            pool, clock, provider=provider.name, namespace=provider.namespace, topic=topic
        )
        self.run = every(
            interval_s,
            self._round,
            name=f"{provider.name}-tracking",
            tolerate=(*PROVIDER_UNAVAILABLE, *TRANSIENT_ERRORS),
        )

    async def _round(self) -> None:
        await self.poll_all()

    async def poll_all(self) -> int:
        """Poll every letter still followed; return how many proofs and reports were new.

        A letter the provider cannot tell about now is logged and polled again next round;
        it does not hold the others up.
        """
        since = self.clock.now() - timedelta(days=self.follow_days)
        rows = await self.pool.fetch(
            queries.LETTERS_IN_TRANSIT,
            self.provider.name,
            sorted(self.provider.final_codes),
            since,
        )
        new = 0
        async with self.provider.session() as session:
            for row in rows:
                try:
                    new += await self.provider.poll(session, dict(row), self.record)
                except PROVIDER_UNAVAILABLE as exc:
                    log.warning(
                        "letter_tracking_failed",
                        provider=self.provider.name,
                        delivery_id=str(row["delivery_id"]),
                        error=exc.reason if isinstance(exc, DeliveryError) else repr(exc),
                    )
        return new


def provider_report_event(
    row: Mapping[str, Any],
    *,
    code: str,
    now: datetime,
    provider: str,
    namespace: uuid.UUID,
    outcome: str,
    bounce_kind: Literal["hard", "soft"] = "hard",
    bounce_reason: str = "",
) -> DeliveryDelivered | DeliveryBounced:
    """The delivery event a letter provider's final status gives (Maileva's, AR24's trackers).

    ``row`` is the tracked delivery (its ids, channel and the provider's tracking id); the
    event id is derived from the delivery and the status ``code``, so a status seen twice
    gives the same event.
    """
    common: dict[str, Any] = {
        "delivery_id": row["delivery_id"],
        "reminder_id": row["reminder_id"],
        "customer_id": row["customer_id"],
        "invoice_ids": tuple(row["invoice_ids"]),
        "channel": row["channel"],
        "at": now,
        "provider": provider,
        "provider_tracking_id": row["provider_tracking_id"],
    }
    envelope: dict[str, Any] = {
        "event_id": uuid.uuid5(namespace, f"{row['delivery_id']}/{code}"),
        "occurred_at": now,
        "source": "notifier",
    }
    if outcome == "delivered":
        return DeliveryDelivered(**envelope, payload=ProviderDelivery(**common))
    return DeliveryBounced(
        **envelope, payload=Bounce(**common, kind=bounce_kind, reason=bounce_reason)
    )
