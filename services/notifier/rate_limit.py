"""Per-channel rate limits that protect providers: at most N sends a second per channel.

This is throughput control, not business time, so it uses the event loop's monotonic clock
(injectable for tests), not the service's clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping


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
