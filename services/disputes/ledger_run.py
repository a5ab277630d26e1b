"""A run of ledger events: read up front, decided in memory, written set-based.

The service applied each ledger event with its own statements (the invoice's upsert, the
payment's row, the customer's time zone, the promises and plans on the invoice, the
disputes waiting for it): three to ten round trips per event, most of its CPU and its
PostgreSQL backend's. :class:`LedgerRun` holds what a run of consecutive ledger events
reads and writes: :meth:`LedgerRun.load` reads it in six statements at most (customers,
invoices, open promises and active plans on the run's invoices, the disputes an opening or
a correction concerns, the customers' promise records), :meth:`LedgerRun.apply` decides
each event in order in memory with the domain's rules (:mod:`services.disputes.domain`,
unchanged) exactly as the statements did one event at a time, and :meth:`LedgerRun.write`
writes what changed, one statement per table. The end state and the events emitted are
those of the events applied one at a time:

* every read answers what the database would answer at that point of the run: a customer's
  time zone after the run's upserts, an invoice's status after the run's settlements, a
  promise or plan's received amount and status after the run's payments;
* the rows a statement locked (``FOR UPDATE``: the promises and plans a payment reaches,
  the disputes an opening or a correction changes) are locked at the load, all at once;
  a promise or plan made after the instant of an event (``made_at``) is left alone by it;
* a payment's rows and a dispute's transitions are inserted in the order of the events
  (their serial ids follow it), every other row is written once with its final state.

The run ends before any command or collector's call outcome, which reads the tables itself;
a fact the service ignores (a credit balance) does not end it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from contracts import ledger
from contracts.disputes import CorrectionCause, PromiseRecord
from contracts.envelope import Event
from services.disputes import queries
from services.disputes.domain import commitments, plans, promises
from services.disputes.domain import disputes as decide
from services.disputes.domain.policy import Policy
from services.runtime.database import Connection

# The ledger events a run applies; the service ignores the ledger's other facts.
RUN_EVENTS = (
    ledger.LedgerCustomerUpserted,
    ledger.InvoiceOpened,
    ledger.OpenAmountChanged,
    ledger.InvoiceSettled,
    ledger.LedgerInvoiceCancelled,
)

PAYMENT_CAUSES = ("payment", "reversal")  # count towards promises and plans
CORRECTION_CAUSES = ("credit_note", "correction")  # what a justified dispute waits for

Row = dict[str, Any]


@dataclass
class InvoiceRow:
    """An ``invoice`` row as the run reads and changes it."""

    customer_id: str
    currency: str
    open_amount: Decimal
    status: str  # open, settled, cancelled


@dataclass
class CustomerRow:
    time_zone: str
    version: int


class LedgerRun:
    """The rows a run of ledger events reads and writes, and the decisions taken on them."""

    def __init__(self, connection: Connection, policy: Policy) -> None:
        self.connection = connection
        self.policy = policy
        self._customers: dict[str, CustomerRow | None] = {}
        self._invoices: dict[str, InvoiceRow | None] = {}
        self._promises: dict[uuid.UUID, Row] = {}  # open at the load, by id
        self._plans: dict[uuid.UUID, Row] = {}  # active at the load, by id
        self._disputes: dict[uuid.UUID, Row] = {}
        self._records: dict[str, list[int]] = {}  # customer -> [kept, broken] as stored now
        self._promises_on: dict[str, list[uuid.UUID]] = {}  # invoice -> promises, by id
        self._plans_on: dict[str, list[uuid.UUID]] = {}  # invoice -> plans, by id
        # what to write
        self._upserted: dict[str, None] = {}
        self._changed_invoices: dict[str, None] = {}
        self._payments: list[tuple[str, str, Decimal, datetime]] = []
        self._changed_promises: dict[uuid.UUID, None] = {}
        self._changed_plans: dict[uuid.UUID, None] = {}
        self._changed_disputes: dict[uuid.UUID, None] = {}
        self._transitions: list[tuple[Any, ...]] = []
        self._decided: dict[str, list[int]] = {}  # customer -> [kept, broken] added

    # -- reading -----------------------------------------------------------------------

    @classmethod
    async def load(
        cls, connection: Connection, policy: Policy, events: Sequence[Event]
    ) -> LedgerRun:
        """A run with every row ``events`` will read, read (and locked where the statements
        one event at a time lock them) in six statements at most."""
        run = cls(connection, policy)
        customer_ids: set[str] = set()
        invoice_ids: set[str] = set()
        reached: set[str] = set()  # invoices whose promises and plans a payment or close reaches
        opening: set[str] = set()  # customers an invoice is opened for
        correcting: set[str] = set()  # invoices a correction or a close reaches
        for event in events:
            payload = event.payload
            customer_ids.add(payload.customer_id)
            if isinstance(event, ledger.LedgerCustomerUpserted):
                continue
            invoice_ids.add(payload.invoice_id)
            if isinstance(event, ledger.InvoiceOpened):
                opening.add(payload.customer_id)
            elif isinstance(event, ledger.OpenAmountChanged):
                if payload.cause in PAYMENT_CAUSES:
                    reached.add(payload.invoice_id)
                elif payload.cause in CORRECTION_CAUSES:
                    correcting.add(payload.invoice_id)
            else:
                reached.add(payload.invoice_id)
                correcting.add(payload.invoice_id)
        if reached:
            wanted = sorted(reached)
            for row in await connection.fetch(queries.RUN_OPEN_PROMISES, wanted):
                run._keep(run._promises, run._promises_on, row["promise_id"], row)
            for row in await connection.fetch(queries.RUN_ACTIVE_PLANS, wanted):
                run._keep(run._plans, run._plans_on, row["plan_id"], row)
        if opening or correcting:
            for row in await connection.fetch(
                queries.RUN_DISPUTES, sorted(opening), sorted(correcting)
            ):
                run._disputes[row["dispute_id"]] = dict(row)
        for commitment in [*run._promises.values(), *run._plans.values()]:
            invoice_ids.update(commitment["invoice_ids"])
        for plan in run._plans.values():
            customer_ids.add(plan["customer_id"])  # its next check ends in its zone
        run._invoices = dict.fromkeys(invoice_ids)
        for row in await connection.fetch(queries.RUN_INVOICES, sorted(invoice_ids)):
            run._invoices[row["invoice_id"]] = InvoiceRow(
                row["customer_id"], row["currency"], row["open_amount"], row["status"]
            )
        run._customers = dict.fromkeys(customer_ids)
        for row in await connection.fetch(queries.RUN_CUSTOMERS, sorted(customer_ids)):
            run._customers[row["customer_id"]] = CustomerRow(row["time_zone"], row["version"])
        recorded = sorted(
            {
                p["customer_id"]
                for p in run._promises.values()
                if promises.counts_in_record(p["kind"])
            }
        )
        if recorded:
            for row in await connection.fetch(queries.RUN_PROMISE_RECORDS, recorded):
                run._records[row["customer_id"]] = [row["kept"], row["broken"]]
        return run

    @staticmethod
    def _keep(
        rows: dict[uuid.UUID, Row], index: dict[str, list[uuid.UUID]], key: uuid.UUID, row: Any
    ) -> None:
        rows[key] = dict(row)
        for invoice_id in dict.fromkeys(row["invoice_ids"]):
            index.setdefault(invoice_id, []).append(key)  # rows come by id

    def _time_zone(self, customer_id: str) -> str:
        """The customer's zone as the run left it (``LedgerView.time_zone``)."""
        customer = self._customers[customer_id]  # every customer the run reads is loaded
        return customer.time_zone if customer and customer.time_zone else self.policy.time_zone

    def _today(self, customer_id: str, now: datetime) -> date:
        return now.astimezone(ZoneInfo(self._time_zone(customer_id))).date()

    def _open_promises_on(self, invoice_id: str, now: datetime) -> list[Row]:
        """The invoice's promises open at this point of the run and made by ``now``, by id."""
        found = (self._promises[k] for k in self._promises_on.get(invoice_id, ()))
        return [p for p in found if p["status"] == "open" and p["made_at"] <= now]

    def _active_plans_on(self, invoice_id: str, now: datetime) -> list[Row]:
        """The invoice's plans active at this point of the run and made by ``now``, by id."""
        found = (self._plans[k] for k in self._plans_on.get(invoice_id, ()))
        return [p for p in found if p["status"] == "active" and p["made_at"] <= now]

    def _closed_among(self, invoice_ids: Sequence[str]) -> int:
        """How many of the invoices exist and are settled or cancelled."""
        rows = (self._invoices[i] for i in dict.fromkeys(invoice_ids))
        return sum(1 for row in rows if row is not None and row.status != "open")

    # -- deciding, event by event --------------------------------------------------------

    def apply(self, event: Event, now: datetime) -> list[Event]:
        """One ledger event at instant ``now``: the rows it changes, the events it emits."""
        match event:
            case ledger.LedgerCustomerUpserted(payload=customer):
                kept = self._customers.get(customer.customer_id)
                if kept is None or kept.version <= customer.version:
                    row = CustomerRow(customer.time_zone, customer.version)
                    self._customers[customer.customer_id] = row
                    self._upserted[customer.customer_id] = None
            case ledger.InvoiceOpened(payload=opened):
                if self._invoices[opened.invoice_id] is None:  # a replay changes nothing
                    amount = opened.open_amount
                    self._put_invoice(
                        opened.invoice_id,
                        InvoiceRow(opened.customer_id, amount.currency, amount.amount, "open"),
                    )
                    return self._invoice_opened(now, opened.customer_id, opened.invoice_id)
            case ledger.OpenAmountChanged(payload=change):
                amount = change.open_amount
                self._upsert_invoice(
                    change.invoice_id, change.customer_id, amount.currency, amount.amount, "open"
                )
                moved = change.previous_open_amount.amount - change.open_amount.amount
                if change.cause in PAYMENT_CAUSES:
                    return self._payment_received(now, change.customer_id, change.invoice_id, moved)
                if change.cause in ("credit_note", "correction"):
                    return self._corrected(now, change.customer_id, change.invoice_id, change.cause)
            case ledger.InvoiceSettled(payload=settlement):
                self._upsert_invoice(
                    settlement.invoice_id,
                    settlement.customer_id,
                    settlement.amount.currency,
                    Decimal(0),
                    "settled",
                )
                events: list[Event] = []
                if settlement.cause == "payment":
                    events = self._payment_received(
                        now,
                        settlement.customer_id,
                        settlement.invoice_id,
                        settlement.previous_open_amount.amount,
                    )
                return events + self._invoice_closed(
                    now, settlement.customer_id, settlement.invoice_id, "settled"
                )
            case ledger.LedgerInvoiceCancelled(payload=cancellation):
                self._upsert_invoice(
                    cancellation.invoice_id,
                    cancellation.customer_id,
                    cancellation.previous_open_amount.currency,
                    Decimal(0),
                    "cancelled",
                )
                return self._invoice_closed(
                    now, cancellation.customer_id, cancellation.invoice_id, "cancelled"
                )
            case _:
                pass  # other facts do not concern disputes
        return []

    def _upsert_invoice(
        self, invoice_id: str, customer_id: str, currency: str, open_amount: Decimal, status: str
    ) -> None:
        """The invoice's row with its open amount and status (a new row, or the row that
        exists, which keeps its customer and currency)."""
        row = self._invoices[invoice_id]
        if row is None:
            row = InvoiceRow(customer_id, currency, open_amount, status)
        else:
            row.open_amount, row.status = open_amount, status
        self._put_invoice(invoice_id, row)

    def _put_invoice(self, invoice_id: str, row: InvoiceRow) -> None:
        self._invoices[invoice_id] = row
        self._changed_invoices[invoice_id] = None

    def _invoice_opened(self, now: datetime, customer_id: str, invoice_id: str) -> list[Event]:
        """An invoice opened while its whole account is disputed is disputed too: the
        customer's open whole-account disputes take it in (their version unchanged) and are
        published again as ``dispute.opened``, which every consumer applies idempotently."""
        events: list[Event] = []
        for dispute_id in sorted(self._disputes):
            row = self._disputes[dispute_id]
            if not (
                row["customer_id"] == customer_id
                and row["whole_account"]
                and row["status"] == "open"
                and invoice_id not in row["invoice_ids"]
            ):
                continue
            row["invoice_ids"] = [*row["invoice_ids"], invoice_id]
            row["updated_at"] = now
            self._changed_disputes[dispute_id] = None
            self._transition(
                row, "invoice_added", now, {"invoice_id": invoice_id}, version=row["version"]
            )
            events.append(decide.invoice_added(now, row, customer_id, invoice_id))
        return events

    def _corrected(
        self, now: datetime, customer_id: str, invoice_id: str, cause: CorrectionCause
    ) -> list[Event]:
        """The ledger shows what a justified dispute waited for on the invoice: resolved
        once nothing else is awaited."""
        events: list[Event] = []
        for dispute_id in sorted(self._disputes):
            row = self._disputes[dispute_id]
            if not (
                row["customer_id"] == customer_id
                and row["status"] == "awaiting_correction"
                and invoice_id in row["awaiting"]
            ):
                continue
            if row["awaiting"] == [invoice_id]:  # the last one awaited
                row["status"] = "resolved"
            row["awaiting"] = [i for i in row["awaiting"] if i != invoice_id]
            row["version"] += 1
            row["updated_at"] = now
            self._changed_disputes[dispute_id] = None
            detail = {"invoice_id": invoice_id, "cause": cause}
            self._transition(row, "correction_received", now, detail, version=row["version"])
            events.append(
                decide.correction_received(now, dispute_id, customer_id, invoice_id, cause)
            )
        return events

    def _transition(
        self, row: Row, action: str, now: datetime, detail: dict[str, Any], version: int
    ) -> None:
        self._transitions.append((row["dispute_id"], version, action, "ledger", now, detail))

    def _payment_received(
        self, now: datetime, customer_id: str, invoice_id: str, amount: Decimal
    ) -> list[Event]:
        """A payment (negative: a reversal) on the invoice: promises kept, plans progress."""
        self._payments.append((invoice_id, customer_id, amount, now))
        today = self._today(customer_id, now)
        events: list[Event] = []
        for row in self._open_promises_on(invoice_id, now):
            received = row["received"] + amount
            kept = commitments.promise_kept(row["amount"], received, all_closed=False)
            self._set_promise(row, received=received)
            if kept:
                events.append(self._keep_promise(now, row, today))
        for row in self._active_plans_on(invoice_id, now):
            events.extend(self._plan_moved(now, row, row["received"] + amount, today))
        return events

    def _invoice_closed(
        self, now: datetime, customer_id: str, invoice_id: str, cause: CorrectionCause
    ) -> list[Event]:
        """Settled or cancelled: what a justified dispute waited for, then promises and
        plans with nothing left to pay end, kept and completed."""
        events = self._corrected(now, customer_id, invoice_id, cause)
        today = self._today(customer_id, now)
        for row in self._open_promises_on(invoice_id, now):
            if self._closed_among(row["invoice_ids"]) == len(row["invoice_ids"]):
                events.append(self._keep_promise(now, row, today))
        for row in self._active_plans_on(invoice_id, now):
            if self._closed_among(row["invoice_ids"]) == len(row["invoice_ids"]):
                events.extend(self._complete_plan(now, row, row["received"], today))
        return events

    def _set_promise(self, row: Row, **changes: Any) -> None:
        row.update(changes)
        self._changed_promises[row["promise_id"]] = None

    def _keep_promise(self, now: datetime, row: Row, today: date) -> Event:
        """As ``Promises._keep``: closed as kept, the customer's record with it."""
        self._set_promise(row, status="kept", closed_on=today)
        return promises.kept(now, row, today, self._record_kept(row))

    def _record_kept(self, promise: Row) -> PromiseRecord | None:
        """As ``Promises._record``, one more kept: None for a payment a provider announced,
        or for a customer without a record."""
        if not promises.counts_in_record(promise["kind"]):
            return None
        customer_id = promise["customer_id"]
        record = self._records.get(customer_id)
        if record is None:
            return None  # the UPDATE finds no row
        record[0] += 1
        self._decided.setdefault(customer_id, [0, 0])[0] += 1
        return PromiseRecord(kept=record[0], broken=record[1])

    def _plan_moved(self, now: datetime, row: Row, received: Decimal, today: date) -> list[Event]:
        """As ``Plans._moved``: completed once covered, else its next check moves."""
        instalments = plans.instalments_of(row)
        if commitments.plan_progress(instalments, received).completed:
            return self._complete_plan(now, row, received, today)
        check = commitments.next_check(instalments, received, self.policy.instalment_grace_days)
        zone = self._time_zone(row["customer_id"])
        self._set_plan(
            row,
            received=received,
            status="active",
            next_check_at=None if check is None else commitments.day_end(check, zone),
            closed_on=None,
        )
        return []

    def _complete_plan(
        self, now: datetime, row: Row, received: Decimal, today: date
    ) -> list[Event]:
        """The plan completed (as ``Plans._complete``)."""
        self._set_plan(
            row, received=received, status="completed", next_check_at=None, closed_on=today
        )
        return [plans.completed(now, row, today)]

    def _set_plan(self, row: Row, **changes: Any) -> None:
        row.update(changes)
        self._changed_plans[row["plan_id"]] = None

    # -- writing -----------------------------------------------------------------------

    async def write(self) -> None:
        """What the run changed: one statement per table at most, rows in key order
        (payments and transitions in the order of the events)."""
        connection = self.connection
        if self._upserted:
            ids = sorted(self._upserted)
            customers = [self._customers[c] for c in ids]
            await connection.execute(
                queries.WRITE_CUSTOMERS,
                ids,
                [c.time_zone for c in customers if c is not None],
                [c.version for c in customers if c is not None],
            )
        if self._changed_invoices:
            ids = sorted(self._changed_invoices)
            invoices = [self._invoices[i] for i in ids]
            rows = [r for r in invoices if r is not None]  # a run deletes no row
            await connection.execute(
                queries.WRITE_INVOICES,
                ids,
                [r.customer_id for r in rows],
                [r.currency for r in rows],
                [r.open_amount for r in rows],
                [r.status for r in rows],
            )
        if self._payments:
            columns = list(zip(*self._payments, strict=True))
            await connection.execute(queries.RECORD_PAYMENTS, *map(list, columns))
        if self._changed_promises:
            await connection.executemany(
                queries.SAVE_PROMISE,
                [
                    (p["promise_id"], p["received"], p["status"], p["closed_on"])
                    for p in (self._promises[k] for k in sorted(self._changed_promises))
                ],
            )
        if self._changed_plans:
            await connection.executemany(
                queries.UPDATE_PLAN,
                [
                    (p["plan_id"], p["received"], p["status"], p["next_check_at"], p["closed_on"])
                    for p in (self._plans[k] for k in sorted(self._changed_plans))
                ],
            )
        if self._changed_disputes:
            await connection.executemany(
                queries.SAVE_DISPUTE,
                [
                    (
                        d["dispute_id"],
                        d["invoice_ids"],
                        d["awaiting"],
                        d["status"],
                        d["version"],
                        d["updated_at"],
                    )
                    for d in (self._disputes[k] for k in sorted(self._changed_disputes))
                ],
            )
        if self._transitions:
            await connection.executemany(queries.RECORD_TRANSITION, self._transitions)
        if self._decided:
            await connection.executemany(
                queries.ADD_PROMISES_DECIDED,
                [(c, kept, broken) for c, (kept, broken) in sorted(self._decided.items())],
            )
