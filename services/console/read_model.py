"""Reading the console's read model for the pages: named queries in, values out.

Every listing is limited to the identity's portfolio in SQL; a single customer is checked
by the page itself (a collector outside their portfolio gets 403, not an empty page).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from services.console import queries
from services.console.domain.interest import effective_day
from services.console.domain.next_action import NOTHING, NextAction, next_action_of
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
from services.runtime.late_payment import ReferenceRate, ReferenceRates


def rows_of(records: Sequence[Any]) -> list[dict[str, Any]]:
    """Rows as plain dicts, for templates."""
    return [dict(r) for r in records]


async def fetch_planned(pool: Pool, sql: str, *args: Any) -> list[Any]:
    """``pool.fetch`` without PostgreSQL's JIT compilation, for the listings whose plans
    PostgreSQL estimates expensive (a look-up per row): compiling them took seconds where
    running them takes a hundred milliseconds (bench.console)."""
    async with pool.acquire() as connection, connection.transaction(readonly=True):
        await connection.execute(
            "SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0"
        )
        return list(await connection.fetch(sql, *args))


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
    tags: list[str] = field(default_factory=list)


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
    pause_reason: str | None = None
    paused_until: datetime | None = None
    next_action: NextAction = NOTHING
    late_interest_rate: Decimal | None = None  # the rate the invoice's contract states


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


async def customer_names(pool: Pool, customer_ids: list[str]) -> dict[str, str]:
    """The names of these customers, by id (those the read model knows)."""
    rows = await pool.fetch(queries.CUSTOMER_NAMES, customer_ids)
    return {r["customer_id"]: r["name"] for r in rows}


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
            pause_reason=r["pause_reason"] if r["paused"] else None,
            paused_until=r["paused_until"],
            next_action=next_action_of(
                pause_reason=r["pause_reason"] if r["paused"] else None,
                paused_until=r["paused_until"],
                next_action_at=r["next_action_at"],
                next_step_name=r["next_step_name"],
                next_level=r["next_level"],
                next_channel=r["next_channel"],
            ),
            late_interest_rate=r["late_interest_rate"],
        )
        for r in await pool.fetch(queries.OPEN_ITEMS, customer_id)
    ]
    totals = totals_per_currency((i.currency, i.open_amount, i.age) for i in items)
    return items, totals


async def timeline(pool: Pool, customer_id: str, limit: int) -> list[TimelineRow]:
    rows = await pool.fetch(queries.TIMELINE, customer_id, limit)
    return [TimelineRow(r["at"], r["kind"], r["facts"]) for r in rows]


@dataclass(frozen=True)
class RefusedCommand:
    """A command the scheduler refused (seen on ``dunning.commands.v1.dlq``)."""

    command: str
    actor_subject: str | None
    reason: str
    detail: str | None
    refused_at: datetime


async def refused_commands(pool: Pool, customer_id: str, limit: int) -> list[RefusedCommand]:
    rows = await pool.fetch(queries.REFUSED_FOR_CUSTOMER, customer_id, limit)
    return [
        RefusedCommand(r["command"], r["actor_subject"], r["reason"], r["detail"], r["refused_at"])
        for r in rows
    ]


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


def names_of(identity: Identity) -> list[str]:
    """The names a dispute's owner may go by for this reader: subject, login, display name."""
    login = identity.subject.partition(":")[2]
    return sorted({identity.subject, login, identity.name} - {""})


@dataclass(frozen=True)
class Reporting:
    """The currencies My day converts into: ``currency`` ranks every item; each company's
    own (``per_company``, else ``currency``) is shown beside an item's amount."""

    currency: str = "EUR"
    per_company: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkFilter:
    """My day's filters; each None for all."""

    company_code: str | None = None
    collector_code: str | None = None
    level: str | None = None


