"""Reading the console's read model for the pages: named queries in, values out.

Every listing is limited to the identity's portfolio in SQL; a single customer is checked
by the page itself (a collector outside their portfolio gets 403, not an empty page).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from services.console import queries
from services.console.domain.open_items import (
    AgeBucket,
    CurrencyTotals,
    ItemStatus,
    WorkItem,
    age_of,
    ranked,
    status_of,
    totals_per_currency,
)
from services.runtime.database import Pool
from services.runtime.identity import Identity


def portfolio_args(identity: Identity) -> tuple[bool, list[str], list[str], list[str]]:
    """The portfolio filter's parameters ($1 to $4 of the listings)."""
    p = identity.portfolio
    return (
        identity.unrestricted,
        sorted(p.company_codes),
        sorted(p.collector_codes),
        sorted(p.segments),
    )


@dataclass(frozen=True)
class Customer:
    customer_id: str
    company_code: str
    name: str
    country: str
    language: str
    customer_type: str
    market: str
    risk_rating: str
    payer_profile: str | None
    collector_code: str | None
    contacts: list[dict[str, Any]]


@dataclass(frozen=True)
class OpenItem:
    invoice_id: str
    invoice_number: str
    issue_date: date
    due_date: date
    currency: str
    amount: Decimal
    open_amount: Decimal
    status: ItemStatus
    age: AgeBucket
    scenario_id: str | None
    step_name: str | None
    level: str | None
    next_action_at: datetime | None


@dataclass(frozen=True)
class TimelineRow:
    at: datetime
    kind: str
    facts: dict[str, Any]


@dataclass(frozen=True)
class Found:
    customer_id: str
    name: str
    company_code: str
    invoice_number: str | None


async def customer(pool: Pool, customer_id: str) -> Customer | None:
    row = await pool.fetchrow(queries.CUSTOMER, customer_id)
    if row is None:
        return None
    return Customer(**{name: row[name] for name in Customer.__dataclass_fields__})


async def open_items(
    pool: Pool, customer_id: str, today: date
) -> tuple[list[OpenItem], list[CurrencyTotals]]:
    items = [
        OpenItem(
            invoice_id=r["invoice_id"],
            invoice_number=r["invoice_number"],
            issue_date=r["issue_date"],
            due_date=r["due_date"],
            currency=r["currency"],
            amount=r["amount"],
            open_amount=r["open_amount"],
            status=status_of(
                r["due_date"],
                today,
                disputed=r["disputed"],
                in_plan=r["in_plan"],
                promised=r["promised"],
            ),
            age=age_of(r["due_date"], today),
            scenario_id=r["scenario_id"],
            step_name=r["step_name"],
            level=r["level"],
            next_action_at=r["next_action_at"],
        )
        for r in await pool.fetch(queries.OPEN_ITEMS, customer_id)
    ]
    totals = totals_per_currency((i.currency, i.open_amount, i.age) for i in items)
    return items, totals


async def timeline(pool: Pool, customer_id: str, limit: int) -> list[TimelineRow]:
    rows = await pool.fetch(queries.TIMELINE, customer_id, limit)
    return [TimelineRow(r["at"], r["kind"], r["facts"]) for r in rows]


@dataclass(frozen=True)
class WaitingCommand:
    """A command this console sent that the scheduler has not announced executed yet."""

    command: str
    invoice_id: str | None
    facts: dict[str, Any]
    actor_subject: str
    requested_at: datetime


async def waiting_commands(pool: Pool, customer_id: str, limit: int) -> list[WaitingCommand]:
    rows = await pool.fetch(queries.WAITING_COMMANDS, customer_id, limit)
    return [
        WaitingCommand(
            r["command"], r["invoice_id"], r["facts"], r["actor_subject"], r["requested_at"]
        )
        for r in rows
    ]


async def worklist(
    pool: Pool,
    identity: Identity,
    today: date,
    now: datetime,
    company_code: str | None,
    limit: int,
) -> list[WorkItem]:
    rows = await pool.fetch(queries.WORKLIST, *portfolio_args(identity), today, now, company_code)
    items = [
        WorkItem(
            kind=r["kind"],
            customer_id=r["customer_id"],
            customer_name=r["name"],
            company_code=r["company_code"],
            currency=r["currency"],
            at_risk=r["at_risk"],
            since=r["since"],
            detail=r["detail"],
        )
        for r in rows
    ]
    return ranked(items, limit)


async def companies(pool: Pool, identity: Identity) -> list[str]:
    return [
        r["company_code"] for r in await pool.fetch(queries.COMPANIES, *portfolio_args(identity))
    ]


def like_pattern(text: str) -> str:
    """``%text%`` with LIKE's wildcards in ``text`` escaped (``\\`` is the default escape)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search(pool: Pool, identity: Identity, text: str, limit: int) -> list[Found]:
    rows = await pool.fetch(
        queries.SEARCH_CUSTOMERS, *portfolio_args(identity), text, like_pattern(text), limit
    )
    return [
        Found(r["customer_id"], r["name"], r["company_code"], r["invoice_number"]) for r in rows
    ]
