"""Business days and sending windows, in the customer's country and time zone.

Shared by every service that decides when something may reach a customer: the scheduler
plans each step with it, the notifier checks it again right before a provider call.

A step falls on a calendar date (the due date plus its offset). It is sent on the first
business day of the customer's country on or after that date (weekends and public holidays
are skipped, from the maintained ``holidays`` package), inside the customer's sending
window in their own time zone, and never before ``not_before`` (the previous contact plus
the minimum gap).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

from services.runtime.errors import EmptySendingWindow

SATURDAY = 5


@functools.lru_cache(maxsize=4096)
def _public_holidays(country: str, year: int) -> frozenset[date]:
    try:
        found = holidays.country_holidays(country, years=year)
    except NotImplementedError:
        return frozenset()  # a country the package does not know: weekends only
    return frozenset(found.keys())


def is_business_day(day: date, country: str) -> bool:
    return day.weekday() < SATURDAY and day not in _public_holidays(country, day.year)


def next_business_day(day: date, country: str) -> date:
    """``day`` itself when it is a business day, else the first one after it."""
    while not is_business_day(day, country):
        day += timedelta(days=1)
    return day


@dataclass(frozen=True)
class SendingWindow:
    """The local hours in which a customer may be contacted; ``start`` < ``end``."""

    start: time = time(9, 0)
    end: time = time(18, 0)

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise EmptySendingWindow(f"sending window {self.start}-{self.end} is empty")


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone)


@functools.lru_cache(maxsize=65536)
def _first_instant(day: date, country: str, time_zone: str, start: time) -> datetime:
    zone = ZoneInfo(time_zone)
    day = next_business_day(day, country)
    return _local(day, start, zone)


def send_instant(
    day: date,
    *,
    country: str,
    time_zone: str,
    window: SendingWindow,
    not_before: datetime | None = None,
) -> datetime:
    """The first instant, on or after ``day``, on a business day, in the window, >= not_before."""
    first = _first_instant(day, country, time_zone, window.start)  # shared by a day's invoices
    if not_before is None or first >= not_before:
        return first  # the first instant on or after ``day`` already respects not_before
    zone = ZoneInfo(time_zone)
    day = next_business_day(max(day, not_before.astimezone(zone).date()), country)
    while True:
        start = _local(day, window.start, zone)
        end = _local(day, window.end, zone)
        candidate = max(start, not_before)
        if candidate < end:
            return candidate
        day = next_business_day(day + timedelta(days=1), country)