async def worklist(
    pool: Pool,
    identity: Identity,
    today: date,
    now: datetime,
    filters: WorkFilter,
    limit: int,
    reporting: Reporting = Reporting(),
) -> list[WorkItem]:
    companies = sorted(reporting.per_company)
    everyone = identity.unrestricted and not (filters.company_code or filters.collector_code)
    rows = await fetch_planned(
        pool,
        queries.WORKLIST_EVERYONE if everyone else queries.WORKLIST,
        *portfolio_args(identity),
        today,
        now,
        filters.company_code,
        filters.collector_code,
        filters.level,
        names_of(identity),
        limit,
        reporting.currency,
        companies,
        [reporting.per_company[c] for c in companies],
    )
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
            reference=r["reference"],
            ranking=r["ranking"],
            converted=r["converted"],
            reporting_currency=r["reporting_currency"],
            unconverted=r["unconverted"],
        )
        for r in rows
    ]
    return ranked(items, limit)


async def companies(pool: Pool, identity: Identity) -> list[str]:
    return [
        r["company_code"] for r in await pool.fetch(queries.COMPANIES, *portfolio_args(identity))
    ]


async def collectors(pool: Pool, identity: Identity) -> list[str]:
    """The collector codes (portfolios) of the customers the reader sees."""
    return [
        r["collector_code"] for r in await pool.fetch(queries.COLLECTORS, *portfolio_args(identity))
    ]


