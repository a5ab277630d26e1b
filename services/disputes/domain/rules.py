"""What makes a command acceptable, checked against the service's view of the ledger.

Each check returns nothing or raises :class:`CommandRejected` with a stable reason code
and a sentence that says what to fix.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Protocol

from contracts.disputes import Instalment
from services.disputes.errors import CommandRejected


class Row(Protocol):
    """A stored dispute, promise or plan as the shell read it: its columns by name."""

    def __getitem__(self, column: str, /) -> Any: ...


@dataclass(frozen=True)
class InvoiceView:
    """What the disputes service knows of an invoice from the ledger."""

    invoice_id: str
    customer_id: str
    currency: str
    open_amount: Decimal
    status: str  # open, settled, cancelled


def check_invoices(
    customer_id: str, wanted: Sequence[str], known: Mapping[str, InvoiceView]
) -> list[InvoiceView]:
    """Every invoice named is known, the customer's, and still open."""
    found = []
    for invoice_id in wanted:
        invoice = known.get(invoice_id)
        if invoice is None:
            raise CommandRejected("unknown_invoice", f"invoice {invoice_id} is not in the ledger")
        if invoice.customer_id != customer_id:
            raise CommandRejected(
                "invoice_of_another_customer",
                f"invoice {invoice_id} belongs to customer {invoice.customer_id}, "
                f"not {customer_id}",
            )
        if invoice.status == "settled":
            raise CommandRejected(
                "invoice_already_settled", f"invoice {invoice_id} is already settled"
            )
        if invoice.status == "cancelled":
            raise CommandRejected("invoice_cancelled", f"invoice {invoice_id} was cancelled")
        found.append(invoice)
    return found


def check_not_taken(
    reason: str, what: str, wanted: Collection[str], taken: Mapping[str, str]
) -> None:
    """None of ``wanted`` is already held by another open ``what`` (invoice -> its id)."""
    for invoice_id in sorted(wanted):
        holder = taken.get(invoice_id)
        if holder is not None:
            raise CommandRejected(reason, f"invoice {invoice_id} is already under {what} {holder}")


def check_currency(currency: str, invoices: Sequence[InvoiceView]) -> None:
    for invoice in invoices:
        if invoice.currency != currency:
            raise CommandRejected(
                "currency_mismatch",
                f"the amount is in {currency} but invoice {invoice.invoice_id} is in "
                f"{invoice.currency}",
            )


def check_promised_date(promised_date: date, today: date, max_days: int) -> None:
    if promised_date < today:
        raise CommandRejected(
            "promised_date_in_past", f"the promised date {promised_date} is before today {today}"
        )
    if promised_date > today + timedelta(days=max_days):
        raise CommandRejected(
            "promised_date_too_far",
            f"the promised date {promised_date} is more than {max_days} days away: "
            "agree a payment plan instead",
        )


def check_plan(
    instalments: Sequence[Instalment],
    agreed_on: date,
    today: date,
    invoices: Sequence[InvoiceView],
    first_within_days: int,
) -> None:
    """An immediate partial payment first, and instalments that cover what is open."""
    first = instalments[0].due_date
    if first < agreed_on or first > agreed_on + timedelta(days=first_within_days):
        raise CommandRejected(
            "first_instalment_not_immediate",
            f"the first instalment is due {first}; a payment plan starts with an immediate "
            f"partial payment, due within {first_within_days} days of {agreed_on}",
        )
    if instalments[-1].due_date < today:
        raise CommandRejected(
            "plan_in_the_past", f"the last instalment was due {instalments[-1].due_date}"
        )
    total = sum((i.amount.amount for i in instalments), Decimal(0))
    open_total = sum((i.open_amount for i in invoices), Decimal(0))
    if total < open_total:
        raise CommandRejected(
            "instalments_do_not_cover",
            f"the instalments add up to {total} but the invoices have {open_total} open",
        )
