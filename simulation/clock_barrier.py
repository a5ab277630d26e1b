"""Moving the simulated clock so that every service process sees the new instant.

Each service reads the clock file through :class:`~services.runtime.clock.FileClock`, which
trusts its last read for :data:`~services.runtime.clock.FILE_CLOCK_REFRESH_S` seconds of
``time.monotonic()``. Writing the file is not enough: for up to that long, a process that
read the file just before the write still answers the old instant, so the day's ERP records
published right after the write could be handled "yesterday evening".

The barrier: write the file atomically, note ``time.monotonic()`` (on Linux one clock for
every process of the machine), and wait until the refresh period plus a margin has passed.
Any ``now()`` of any process after that either read the file after the write or finds its
cached read older than the refresh period and reads the file again: either way it gets the
new instant. The barrier then reads the file once more to confirm that it still holds that
instant (nothing else wrote it meanwhile), and returns.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path

from services.runtime.clock import FILE_CLOCK_REFRESH_S, FileClock

# scheduling slack: the event loop may wake a little before the deadline it was given
MARGIN_S = 0.01


class ClockBarrierError(RuntimeError):
    """The clock file does not hold the instant the controller just wrote."""


async def move_clock(
    path: Path, instant: datetime, refresh_s: float = FILE_CLOCK_REFRESH_S
) -> float:
    """Write ``instant`` and return once every FileClock of ``refresh_s`` must see it.

    Returns the ``time.monotonic()`` from which that holds.
    """
    FileClock.write(path, instant)
    written = time.monotonic()
    settled = written + refresh_s  # every FileClock's cached read is older than this
    await asyncio.sleep(refresh_s + MARGIN_S)
    if (left := settled - time.monotonic()) > 0:  # woken early: not with MARGIN_S, but safe
        await asyncio.sleep(left + MARGIN_S)
    found = FileClock.read(path)
    if found != instant:
        raise ClockBarrierError(f"the clock file {path} holds {found}, not {instant}")
    return settled