def like_pattern(text: str) -> str:
    """``%text%`` with LIKE's wildcards in ``text`` escaped (``\\`` is the default escape)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# Similarity thresholds tried in turn for names, the last being pg_trgm's default: when the
# first already finds the limit, those are the best names under the default too, found
# without weighing the many names a common word makes similar (a third of the time).
SIMILARITY_THRESHOLDS = (0.5, 0.3)


async def search(pool: Pool, identity: Identity, text: str, limit: int) -> list[Found]:
    async with pool.acquire() as connection, connection.transaction(readonly=True):
        await connection.execute(
            "SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0"
        )
        for threshold in SIMILARITY_THRESHOLDS:
            await connection.execute(f"SET LOCAL pg_trgm.similarity_threshold = {threshold}")
            similar = await connection.fetch(queries.SIMILAR_NAMES, text, limit)
            if len(similar) >= limit:
                break
        rows = await connection.fetch(
            queries.SEARCH_CUSTOMERS,
            *portfolio_args(identity),
            [r["customer_id"] for r in similar],
            [r["score"] for r in similar],
            like_pattern(text),
            text,
            limit,
        )
    return [
        Found(r["customer_id"], r["name"], r["company_code"], r["invoice_number"]) for r in rows
    ]


# --- a call to make ---------------------------------------------------------------------


@dataclass(frozen=True)
class CallInvoice:
    invoice_id: str
    invoice_number: str
    due_date: date
    currency: str
    open_amount: Decimal
    status: str


@dataclass(frozen=True)
class Call:
    """A phone reminder: who to call about which invoices, and whether it was made."""

    reminder_id: UUID
    customer_id: str
    level: str
    step_name: str
    scenario_id: str | None
    template: str | None
    scheduled_for: datetime
    call_task_id: UUID | None
    call_outcome: str | None
    closed_at: datetime | None
    invoices: list[CallInvoice]

    @property
    def currency(self) -> str:
        """The currency of the largest open amount: a promise is taken in it."""
        open_ = [i for i in self.invoices if i.status == "open"] or self.invoices
        return max(open_, key=lambda i: i.open_amount).currency if open_ else "EUR"


async def call(pool: Pool, reminder_id: UUID) -> Call | None:
    row = await pool.fetchrow(queries.CALL, reminder_id)
    if row is None:
        return None
    invoices = [
        CallInvoice(**dict(r)) for r in await pool.fetch(queries.CALL_INVOICES, row["invoice_ids"])
    ]
    return Call(
        reminder_id=row["reminder_id"],
        customer_id=row["customer_id"],
        level=row["level"],
        step_name=row["step_name"],
        scenario_id=row["scenario_id"],
        template=row["template"],
        scheduled_for=row["scheduled_for"],
        call_task_id=row["call_task_id"],
        call_outcome=row["call_outcome"],
        closed_at=row["closed_at"],
        invoices=invoices,
    )


# --- disputes, promises and plans -------------------------------------------------------


@dataclass(frozen=True)
class DisputeFilter:
    owner: str | None = None
    category: str | None = None
    older_than_days: int | None = None


async def disputes(
    pool: Pool, identity: Identity, filters: DisputeFilter, now: datetime, limit: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """Open disputes (oldest first), their counts per owner, category and age, and the
    owners to filter on."""
    args = (
        *portfolio_args(identity),
        filters.owner,
        filters.category,
        filters.older_than_days,
        now,
        limit,
    )
    rows = await fetch_planned(pool, queries.DISPUTES, *args)
    summary = await fetch_planned(pool, queries.DISPUTE_SUMMARY, *args)
    owners = [
        r["owner"] for r in await pool.fetch(queries.DISPUTE_OWNERS, *portfolio_args(identity))
    ]
    return rows_of(rows), rows_of(summary), owners


@dataclass(frozen=True)
class PlanRow:
    plan_id: UUID
    customer_id: str
    name: str
    company_code: str
    state: str
    agreed_on: date | None
    agreed_by: str | None
    missed: int
    last_missed_on: date | None
    missed_currency: str | None
    missed_amount: Decimal | None
    next_due: date | None
    next_amount: Decimal | None
    next_currency: str | None
    instalments: int


def next_instalment(instalments: Sequence[dict[str, Any]], today: date) -> Mapping[str, Any] | None:
    """The first instalment due today or later, if any."""
    coming = [i for i in instalments if date.fromisoformat(str(i["due_date"])) >= today]
    return min(coming, key=lambda i: str(i["due_date"])) if coming else None


async def promises_and_plans(
    pool: Pool, identity: Identity, today: date, limit: int
) -> tuple[list[dict[str, Any]], list[PlanRow]]:
    promises = await fetch_planned(pool, queries.PROMISES, *portfolio_args(identity), today, limit)
    plans = []
    for r in await pool.fetch(queries.PLANS, *portfolio_args(identity), limit):
        instalments = r["instalments"] or []
        coming = next_instalment(instalments, today)
        plans.append(
            PlanRow(
                plan_id=r["plan_id"],
                customer_id=r["customer_id"],
                name=r["name"],
                company_code=r["company_code"],
                state=r["state"],
                agreed_on=r["agreed_on"],
                agreed_by=r["agreed_by"],
                missed=r["missed"],
                last_missed_on=r["last_missed_on"],
                missed_currency=r["missed_currency"],
                missed_amount=r["missed_amount"],
                next_due=date.fromisoformat(coming["due_date"]) if coming else None,
                next_amount=Decimal(str(coming["amount"]["amount"])) if coming else None,
                next_currency=coming["amount"]["currency"] if coming else None,
                instalments=len(instalments),
            )
        )
    return rows_of(promises), plans


@dataclass(frozen=True)
class Proposal:
    """A step waiting for (or past) a collector's decision, its rendering and its end."""

    proposal_id: UUID
    version: int
    customer_id: str
    customer_name: str
    company_code: str
    reminder_id: UUID
    channel: str
    level: str
    step_name: str
    template: str
    recipient_role: str | None
    confirm_role: str
    deadline: datetime
    on_timeout: str
    paragraphs: dict[str, str]
    invoice_numbers: list[str]
    currency: str
    at_risk: Decimal
    edited_by: str | None
    raised_at: datetime
    rendered: bool | None
    digest: str | None
    media_type: str | None
    preview_path: str | None
    render_reason: str | None
    decision: str | None
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    postponed_until: date | None

    @property
    def waiting(self) -> bool:
        return self.decision is None


_PROPOSAL_FIELDS = tuple(Proposal.__dataclass_fields__)


def _proposal_of(row: Any) -> Proposal:
    values = dict(row)
    values["customer_name"] = values.pop("name")
    return Proposal(**{name: values[name] for name in _PROPOSAL_FIELDS})


