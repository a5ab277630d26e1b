"""The kit's periodic loop: sleeps between idle steps, runs busy steps back to back,
tolerates only the errors it is told to, stops promptly, and wakes when rung."""

from __future__ import annotations

import asyncio

import pytest

from services.runtime.loops import Step, Wakeup, every, pause


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


async def test_a_ring_ends_every_waiting_loops_sleep() -> None:
    stop = asyncio.Event()
    wake = Wakeup()
    calls = {"a": 0, "b": 0}

    def step_of(name: str) -> Step:
        async def step() -> bool:
            calls[name] += 1
            return False  # idle: sleep 60 s unless rung

        return step

    loops = [asyncio.ensure_future(every(60, step_of(n), wake=wake)(stop)) for n in ("a", "b")]
    await asyncio.sleep(0.05)
    assert calls == {"a": 1, "b": 1}  # both asleep
    wake.ring()
    await asyncio.sleep(0.05)
    assert calls == {"a": 2, "b": 2}  # one ring woke both
    await asyncio.sleep(0.1)
    assert calls == {"a": 2, "b": 2}  # and only once: asleep again
    stop.set()
    await asyncio.wait_for(asyncio.gather(*loops), timeout=5)


async def test_a_ring_during_a_step_skips_the_next_sleep() -> None:
    stop = asyncio.Event()
    wake = Wakeup()
    calls = 0

    async def step() -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            wake.ring()  # work came in while this step looked (it found none)
        if calls == 2:
            stop.set()
        return False

    await asyncio.wait_for(every(60, step, wake=wake)(stop), timeout=5)
    assert calls == 2  # the step ran again at once instead of sleeping 60 s


async def test_a_pause_on_an_event_ends_when_it_is_set_or_at_once_if_set_already() -> None:
    """The outbox relay's wake is an ``asyncio.Event`` its LISTEN sets: the same pause."""
    loop = asyncio.get_running_loop()
    stop, wake = asyncio.Event(), asyncio.Event()
    started = loop.time()
    loop.call_later(0.05, wake.set)
    await pause(stop, 5.0, wake)
    assert loop.time() - started < 1.0
    started = loop.time()
    await pause(stop, 5.0, wake)  # still set: no sleep at all
    assert loop.time() - started < 1.0
    wake.clear()
    started = loop.time()
    await pause(stop, 0.05, wake)  # neither set: the time is up
    assert 0.04 <= loop.time() - started < 1.0
    assert not stop.is_set()
    assert not wake.is_set()
