"""The instants of a simulated day at which the controller lets the services send.

Customers live in several time zones and may only be contacted inside their sending window
(09:00-18:00 local by default, ``services/runtime/business_days.py``). No single UTC instant
is inside every window (18:00 in Paris is 17:00 UTC, 09:00 in Los Angeles is 17:00 UTC),
so the day's sending is played at a few instants: the fewest such that each time zone's
window holds one of them (a greedy pass over the windows by opening time; each instant is
the latest opening of the windows it serves). In January, with customers from Paris to Los
Angeles: 15:00 UTC (16:00 in Paris, 15:00 in London, 10:00 in New York, 09:00 in Chicago)
and 17:00 UTC (09:00 in Los Angeles).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from services.runtime.business_days import SendingWindow


def window_in_utc(day: date, time_zone: str, window: SendingWindow) -> tuple[datetime, datetime]:
    """The sending window of ``day`` in ``time_zone``, as UTC instants [opens, closes)."""
    zone = ZoneInfo(time_zone)
    opens = datetime.combine(day, window.start, tzinfo=zone).astimezone(UTC)
    closes = datetime.combine(day, window.end, tzinfo=zone).astimezone(UTC)
    return opens, closes


def sending_instants(
    day: date, time_zones: Iterable[str], window: SendingWindow | None = None
) -> list[datetime]:
    """The fewest UTC instants of ``day`` such that every zone's window holds one of them."""
    chosen = window or SendingWindow()
    windows = sorted(window_in_utc(day, z, chosen) for z in set(time_zones))
    instants: list[datetime] = []
    opens: datetime | None = None
    closes: datetime | None = None
    for zone_opens, zone_closes in windows:
        if opens is not None and closes is not None and zone_opens < closes:
            opens, closes = max(opens, zone_opens), min(closes, zone_closes)
            continue
        if opens is not None:
            instants.append(opens)
        opens, closes = zone_opens, zone_closes
    if opens is not None:
        instants.append(opens)
    return instants
