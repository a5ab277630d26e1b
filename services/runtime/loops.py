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


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


def every(
    interval_s: float | Callable[[], float],
    step: Step,
    *,
    name: str = "loop",
    tolerate: tuple[type[BaseException], ...] = (),
) -> Loop:
    """A loop running ``step`` every ``interval_s`` seconds (a number, or a function read
    before each sleep) until the service stops."""

    def interval() -> float:
        return interval_s() if callable(interval_s) else interval_s

    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                if await step():
                    continue
            except tolerate as exc:
                log.warning("loop_step_failed", loop=name, error=repr(exc))
            await pause(stop, interval())

    return run
