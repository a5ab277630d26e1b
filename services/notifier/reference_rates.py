"""The reference interest rates the notifier keeps, for the late-payment interest of its
statements.

The consumer stores each ``reference.interest_rate.published`` (a later event for the same
kind and day replaces the rate: a correction) and announces it on the rates' channel at the
commit of its transaction; :class:`RateBook` holds them in memory for the composer, which
is synchronous, and is refreshed from the table at start, when the dispatcher's listener
hears that announcement (any replica's), and every ``reference_rates_refresh_s`` besides
(a rate recorded while no listener was there). A statement drawn after a rate was consumed
therefore uses it: without the announcement, a notifier started before the rates came
would write "the reference rate is not published yet" on its formal notices for up to the
refresh interval after they were.
"""

from __future__ import annotations

import asyncio

from asyncpg import Pool

from contracts.reference import ReferenceInterestRate
from services.notifier.queries import CHANNEL_BYTES
from services.runtime.consumer import UnitOfWork
from services.runtime.database import TRANSIENT_ERRORS
from services.runtime.late_payment import ReferenceRate, ReferenceRates
from services.runtime.logs import get_logger
from services.runtime.loops import Wakeup, every

log = get_logger(__name__)

# The channel on which a recorded rate is announced (at its transaction's commit; PostgreSQL
# delivers one notification for a transaction's identical ones). Cut as PostgreSQL cuts an
# identifier (``CHANNEL_BYTES``), the same on both sides.
RATES_CHANNEL_PREFIX = "relance_rates_"

RECORD_RATE = f"""
WITH recorded AS (
    INSERT INTO reference_interest_rates (kind, valid_from, rate) VALUES ($1, $2, $3)
    ON CONFLICT (kind, valid_from) DO UPDATE SET rate = EXCLUDED.rate
    RETURNING 1
)
SELECT pg_notify(left('{RATES_CHANNEL_PREFIX}' || current_schema(), {CHANNEL_BYTES}), '')
FROM recorded
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

    async def run(
        self, pool: Pool, interval_s: float, stop: asyncio.Event, wake: Wakeup | None = None
    ) -> None:
        """Refresh when ``wake`` rings (a rate was recorded: the dispatcher's listener) and
        every ``interval_s`` besides, until ``stop``; the database away is waited out."""

        async def step() -> None:
            await self.refresh(pool)

        await every(interval_s, step, name="reference-rates", tolerate=TRANSIENT_ERRORS, wake=wake)(
            stop
        )
