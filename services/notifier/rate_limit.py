"""Per-channel rate limits that protect providers: at most N sends a second per channel.

This is throughput control, not business time, so it uses real time, not the service's
clock: :class:`ChannelRateLimiter` the event loop's monotonic clock within one process,
:class:`SharedRateLimiter` PostgreSQL's clock for all the replicas together (the default).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Protocol

from services.runtime.database import Pool


class RateLimiter(Protocol):
    async def wait(self, channel: str) -> float:
        """Wait for the channel's next slot; return how long it waited."""
        ...


class ChannelRateLimiter:
    """Spaces the sends of each channel by ``1 / rate`` seconds within this process."""

    def __init__(
        self,
        rates_per_s: Mapping[str, float],
        monotonic: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.intervals = {channel: 1.0 / rate for channel, rate in rates_per_s.items() if rate > 0}
        self._monotonic = monotonic
        self._sleep = sleep
        self._next: dict[str, float] = {}

    def _now(self) -> float:
        if self._monotonic is not None:
            return self._monotonic()
        return asyncio.get_running_loop().time()

    async def wait(self, channel: str) -> float:
        """Wait for the channel's next slot; return how long it waited."""
        interval = self.intervals.get(channel)
        if interval is None:
            return 0.0
        now = self._now()
        slot = max(now, self._next.get(channel, now))
        self._next[channel] = slot + interval
        delay = slot - now
        if delay > 0:
            await self._sleep(delay)
        return delay


class SharedRateLimiter:
    """Spaces the sends of each channel by ``1 / rate`` seconds across every replica.

    The next free slot of each channel is a row of ``channel_rate``; taking a slot is one
    ``UPDATE`` that moves it on by the interval (the row lock orders concurrent replicas) and
    returns the slot, so N notifier replicas together never exceed the provider's rate.
    Time is PostgreSQL's ``clock_timestamp()``: one clock for every replica.
    """

    def __init__(
        self,
        pool: Pool,
        rates_per_s: Mapping[str, float],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.pool = pool
        self.intervals = {channel: 1.0 / rate for channel, rate in rates_per_s.items() if rate > 0}
        self._sleep = sleep

    async def take(self, channel: str) -> tuple[datetime, float] | None:
        """Take the channel's next slot: (slot, seconds from now until it); None if unlimited."""
        interval = self.intervals.get(channel)
        if interval is None:
            return None
        row = await self.pool.fetchrow(TAKE_SLOT, channel, interval)
        assert row is not None
        return row["slot"], max(0.0, float(row["delay_s"]))

    async def wait(self, channel: str) -> float:
        """Wait for the channel's next slot; return how long it waited."""
        taken = await self.take(channel)
        if taken is None:
            return 0.0
        delay = taken[1]
        if delay > 0:
            await self._sleep(delay)
        return delay


TAKE_SLOT = """
INSERT INTO channel_rate AS r (channel, next_slot)
VALUES ($1, clock_timestamp() + make_interval(secs => $2))
ON CONFLICT (channel) DO UPDATE
    SET next_slot = greatest(r.next_slot, clock_timestamp()) + make_interval(secs => $2)
RETURNING r.next_slot - make_interval(secs => $2) AS slot,
          extract(epoch FROM r.next_slot - make_interval(secs => $2) - clock_timestamp())
              AS delay_s
"""
