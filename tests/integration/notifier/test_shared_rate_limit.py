"""The per-channel rate limit shared by notifier replicas through PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest

from services.notifier.rate_limit import SharedRateLimiter
from services.runtime.database import create_pool
from services.runtime.settings import DatabaseSettings

pytestmark = pytest.mark.integration


@pytest.fixture
async def second_pool(pool: asyncpg.Pool, database_url: str) -> AsyncIterator[asyncpg.Pool]:
    other = await create_pool(DatabaseSettings(url=database_url), "notifier")
    yield other
    await other.close()


async def test_two_replicas_share_each_channels_slots(
    pool: asyncpg.Pool, second_pool: asyncpg.Pool
) -> None:
    slept: list[float] = []

    async def no_sleep(seconds: float) -> None:
        slept.append(seconds)

    replicas = [
        SharedRateLimiter(p, {"sms": 20.0, "email": 2.0}, sleep=no_sleep)
        for p in (pool, second_pool)
    ]
    taken = await asyncio.gather(*(replicas[n % 2].take("sms") for n in range(12)))
    slots = sorted(t[0] for t in taken if t is not None)
    assert len(set(slots)) == 12
    assert min(b - a for a, b in itertools.pairwise(slots)) >= timedelta(milliseconds=50)
    assert await replicas[0].take("letters") is None  # not limited

    waited = [await replicas[n % 2].wait("email") for n in range(5)]
    assert waited[0] < 0.5  # the first email goes at once
    assert waited == sorted(waited)  # the others queue behind it, 500 ms apart
    assert waited[-1] > 1.5
    assert slept == [w for w in waited if w > 0]
