"""Reading the team's figures from the console's read model (credit managers).

Aged balance per company and currency, the DSO at the last month ends, each scenario
step's effectiveness (invoices paid within ``window_days`` of the reminder) and each
collector's workload and results. Everything is the console's own tables; the portfolio
filter applies as on every listing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from services.console import queries
from services.console.domain.team import dso, month_ends, paid_share
from services.console.read_model import fetch_planned, portfolio_args, rows_of
from services.runtime.database import Pool
from services.runtime.identity import Identity

DSO_POINTS = 6
RESULTS_DAYS = 30


@dataclass(frozen=True)
class DsoTrend:
    company_code: str
    currency: str
    points: list[tuple[date, Decimal | None]]


@dataclass(frozen=True)
class StepEffect:
    scenario_id: str
    step_name: str
    level: str
    channel: str
    reminders: int
    invoices: int
    paid: int
    share: Decimal | None


@dataclass(frozen=True)
class CollectorFigures:
    collector_code: str
    customers: int
    open_invoices: int
    open_amounts: list[tuple[str, Decimal]]
    calls_due: int
    settled: int
    promises_kept: int
    promises_broken: int


@dataclass(frozen=True)
class Team:
    aged: list[dict[str, Any]]
    dso: list[DsoTrend]
    dso_dates: list[date]
    steps: list[StepEffect]
    collectors: list[CollectorFigures]
    window_days: int
    since: date


async def team(pool: Pool, identity: Identity, now: datetime, window_days: int) -> Team:
    today = now.date()
    who = portfolio_args(identity)
    dates = month_ends(today, DSO_POINTS)
    aged = rows_of(await fetch_planned(pool, queries.AGED_BALANCE, *who, today))
    trends = [
        DsoTrend(
            r["company_code"],
            r["currency"],
            [(d, dso(r[f"receivable_{n}"], r[f"invoiced_{n}"])) for n, d in enumerate(dates)],
        )
        for r in await fetch_planned(pool, queries.dso_inputs(len(dates)), *who, *dates)
    ]
    since = now - timedelta(days=90)
    steps = [
        StepEffect(
            r["scenario_id"],
            r["step_name"],
            r["level"],
            r["channel"],
            r["reminders"],
            r["invoices"],
            r["paid"],
            paid_share(r["paid"], r["invoices"]),
        )
        for r in await fetch_planned(
            pool, queries.STEP_EFFECTIVENESS, *who, since.date(), window_days, today
        )
    ]
    results_since = today - timedelta(days=RESULTS_DAYS)
    amounts: dict[str, list[tuple[str, Decimal]]] = {}
    open_invoices: dict[str, int] = {}
    settled: dict[str, int] = {}
    for r in await fetch_planned(pool, queries.COLLECTOR_INVOICES, *who, results_since):
        code = r["collector_code"]
        if r["open_invoices"]:
            amounts.setdefault(code, []).append((r["currency"], r["open_amount"]))
        open_invoices[code] = open_invoices.get(code, 0) + r["open_invoices"]
        settled[code] = settled.get(code, 0) + r["settled"]
    activity = {
        r["collector_code"]: r
        for r in await fetch_planned(
            pool, queries.COLLECTOR_ACTIVITY, *who, now - timedelta(days=RESULTS_DAYS), now
        )
    }
    collectors = []
    for r in await fetch_planned(pool, queries.COLLECTOR_CUSTOMERS, *who):
        code = r["collector_code"]
        act = activity.get(code)
        collectors.append(
            CollectorFigures(
                collector_code=code,
                customers=r["customers"],
                open_invoices=open_invoices.get(code, 0),
                open_amounts=amounts.get(code, []),
                calls_due=int(act["calls_due"]) if act else 0,
                settled=settled.get(code, 0),
                promises_kept=int(act["promises_kept"]) if act else 0,
                promises_broken=int(act["promises_broken"]) if act else 0,
            )
        )
    return Team(aged, trends, dates, steps, collectors, window_days, results_since)


@dataclass(frozen=True)
class Operations:
    dead_letters: list[dict[str, Any]]
    refusals: list[dict[str, Any]]
    freshness: list[dict[str, Any]]


async def operations(pool: Pool, limit: int) -> Operations:
    return Operations(
        rows_of(await fetch_planned(pool, queries.DEAD_LETTER_COUNTS)),
        rows_of(await fetch_planned(pool, queries.REFUSED_COMMANDS, limit)),
        rows_of(await fetch_planned(pool, queries.FRESHNESS)),
    )