async def proposal(pool: Pool, proposal_id: UUID) -> tuple[Proposal, Customer] | None:
    """One proposal and the few facts of its customer the page checks and shows."""
    row = await pool.fetchrow(queries.PROPOSAL, proposal_id)
    if row is None:
        return None
    found = await customer(pool, row["customer_id"])
    if found is None:
        return None
    return _proposal_of(row), found


async def proposals_of(pool: Pool, customer_id: str, limit: int) -> list[Proposal]:
    rows = await pool.fetch(queries.CUSTOMER_PROPOSALS, customer_id, limit)
    return [_proposal_of(r) for r in rows]


async def proposals_by_id(pool: Pool, proposal_ids: Sequence[UUID]) -> list[Proposal]:
    rows = await pool.fetch(queries.PROPOSALS_BY_ID, list(proposal_ids))
    return [_proposal_of(r) for r in rows]


@dataclass(frozen=True)
class RefusedDecision:
    """A decision of this reader on a proposal that the scheduler refused."""

    command: str
    reason: str
    detail: str | None
    refused_at: datetime
    customer_id: str | None
    customer_name: str | None


async def refused_decisions(
    pool: Pool, actor: str, commands: Sequence[str], since: datetime, limit: int
) -> list[RefusedDecision]:
    rows = await pool.fetch(queries.REFUSED_DECISIONS_OF, actor, list(commands), since, limit)
    return [
        RefusedDecision(
            r["command"], r["reason"], r["detail"], r["refused_at"], r["customer_id"], r["name"]
        )
        for r in rows
    ]


@dataclass(frozen=True)
class PlanProposal:
    """A payment plan a customer proposed, waiting for a credit manager."""

    proposal_id: UUID
    customer_id: str
    name: str
    company_code: str
    invoice_numbers: list[str]
    instalments: list[tuple[date, Decimal]]
    currency: str
    total: Decimal
    proposed_on: date
    answer_by: datetime
    answer_day: date
    sent_decision: str | None
    sent_by: str | None


def _plan_proposal(r: Any) -> PlanProposal:
    return PlanProposal(
        proposal_id=r["proposal_id"],
        customer_id=r["customer_id"],
        name=r["name"],
        company_code=r["company_code"],
        invoice_numbers=list(r.get("invoice_numbers") or []),
        instalments=[
            (date.fromisoformat(i["due_date"]), Decimal(str(i["amount"]["amount"])))
            for i in r["instalments"]
        ],
        currency=r["currency"],
        total=r["total"],
        proposed_on=r["proposed_on"],
        answer_by=r["answer_by"],
        answer_day=r["answer_day"],
        sent_decision=r["sent_decision"],
        sent_by=r["sent_by"],
    )


async def pending_plan_proposals(pool: Pool, identity: Identity, limit: int) -> list[PlanProposal]:
    """The proposals waiting in the reader's portfolio, those lapsing first."""
    rows = await pool.fetch(queries.PENDING_PLAN_PROPOSALS, *portfolio_args(identity), limit)
    return [_plan_proposal(r) for r in rows]


async def plan_proposal(pool: Pool, proposal_id: UUID) -> tuple[PlanProposal, str] | None:
    """One proposal and its state (pending, accepted, refused, expired)."""
    row = await pool.fetchrow(queries.PLAN_PROPOSAL, proposal_id)
    return None if row is None else (_plan_proposal(row), str(row["state"]))


# --- call-backs customers asked for -------------------------------------------------------


@dataclass(frozen=True)
class CallbackTask:
    """A customer's request to be called back: a call to make on a day, in a slot."""

    request_id: UUID
    customer_id: str
    name: str
    company_code: str
    phone: str
    on_day: date
    slot: str
    requested_by: str
    requested_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    invoices: list[CallInvoice]

    @property
    def currency(self) -> str:
        """The currency of the largest open amount: a promise is taken in it."""
        open_ = [i for i in self.invoices if i.status == "open"] or self.invoices
        return max(open_, key=lambda i: i.open_amount).currency if open_ else "EUR"


