"""The simulated clock moves only once every service process is bound to see the new instant.

A separate process reads the clock file through ``FileClock`` in a tight asyncio loop, as a
service's handlers and loops do, and reports, for every instant it saw, the first and the
last ``time.monotonic()`` at which it saw it. The controller moves the clock several times:

- with a bare write, the reader still sees the previous instant after the write (the
  FileClock's cache): the race the barrier exists for;
- through :func:`move_clock`, the reader never sees a previous instant once the barrier has
  returned.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.runtime.clock import FILE_CLOCK_REFRESH_S, FileClock
from simulation.clock_barrier import ClockBarrierError, move_clock

pytestmark = pytest.mark.e2e

START = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]

READER = """
import asyncio, json, sys, time
from pathlib import Path
from services.runtime.clock import FileClock

async def main(path: Path, seconds: float) -> None:
    clock = FileClock(path)
    seen: dict[str, list[float]] = {}
    end = time.monotonic() + seconds
    print("ready", flush=True)
    while time.monotonic() < end:
        instant = clock.now().isoformat()
        at = time.monotonic()
        span = seen.setdefault(instant, [at, at])
        span[1] = at
        await asyncio.sleep(0.0005)
    print(json.dumps(seen), flush=True)

asyncio.run(main(Path(sys.argv[1]), float(sys.argv[2])))
"""


async def read_while(
    path: Path, seconds: float, moves: list[datetime], barrier: bool
) -> tuple[dict[str, list[float]], list[tuple[datetime, float]]]:
    """Run the reader for ``seconds`` while moving the clock; what it saw, and when each move
    was done (the barrier's return, or the bare write)."""
    reader = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        READER,
        str(path),
        str(seconds),
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    assert reader.stdout is not None
    assert (await reader.stdout.readline()).strip() == b"ready"
    await asyncio.sleep(0.2)
    done: list[tuple[datetime, float]] = []
    for instant in moves:
        if barrier:
            done.append((instant, await move_clock(path, instant)))
        else:
            FileClock.write(path, instant)
            done.append((instant, time.monotonic()))
        await asyncio.sleep(0.15)
    output, _ = await reader.communicate()
    assert reader.returncode == 0
    return json.loads(output.decode().strip().splitlines()[-1]), done


def stale_after(seen: dict[str, list[float]], done: list[tuple[datetime, float]]) -> list[str]:
    """Reads of an earlier instant after a move was done."""
    stale = []
    for instant, at in done:
        for read, (_, last) in seen.items():
            if datetime.fromisoformat(read) < instant and last > at:
                stale.append(f"{read} read {last - at:.4f} s after the move to {instant}")
    return stale


async def test_after_the_barrier_every_read_returns_the_new_instant(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    FileClock.write(path, START)
    moves = [START + timedelta(hours=h) for h in range(1, 9)]
    began = time.monotonic()
    seen, done = await read_while(path, 2.5, moves, barrier=True)
    assert {datetime.fromisoformat(i) for i in seen} >= set(moves)
    assert not stale_after(seen, done)
    for (_, at), previous in zip(done[1:], done, strict=False):  # the barrier costs the refresh
        assert at - previous[1] >= FILE_CLOCK_REFRESH_S
    assert done[0][1] - began >= FILE_CLOCK_REFRESH_S


async def test_the_barrier_refuses_a_clock_file_written_by_someone_else(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    FileClock.write(path, START)

    async def meddle() -> None:
        await asyncio.sleep(FILE_CLOCK_REFRESH_S / 2)
        FileClock.write(path, START + timedelta(days=3))

    with pytest.raises(ClockBarrierError, match="not 2026-01-05 07:00"):
        await asyncio.gather(move_clock(path, START + timedelta(hours=1)), meddle())
