"""Channel fallback: a reminder the notifier could not deliver goes again on another channel.

The notifier reports ``delivery.failed`` when a channel cannot be used for good (no provider
configured in this environment, no email or phone or postal address for the recipient, a
refusal by the provider, retries exhausted) and ``delivery.bounced`` when the message came
back; a *hard* bounce means the address is wrong. For those, the scheduler sends the same
step again, on the next channel of ``Policy.fallbacks`` (email → postal letter by default,
the domain's "letter when a customer has no email"), for the invoices it still follows and
that are not paused, at the first instant of a business day within the sending window.

A step addressed to a colleague (an internal role: sales, order administration, ...) falls back
only to a channel that reaches colleagues (``INTERNAL_CHANNELS``): never to a letter or a
text, which would reach the customer. With none left, it is undeliverable (logged, counted).

The fallback's reminder id derives from the original one and the channel, and is recorded in
``sent_reminder`` with ``fallback_of``: a redelivered failure sends nothing twice, and a
failure of the fallback falls back again along the chain (which has no loops).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from contracts import notifications
from contracts.dunning import Reminder, ReminderDue
from contracts.topics import DUNNING_ACTIONS
from services.runtime.business_days import send_instant
from services.runtime.consumer import UnitOfWork
from services.runtime.logs import get_logger
from services.scheduler import metrics, queries
from services.scheduler.domain.scenario import INTERNAL_CHANNELS, is_internal
from services.scheduler.domain.state import Customer, Policy
from services.scheduler.outgoing import SOURCE

log = get_logger(__name__)
FALLBACK_NAMESPACE = uuid.UUID("5d2e8f71-0a3b-4c6d-9e1f-7b8a6c5d4e32")


def needs_fallback(event: object) -> notifications.Delivery | None:
    """The delivery that calls for a fallback: failed for good, or bounced hard."""
    match event:
        case notifications.DeliveryFailed(payload=failed):
            return failed
        case notifications.DeliveryBounced(payload=bounce) if bounce.kind == "hard":
            return bounce
    return None


def fallback_channel(policy: Policy, original: Reminder) -> str | None:
    """The channel a reminder goes again on, or None: a colleague's step never leaves the
    channels that reach colleagues."""
    channel = policy.fallbacks.get(original.channel)
    if is_internal(original.recipient_role) and channel not in INTERNAL_CHANNELS:
        return None
    return channel


async def fall_back(
    work: UnitOfWork, policy: Policy, reminder_id: uuid.UUID, now: datetime
) -> Reminder | None:
    """Send a reminder's step again on its fallback channel; the new reminder, if any."""
    connection = work.connection
    row = await connection.fetchrow(queries.SENT_REMINDER, reminder_id)
    if row is None:
        return None  # not a reminder of this scheduler (an owner reminder, a notice)
    original = Reminder.model_validate(row["payload"])
    channel = fallback_channel(policy, original)
    if channel is None:
        metrics.UNDELIVERABLE.labels(SOURCE, original.channel).inc()
        log.warning(
            "reminder_undeliverable",
            reminder_id=str(original.reminder_id),
            channel=original.channel,
        )
        return None
    followed = {
        r["invoice_id"]
        for r in await connection.fetch(
            queries.STILL_FOLLOWED, [i.invoice_id for i in original.invoices]
        )
    }
    invoices = tuple(i for i in original.invoices if i.invoice_id in followed)
    customer_row = await connection.fetchrow(queries.CUSTOMER, original.customer_id)
    if not invoices or customer_row is None:
        return None
    customer = Customer.of(customer_row)
    today = now.astimezone(ZoneInfo(customer.time_zone)).date()
    at = send_instant(
        today,
        country=customer.country,
        time_zone=customer.time_zone,
        window=policy.window,
        not_before=now,
    )
    rid = uuid.uuid5(FALLBACK_NAMESPACE, f"{original.reminder_id}/{channel}")
    reminder = original.model_copy(
        update={"reminder_id": rid, "channel": channel, "scheduled_for": at, "invoices": invoices}
    )
    recorded = await connection.fetchval(
        queries.RECORD_REMINDER,
        rid,
        customer.customer_id,
        reminder.model_dump(mode="json"),
        original.reminder_id,
        now,
    )
    if recorded is None:
        return None  # this failure was handled before
    work.emit(
        DUNNING_ACTIONS,
        ReminderDue(event_id=rid, occurred_at=now, source=SOURCE, payload=reminder),
    )
    metrics.FALLBACKS.labels(SOURCE, original.channel, channel).inc()
    return reminder
