"""What a reminder or an escalation says: its id, the invoices it lists, the open statement.

Pure values for the contract's payloads, shared by the tick, campaigns and their tests. The
tick's frequent events are written straight as JSON by :mod:`services.scheduler.outgoing`,
which the unit tests compare with these.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from contracts.dunning import DunnedInvoice, Escalation, OpenStatement
from contracts.money import PositiveMoney
from services.scheduler.domain.ids import name_id_text, name_uuid
from services.scheduler.domain.scenario import Scenario
from services.scheduler.domain.state import Customer, InvoiceState

REMINDER_NAMESPACE = uuid.UUID("6f1d3c52-34a4-4b8e-9d53-6a0c1f3c2b7e")


def reminder_id(
    customer_id: str, scenario_id: str, step: str, invoices: Sequence[str]
) -> uuid.UUID:
    """The same step for the same invoices of a customer always has the same id."""
    key = "|".join([customer_id, scenario_id, step, *sorted(invoices)])
    return name_uuid(REMINDER_NAMESPACE, key)  # uuid.uuid5, made faster


def reminder_id_text(customer_id: str, scenario_id: str, step: str, invoices: Sequence[str]) -> str:
    """``str(reminder_id(...))``, without the ``uuid.UUID`` (the tick writes the id as text)."""
    key = "|".join([customer_id, scenario_id, step, *sorted(invoices)])
    return name_id_text(REMINDER_NAMESPACE, key)


def dunned_invoice(state: InvoiceState, customer: Customer, now: datetime) -> DunnedInvoice:
    """The invoice as a reminder lists it, overdue by days in the customer's time zone."""
    today = now.astimezone(ZoneInfo(customer.time_zone)).date()
    return DunnedInvoice(
        invoice_id=state.invoice_id,
        invoice_number=state.invoice_number,
        due_date=state.due_date,
        amount=state.money(state.amount),
        open_amount=state.money(state.open_amount),
        days_overdue=(today - state.due_date).days,
    )


def open_statement(account: Sequence[tuple[str, Decimal, int]]) -> OpenStatement | None:
    """The statement of (currency, open total, open invoices) rows; None if nothing is open."""
    rows = [(c, t, n) for c, t, n in account if t > 0]
    if not rows:
        return None
    return OpenStatement(
        totals=tuple(PositiveMoney(amount=t, currency=c) for c, t, _ in sorted(rows)),
        open_invoices=sum(n for _, _, n in rows),
    )


def account_of(states: Sequence[InvoiceState]) -> list[tuple[str, Decimal, int]]:
    """(currency, open total, open invoices) of some invoices."""
    totals: defaultdict[str, list[Decimal]] = defaultdict(list)
    for state in states:
        if state.status != "closed" and state.open_amount > 0:
            totals[state.currency].append(state.open_amount)
    return [(c, sum(v, Decimal(0)), len(v)) for c, v in sorted(totals.items())]


def escalation(
    customer: Customer, scenario: Scenario, invoices: Sequence[InvoiceState], now: datetime
) -> Escalation:
    """Invoices leaving the amicable phase by the exit of their scenario."""
    assert scenario.exit_action is not None
    totals: defaultdict[str, Decimal] = defaultdict(Decimal)
    for state in invoices:
        totals[state.currency] += state.open_amount
    return Escalation(
        customer_id=customer.customer_id,
        company_code=customer.company_code,
        scenario_id=scenario.id,
        action=scenario.exit_action,
        invoices=tuple(dunned_invoice(s, customer, now) for s in invoices),
        total_open=tuple(PositiveMoney(amount=v, currency=c) for c, v in sorted(totals.items())),
    )
