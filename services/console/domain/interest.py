"""The statutory interest accrued on a customer's open invoices, to a day.

A pure function of values, on the kit's late-payment rules (:mod:`services.runtime.
late_payment`, the notifier states and claims interest with the same): the creditor
company's law (its country), the customer's type, the reference rates published on
``reference.interest-rates.v1``, and each invoice's history of open amounts as the read
model knows it. Simple interest per day from the day after the due date to today included,
on each day's open amount: each reduction of the open amount (a payment, a credit note)
counts from its value date when the ledger's event carries one (version 2 of
``ledger.invoice.open_amount_changed``), else from the day the ledger announced it. A history
that does not add up to today's open amount (an amount that went up again) is replaced by
today's open amount over the whole period.

An invoice whose contract states a late-payment rate (``late_interest_rate`` of
``ledger.invoice.opened`` version 3) bears that rate instead of the statutory one, for any
debtor (docs/law.md, "Contract rates"): the page lists those invoices and their rates
beside the statutory rule. A consumer owes no statutory interest outside Germany, so only
its invoices with a contract rate bear any. France's floor (a contract rate may not be under
three times the legal interest rate, L441-10 II) is not checked: the legal interest rate is
not among the reference rates the console reads, and Relance claims what the invoice states
(warn, never clamp).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from contracts.erp import CustomerType
from services.runtime.errors import LatePaymentError
from services.runtime.late_payment import (
    Law,
    Payment,
    ReferenceRates,
    interest_terms,
    late_interest,
)


@dataclass(frozen=True)
class OpenInvoice:
    invoice_number: str
    due_date: date
    currency: str
    amount: Decimal
    open_amount: Decimal
    contract_rate: Decimal | None = None  # percent a year, as the invoice's contract states


@dataclass(frozen=True)
class AccruedInterest:
    """What the page states: per invoice, per currency, the statutory rule used and the
    invoices at their contract's rate (invoice number: percent a year); or why not."""

    per_invoice: dict[str, Decimal]
    per_currency: dict[str, Decimal]
    rule: str | None
    unavailable: str | None = None
    contract_rates: dict[str, Decimal] = field(default_factory=dict)


def effective_day(announced_on: date, value_date: str | date | None) -> date:
    """The day a change of an open amount counts from: its value date when the ledger gave
    one (``YYYY-MM-DD`` as the timeline keeps it), else the day the ledger announced it.

    A value date that cannot be read is a bug of the read model, not the customer's: it
    raises ``ValueError``."""
    if value_date is None:
        return announced_on
    if isinstance(value_date, date):
        return value_date
    return date.fromisoformat(value_date)


def reductions_of(
    history: Iterable[tuple[date, str, Decimal, Decimal]],
) -> dict[str, list[Payment]]:
    """(day, invoice number, open before, open after) changes as payments per invoice."""
    payments: dict[str, list[Payment]] = {}
    for day, number, before, after in history:
        if after < before:
            payments.setdefault(number, []).append(Payment(day, before - after))
    return payments


def accrued_interest(
    invoices: Sequence[OpenInvoice],
    payments: Mapping[str, Sequence[Payment]],
    law: Law | None,
    customer_type: CustomerType,
    rates: ReferenceRates,
    today: date,
) -> AccruedInterest:
    if law is None:
        return AccruedInterest({}, {}, None, "no_creditor_country")
    statutory = interest_terms(law, customer_type).statutory
    contracted = [i for i in invoices if i.contract_rate is not None]
    if statutory is None and not contracted:
        return AccruedInterest({}, {}, None, "no_statutory_rate")
    day_count = "each day bears a 365th of the yearly rate, also in a leap year"
    if statutory is None:
        rule = f"{law.jurisdiction}: no statutory rate for this customer; {day_count}"
    else:
        rule = (
            f"{law.jurisdiction}: {statutory.source}, + {statutory.margin_points} points; "
            f"{day_count}"
        )
    per_invoice: dict[str, Decimal] = {}
    per_currency: dict[str, Decimal] = {}
    contract_rates: dict[str, Decimal] = {}
    for invoice in invoices:
        if invoice.contract_rate is not None:
            contract_rates[invoice.invoice_number] = invoice.contract_rate
        elif statutory is None:
            continue  # a consumer's invoice without a contract rate bears none
        if invoice.due_date >= today:
            continue
        terms = interest_terms(law, customer_type, invoice.contract_rate)
        paid = list(payments.get(invoice.invoice_number, ()))
        amount = invoice.amount
        if amount - sum((p.amount for p in paid), Decimal(0)) != invoice.open_amount:
            amount, paid = invoice.open_amount, []
        try:
            claim = late_interest(
                amount, invoice.currency, invoice.due_date, today, terms, rates, paid
            )
        except LatePaymentError:  # no reference rate known for a day of the period
            return AccruedInterest({}, {}, rule, "no_reference_rate")
        per_invoice[invoice.invoice_number] = claim.total
        per_currency[invoice.currency] = per_currency.get(invoice.currency, Decimal(0)) + (
            claim.total
        )
    return AccruedInterest(per_invoice, per_currency, rule, contract_rates=contract_rates)
