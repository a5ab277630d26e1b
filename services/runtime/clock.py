"""The one clock every service reads time from.

Production uses :class:`SystemClock`. Tests use :class:`SimulatedClock`, advanced by hand.
The demo runs the services as separate processes on one simulated timeline: a controller
writes the current instant in a file and each service reads it through :class:`FileClock`,
so 120 days of dunning replay in minutes.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from services.runtime.errors import ConfigurationError


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


def today_in(clock: Clock, time_zone: str) -> date:
    """The calendar date at ``time_zone`` at the clock's current instant."""
    return clock.now().astimezone(ZoneInfo(time_zone)).date()


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a simulated clock starts at a timezone-aware instant")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("time does not go backwards")
        self._now += delta
        return self._now

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("a simulated instant must be timezone-aware")
        if instant < self._now:
            raise ValueError("time does not go backwards")
        self._now = instant.astimezone(UTC)


# How long a FileClock trusts its last read of the file, in seconds of the event loop's time
# (``time.monotonic()``, one clock for every process of the machine). A controller that
# writes a new instant and then waits this long (simulation/clock_barrier.py) knows that
# every later ``now()`` of every process returns the new instant.
FILE_CLOCK_REFRESH_S = 0.05


class FileClock:
    """A simulated clock shared between processes through a file holding an ISO instant.

    Reads are cached for ``refresh_s`` seconds of real time; the instant never goes back.
    """

    def __init__(self, path: Path, refresh_s: float = FILE_CLOCK_REFRESH_S) -> None:
        self._path = path
        self._refresh_s = refresh_s
        self._cached: datetime | None = None
        self._read_at = 0.0

    def now(self) -> datetime:
        loop_time = _monotonic()
        if self._cached is None or loop_time - self._read_at >= self._refresh_s:
            instant = self.read(self._path)
            if self._cached is None or instant > self._cached:
                self._cached = instant
            self._read_at = loop_time
        assert self._cached is not None
        return self._cached

    @staticmethod
    def read(path: Path) -> datetime:
        try:
            instant = datetime.fromisoformat(path.read_text().strip())
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read the simulated clock in {path}: {exc}") from exc
        if instant.tzinfo is None:
            raise ConfigurationError(f"the simulated clock in {path} is not timezone-aware")
        return instant.astimezone(UTC)

    @staticmethod
    def write(path: Path, instant: datetime) -> None:
        """Set the shared instant atomically (write then rename)."""
        if instant.tzinfo is None:
            raise ValueError("a simulated instant must be timezone-aware")
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(instant.astimezone(UTC).isoformat())
        tmp.replace(path)


def _monotonic() -> float:
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        import time

        return time.monotonic()


def clock_from_setting(value: str) -> Clock:
    """``system`` or ``file:<path>``."""
    if value == "system":
        return SystemClock()
    if value.startswith("file:"):
        path = Path(value.removeprefix("file:"))
        FileClock.read(path)  # fail at start, not at the first tick
        return FileClock(path)
    raise ConfigurationError(f"unknown clock {value!r}: use 'system' or 'file:<path>'")
