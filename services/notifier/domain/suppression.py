"""Which invoices of a reminder may still be reminded about, just before sending.

Every reason to stay silent, in one place: an invoice settled or cancelled
(``invoice_settled``), under an open dispute (``invoice_disputed``), under an active promise
to pay or payment plan recorded after the decision, or held by a collector until a date
that has not passed (``paused``; a hold of the whole customer holds each of its invoices);
the whole delivery when every recipient opted out (``opted_out``); when only some did,
the message goes to the others and leaves them out (:func:`reachable`). A
suspension holds a delivery (it waits, nothing is dropped), so it is decided in the claim,
not here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from contracts.dunning import DunnedInvoice
from contracts.notifications import SuppressionReason


@dataclass(frozen=True)
class InvoiceFilter:
    """What is left to remind about, and why the rest was dropped."""

    remaining: tuple[DunnedInvoice, ...]
    dropped: tuple[str, ...]
    reason: SuppressionReason | None


@dataclass(frozen=True)
class SilenceFacts:
    """What the notifier knows about a reminder's invoices and customer at send time."""

    closed: Collection[str] = ()
    disputed: Collection[str] = ()
    whole_account_disputed: bool = False
    paused: Collection[str] = ()
    held: Collection[str] = ()  # held by a collector, the hold's date not passed
    opted_out: bool = False


def still_due(
    invoices: Collection[DunnedInvoice],
    closed: Collection[str],
    disputed: Collection[str],
    whole_account_disputed: bool,
    paused: Collection[str] = (),
) -> InvoiceFilter:
    """Drop invoices settled or cancelled (``closed``), disputed, or under a promise or plan."""
    return silence(invoices, SilenceFacts(closed, disputed, whole_account_disputed, paused=paused))


def silence(invoices: Collection[DunnedInvoice], facts: SilenceFacts) -> InvoiceFilter:
    """What may still be said, and the reason for what may not (the strongest one)."""
    everything = tuple(i.invoice_id for i in invoices)
    if facts.opted_out:
        return InvoiceFilter((), everything, "opted_out")
    remaining: list[DunnedInvoice] = []
    dropped: list[str] = []
    causes: set[SuppressionReason] = set()
    for invoice in invoices:
        if facts.whole_account_disputed or invoice.invoice_id in facts.disputed:
            causes.add("invoice_disputed")
        elif invoice.invoice_id in facts.paused or invoice.invoice_id in facts.held:
            causes.add("paused")
        elif invoice.invoice_id in facts.closed:
            causes.add("invoice_settled")
        else:
            remaining.append(invoice)
            continue
        dropped.append(invoice.invoice_id)
    strongest: tuple[SuppressionReason, ...] = ("invoice_disputed", "paused", "invoice_settled")
    reason = next((r for r in strongest if r in causes), None)
    return InvoiceFilter(tuple(remaining), tuple(dropped), reason)


# the fields of a contact that hold an address a customer can opt out of
ADDRESS_FIELDS = ("email", "phone")


@dataclass(frozen=True)
class Reachable:
    """A customer's contacts without the addresses that opted out, and those left out."""

    contacts: tuple[dict[str, Any], ...]
    left_out: tuple[str, ...]


def reachable(contacts: Collection[Mapping[str, Any]], opted_out: Collection[str]) -> Reachable:
    """The contacts with each opted-out address removed (a contact keeps its other ones: a
    STOP to SMS leaves its email), and the addresses removed, in contact order."""
    kept: list[dict[str, Any]] = []
    left_out: list[str] = []
    for contact in contacts:
        copy = dict(contact)
        for name in ADDRESS_FIELDS:
            address = copy.get(name)
            if address and str(address) in opted_out:
                del copy[name]
                left_out.append(str(address))
        kept.append(copy)
    return Reachable(tuple(kept), tuple(dict.fromkeys(left_out)))
