"""How a payment or a credit note is spread over invoices, in exact ``Decimal`` arithmetic.

The rule for a payment, in order:

1. its explicit allocations, each capped at what the named invoice still owes (an explicit
   allocation to an invoice in another currency makes the whole payment inapplicable:
   ``currency_mismatch``);
2. what is left goes to the invoice whose number is the payment's ``reference`` (trimmed),
   if that invoice is open, of the customer and in the payment's currency;
3. then to the customer's open invoices in the payment's currency, oldest due date first
   (ties: oldest issue date, then invoice number);
4. what is still left becomes the customer's credit balance in that currency.

A credit note naming an invoice reduces it by at most its open amount; the rest, or the
whole credit note if it names no invoice, becomes credit balance. No invoice's open amount
ever goes below zero and the parts always add up to the document's amount.
"""

from __future__ import annotations

import heapq
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

from services.ingestion.errors import Inapplicable

ZERO = Decimal(0)


class Owed(Protocol):
    """What the allocation reads of an invoice (an :class:`OwedInvoice`, or a ledger row)."""

    @property
    def invoice_number(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def open_amount(self) -> Decimal: ...
    @property
    def due_date(self) -> date: ...
    @property
    def issue_date(self) -> date: ...


@dataclass(frozen=True)
class OwedInvoice:
    """What the allocation needs to know about one invoice."""

    invoice_number: str
    currency: str
    open_amount: Decimal
    due_date: date
    issue_date: date


@dataclass(frozen=True)
class AllocationPlan:
    """Amounts per invoice (each invoice once, in order of allocation) and the credit left."""

    allocations: tuple[tuple[str, Decimal], ...]
    credit: Decimal

    @property
    def allocated(self) -> Decimal:
        return sum((amount for _, amount in self.allocations), ZERO)


class _Spread:
    def __init__(self, amount: Decimal, by_number: Mapping[str, Owed]) -> None:
        self.left = amount
        self.by_number = by_number
        # what is still owed on the invoices given to so far; the others owe their
        # open amount (not copied for every invoice: most are never given to)
        self.owed: dict[str, Decimal] = {}
        self.parts: dict[str, Decimal] = {}

    def owed_on(self, invoice_number: str) -> Decimal:
        owed = self.owed.get(invoice_number)
        if owed is not None:
            return owed
        invoice = self.by_number.get(invoice_number)
        return ZERO if invoice is None else invoice.open_amount

    def give(self, invoice_number: str, wanted: Decimal) -> None:
        part = min(wanted, self.owed_on(invoice_number), self.left)
        if part <= 0:
            return
        self.owed[invoice_number] = self.owed_on(invoice_number) - part
        self.left -= part
        self.parts[invoice_number] = self.parts.get(invoice_number, ZERO) + part

    def plan(self) -> AllocationPlan:
        return AllocationPlan(tuple(self.parts.items()), self.left)


def allocate_payment(
    amount: Decimal,
    currency: str,
    explicit: Sequence[tuple[str, Decimal]],
    reference: str | None,
    invoices: Sequence[Owed] | dict[str, Owed],
) -> AllocationPlan:
    """Spread a payment over ``invoices`` (the customer's known invoices) by the rule above.

    ``invoices`` may be given by number (a dict), as the ledger's batch holds them.
    Every invoice named in ``explicit`` must be among ``invoices``.
    """
    by_number = invoices if isinstance(invoices, dict) else {i.invoice_number: i for i in invoices}
    for number, _ in explicit:
        invoice = by_number[number]
        if invoice.currency != currency:
            raise Inapplicable(
                "currency_mismatch",
                f"a payment in {currency} is allocated to invoice {number} in {invoice.currency}",
            )
    spread = _Spread(amount, by_number)
    for number, wanted in explicit:
        spread.give(number, wanted)
    if reference is not None:
        named = by_number.get(reference.strip())
        if named is not None and named.currency == currency:
            spread.give(named.invoice_number, spread.left)
    if spread.left > 0:
        # A heap rather than a sort: a payment usually settles one or two invoices of a
        # customer who may have hundreds open, so only those are ever ordered. The keys of
        # all the candidates are made in C (attrgetter over the values), and the currency
        # and what is still owed checked only for the invoices popped: a Python loop over
        # every open invoice of the customer, per payment, was the largest part of it.
        oldest_first = list(map(OLDEST_FIRST, by_number.values()))
        heapq.heapify(oldest_first)
        pop = heapq.heappop
        while spread.left > 0 and oldest_first:
            number = pop(oldest_first)[2]
            if by_number[number].currency == currency:
                spread.give(number, spread.left)  # nothing to an invoice paid off already
    return spread.plan()


OLDEST_FIRST = operator.attrgetter("due_date", "issue_date", "invoice_number")


def allocate_credit_note(amount: Decimal, currency: str, invoice: Owed | None) -> AllocationPlan:
    """Reduce ``invoice`` by at most its open amount; the rest is credit."""
    if invoice is None:
        return AllocationPlan((), amount)
    if invoice.currency != currency:
        raise Inapplicable(
            "currency_mismatch",
            f"a credit note in {currency} names invoice {invoice.invoice_number} "
            f"in {invoice.currency}",
        )
    spread = _Spread(amount, {invoice.invoice_number: invoice})
    spread.give(invoice.invoice_number, amount)
    return spread.plan()


@dataclass(frozen=True)
class Correction:
    """An invoice's new open amount after its total changed, and what was overpaid."""

    open_amount: Decimal
    overpaid: Decimal


def correct_amount(amount: Decimal, open_amount: Decimal, new_amount: Decimal) -> Correction:
    """What was already paid stays paid; if it exceeds the new total, the excess is credit."""
    paid = amount - open_amount
    return Correction(max(new_amount - paid, ZERO), max(paid - new_amount, ZERO))
