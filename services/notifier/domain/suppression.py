"""Which invoices of a reminder may still be reminded about, just before sending."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from contracts.dunning import DunnedInvoice
from contracts.notifications import SuppressionReason


@dataclass(frozen=True)
class InvoiceFilter:
    """What is left to remind about, and why the rest was dropped."""

    remaining: tuple[DunnedInvoice, ...]
    dropped: tuple[str, ...]
    reason: SuppressionReason | None


def still_due(
    invoices: Collection[DunnedInvoice],
    closed: Collection[str],
    disputed: Collection[str],
    whole_account_disputed: bool,
) -> InvoiceFilter:
    """Drop invoices settled or cancelled (``closed``) or disputed since scheduling."""
    remaining: list[DunnedInvoice] = []
    dropped: list[str] = []
    any_disputed = False
    for invoice in invoices:
        is_disputed = whole_account_disputed or invoice.invoice_id in disputed
        if is_disputed or invoice.invoice_id in closed:
            dropped.append(invoice.invoice_id)
            any_disputed = any_disputed or is_disputed
        else:
            remaining.append(invoice)
    reason: SuppressionReason | None = None
    if dropped:
        reason = "invoice_disputed" if any_disputed else "invoice_settled"
    return InvoiceFilter(tuple(remaining), tuple(dropped), reason)
