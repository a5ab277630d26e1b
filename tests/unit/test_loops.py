"""The kit's periodic loop: sleeps between idle steps, runs busy steps back to back,
tolerates only the errors it is told to, and stops promptly."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from services.runtime.clock import SimulatedClock
from services.runtime.loops import Activity, every


async def test_busy_steps_run_back_to_back_and_idle_steps_sleep() -> None:
    calls: list[float] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def step() -> bool:
        calls.append(loop.time())
        if len(calls) == 4:
            stop.set()
        return len(calls) <= 2  # two busy steps, then idle

    started = loop.time()
    await asyncio.wait_for(every(0.2, step)(stop), timeout=5)
    assert len(calls) == 4
    assert calls[2] - calls[0] < 0.1  # the busy steps did not sleep
    assert calls[3] - calls[2] >= 0.19  # the idle one did
    assert loop.time() - started < 2


async def test_stop_interrupts_the_sleep() -> None:
    stop = asyncio.Event()

    async def step() -> None:
        asyncio.get_running_loop().call_later(0.05, stop.set)

    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.wait_for(every(60, step)(stop), timeout=5)
    assert loop.time() - started < 1


async def test_tolerated_errors_are_retried_and_others_propagate() -> None:
    stop = asyncio.Event()
    attempts = 0

    async def flaky() -> None:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise ConnectionError("away")
        stop.set()

    await asyncio.wait_for(every(0.01, flaky, tolerate=(ConnectionError,))(stop), timeout=5)
    assert attempts == 3

    async def broken() -> None:
        raise ValueError("bug")

    with pytest.raises(ValueError, match="bug"):
        await asyncio.wait_for(every(0.01, broken, tolerate=(ConnectionError,))(asyncio.Event()), 5)


async def test_with_activity_an_idle_loop_skips_steps_until_the_clock_moves_or_a_batch_lands() -> (
    None
):
    clock = SimulatedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    activity = Activity(clock, recheck_s=0.5)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    calls: list[float] = []

    async def step() -> bool:
        calls.append(loop.time())
        return False  # never any work

    started = loop.time()
    task = asyncio.create_task(every(0.02, step, activity=activity)(stop))
    await asyncio.sleep(0.3)
    assert len(calls) == 1  # the first step found nothing; nothing moved since
    clock.advance(timedelta(minutes=1))
    await asyncio.sleep(0.05)
    assert len(calls) == 2  # the clock moved: within one interval
    activity.batch_applied()
    await asyncio.sleep(0.05)
    assert len(calls) == 3  # a batch was applied
    await asyncio.sleep(0.6)
    assert len(calls) == 4  # recheck_s after the last step anyway
    stop.set()
    await asyncio.wait_for(task, timeout=1)
    assert calls[0] - started < 0.05


async def test_with_activity_a_step_that_found_work_is_followed_by_another() -> None:
    activity = Activity(SimulatedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)), recheck_s=60)
    stop = asyncio.Event()
    found = [True, True, False]
    calls = 0

    async def step() -> bool:
        nonlocal calls
        calls += 1
        return found.pop(0) if found else False

    task = asyncio.create_task(every(0.01, step, activity=activity)(stop))
    await asyncio.sleep(0.2)
    stop.set()
    await asyncio.wait_for(task, timeout=1)
    assert calls == 3  # two steps with work, the third found none, then none ran
