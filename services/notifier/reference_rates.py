"""The reference interest rates the notifier keeps, for the late-payment interest of its
statements.

The consumer stores each ``reference.interest_rate.published`` (a later event for the same
kind and day replaces the rate: a correction); :class:`RateBook` holds them in memory for
the composer, which is synchronous, and is refreshed from the table at start and by the
``reference-rates`` loop.
"""

from __future__ import annotations

import asyncio

from asyncpg import Pool

from contracts.reference import ReferenceInterestRate
from services.runtime.consumer import UnitOfWork
from services.runtime.late_payment import ReferenceRate, ReferenceRates
from services.runtime.logs import get_logger

log = get_logger(__name__)

RECORD_RATE = """
INSERT INTO reference_interest_rates (kind, valid_from, rate) VALUES ($1, $2, $3)
ON CONFLICT (kind, valid_from) DO UPDATE SET rate = EXCLUDED.rate
"""
ALL_RATES = "SELECT kind, valid_from, rate FROM reference_interest_rates"


async def record_rate(work: UnitOfWork, rate: ReferenceInterestRate) -> None:
    await work.connection.execute(RECORD_RATE, rate.kind, rate.valid_from, rate.rate)


class RateBook:
    """The reference rates known to the notifier, as the kit's :class:`ReferenceRates`."""

    def __init__(self, rates: ReferenceRates | None = None) -> None:
        self.rates = rates if rates is not None else ReferenceRates(())

    async def refresh(self, pool: Pool) -> None:
        async with pool.acquire() as connection:
            rows = await connection.fetch(ALL_RATES)
        self.rates = ReferenceRates(
            ReferenceRate(row["kind"], row["valid_from"], row["rate"]) for row in rows
        )

    async def run(self, pool: Pool, interval_s: float, stop: asyncio.Event) -> None:
        """Refresh every ``interval_s`` until ``stop``: a new rate reaches statements."""
        while not stop.is_set():
            await self.refresh(pool)
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval_s)
            except TimeoutError:
                continue
