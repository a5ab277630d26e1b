"""A run of the tracker's ledger events: read up front, changed in memory, written set-based.

The tracker applied each ledger event with its own statements (the customer's row, the
invoice's row, what the customer owes, the save): three to five round trips per event, the
largest part of its CPU. :class:`LedgerRun` holds what a run of consecutive ledger events
reads and writes of ``customer`` and ``dunning_invoice``: :meth:`LedgerRun.load` reads it in
three statements, the tracker's logic (:mod:`services.scheduler.tracking`, unchanged) reads
and changes it in memory event by event, and :meth:`LedgerRun.write` writes the rows it
changed in two. The end state is the one the events give applied one at a time:

* every read answers what the database would answer at that point of the run: the cached
  row as the statements would have left it (a save writes the columns ``SAVE_INVOICE``
  writes and keeps the others; timestamps in UTC, as asyncpg reads them back), and what a
  customer owes is the total read at the start corrected by the invoices the run changed;
* a row the load did not read (none is expected) is read when asked for: the database
  still holds the state at the start of the run, since nothing is written before the end;
* the invoices' rows are written with one upsert (the new ones inserted whole, the others'
  saved columns and hold updated), the customers' ledger columns with another, keeping the
  rule of a single upsert (a version older than the row's changes nothing).

The run ends before any event that is not one of its ledger events (a pause, a delivery's
outcome, a command), which reads the tables itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from contracts import ledger
from contracts.envelope import Event
from services.runtime.database import Connection
from services.scheduler import queries
from services.scheduler.domain.state import Customer, InvoiceState

# The ledger events a run applies; every other event the tracker handles ends it.
RUN_EVENTS = (
    ledger.LedgerCustomerUpserted,
    ledger.InvoiceOpened,
    ledger.OpenAmountChanged,
    ledger.InvoiceSettled,
    ledger.LedgerInvoiceCancelled,
)

FOLLOWED = frozenset({"active", "unassigned"})  # the statuses OUTSTANDING adds up

# The columns queries.SAVE_INVOICE writes: a save keeps the row's other columns.
_SAVED = (
    "due_date",
    "amount",
    "open_amount",
    "scenario_id",
    "next_step",
    "status",
    "pause_reason",
    "resumed",
    "last_step_name",
    "last_level",
    "last_action_at",
    "next_action_at",
    "formal_notice_at",
    "scenario_version",
    "awaiting_delivery",
)
_INSTANTS = ("last_action_at", "next_action_at", "formal_notice_at")


@dataclass(frozen=True)
class CustomerRow:
    """A ``customer`` row as the tracker reads it, with what a single upsert keeps."""

    customer: Customer
    version: int
    hold_reason: str | None
    segment: Any  # the stored JSON object


class LedgerRun:
    """The customers' and invoices' rows a run of ledger events reads and writes."""

    def __init__(self, connection: Connection, owed_matters: bool = True) -> None:
        self.connection = connection
        # False: no assignment rule reads what a customer owes, which is then not read
        self.owed_matters = owed_matters
        self._customers: dict[str, CustomerRow | None] = {}
        self._invoices: dict[str, InvoiceState | None] = {}
        self._hold_reasons: dict[str, str | None] = {}
        self._original: dict[str, InvoiceState | None] = {}  # as loaded (None: a new row)
        self._by_customer: dict[str, set[str]] = {}  # cached invoices, by customer
        self._complete: set[str] = set()  # customers whose followed invoices are all cached
        self._owed: dict[str, dict[str, tuple[Decimal, int]]] = {}  # at the start, by currency
        self._changed: dict[str, None] = {}  # invoices to write, in the order first changed
        self._upserted: dict[str, list[Any]] = {}  # customers to write: their upsert's row

    @classmethod
    async def load(
        cls, connection: Connection, events: Sequence[Event], owed_matters: bool = True
    ) -> LedgerRun:
        """A run with what ``events`` will read, read in three statements (two when what
        the customers owe does not matter)."""
        run = cls(connection, owed_matters)
        invoice_ids: set[str] = set()
        customer_ids: set[str] = set()
        upserted: set[str] = set()
        owing: set[str] = set()
        for event in events:
            payload = event.payload
            customer_ids.add(payload.customer_id)
            if isinstance(event, ledger.LedgerCustomerUpserted):
                upserted.add(payload.customer_id)
            else:
                invoice_ids.add(payload.invoice_id)
                if isinstance(event, ledger.InvoiceOpened):
                    owing.add(payload.customer_id)
        for row in await connection.fetch(queries.RUN_CUSTOMERS, sorted(customer_ids)):
            run._keep_customer(row)
        for customer_id in customer_ids - run._customers.keys():
            run._customers[customer_id] = None
        for row in await connection.fetch(
            queries.RUN_INVOICES, sorted(invoice_ids), sorted(upserted)
        ):
            run._keep_invoice(row)
        for invoice_id in invoice_ids - run._invoices.keys():
            run._invoices[invoice_id] = None
        run._complete |= upserted
        owing |= upserted
        if owing and owed_matters:
            await run._load_owed(sorted(owing))
        return run

    # -- reading -----------------------------------------------------------------------

    async def customer_row(self, customer_id: str) -> CustomerRow | None:
        if customer_id not in self._customers:
            row = await self.connection.fetchrow(queries.CUSTOMER, customer_id)
            self._customers[customer_id] = None
            if row is not None:
                self._keep_customer(row)
        return self._customers[customer_id]

    async def customer(self, customer_id: str) -> Customer | None:
        row = await self.customer_row(customer_id)
        return None if row is None else row.customer

    async def invoice(self, invoice_id: str) -> InvoiceState | None:
        """The invoice's row (``queries.INVOICE_FOR_UPDATE``); None if there is none."""
        if invoice_id not in self._invoices:
            row = await self.connection.fetchrow(queries.INVOICE_FOR_UPDATE, invoice_id)
            self._invoices[invoice_id] = None
            if row is not None:
                self._keep_invoice(row)
        return self._invoices[invoice_id]

    async def not_started(self, customer_id: str) -> list[InvoiceState]:
        """``queries.NOT_STARTED_INVOICES``: followed, no step taken yet, by invoice id."""
        return [
            s
            for s in await self._followed(customer_id)
            if s.last_step_name is None and s.status in FOLLOWED
        ]

    async def under_way(self, customer_id: str) -> list[InvoiceState]:
        """``queries.UNDER_WAY_INVOICES``: active with a step taken, by invoice id."""
        return [
            s
            for s in await self._followed(customer_id)
            if s.last_step_name is not None and s.status == "active"
        ]

    async def outstanding(self, customer_id: str) -> dict[str, Decimal]:
        """``queries.OUTSTANDING``: what the customer owes on its followed invoices, per
        currency (a currency with no such invoice left does not appear); nothing when no
        assignment rule reads it (``owed_matters``)."""
        if not self.owed_matters:
            return {}
        if customer_id not in self._owed:
            await self._load_owed([customer_id])
        totals = dict(self._owed[customer_id])
        for invoice_id in self._by_customer.get(customer_id, ()):
            if invoice_id not in self._changed:
                continue
            original = self._original[invoice_id]
            if original is not None and original.status in FOLLOWED:
                total, count = totals.get(original.currency, (Decimal(0), 0))
                totals[original.currency] = (total - original.open_amount, count - 1)
            state = self._invoices[invoice_id]
            if state is not None and state.status in FOLLOWED:
                total, count = totals.get(state.currency, (Decimal(0), 0))
                totals[state.currency] = (total + state.open_amount, count + 1)
        return {currency: total for currency, (total, count) in totals.items() if count}

    # -- changing ----------------------------------------------------------------------

    async def upsert_customer(self, payload: ledger.LedgerCustomer) -> Customer | None:
        """``queries.UPSERT_CUSTOMER`` then ``queries.CUSTOMER``: the customer as written,
        or None when the row holds a newer version (nothing changes)."""
        kept = await self.customer_row(payload.customer_id)
        if kept is not None and kept.version > payload.version:
            return None
        segment = json.loads(payload.segment.model_dump_json())
        customer = Customer.of(
            {
                "customer_id": payload.customer_id,
                "company_code": payload.company_code,
                "country": payload.country,
                "time_zone": payload.time_zone,
                "language": payload.language,
                "segment": segment,
                "last_contact_at": None if kept is None else kept.customer.last_contact_at,
                "held_until": None if kept is None else kept.customer.held_until,
                "scenario_override": None if kept is None else kept.customer.scenario_override,
            }
        )
        self._customers[payload.customer_id] = CustomerRow(
            customer, payload.version, None if kept is None else kept.hold_reason, segment
        )
        self._upserted[payload.customer_id] = [
            payload.customer_id,
            payload.company_code,
            payload.country,
            payload.time_zone,
            payload.language,
            segment,
            payload.version,
        ]
        return customer

    async def insert_invoice(self, payload: ledger.OpenedInvoice) -> InvoiceState:
        """``queries.INSERT_INVOICE`` (nothing if the row exists), then the row."""
        existing = await self.invoice(payload.invoice_id)
        if existing is not None:
            return existing
        state = InvoiceState(
            invoice_id=payload.invoice_id,
            customer_id=payload.customer_id,
            company_code=payload.company_code,
            invoice_number=payload.invoice_number,
            due_date=payload.due_date,
            currency=payload.amount.currency,
            amount=payload.amount.amount,
            open_amount=payload.open_amount.amount,
            scenario_id=None,
            next_step=None,
            scenario_version=None,
            status="active",
            pause_reason=None,
            resumed=False,
            last_step_name=None,
            last_level=None,
            last_action_at=None,
            next_action_at=None,
        )
        self._original[state.invoice_id] = None
        self._hold_reasons[state.invoice_id] = None
        self._put(state)
        return state

    def save(self, state: InvoiceState) -> None:
        """``queries.SAVE_INVOICE``: the saved columns of ``state`` over its row."""
        row = self._invoices.get(state.invoice_id)
        if row is None:
            return  # no row: the UPDATE changes nothing
        changes = {name: getattr(state, name) for name in _SAVED}
        for name in _INSTANTS:
            at = changes[name]
            if at is not None:
                changes[name] = at.astimezone(UTC)
        self._put(row.moved(**changes))

    async def hold_like_customer(self, invoice_id: str) -> None:
        """``queries.HOLD_LIKE_CUSTOMER``: the invoice's row takes its customer's hold."""
        row = self._invoices.get(invoice_id)
        if row is None:
            return
        holder = await self.customer_row(row.customer_id)
        if holder is None:
            return
        self._hold_reasons[invoice_id] = holder.hold_reason
        self._put(row.moved(held_until=holder.customer.held_until))

    # -- writing -----------------------------------------------------------------------

    async def write(self) -> None:
        """Write the rows the run changed: two statements at most, rows in key order."""
        if self._upserted:
            rows = [self._upserted[c] for c in sorted(self._upserted)]
            await self.connection.execute(queries.UPSERT_CUSTOMERS, json.dumps(rows))
        if self._changed:
            invoices = [self._invoice_row(i) for i in sorted(self._changed)]
            await self.connection.execute(queries.WRITE_INVOICES, json.dumps(invoices))

    def _invoice_row(self, invoice_id: str) -> list[Any]:
        s = self._invoices[invoice_id]
        assert s is not None  # a run deletes no row
        return [
            s.invoice_id,
            s.customer_id,
            s.company_code,
            s.invoice_number,
            s.due_date.isoformat(),
            s.currency,
            str(s.amount),
            str(s.open_amount),
            s.scenario_id,
            s.next_step,
            s.status,
            s.pause_reason,
            s.resumed,
            s.last_step_name,
            s.last_level,
            _instant(s.last_action_at),
            _instant(s.next_action_at),
            _instant(s.formal_notice_at),
            s.scenario_version,
            s.awaiting_delivery,
            _instant(s.held_until),
            self._hold_reasons[invoice_id],
        ]

    # -- the cache ---------------------------------------------------------------------

    def _keep_customer(self, row: Any) -> None:
        self._customers[row["customer_id"]] = CustomerRow(
            Customer.of(row), row["version"], row["hold_reason"], row["segment"]
        )

    def _keep_invoice(self, row: Any) -> None:
        state = InvoiceState.of(row)
        if state.invoice_id in self._invoices and self._invoices[state.invoice_id] is not None:
            return  # the run's own version of the row stands
        self._original[state.invoice_id] = state
        self._hold_reasons[state.invoice_id] = row["hold_reason"]
        self._invoices[state.invoice_id] = state
        self._by_customer.setdefault(state.customer_id, set()).add(state.invoice_id)

    def _put(self, state: InvoiceState) -> None:
        self._invoices[state.invoice_id] = state
        self._by_customer.setdefault(state.customer_id, set()).add(state.invoice_id)
        self._changed[state.invoice_id] = None

    async def _followed(self, customer_id: str) -> list[InvoiceState]:
        """Every invoice of the customer the database would show as followed now, and the
        cached ones, by invoice id."""
        if customer_id not in self._complete:
            for row in await self.connection.fetch(queries.CUSTOMER_INVOICES, customer_id):
                self._keep_invoice(row)
            self._complete.add(customer_id)
        states = (self._invoices[i] for i in sorted(self._by_customer.get(customer_id, ())))
        return [s for s in states if s is not None]

    async def _load_owed(self, customer_ids: Iterable[str]) -> None:
        wanted = list(customer_ids)
        for customer_id in wanted:
            self._owed[customer_id] = {}
        for row in await self.connection.fetch(queries.RUN_OUTSTANDING, wanted):
            self._owed[row["customer_id"]][row["currency"]] = (row["total"], row["invoices"])


def _instant(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()
