"""A run of ledger events applied set-based: a few statements per batch, not a few per event.

The notifier keeps three views of the ledger: ``customers``, ``open_items`` (with each
invoice's history of open-amount changes) and ``closed_invoices`` (what the claim and the
final check read to drop a reminder about a paid invoice). Applied one statement per event,
its consumer fell behind the ledger stream under load (``bench.suppression``), so
settlements reached ``closed_invoices`` seconds to minutes late.

:class:`LedgerRun` folds a run of consecutive ledger events, in the order the ledger
published them (an invoice's events share its customer's partition), into one *net* write
per invoice and table, then :func:`apply` writes them with one statement per kind. The end
state is the one the events would give applied one at a time, from whatever state the
tables were in:

* an invoice's net write remembers whether the batch deleted its row (a settlement removes
  the open item, a reversal reopens a closed invoice): such a row is deleted first and then
  written afresh, as the events would; otherwise it is upserted, keeping what the upsert of
  a single event keeps (the open item's customer, number and history of changes);
* the last event decides the mutable columns (due date, amounts, a closure's status); the
  contract's late-payment interest rate is the last ``ledger.invoice.opened``'s (a change of
  the open amount does not state it, so it keeps the rate the row has);
* changes of the open amount are appended in order, each once (a redelivered change, or one
  already in the row's history, is not appended again).

Customers keep their own rule (a newer version wins; a tie keeps the first), so their
upserts go in order in one ``executemany``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from contracts import ledger
from contracts.envelope import Event
from services.notifier import queries
from services.runtime.database import Connection

# Every ledger event the notifier keeps a view of; the others on the topic do not concern it.
LEDGER_EVENTS = (
    ledger.LedgerCustomerUpserted,
    ledger.InvoiceOpened,
    ledger.InvoiceSettled,
    ledger.LedgerInvoiceCancelled,
    ledger.OpenAmountChanged,
)


@dataclass(frozen=True)
class OpenItem:
    invoice_id: str
    customer_id: str
    invoice_number: str
    due_date: date
    currency: str
    amount: Decimal
    open_amount: Decimal
    # percent a year, as the invoice's contract states it (``ledger.invoice.opened`` v3)
    late_interest_rate: Decimal | None = None
    # True: the event stated the invoice's terms (an opening), so ``late_interest_rate``
    # replaces the row's; False (a change of the open amount): the row's rate is kept
    states_rate: bool = False


@dataclass(frozen=True)
class AmountChange:
    """One entry of an open item's history: on ``value_date``, from ``before`` to ``after``."""

    value_date: date
    before: Decimal
    after: Decimal


@dataclass
class _ItemWrite:
    deleted: bool  # the batch deleted the row: delete it, then write ``row`` afresh
    row: OpenItem | None  # None: no row at the end
    changes: list[AmountChange] = field(default_factory=list)


@dataclass
class _ClosureWrite:
    deleted: bool  # the batch reopened the invoice: delete it, then write afresh
    closure: tuple[str, str] | None  # (customer_id, status); None: not closed at the end


