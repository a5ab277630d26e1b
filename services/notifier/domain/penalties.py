"""Late-payment penalties a statement states: the interest of each late invoice and the fixed
recovery indemnity, by the law of the creditor company's country (``docs/law.md``).

The rules are the kit's (:mod:`services.runtime.late_payment`): the statutory rate of each
half-year from the reference rates the notifier keeps, simple interest actual/365 on the
invoice's open amount from the day after its due date up to the statement's day, rounded
once to the currency's minor unit; the fixed indemnity per late invoice for a business or a
public body (40 EUR, or GBP 40/70/100 in the UK by the size of the debt), never for a
consumer. The base is the open amount of each day: each payment or credit recorded after
the due date (``payments_after_due``, from the open-amount changes the notifier keeps with
their value dates) lowers it from its value date; where that history is missing or not a
plain series of reductions (a reversal, a correction upward), the current open amount is
the base over the whole period, as before.

An invoice whose contract states a late-payment rate (``late_interest_rate`` of
``ledger.invoice.opened`` version 3) bears that rate instead of the statutory one, for any
debtor, a consumer included (``docs/law.md``, "Contract rates"); it needs no reference
rate. France's floor (a contract rate may not be under three times the legal interest
rate, L441-10 II) is not checked: the legal interest rate is not among the reference rates
the notifier keeps, and Relance claims what the invoice states (warn, never clamp).

A day whose reference rate is not known yet does not make anyone guess: the interest is
left out (:attr:`Penalties.interest_unknown`) and the statement says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import pairwise

from contracts.erp import CustomerType
from services.runtime import late_payment
from services.runtime.errors import LatePaymentError, NoReferenceRate
from services.runtime.late_payment import ReferenceRates


@dataclass(frozen=True)
class LateInvoice:
    """One late invoice of a statement: what it owes interest on."""

    invoice_id: str
    open_amount: Decimal
    currency: str
    due_date: date
    # reductions of the open amount after the due date, by value date (none: the current
    # open amount is the base for every day)
    payments: tuple[late_payment.Payment, ...] = ()
    # percent a year, as the invoice's contract states it; None: the statutory rate
    contract_rate: Decimal | None = None


@dataclass(frozen=True)
class OpenAmountChange:
    """One change of an invoice's open amount: the day it took effect, before and after."""

    value_date: date
    before: Decimal
    after: Decimal


def payments_after_due(
    changes: Iterable[OpenAmountChange], due_date: date, open_amount: Decimal
) -> tuple[late_payment.Payment, ...]:
    """The payments (and credits) that reduced the open amount after ``due_date``, each on
    its value date; empty unless the changes after the due date are a plain series of
    reductions ending at ``open_amount`` (then nothing is claimed on money already paid)."""
    after = sorted((c for c in changes if c.value_date > due_date), key=lambda c: c.value_date)
    if not after or after[-1].after != open_amount:
        return ()
    if any(c.after >= c.before for c in after):
        return ()  # a reversal or an upward correction: no reliable history of the base
    if any(b.before != a.after for a, b in pairwise(after)):
        return ()  # a change missing in between
    return tuple(late_payment.Payment(c.value_date, c.before - c.after) for c in after)


@dataclass(frozen=True)
class Penalties:
    """The penalties of a statement drawn on ``as_of``.

    ``interest`` maps each invoice id to its interest (absent when unknown);
    ``yearly_rate`` is the statutory rate in force on ``as_of`` (None if unknown or none, or
    when every late invoice bears its contract's rate instead);
    ``contract_rates`` maps each late invoice bearing its contract's rate to that rate;
    ``indemnity`` is in ``indemnity_currency``, None for a consumer.
    """

    jurisdiction: str
    interest: dict[str, Decimal]
    yearly_rate: Decimal | None
    indemnity: Decimal | None
    indemnity_currency: str
    interest_unknown: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    contract_rates: dict[str, Decimal] = field(default_factory=dict)

    @property
    def indemnity_applies(self) -> bool:
        return self.indemnity is not None


def days_late(due_date: date, as_of: date) -> int:
    """Days of interest: from the day after the due date up to ``as_of`` included."""
    return max(0, (as_of - due_date).days)


def penalties_of(
    invoices: Iterable[LateInvoice],
    as_of: date,
    *,
    creditor_country: str,
    customer_type: CustomerType,
    rates: ReferenceRates,
) -> Penalties:
    """The interest and fixed indemnity of ``invoices`` on ``as_of`` under the creditor's law.

    An invoice whose interest needs a reference rate not known for one of its days is left
    out of ``interest`` and named in ``interest_unknown``; it still counts for the indemnity.
    """
    law = late_payment.law_of(creditor_country)
    terms = late_payment.interest_terms(law, customer_type)
    interest: dict[str, Decimal] = {}
    contract_rates: dict[str, Decimal] = {}
    statutory_late = 0  # late invoices bearing the statutory rate
    unknown: list[str] = []
    warnings: list[str] = list(terms.warnings)
    indemnity: Decimal | None = None if customer_type == "consumer" else Decimal(0)
    indemnity_currency = law.indemnity_currency
    for invoice in invoices:
        if days_late(invoice.due_date, as_of) == 0 or invoice.open_amount <= 0:
            continue
        invoice_terms = terms
        if invoice.contract_rate is not None:
            invoice_terms = late_payment.interest_terms(law, customer_type, invoice.contract_rate)
            contract_rates[invoice.invoice_id] = invoice.contract_rate
        else:
            statutory_late += 1
        try:
            paid = sum((p.amount for p in invoice.payments), Decimal(0))
            claim = late_payment.late_interest(
                invoice.open_amount + paid,  # the base on the day after the due date
                invoice.currency,
                invoice.due_date,
                as_of,
                invoice_terms,
                rates,
                payments=invoice.payments,
            )
        except NoReferenceRate as exc:
            unknown.append(invoice.invoice_id)
            warnings.append(f"{invoice.invoice_id}: {exc}")
        else:
            interest[invoice.invoice_id] = claim.total
        if indemnity is not None:
            try:
                fixed = law.fixed_indemnity(customer_type, invoice.open_amount, invoice.currency)
            except LatePaymentError as exc:  # a UK claim in another currency than GBP
                warnings.append(f"{invoice.invoice_id}: {exc}")
                continue
            if fixed is not None:
                indemnity += fixed.amount
                indemnity_currency = fixed.currency
    return Penalties(
        jurisdiction=law.jurisdiction,
        interest=interest,
        # stated when an invoice bears it, or when none is late (as the statutory rule)
        yearly_rate=_rate_on(terms, rates, as_of) if statutory_late or not contract_rates else None,
        indemnity=indemnity,
        indemnity_currency=indemnity_currency,
        interest_unknown=tuple(unknown),
        warnings=tuple(warnings),
        contract_rates=contract_rates,
    )


def _rate_on(terms: late_payment.InterestTerms, rates: ReferenceRates, day: date) -> Decimal | None:
    """The yearly rate a debt late on ``day`` bears on that day; None if unknown or none."""
    if terms.statutory is None and terms.contract_rate is None:
        return None
    try:
        return terms.yearly_rate(day, rates, day)
    except NoReferenceRate:
        return None
