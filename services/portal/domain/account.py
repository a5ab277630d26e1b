"""A customer's account with one company, as the portal shows it: a pure function of values.

Each open invoice gets one status, the first that applies: ``in_dispute`` (an open dispute
names it or covers the whole account), ``in_plan`` (a running payment plan names it),
``plan_proposed`` (a plan the customer proposed waits for the firm's answer),
``promised`` (a running promise names it), ``overdue`` (its due date has passed), ``due``.
Amounts are grouped per currency and never added across currencies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

InvoiceStatus = Literal["in_dispute", "in_plan", "plan_proposed", "promised", "overdue", "due"]
PauseKind = Literal["dispute", "promise", "plan", "proposal"]


@dataclass(frozen=True)
class OpenInvoice:
    invoice_id: str
    invoice_number: str
    issue_date: date
    due_date: date
    amount: Decimal
    open_amount: Decimal
    currency: str


@dataclass(frozen=True)
class Pause:
    kind: PauseKind
    invoice_ids: frozenset[str]
    whole_account: bool = False
    until: date | None = None


@dataclass(frozen=True)
class InvoiceLine:
    invoice: OpenInvoice
    status: InvoiceStatus
    days_late: int
    promised_for: date | None


@dataclass(frozen=True)
class CurrencyBalance:
    currency: str
    lines: tuple[InvoiceLine, ...]
    open_total: Decimal
    overdue_total: Decimal


@dataclass(frozen=True)
class Account:
    balances: tuple[CurrencyBalance, ...]

    @property
    def lines(self) -> tuple[InvoiceLine, ...]:
        return tuple(line for balance in self.balances for line in balance.lines)

    def payable(self, invoice_ids: Iterable[str]) -> tuple[InvoiceLine, ...]:
        """The chosen lines a customer may still promise to pay or dispute."""
        chosen = set(invoice_ids)
        return tuple(
            line
            for line in self.lines
            if line.invoice.invoice_id in chosen
            and line.status not in ("in_dispute", "in_plan", "plan_proposed")
        )


def status_of(invoice: OpenInvoice, pauses: Sequence[Pause], today: date) -> InvoiceLine:
    def named(kind: PauseKind) -> list[Pause]:
        return [
            p
            for p in pauses
            if p.kind == kind and (invoice.invoice_id in p.invoice_ids or p.whole_account)
        ]

    days_late = max((today - invoice.due_date).days, 0)
    promises = named("promise")
    promised_for = max((p.until for p in promises if p.until), default=None)
    status: InvoiceStatus
    if named("dispute"):
        status = "in_dispute"
    elif named("plan"):
        status = "in_plan"
    elif named("proposal"):
        status = "plan_proposed"
    elif promises:
        status = "promised"
    elif days_late > 0:
        status = "overdue"
    else:
        status = "due"
    return InvoiceLine(invoice, status, days_late, promised_for)


def account_of(invoices: Sequence[OpenInvoice], pauses: Sequence[Pause], today: date) -> Account:
    balances = []
    for currency in sorted({i.currency for i in invoices}):
        lines = tuple(status_of(i, pauses, today) for i in invoices if i.currency == currency)
        balances.append(
            CurrencyBalance(
                currency=currency,
                lines=lines,
                open_total=sum((line.invoice.open_amount for line in lines), Decimal(0)),
                overdue_total=sum(
                    (line.invoice.open_amount for line in lines if line.days_late > 0),
                    Decimal(0),
                ),
            )
        )
    return Account(tuple(balances))