async def open_callbacks(pool: Pool, identity: Identity, limit: int) -> list[CallbackTask]:
    """The call-backs still to make in the reader's portfolio, by day and slot."""
    rows = await pool.fetch(queries.OPEN_CALLBACKS, *portfolio_args(identity), limit)
    return [_callback(r, []) for r in rows]


async def callback_task(pool: Pool, request_id: UUID, name: str) -> CallbackTask | None:
    """One call-back with the invoices it is about (none named: the customer's open ones)."""
    row = await pool.fetchrow(queries.CALLBACK_TASK, request_id)
    if row is None:
        return None
    invoices = [
        CallInvoice(**dict(r))
        for r in await pool.fetch(
            queries.CALLBACK_INVOICES,
            row["invoice_ids"],
            not row["invoice_ids"],
            row["customer_id"],
        )
    ]
    return _callback({**dict(row), "name": name, "company_code": ""}, invoices)


def _callback(r: Any, invoices: list[CallInvoice]) -> CallbackTask:
    return CallbackTask(
        request_id=r["request_id"],
        customer_id=r["customer_id"],
        name=r["name"],
        company_code=r["company_code"],
        phone=r["phone"],
        on_day=r["on_day"],
        slot=r["slot"],
        requested_by=r["requested_by"],
        requested_at=r["requested_at"],
        closed_at=r["closed_at"],
        closed_by=r["closed_by"],
        invoices=invoices,
    )


async def last_hold_command(pool: Pool, customer_id: str) -> tuple[str, dict[str, Any]] | None:
    """The customer's last hold or release the scheduler executed: its kind and facts."""
    row = await pool.fetchrow(queries.LAST_HOLD_COMMAND, customer_id)
    return None if row is None else (row["kind"], dict(row["facts"]))


@dataclass(frozen=True)
class DeliveryRow:
    """A delivery as the read model keeps it: its latest outcome."""

    delivery_id: UUID
    reminder_id: UUID
    customer_id: str
    channel: str
    outcome: str
    reason: str | None
    invoice_ids: list[str]
    at: datetime


async def delivery(pool: Pool, delivery_id: UUID) -> DeliveryRow | None:
    row = await pool.fetchrow(queries.DELIVERY, delivery_id)
    if row is None:
        return None
    return DeliveryRow(**{name: row[name] for name in DeliveryRow.__dataclass_fields__})


async def reference_rates(pool: Pool) -> ReferenceRates:
    """Every reference interest rate published, as the kit's late-payment rules read them."""
    rows = await pool.fetch(queries.REFERENCE_RATES)
    return ReferenceRates(ReferenceRate(r["kind"], r["valid_from"], r["rate"]) for r in rows)


async def open_amount_history(
    pool: Pool, customer_id: str
) -> list[tuple[date, str, Decimal, Decimal]]:
    """Each change of an open amount of the customer's invoices: (the day it takes effect,
    invoice number, open before, open after), in the order announced. The day is the change's
    value date when the ledger gave one, else the day it was announced."""
    history: list[tuple[date, str, Decimal, Decimal]] = []
    for r in await pool.fetch(queries.OPEN_AMOUNT_HISTORY, customer_id):
        facts = r["facts"]
        try:
            history.append(
                (
                    effective_day(r["at"].date(), facts.get("value_date")),
                    str(facts["number"]),
                    Decimal(facts["before"]["amount"]),
                    Decimal(facts["open"]["amount"]),
                )
            )
        except (KeyError, TypeError, ArithmeticError):
            continue  # an entry worded otherwise: not an open amount change
    return history


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    action: str
    outcome: str
    subject: str | None
    login: str | None
    address: str | None
    customer_id: str | None
    detail: dict[str, Any]


async def audit_trail(pool: Pool, limit: int) -> list[AuditRow]:
    """The newest entries of the console's audit trail (migration 0017's view)."""
    return [AuditRow(**dict(r)) for r in await pool.fetch(queries.AUDIT_TRAIL, limit)]
