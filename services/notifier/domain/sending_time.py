"""When a message may reach a customer: their sending window, business days, minimum gap.

The scheduler plans each step inside the customer's window; the notifier checks again right
before a provider call, whatever path brought the delivery (a restart at night, a resume, a
retry whose backoff lands at night, a fallback). A delivery claimed outside the window waits
for the next window instant; it is neither sent nor failed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from services.runtime.business_days import SendingWindow, send_instant


@dataclass(frozen=True)
class Place:
    """Where a customer is: their country (business days) and time zone (the window)."""

    country: str
    time_zone: str


def next_window_instant(now: datetime, place: Place, window: SendingWindow) -> datetime | None:
    """None when ``now`` is inside the customer's window on a business day, else the next
    instant that is."""
    local_day = now.astimezone(ZoneInfo(place.time_zone)).date()
    instant = send_instant(
        local_day,
        country=place.country,
        time_zone=place.time_zone,
        window=window,
        not_before=now,
    )
    return None if instant <= now else instant


@dataclass(frozen=True)
class Held:
    """A delivery held by a suspension, to release on resume."""

    delivery_id: object
    customer_id: str
    due_at: datetime


def release_schedule(
    held: Iterable[Held],
    now: datetime,
    places: Mapping[str, Place],
    last_contact: Mapping[str, datetime],
    window: SendingWindow,
    min_gap: timedelta,
) -> dict[object, datetime]:
    """When each held delivery may go, released without a burst.

    Each customer's held deliveries go one after the other, in their original order, at least
    ``min_gap`` apart and after the customer's last contact plus the gap, each at the first
    instant in the customer's sending window on a business day.
    """
    by_customer: dict[str, list[Held]] = {}
    for item in held:
        by_customer.setdefault(item.customer_id, []).append(item)
    schedule: dict[object, datetime] = {}
    for customer_id, items in by_customer.items():
        place = places[customer_id]
        previous = last_contact.get(customer_id)
        for item in sorted(items, key=lambda h: (h.due_at, str(h.delivery_id))):
            not_before = max(now, item.due_at)
            if previous is not None:
                not_before = max(not_before, previous + min_gap)
            zone = ZoneInfo(place.time_zone)
            instant = send_instant(
                not_before.astimezone(zone).date(),
                country=place.country,
                time_zone=place.time_zone,
                window=window,
                not_before=not_before,
            )
            schedule[item.delivery_id] = instant
            previous = instant
    return schedule
