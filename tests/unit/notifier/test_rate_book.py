"""The notifier's rate book reloads when told a rate was recorded, and waits out the database
being away instead of ending the service. A pool stand-in: no PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

from services.notifier.reference_rates import RateBook
from services.runtime.loops import Wakeup


class Table:
    """The rows of ``reference_interest_rates``, behind a pool that fails ``failing`` times."""

    def __init__(self, failing: int = 0) -> None:
        self.rows: list[dict[str, Any]] = []
        self.failing = failing
        self.reads = 0

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[Table]:
        if self.failing:
            self.failing -= 1
            raise ConnectionRefusedError("PostgreSQL is restarting")
        yield self

    async def fetch(self, _query: str) -> list[dict[str, Any]]:
        self.reads += 1
        return list(self.rows)


def _rate(valid_from: date, rate: str) -> dict[str, Any]:
    return {"kind": "ecb_mro", "valid_from": valid_from, "rate": Decimal(rate)}


async def _until(condition: Any) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not within 2 s")


async def test_a_ring_reloads_the_book_long_before_its_interval() -> None:
    table = Table()
    book = RateBook()
    wake, stop = Wakeup(), asyncio.Event()
    running = asyncio.create_task(book.run(table, 300.0, stop, wake=wake))  # type: ignore[arg-type]
    try:
        await _until(lambda: table.reads == 1)
        table.rows.append(_rate(date(2025, 6, 11), "2.15"))
        wake.ring()
        await _until(lambda: table.reads == 2)
        assert book.rates.in_force("ecb_mro", date(2025, 7, 1)) == Decimal("2.15")
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=2)


async def test_the_database_away_is_waited_out_and_the_book_loads_when_it_is_back() -> None:
    table = Table(failing=2)
    table.rows.append(_rate(date(2025, 6, 11), "2.15"))
    book = RateBook()
    stop = asyncio.Event()
    running = asyncio.create_task(book.run(table, 0.01, stop))  # type: ignore[arg-type]
    try:
        await _until(lambda: table.reads >= 1)
        assert not running.done()  # the two refusals did not end the loop
        assert book.rates.in_force("ecb_mro", date(2025, 7, 1)) == Decimal("2.15")
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=2)