@dataclass
class LedgerRun:
    """The net writes of consecutive ledger events, per invoice."""

    customers: list[tuple[Any, ...]] = field(default_factory=list)
    items: dict[str, _ItemWrite] = field(default_factory=dict)
    closures: dict[str, _ClosureWrite] = field(default_factory=dict)
    # a public body's platform references, by invoice: (service_code, commitment_number)
    references: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.customers or self.items or self.closures or self.references)

    def add(self, event: Event) -> None:
        match event:
            case ledger.LedgerCustomerUpserted(payload=customer):
                self.customers.append(
                    (
                        customer.customer_id,
                        customer.version,
                        customer.name,
                        customer.language,
                        [c.model_dump(mode="json") for c in customer.contacts],
                        customer.company_code,
                        customer.country,
                        customer.time_zone,
                        customer.segment.customer_type,
                    )
                )
            case ledger.InvoiceOpened(payload=opened):
                self._upsert_item(
                    replace(
                        _open_item(opened),
                        late_interest_rate=opened.late_interest_rate,
                        states_rate=True,
                    )
                )
                if opened.service_code is not None or opened.commitment_number is not None:
                    self.references[opened.invoice_id] = (
                        opened.service_code,
                        opened.commitment_number,
                    )
            case ledger.InvoiceSettled(payload=settlement):
                self._close(settlement.invoice_id, settlement.customer_id, "settled")
            case ledger.LedgerInvoiceCancelled(payload=cancellation):
                self._close(cancellation.invoice_id, cancellation.customer_id, "cancelled")
            case ledger.OpenAmountChanged(payload=change):
                self.closures[change.invoice_id] = _ClosureWrite(deleted=True, closure=None)
                self._upsert_item(_open_item(change))
                self._append_change(
                    change.invoice_id,
                    AmountChange(
                        change.value_date or event.occurred_at.date(),
                        change.previous_open_amount.amount,
                        change.open_amount.amount,
                    ),
                )
            case _:
                raise TypeError(f"not a ledger event the notifier keeps: {event.event_type}")

    def _upsert_item(self, row: OpenItem) -> None:
        write = self.items.get(row.invoice_id)
        if write is None:
            self.items[row.invoice_id] = _ItemWrite(deleted=False, row=row)
        elif write.row is None:
            write.row = row
        else:  # an upsert keeps the row's customer and number, takes the rest
            write.row = OpenItem(
                write.row.invoice_id,
                write.row.customer_id,
                write.row.invoice_number,
                row.due_date,
                row.currency,
                row.amount,
                row.open_amount,
                row.late_interest_rate if row.states_rate else write.row.late_interest_rate,
                row.states_rate or write.row.states_rate,
            )

    def _append_change(self, invoice_id: str, change: AmountChange) -> None:
        write = self.items[invoice_id]  # always after the change's own upsert
        if change not in write.changes:
            write.changes.append(change)

    def _close(self, invoice_id: str, customer_id: str, status: str) -> None:
        self.items[invoice_id] = _ItemWrite(deleted=True, row=None)
        write = self.closures.get(invoice_id)
        if write is None:
            self.closures[invoice_id] = _ClosureWrite(False, (customer_id, status))
        elif write.closure is None:
            write.closure = (customer_id, status)
        else:  # an upsert of a closed invoice changes its status only
            write.closure = (write.closure[0], status)


def _open_item(item: ledger.OpenedInvoice | ledger.OpenAmountChange) -> OpenItem:
    return OpenItem(
        item.invoice_id,
        item.customer_id,
        item.invoice_number,
        item.due_date,
        item.amount.currency,
        item.amount.amount,
        item.open_amount.amount,
    )


async def apply(connection: Connection, run: LedgerRun) -> None:
    """Write ``run`` in at most nine statements (rows in invoice order, for a stable lock
    order)."""
    if run.customers:
        await connection.executemany(queries.UPSERT_CUSTOMER, run.customers)
    closures = sorted(run.closures.items())
    reopened = [invoice_id for invoice_id, w in closures if w.deleted]
    if reopened:
        await connection.execute(queries.REOPEN_INVOICES, reopened)
    closed = [(invoice_id, w.closure) for invoice_id, w in closures if w.closure is not None]
    if closed:
        await connection.execute(
            queries.CLOSE_INVOICES,
            [invoice_id for invoice_id, _ in closed],
            [closure[0] for _, closure in closed],
            [closure[1] for _, closure in closed],
        )
        # a settled or cancelled invoice's broken promise is recalled no more
        await connection.execute(
            queries.FORGET_BROKEN_COMMITMENTS, [invoice_id for invoice_id, _ in closed]
        )
    items = sorted(run.items.items())
    deleted = [invoice_id for invoice_id, w in items if w.deleted]
    if deleted:
        await connection.execute(queries.DELETE_OPEN_ITEMS, deleted)
    rows = [w.row for _, w in items if w.row is not None]
    if rows:
        await connection.execute(queries.UPSERT_OPEN_ITEMS, *_columns(rows))
    stated = [row for row in rows if row.states_rate]
    if stated:
        await connection.execute(
            queries.RECORD_CONTRACT_RATES,
            [row.invoice_id for row in stated],
            [row.late_interest_rate for row in stated],
        )
    references = sorted(run.references.items())
    if references:
        await connection.execute(
            queries.RECORD_PLATFORM_REFERENCES,
            [invoice_id for invoice_id, _ in references],
            [codes[0] for _, codes in references],
            [codes[1] for _, codes in references],
        )
    changes = [(invoice_id, c) for invoice_id, w in items for c in w.changes]
    if changes:
        await connection.execute(
            queries.RECORD_OPEN_AMOUNT_CHANGES,
            [invoice_id for invoice_id, _ in changes],
            [c.value_date for _, c in changes],
            [c.before for _, c in changes],
            [c.after for _, c in changes],
        )


def _columns(rows: Sequence[OpenItem]) -> tuple[list[Any], ...]:
    return (
        [r.invoice_id for r in rows],
        [r.customer_id for r in rows],
        [r.invoice_number for r in rows],
        [r.due_date for r in rows],
        [r.currency for r in rows],
        [r.amount for r in rows],
        [r.open_amount for r in rows],
    )
