"""The day's sending instants: every customer's window holds one, and there are few."""

from __future__ import annotations

import itertools
from datetime import date, time, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.runtime.business_days import SendingWindow
from simulation.timeline import sending_instants, window_in_utc

ZONES = (
    "Europe/Paris",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)


def test_paris_to_los_angeles_in_january_takes_two_instants() -> None:
    day = date(2026, 1, 5)
    instants = sending_instants(
        day, ["Europe/Paris", "Europe/London", "America/Chicago", "America/Los_Angeles"]
    )
    assert [i.time() for i in instants] == [time(15), time(17)]


def test_after_american_summer_time_starts_one_instant_serves_all() -> None:
    # 2026-03-10: New York and Los Angeles are on summer time, Europe not yet
    instants = sending_instants(date(2026, 3, 10), ["Europe/Paris", "America/Los_Angeles"])
    assert [i.time() for i in instants] == [time(16)]


@given(
    st.sets(st.sampled_from(ZONES), min_size=1),
    st.dates(date(2026, 1, 1), date(2027, 12, 31)),
    st.integers(6, 12),
    st.integers(2, 10),
)
def test_every_window_holds_an_instant(zones: set[str], day: date, opens: int, hours: int) -> None:
    window = SendingWindow(time(opens), time(min(opens + hours, 23)))
    instants = sending_instants(day, zones, window)
    assert instants == sorted(instants)
    assert len(instants) <= len(zones)
    for zone in zones:
        start, end = window_in_utc(day, zone, window)
        assert any(start <= i < end for i in instants), (zone, instants)
    for earlier, later in itertools.pairwise(instants):
        assert later - earlier > timedelta(0)
