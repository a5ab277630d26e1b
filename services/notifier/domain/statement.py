"""The statement of open items a reminder states: invoices, penalties and totals per currency.

An invoice handled elsewhere (under an open dispute, an active promise to pay or a payment
plan) is never presented as due: when it is shown for completeness its line carries what
handles it (``handled``) and it counts toward no total, no interest and no indemnity.

A late invoice whose contract states a late-payment rate bears interest at that rate; its
line carries the rate (``contract_rate``) so that the text says so, and the statutory rate
is stated only while a late invoice still bears it (``penalties``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from contracts.dunning import DunnedInvoice
from contracts.erp import CustomerType
from services.notifier.domain import penalties
from services.runtime import late_payment
from services.runtime.late_payment import ReferenceRates

HandlingKind = Literal["dispute", "promise", "plan"]


@dataclass(frozen=True)
class Handling:
    """Why an invoice is not due in a statement: a dispute (since), a promise (until), a plan."""

    kind: HandlingKind
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class PenaltyTerms:
    """The law late payment falls under: the creditor company's country, the reference rates
    known to the notifier."""

    creditor_country: str
    rates: ReferenceRates


@dataclass(frozen=True)
class PlatformReference:
    """Where a public body's invoice stands on the public e-invoicing platform (Chorus Pro
    in France): the buyer's service code and commitment number, as the ERP gave them."""

    service_code: str | None
    commitment_number: str | None


@dataclass(frozen=True)
class StatementLine:
    invoice_id: str
    invoice_number: str
    due_date: date
    amount: Decimal
    open_amount: Decimal
    currency: str
    days_late: int
    interest: Decimal
    handled: Handling | None = None
    platform: PlatformReference | None = None  # a public body's e-invoicing references
    # the yearly rate (percent) the invoice's contract states, when the line bears interest
    # at it instead of the statutory rate
    contract_rate: Decimal | None = None


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    open_amount: Decimal
    interest: Decimal

    @property
    def with_interest(self) -> Decimal:
        return self.open_amount + self.interest


@dataclass(frozen=True)
class Statement:
    as_of: date
    lines: tuple[StatementLine, ...]
    totals: tuple[CurrencyTotal, ...]
    include_penalties: bool
    # the statutory yearly rate in force on ``as_of``; None when unknown or none applies
    annual_rate_percent: Decimal | None
    indemnity: Decimal
    late_invoices: int
    indemnity_applies: bool = True
    indemnity_currency: str = "EUR"
    jurisdiction: str = "FR"
    # True when a late invoice's interest needs a reference rate not known yet: the
    # statement leaves that interest out and says so
    interest_unknown: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def due_lines(self) -> tuple[StatementLine, ...]:
        return tuple(line for line in self.lines if line.handled is None)

    @property
    def contract_rate_lines(self) -> tuple[StatementLine, ...]:
        """The late invoices bearing interest at their contract's rate, not the statutory one."""
        return tuple(line for line in self.due_lines if line.contract_rate is not None)


def statement_of(
    invoices: Iterable[DunnedInvoice],
    as_of: date,
    include_penalties: bool,
    terms: PenaltyTerms,
    *,
    handled: Mapping[str, Handling] | None = None,
    customer_type: CustomerType = "business",
    payments: Mapping[str, tuple[late_payment.Payment, ...]] | None = None,
    references: Mapping[str, PlatformReference] | None = None,
    contract_rates: Mapping[str, Decimal] | None = None,
) -> Statement:
    """Draw the statement of ``invoices`` on ``as_of``; penalties only if the step asks.

    Invoices in ``handled`` are marked and left out of the totals, the interest and the
    count of late invoices; a consumer is never charged the fixed recovery indemnity.
    ``payments``: by invoice, what reduced its open amount after its due date
    (``penalties.payments_after_due``): interest runs on the open amount of each day.
    ``references``: by invoice, a public body's platform references, printed on its line.
    ``contract_rates``: by invoice, the late-payment rate its contract states (percent a
    year), which it bears instead of the statutory rate.
    """
    handled = handled or {}
    ordered = sorted(invoices, key=lambda i: (i.due_date, i.invoice_number))
    due = [i for i in ordered if i.invoice_id not in handled]
    owed = penalties.penalties_of(
        (
            penalties.LateInvoice(
                i.invoice_id,
                i.open_amount.amount,
                i.open_amount.currency,
                i.due_date,
                (payments or {}).get(i.invoice_id, ()),
                (contract_rates or {}).get(i.invoice_id),
            )
            for i in due
        )
        if include_penalties
        else (),
        as_of,
        creditor_country=terms.creditor_country,
        customer_type=customer_type,
        rates=terms.rates,
    )
    lines: list[StatementLine] = []
    for invoice in ordered:
        lines.append(
            StatementLine(
                invoice_id=invoice.invoice_id,
                invoice_number=invoice.invoice_number,
                due_date=invoice.due_date,
                amount=invoice.amount.amount,
                open_amount=invoice.open_amount.amount,
                currency=invoice.open_amount.currency,
                days_late=penalties.days_late(invoice.due_date, as_of),
                interest=owed.interest.get(invoice.invoice_id, Decimal(0)),
                handled=handled.get(invoice.invoice_id),
                platform=(references or {}).get(invoice.invoice_id),
                contract_rate=owed.contract_rates.get(invoice.invoice_id),
            )
        )
    open_by: defaultdict[str, Decimal] = defaultdict(Decimal)
    interest_by: defaultdict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        if line.handled is not None:
            continue
        open_by[line.currency] += line.open_amount
        interest_by[line.currency] += line.interest
    totals = tuple(
        CurrencyTotal(currency, open_by[currency], interest_by[currency])
        for currency in sorted(open_by)
    )
    late_invoices = sum(1 for line in lines if line.days_late > 0 and line.handled is None)
    return Statement(
        as_of=as_of,
        lines=tuple(lines),
        totals=totals,
        include_penalties=include_penalties,
        annual_rate_percent=owed.yearly_rate,
        indemnity=owed.indemnity or Decimal(0),
        late_invoices=late_invoices,
        indemnity_applies=customer_type != "consumer",
        indemnity_currency=owed.indemnity_currency,
        jurisdiction=owed.jurisdiction,
        interest_unknown=bool(owed.interest_unknown),
        warnings=owed.warnings,
    )
