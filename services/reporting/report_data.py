"""What the HTML report shows, read from the ``reporting`` schema as of one day.

Everything here only reads (it works with the read-only BI role too). Figures come from
the schema's functions and views (see ``docs/reporting.md``); DSO is computed with the same
countback as the ``dso_monthly`` table, for the months up to the report's day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import asyncpg

from services.reporting import queries
from services.reporting.domain.dso import months_back
from services.reporting.refresh import dso_of
from services.runtime.database import Connection


@dataclass(frozen=True)
class AgedRow:
    company_code: str
    # bucket label -> amount in the reporting currency (None: a rate is missing)
    amounts: dict[str, Decimal | None]
    invoices: int

    @property
    def total(self) -> Decimal | None:
        values = list(self.amounts.values())
        if any(v is None for v in values):
            return None
        return sum((v for v in values if v is not None), Decimal(0))


@dataclass(frozen=True)
class TrendPoint:
    day: date
    source: str  # "snapshot" or "history"
    amounts: dict[str, Decimal | None]


@dataclass(frozen=True)
class DsoPoint:
    company_code: str
    month: date
    receivables: Decimal
    dso_days: Decimal


@dataclass
class ReportData:
    as_of: date
    reporting_currency: str
    buckets: list[str]
    aged: list[AgedRow]
    unconverted: list[tuple[str, int, Decimal]]  # currency, invoices, open amount
    trend: list[TrendPoint]
    dso: list[DsoPoint]
    steps: list[dict[str, object]] = field(default_factory=list)
    open_disputes: list[dict[str, object]] = field(default_factory=list)
    dispute_resolution: list[dict[str, object]] = field(default_factory=list)
    promises: list[dict[str, object]] = field(default_factory=list)
    broken_promises: list[dict[str, object]] = field(default_factory=list)
    plans: list[dict[str, object]] = field(default_factory=list)
    escalations: list[dict[str, object]] = field(default_factory=list)
    worklist: list[dict[str, object]] = field(default_factory=list)
    unmatched_cash: list[dict[str, object]] = field(default_factory=list)

    def bucket_totals(self) -> dict[str, Decimal | None]:
        """The aged balance per bucket over every company, in the reporting currency."""
        totals: dict[str, Decimal | None] = {}
        for bucket in self.buckets:
            values = [row.amounts.get(bucket, Decimal(0)) for row in self.aged]
            totals[bucket] = (
                None
                if any(v is None for v in values)
                else sum((v for v in values if v is not None), Decimal(0))
            )
        return totals


async def gather(
    connection: Connection,
    as_of: date,
    *,
    trend_days: int = 30,
    fill_trend: bool = True,
    dso_months: int = 12,
    top: int = 20,
) -> ReportData:
    """Read every figure of the report as of the end of ``as_of``."""
    currency = str(await connection.fetchval(queries.REPORTING_CURRENCY)).strip()
    buckets = [r["label"] for r in await connection.fetch(queries.REPORT_BUCKETS)]
    data = ReportData(
        as_of=as_of,
        reporting_currency=currency,
        buckets=buckets,
        aged=await _aged(connection, as_of),
        unconverted=[
            (r["currency"].strip(), int(r["invoice_count"]), r["open_amount"])
            for r in await connection.fetch(queries.REPORT_AGED_UNCONVERTED, as_of)
        ],
        trend=await _trend(connection, as_of, buckets, trend_days, fill_trend),
        dso=await _dso(connection, as_of, dso_months),
    )
    month_of_as_of = as_of.replace(day=1)
    data.steps = _dicts(await connection.fetch(queries.REPORT_STEP_EFFECTIVENESS))
    data.open_disputes = _dicts(await connection.fetch(queries.REPORT_OPEN_DISPUTES, as_of))
    data.dispute_resolution = _dicts(await connection.fetch(queries.REPORT_DISPUTE_RESOLUTION))
    data.promises = _dicts(await connection.fetch(queries.REPORT_PROMISES, month_of_as_of))
    data.broken_promises = _dicts(await connection.fetch(queries.REPORT_BROKEN_PROMISES, top))
    data.plans = _dicts(await connection.fetch(queries.REPORT_PLANS))
    data.escalations = _dicts(await connection.fetch(queries.REPORT_ESCALATIONS, month_of_as_of))
    data.worklist = _dicts(await connection.fetch(queries.REPORT_WORKLIST, as_of, top))
    data.unmatched_cash = _dicts(await connection.fetch(queries.REPORT_UNMATCHED_CASH, as_of, top))
    return data


def _dicts(rows: Sequence[asyncpg.Record]) -> list[dict[str, object]]:
    return [dict(row.items()) for row in rows]


async def _aged(connection: Connection, as_of: date) -> list[AgedRow]:
    rows = await connection.fetch(queries.REPORT_AGED_BY_COMPANY, as_of)
    by_company: dict[str, tuple[dict[str, Decimal | None], list[int]]] = {}
    for row in rows:
        amounts, invoices = by_company.setdefault(row["company_code"], ({}, []))
        amounts[row["bucket"]] = row["amount_reporting"]
        invoices.append(int(row["invoice_count"]))
    return [
        AgedRow(company, amounts, sum(invoices))
        for company, (amounts, invoices) in sorted(by_company.items())
    ]


async def _trend(
    connection: Connection, as_of: date, buckets: list[str], days: int, fill: bool
) -> list[TrendPoint]:
    """Daily totals per bucket: the snapshots kept, and the other days from the history."""
    label = dict(enumerate(buckets))
    snapshots: dict[date, dict[str, Decimal | None]] = {}
    for row in await connection.fetch(
        queries.REPORT_SNAPSHOT_TREND, as_of - timedelta(days=days), as_of
    ):
        snapshots.setdefault(row["day"], {})[label[row["bucket_order"]]] = row["amount_reporting"]
    points = []
    for offset in range(days - 1, -1, -1):
        day = as_of - timedelta(days=offset)
        if day in snapshots:
            amounts = {b: snapshots[day].get(b, Decimal(0)) for b in buckets}
            points.append(TrendPoint(day, "snapshot", amounts))
        elif fill:
            found = {
                label[r["bucket_order"]]: r["amount_reporting"]
                for r in await connection.fetch(queries.REPORT_HISTORY_TREND, day)
            }
            points.append(
                TrendPoint(day, "history", {b: found.get(b, Decimal(0)) for b in buckets})
            )
    return points


async def _dso(connection: Connection, as_of: date, months: int) -> list[DsoPoint]:
    companies = [row[0] for row in await connection.fetch(queries.COMPANIES)]
    points = []
    for company in companies:
        for month in reversed(months_back(as_of, months)):
            receivables, days = await dso_of(connection, company, month, as_of)
            points.append(DsoPoint(company, month, receivables, days))
    return points
