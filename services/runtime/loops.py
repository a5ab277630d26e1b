"""Periodic jobs run under the service's supervisor.

``every(interval_s, step)`` turns a step into a supervised loop: run the step, then sleep
``interval_s`` or until the service stops, whichever comes first. A step that returns
``True`` found work and may find more: it runs again at once, without sleeping (a
dispatcher draining a backlog). Errors listed in ``tolerate`` (for instance the
database's transient errors) are logged and the loop sleeps before trying again;
anything else propagates, and the supervisor stops the service.

A loop given the service's :class:`Activity` skips the steps that cannot find work: once a
step found none, the next ones run only when the clock has moved or a consumed batch was
applied since that step began, or ``recheck_s`` after it anyway (work written by an API
call, another replica, a lease that ran out). With the wall clock the instant always moves
and every step runs; with the demo's file clock, which moves only when the controller
writes it, an idle loop ticking every 0.1 s asks PostgreSQL once a ``recheck_s`` instead
of ten times a second, and still sees a moved clock or a new batch within one interval.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.runtime import logs
from services.runtime.clock import Clock

log = logs.get_logger(__name__)

Loop = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
Step = Callable[[], Awaitable[bool | None]]


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


@dataclass
class Activity:
    """What may give a service's idle loops work: its clock moving, a batch applied."""

    clock: Clock
    recheck_s: float = 1.0
    batches_applied: int = 0

    def batch_applied(self) -> None:
        self.batches_applied += 1

    def mark(self) -> tuple[datetime, int]:
        return (self.clock.now(), self.batches_applied)


def every(
    interval_s: float | Callable[[], float],
    step: Step,
    *,
    name: str = "loop",
    tolerate: tuple[type[BaseException], ...] = (),
    activity: Activity | None = None,
) -> Loop:
    """A loop running ``step`` every ``interval_s`` seconds (a number, or a function read
    before each sleep) until the service stops; with ``activity``, only the steps that
    may find work (see the module's docstring)."""

    def interval() -> float:
        return interval_s() if callable(interval_s) else interval_s

    async def run(stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        idle_mark: tuple[datetime, int] | None = None  # as the last step finding nothing began
        idle_at = 0.0
        while not stop.is_set():
            mark = activity.mark() if activity is not None else None
            if (
                activity is not None
                and mark == idle_mark
                and loop.time() - idle_at < activity.recheck_s
            ):
                await pause(stop, interval())
                continue
            began = loop.time()
            try:
                if await step():
                    idle_mark = None
                    continue
                idle_mark, idle_at = mark, began
            except tolerate as exc:
                idle_mark = None
                log.warning("loop_step_failed", loop=name, error=repr(exc))
            await pause(stop, interval())

    return run
