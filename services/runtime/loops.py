"""Periodic jobs run under the service's supervisor.

``every(interval_s, step)`` turns a step into a supervised loop: run the step, then sleep
``interval_s`` or until the service stops, whichever comes first. A step that returns
``True`` found work and may find more: it runs again at once, without sleeping (a
dispatcher draining a backlog). Errors listed in ``tolerate`` (for instance the
database's transient errors) are logged and the loop sleeps before trying again;
anything else propagates, and the supervisor stops the service.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from services.runtime import logs

log = logs.get_logger(__name__)

Loop = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
Step = Callable[[], Awaitable[bool | None]]


async def pause(
    stop: asyncio.Event,
    seconds: float,
    wake: Wakeup | asyncio.Event | None = None,
    since: int = 0,
) -> None:
    """Sleep ``seconds``, or less if ``stop`` is set meanwhile, or ``wake`` rung (a
    :class:`Wakeup`: not at all when it was rung since its count ``since``) or set (an
    ``asyncio.Event``: not at all when it is set already)."""
    if wake is None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)
        return
    if isinstance(wake, Wakeup) and wake.rings != since:
        return
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()


class Wakeup:
    """Ends the pauses of every loop waiting on it (:func:`every`'s ``wake``): work came in
    before their interval is up. ``rings`` counts the rings, so that a loop whose step was
    running when one came does not pause at all. (An asyncio.Event stays set until cleared,
    and one loop clearing it would take the ring from the others: each ring sets the event
    the waiters of that moment hold, and the next waiters get a new one.)"""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.rings = 0

    def ring(self) -> None:
        self.rings += 1
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self) -> None:
        await self._event.wait()


def every(
    interval_s: float | Callable[[], float],
    step: Step,
    *,
    name: str = "loop",
    tolerate: tuple[type[BaseException], ...] = (),
    wake: Wakeup | None = None,
) -> Loop:
    """A loop running ``step`` every ``interval_s`` seconds (a number, or a function read
    before each sleep) until the service stops; ``wake`` rung ends a sleep early."""

    def interval() -> float:
        return interval_s() if callable(interval_s) else interval_s

    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            rings = 0 if wake is None else wake.rings
            try:
                if await step():
                    continue
            except tolerate as exc:
                log.warning("loop_step_failed", loop=name, error=repr(exc))
            await pause(stop, interval(), wake, rings)

    return run
