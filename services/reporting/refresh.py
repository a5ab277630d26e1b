"""Derived tables refreshed on a schedule: monthly DSO, daily aged balance snapshots, and the
day of the maintained aged balance."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.reporting import queries
from services.reporting.domain.aging import AgingBucket
from services.reporting.domain.dso import (
    MonthSales,
    countback_dso,
    month_end,
    months_back,
)
from services.runtime.database import Connection

# How far back sales are matched against receivables.
COUNTBACK_MONTHS = 24


async def configure(
    connection: Connection,
    reporting_currency: str,
    buckets: tuple[AgingBucket, ...],
    unmatched_alert_days: int = 7,
) -> None:
    """Write the settings' reporting currency, buckets and unmatched-cash age into the schema."""
    async with connection.transaction():
        await connection.execute(queries.SET_REPORTING_CURRENCY, reporting_currency)
        await connection.execute(queries.SET_UNMATCHED_ALERT_DAYS, unmatched_alert_days)
        await connection.execute(queries.DELETE_BUCKETS)
        await connection.execute(
            queries.INSERT_BUCKETS,
            [b.order for b in buckets],
            [b.label for b in buckets],
            [b.min_days for b in buckets],
            [b.max_days for b in buckets],
        )
        await connection.execute(queries.RESET_AGING)
    await analyze_small_tables(connection)


async def analyze_small_tables(connection: Connection) -> None:
    """Keep statistics on the parameter and rates tables (see the query's comment)."""
    await connection.execute(queries.ANALYZE_SMALL_TABLES)


async def roll_aged_balance(connection: Connection, day: date) -> str:
    """Bring the maintained aged balance to ``day``: current, rolled or rebuilt."""
    result: str = await connection.fetchval(queries.ROLL_AGED_BALANCE, day)
    return result


async def dso_of(
    connection: Connection, company_code: str, month: date, until: date | None = None
) -> tuple[Decimal, Decimal]:
    """Receivables at the month's end and the countback DSO, in the reporting currency.

    With ``until`` inside the month, the month is cut there: receivables at the end of
    ``until`` against the sales issued up to it (a month still under way).
    """
    end = month_end(month) if until is None else min(month_end(month), until)
    receivables = await connection.fetchval(queries.RECEIVABLES_AS_OF, company_code, end)
    receivables = Decimal(receivables or 0)
    months = months_back(month, COUNTBACK_MONTHS)
    rows = await connection.fetch(queries.MONTHLY_SALES, company_code, months[-1], end)
    sales = {row[0]: Decimal(row[1] or 0) for row in rows}
    history = [
        MonthSales(end.day if m == months[0] else month_end(m).day, sales.get(m, Decimal(0)))
        for m in months
    ]
    return receivables, countback_dso(receivables, history)


async def refresh_dso(connection: Connection, today: date, months: int) -> int:
    """Recompute ``months`` months of DSO per company, the current month first."""
    currency = await connection.fetchval(queries.REPORTING_CURRENCY)
    companies = [row[0] for row in await connection.fetch(queries.COMPANIES)]
    written = 0
    async with connection.transaction():
        for company in companies:
            for month in months_back(today, months):
                receivables, dso = await dso_of(connection, company, month, today)
                await connection.execute(
                    queries.UPSERT_DSO, company, month, currency, receivables, dso
                )
                written += 1
    return written


async def snapshot_aged_balance(connection: Connection, day: date) -> None:
    """Keep the aged balance of ``day`` for trends, replacing an earlier one of that day."""
    async with connection.transaction():
        await connection.execute(queries.DELETE_SNAPSHOT, day)
        await connection.execute(queries.SNAPSHOT_AGED_BALANCE, day)
    await analyze_small_tables(connection)
