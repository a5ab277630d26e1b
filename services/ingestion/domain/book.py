"""The ledger of one batch, in memory: ERP events in, ledger rows and ledger events out.

:class:`Book` holds the rows a batch may touch (loaded by the handler), applies ERP events
one by one with the rules of :mod:`services.ingestion.domain.allocation`, and records what
changed, what it emits and what it rejects. It does no I/O. An event it rejects changes
nothing: every check runs before the first change.

Rules beyond the allocation:

* an invoice number is unique per company; the same content again (whatever the version)
  is a no-op; different content with a newer version is a correction; different content with
  the same or an older version, another customer, or a correction of a cancelled invoice is
  rejected ``invoice_conflict``; what was paid on a cancelled invoice becomes credit
  balance;
* a cancellation of an invoice not seen yet is parked like a payment and applied right
  after the invoice opens, so that the invoice is never followed in between;
* a payment or a credit note id is unique per company: the same content again is a no-op,
  different content is rejected ``document_conflict``;
* a payment or credit note naming an invoice not seen yet is parked whole (published as
  ``ledger.unmatched_cash.recorded``) and applied when the last invoice it names arrives
  (``ledger.unmatched_cash.cleared``, matched); a parked event found inapplicable then
  (another customer's invoice, another currency) is dead-lettered at that moment
  (:attr:`Book.dead_parked`, cleared as dead-lettered);
* a new invoice opens at its amount; what arrived before it is applied right after, each
  change with its own value date: the parked documents that named it, then the customer's
  credit balance in its company and currency (unallocated payments that arrived before it,
  over-payments, credit notes without an invoice), so that a customer who paid before the
  invoice reached Relance is never reminded (``apply_credit`` turns this off). Credit is
  kept in lots by value date and used oldest first; each part pays from its lot's value
  date, or from the invoice's issue date if that is later: a prepayment found by its
  reference settles on the day it was paid, not on the day the invoice was issued;
* every open-amount change carries its value date: a document's value date (received on,
  issued on), or the day of the correction or cancellation that caused it;
* a customer update with a version not newer than the stored one is ignored;
* with a list of known company codes, any other company is rejected ``unknown_company``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, NamedTuple, cast

from contracts import erp, ledger
from contracts.envelope import Event
from contracts.topics import LEDGER_EVENTS
from services.ingestion.domain import ledger_events
from services.ingestion.domain.allocation import (
    ZERO,
    AllocationPlan,
    Owed,
    OwedInvoice,
    allocate_credit_note,
    allocate_payment,
    correct_amount,
)
from services.ingestion.errors import Inapplicable
from services.runtime.records import OutgoingRecord

DocumentKind = Literal["payment", "credit_note"]
ParkedKind = Literal["payment", "credit_note", "cancellation"]
InvoiceKey = tuple[str, str]  # (company_code, invoice_number)
DocumentKey = tuple[str, str, str]  # (company_code, kind, document_id)
BalanceKey = tuple[str, str, str]  # (company_code, customer_id, currency)
Document = erp.PaymentReceived | erp.CreditNoteIssued


def content_hash(payload: Any, exclude: set[str] | frozenset[str] | None = None) -> str:
    """A digest of a payload's content, ``exclude`` left out (e.g. the version).

    The SHA-256 of ``payload.model_dump_json(exclude=exclude)``, written by the model's
    serializer called directly: ``model_dump_json``'s own argument handling was a third of
    the digest's cost, paid for every invoice, payment and credit note.
    """
    return _sha256(
        type(payload).__pydantic_serializer__.to_json(payload, exclude=exclude)
    ).hexdigest()


_sha256 = hashlib.sha256
_WITHOUT_VERSION = frozenset({"version"})
_VERSION_FIELD = b',"version":'
# The fields an invoice's JSON holds before its version: strings only, whose JSON cannot hold
# an unescaped quote, so the first ``,"version":`` of the text is the version field's own.
_BEFORE_VERSION = tuple(erp.InvoicePayload.model_fields).index("version")
_VERSION_CUT = all(
    field.annotation is str
    for field in tuple(erp.InvoicePayload.model_fields.values())[:_BEFORE_VERSION]
)


def invoice_hash(payload: erp.InvoicePayload) -> str:
    """:func:`content_hash` of an invoice without its version, the same digest.

    The invoice is serialised whole and its ``"version":N`` cut out of the text: pydantic's
    ``exclude`` made the serialisation three to four times slower, paid for every invoice.
    The bytes hashed are those of ``exclude={"version"}`` (a unit test compares them); if a
    field that is not a string ever comes before the version, this falls back to it.
    """
    if not _VERSION_CUT:
        return content_hash(payload, exclude=_WITHOUT_VERSION)
    text = _to_json(payload)
    start = text.index(_VERSION_FIELD)
    end = text.index(b",", start + len(_VERSION_FIELD))
    return _sha256(text[:start] + text[end:]).hexdigest()


_to_json = erp.InvoicePayload.__pydantic_serializer__.to_json


@dataclass
class InvoiceRow:
    company_code: str
    invoice_number: str
    customer_id: str
    version: int
    currency: str
    amount: Decimal
    open_amount: Decimal
    issue_date: date
    due_date: date
    status: str
    settled_on: date | None
    payment_terms: str | None
    purchase_order: str | None
    extra_json: str  # the ERP's extra attributes, as JSON text
    content_hash: str

    @property
    def key(self) -> InvoiceKey:
        return (self.company_code, self.invoice_number)

    def owed(self) -> OwedInvoice:
        return OwedInvoice(
            self.invoice_number, self.currency, self.open_amount, self.due_date, self.issue_date
        )


@dataclass
class CustomerRow:
    customer_id: str
    company_code: str
    version: int
    payload: erp.CustomerPayload | None  # None when loaded only to compare versions


@dataclass
class DocumentRow:
    company_code: str
    kind: DocumentKind
    document_id: str
    customer_id: str
    currency: str
    amount: Decimal
    value_date: date
    content_hash: str
    status: str
    event_id: uuid.UUID

    @property
    def key(self) -> DocumentKey:
        return (self.company_code, self.kind, self.document_id)


@dataclass
class ParkedDocument:
    """A payment, credit note or cancellation waiting for the invoices it names."""

    company_code: str
    kind: ParkedKind
    document_id: str  # the invoice number, for a cancellation
    customer_id: str
    awaiting: tuple[str, ...]
    event: Document | erp.InvoiceCancelled
    status: str = "parked"
    reason: str | None = None

    @property
    def key(self) -> DocumentKey:
        return (self.company_code, self.kind, self.document_id)


class AllocationRow(NamedTuple):
    """A part of a payment, credit note or credit balance given to an invoice.

    A named tuple rather than a frozen dataclass: made for every part of a payment and
    every use of credit, whose ``__init__`` set its six fields one by one through
    ``object.__setattr__`` (0.81 µs against 0.29); a tuple of strings and a ``Decimal`` is
    also one object the collector stops tracking.
    """

    company_code: str
    kind: DocumentKind | Literal["credit_balance"]
    document_id: str
    invoice_number: str
    currency: str
    amount: Decimal


CreditLots = list[tuple[date | None, Decimal]]
"""A credit balance as (value date, amount) lots, oldest value date first; used oldest first."""


def take_credit(lots: CreditLots, amount: Decimal) -> list[tuple[date | None, Decimal]]:
    """The parts of ``lots`` that ``amount`` of credit uses, oldest first; ``lots`` shrinks.

    Lots that do not cover ``amount`` (a balance older than its lots) give an undated rest.
    """
    parts: list[tuple[date | None, Decimal]] = []
    while amount > 0 and lots:
        when, available = lots[0]
        part = min(available, amount)
        parts.append((when, part))
        amount -= part
        if part == available:
            lots.pop(0)
        else:
            lots[0] = (when, available - part)
    if amount > 0:
        parts.append((None, amount))
    return parts


def add_credit(lots: CreditLots, when: date | None, amount: Decimal) -> None:
    """Add a lot of ``amount`` received on ``when``, keeping lots in value-date order."""
    position = len(lots)
    while position > 0 and _later(lots[position - 1][0], when):
        position -= 1
    lots.insert(position, (when, amount))


def _later(first: date | None, second: date | None) -> bool:
    """Whether ``first`` sorts after ``second``, undated (oldest) first."""
    if first is None:
        return False
    return second is None or first > second


@dataclass
class Tally:
    """What became of the batch's events."""

    applied: int = 0
    unchanged: int = 0
    parked: int = 0
    rejected: int = 0
    unparked: int = 0


DocumentFacts = tuple[DocumentKind, str, Decimal, str, date, tuple[str, ...]]
"""(kind, id, amount, currency, value date, invoices named) of a payment or credit note."""


def document_of(event: Document) -> DocumentFacts:
    """(kind, id, amount, currency, value date, invoices named) of a payment or credit note.

    The book reads them once per document and passes them on (:meth:`Book._document`).
    """
    if type(event) is erp.PaymentReceived:
        p = event.payload
        allocations = p.allocations
        named = tuple(dict.fromkeys([a.invoice_number for a in allocations])) if allocations else ()
        return ("payment", p.payment_id, p.amount.amount, p.amount.currency, p.received_on, named)
    c = cast(erp.CreditNotePayload, event.payload)  # the exact type, not isinstance(): cheaper
    named = (c.invoice_number,) if c.invoice_number else ()
    return (
        "credit_note",
        c.credit_note_number,
        c.amount.amount,
        c.amount.currency,
        c.issue_date,
        named,
    )


@dataclass
class Book:
    """The rows one batch may touch, and what the batch did to them."""

    invoices: dict[InvoiceKey, InvoiceRow] = field(default_factory=dict)
    customers: dict[str, CustomerRow] = field(default_factory=dict)
    balances: dict[BalanceKey, Decimal] = field(default_factory=dict)
    # the money in each credit balance by value date, oldest first (None: unknown, from
    # before value dates were kept); see CreditLots
    credit_lots: dict[BalanceKey, CreditLots] = field(default_factory=dict)
    documents: dict[DocumentKey, DocumentRow] = field(default_factory=dict)
    parked: dict[DocumentKey, ParkedDocument] = field(default_factory=dict)
    known_companies: frozenset[str] = frozenset()
    apply_credit: bool = True
    ledger_topic: str = LEDGER_EVENTS.name

    dead_parked: list[tuple[ParkedDocument, str, str]] = field(default_factory=list)
    rejected: list[tuple[Event, str, str]] = field(default_factory=list)
    allocations: list[AllocationRow] = field(default_factory=list)
    changed_invoices: set[InvoiceKey] = field(default_factory=set)
    # the changed invoices that were not stored: opened by this batch
    opened_invoices: set[InvoiceKey] = field(default_factory=set)
    changed_customers: set[str] = field(default_factory=set)
    changed_balances: set[BalanceKey] = field(default_factory=set)
    changed_documents: set[DocumentKey] = field(default_factory=set)
    # the changed documents that were not stored: first seen by this batch
    opened_documents: set[DocumentKey] = field(default_factory=set)
    changed_parked: set[DocumentKey] = field(default_factory=set)
    unparked: set[DocumentKey] = field(default_factory=set)
    tally: Tally = field(default_factory=Tally)

    # each customer's open invoices in a company, by number: a payment's candidates
    _open_by_customer: dict[tuple[str, str], dict[str, InvoiceRow]] = field(default_factory=dict)
    _cause: tuple[uuid.UUID, datetime] | None = None
    _caused: ledger_events.Caused | None = None  # the cause's ledger events, once it emits
    _written: int = 0  # the cause's ledger events already written as records
    # the ledger events not yet written as records, by cause, and those written
    _causes: list[ledger_events.Cause] = field(default_factory=list)
    _records: list[OutgoingRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        for row in self.invoices.values():
            self._index(row)

    # -- entry point ---------------------------------------------------------------------

    def apply_all(self, events: Iterable[Event]) -> None:
        for event in events:
            self.apply(event)
        self._write_records()

    @property
    def emitted(self) -> list[OutgoingRecord]:
        """The ledger events emitted so far, as outbox records, in the order emitted."""
        self._write_records()
        return self._records

    def apply(self, event: Event) -> None:
        self._cause = (event.event_id, event.occurred_at)
        self._caused = None
        self._written = 0
        try:
            company = str(event.payload.company_code)
            if self.known_companies and company not in self.known_companies:
                raise Inapplicable("unknown_company", f"company {company} is not configured")
            # exact types, most frequent first: isinstance() on pydantic models goes
            # through ABCMeta and was a visible cost at thousands of events per batch
            if type(event) is erp.InvoiceIssued or type(event) is erp.InvoiceUpdated:
                outcome = self._invoice(event)
            elif type(event) is erp.PaymentReceived or type(event) is erp.CreditNoteIssued:
                outcome = self._document(event)
            elif type(event) is erp.CustomerUpserted:
                outcome = self._customer(event)
            elif type(event) is erp.InvoiceCancelled:
                outcome = self._cancel(event)
            else:
                raise Inapplicable("unsupported_event", f"{event.event_type} is not an ERP event")
        except Inapplicable as exc:
            self.rejected.append((event, exc.reason, exc.detail))
            self.tally.rejected += 1
            return
        setattr(self.tally, outcome, getattr(self.tally, outcome) + 1)

    # -- operators' decisions on unmatched cash ---------------------------------------------

    def release(self, key: DocumentKey, cause_id: uuid.UUID, at: datetime) -> None:
        """Apply a parked payment or credit note now, without the invoices still missing.

        What it allocated to a missing invoice goes by the ordinary rule (its reference,
        the customer's oldest open invoices, then credit balance); a credit note naming a
        missing invoice becomes credit. Inapplicable after all (another customer's invoice,
        another currency), it is dead-lettered instead.
        """
        parked = self.parked[key]
        assert not isinstance(parked.event, erp.InvoiceCancelled)
        self._begin(cause_id, at)
        event = parked.event
        known = {n for n in parked.awaiting if (parked.company_code, n) in self.invoices}
        if isinstance(event, erp.PaymentReceived):
            allocations = tuple(a for a in event.payload.allocations if a.invoice_number in known)
            event = event.model_copy(
                update={"payload": event.payload.model_copy(update={"allocations": allocations})}
            )
        elif event.payload.invoice_number not in known:
            event = event.model_copy(
                update={"payload": event.payload.model_copy(update={"invoice_number": None})}
            )
        try:
            facts = document_of(event)
            self._check_named(facts, parked.company_code, parked.customer_id)
            self._spread(event, facts)
        except Inapplicable as exc:
            self._dead_parked(parked, exc)
            self.documents[parked.key].status = "rejected"
            self.changed_documents.add(parked.key)
            return
        self.documents[parked.key].status = "applied"
        self.changed_documents.add(parked.key)
        self.unparked.add(parked.key)
        del self.parked[parked.key]
        self.tally.unparked += 1
        self._cleared(parked, "released")

    def dead_letter(
        self, key: DocumentKey, cause_id: uuid.UUID, at: datetime, reason: str, detail: str
    ) -> None:
        """Give up on a parked payment or credit note: dead-letter it, apply nothing of it."""
        parked = self.parked[key]
        assert parked.kind != "cancellation"
        self._begin(cause_id, at)
        self._dead_parked(parked, Inapplicable(reason, detail))
        self.documents[parked.key].status = "rejected"
        self.changed_documents.add(parked.key)

    def _begin(self, cause_id: uuid.UUID, at: datetime) -> None:
        self._cause = (cause_id, at)
        self._caused = None
        self._written = 0

    # -- customers -----------------------------------------------------------------------

    def _customer(self, event: erp.CustomerUpserted) -> str:
        p = event.payload
        stored = self.customers.get(p.customer_id)
        if stored is not None and stored.version >= p.version:
            return "unchanged"
        self.customers[p.customer_id] = CustomerRow(p.customer_id, p.company_code, p.version, p)
        self.changed_customers.add(p.customer_id)
        self._emit(
            ledger_events.CUSTOMER_UPSERTED,
            p.customer_id,
            ledger_events.customer_upserted(
                ledger.LedgerCustomer(
                    customer_id=p.customer_id,
                    company_code=p.company_code,
                    version=p.version,
                    name=p.name,
                    country=p.country,
                    time_zone=p.time_zone,
                    language=p.language,
                    contacts=p.contacts,
                    segment=p.segment,
                    extra=p.extra,
                )
            ),
        )
        return "applied"

    # -- invoices ------------------------------------------------------------------------

    def _invoice(self, event: erp.InvoiceIssued | erp.InvoiceUpdated) -> str:
        p = event.payload
        content, opened = ledger_events.invoice_texts(p)
        digest = invoice_hash(p) if content is None else _sha256(content).hexdigest()
        stored = self.invoices.get((p.company_code, p.invoice_number))
        if stored is None:
            self._open(p, digest, opened)
            return "applied"
        if stored.content_hash == digest:
            if p.version > stored.version:
                stored.version = p.version
                self.changed_invoices.add(stored.key)
            return "unchanged"
        if p.version <= stored.version:
            raise Inapplicable(
                "invoice_conflict",
                f"invoice {p.invoice_number} of {p.company_code} arrived with other content "
                f"at version {p.version}, not newer than the stored {stored.version}",
            )
        if stored.status == "cancelled" or stored.customer_id != p.customer_id:
            raise Inapplicable(
                "invoice_conflict",
                f"invoice {p.invoice_number} of {p.company_code} is cancelled or belongs to "
                "another customer",
            )
        if p.amount.currency != stored.currency and stored.open_amount != stored.amount:
            raise Inapplicable(
                "invoice_conflict",
                f"invoice {p.invoice_number} changes currency after payments were applied",
            )
        self._correct(stored, p, digest)
        return "applied"

    def _open(self, p: erp.InvoicePayload, digest: str, opened: str) -> None:
        """Open a new invoice; ``opened`` is its ledger event's payload (``invoice_texts``)."""
        # positionally (company, number, customer, version, currency, amount, open amount,
        # issue and due dates, status, settled on, terms, purchase order, extra, digest):
        # fifteen keywords cost three times as much, for every invoice
        amount = p.amount.amount
        row = InvoiceRow(
            p.company_code,
            p.invoice_number,
            p.customer_id,
            p.version,
            p.amount.currency,
            amount,
            amount,
            p.issue_date,
            p.due_date,
            "open",
            None,
            p.payment_terms,
            p.purchase_order,
            json.dumps(p.extra) if p.extra else "{}",
            digest,
        )
        self.invoices[row.key] = row
        self._index(row)
        self.changed_invoices.add(row.key)
        self.opened_invoices.add(row.key)
        waiting = (
            sorted(
                (d for d in self.parked.values() if self._waits_for(d, row)),
                key=lambda d: d.event.occurred_at,
            )
            if self.parked
            else ()
        )
        self._emit(ledger_events.INVOICE_OPENED, row.customer_id, opened)
        for parked in waiting:
            if parked.kind != "cancellation":
                self._apply_parked(parked)
        self._use_credit(row)
        for parked in waiting:
            if parked.kind == "cancellation":
                self._apply_parked_cancellation(parked)

    def _use_credit(self, row: InvoiceRow) -> None:
        """Pay a new invoice from the customer's credit balance."""
        key = (row.company_code, row.customer_id, row.currency)
        credit = self.balances.get(key, ZERO)
        if not self.apply_credit or credit <= 0 or row.open_amount <= 0:
            return
        part = min(credit, row.open_amount)
        self.allocations.append(
            AllocationRow(
                row.company_code,
                "credit_balance",
                row.invoice_number,
                row.invoice_number,
                row.currency,
                part,
            )
        )
        # each part of the credit pays from its own value date, never before the issue date
        lots = self.credit_lots.setdefault(key, [])
        parts = take_credit(lots, part)
        if len(parts) == 1:  # most often: one lot, one day (the same sum as below)
            when, lot_part = parts[0]
            day = row.issue_date if when is None or when < row.issue_date else when
            self._pay(row, ZERO + lot_part, "credit_balance", row.invoice_number, day)
        else:
            paid_on: dict[date, Decimal] = {}
            for when, lot_part in parts:
                day = row.issue_date if when is None else max(when, row.issue_date)
                paid_on[day] = paid_on.get(day, ZERO) + lot_part
            for day, day_part in sorted(paid_on.items()):
                self._pay(row, day_part, "credit_balance", row.invoice_number, day)
        self._credit(
            row.company_code,
            row.customer_id,
            row.currency,
            -part,
            "allocation",
            row.invoice_number,
            None,
        )

    def _apply_parked_cancellation(self, parked: ParkedDocument) -> None:
        assert isinstance(parked.event, erp.InvoiceCancelled)
        try:
            self._cancel(parked.event)
        except Inapplicable as exc:
            self._dead_parked(parked, exc)
            return
        self.unparked.add(parked.key)
        del self.parked[parked.key]
        self.tally.unparked += 1

    def _dead_parked(self, parked: ParkedDocument, exc: Inapplicable) -> None:
        parked.status, parked.reason = "rejected", exc.reason
        self.changed_parked.add(parked.key)
        self.dead_parked.append((parked, exc.reason, exc.detail))
        self._cleared(parked, "dead_lettered", exc.reason)

    def _waits_for(self, parked: ParkedDocument, row: InvoiceRow) -> bool:
        return (
            parked.status == "parked"
            and parked.company_code == row.company_code
            and row.invoice_number in parked.awaiting
        )

    def _apply_parked(self, parked: ParkedDocument) -> bool:
        """Apply a parked document whose invoices have all arrived; True if it was applied."""
        missing = [n for n in parked.awaiting if (parked.company_code, n) not in self.invoices]
        if missing:
            return False
        assert not isinstance(parked.event, erp.InvoiceCancelled)
        try:
            facts = document_of(parked.event)
            self._check_named(facts, parked.company_code, parked.customer_id)
            self._spread(parked.event, facts)
        except Inapplicable as exc:
            self._dead_parked(parked, exc)
            self.documents[parked.key].status = "rejected"
            self.changed_documents.add(parked.key)
            return False
        self.documents[parked.key].status = "applied"
        self.changed_documents.add(parked.key)
        self.unparked.add(parked.key)
        del self.parked[parked.key]
        self.tally.unparked += 1
        self._cleared(parked, "matched")
        return True

    def _cleared(
        self, parked: ParkedDocument, outcome: ledger.UnmatchedOutcome, reason: str | None = None
    ) -> None:
        if parked.kind == "cancellation":
            return
        self._emit(
            ledger_events.UNMATCHED_CASH_CLEARED,
            parked.customer_id,
            ledger_events.unmatched_cash_cleared(
                company_code=parked.company_code,
                customer_id=parked.customer_id,
                kind=parked.kind,
                document_id=parked.document_id,
                outcome=outcome,
                reason=reason,
            ),
        )

    def _correct(self, row: InvoiceRow, p: erp.InvoicePayload, digest: str) -> None:
        before = row.open_amount
        fix = correct_amount(row.amount, row.open_amount, p.amount.amount)
        was_open = row.status == "open"
        row.version, row.content_hash = p.version, digest
        row.currency, row.amount, row.open_amount = (
            p.amount.currency,
            p.amount.amount,
            fix.open_amount,
        )
        row.issue_date, row.due_date = p.issue_date, p.due_date
        row.payment_terms, row.purchase_order, row.extra_json = (
            p.payment_terms,
            p.purchase_order,
            json.dumps(p.extra) if p.extra else "{}",
        )
        self.changed_invoices.add(row.key)
        document_id = f"{row.invoice_number}@v{p.version}"
        assert self._cause is not None  # a correction takes effect on its own day
        today = self._cause[1].date()
        if row.open_amount > 0:
            row.status, row.settled_on = "open", None
            self._index(row)
            self._open_amount_changed(row, before, "correction", document_id, today)
        elif was_open:
            self._settled(row, before, "correction", document_id, today)
        if fix.overpaid > 0:
            self._credit(
                row.company_code,
                row.customer_id,
                row.currency,
                fix.overpaid,
                "reversal",
                document_id,
                today,
            )

    def _cancel(self, event: erp.InvoiceCancelled) -> str:
        p = event.payload
        row = self.invoices.get((p.company_code, p.invoice_number))
        if row is None:
            key: DocumentKey = (p.company_code, "cancellation", p.invoice_number)
            if key in self.parked:
                return "unchanged"
            self.parked[key] = ParkedDocument(
                p.company_code,
                "cancellation",
                p.invoice_number,
                p.customer_id,
                (p.invoice_number,),
                event,
            )
            self.changed_parked.add(key)
            return "parked"
        if row.status == "cancelled":
            return "unchanged"
        if p.version < row.version or row.customer_id != p.customer_id:
            raise Inapplicable(
                "invoice_conflict",
                f"cancellation of invoice {p.invoice_number} at version {p.version} is older "
                f"than the stored {row.version} or names another customer",
            )
        before = row.open_amount
        paid = row.amount - row.open_amount
        row.status, row.open_amount, row.version = "cancelled", ZERO, p.version
        self._unindex(row)
        self.changed_invoices.add(row.key)
        self._emit(
            ledger_events.INVOICE_CANCELLED,
            row.customer_id,
            ledger_events.invoice_cancelled(
                company_code=row.company_code,
                customer_id=row.customer_id,
                invoice_number=row.invoice_number,
                currency=row.currency,
                previous_open_amount=before,
                reason=p.reason,
            ),
        )
        if paid > 0:
            self._credit(
                row.company_code,
                row.customer_id,
                row.currency,
                paid,
                "reversal",
                row.invoice_number,
                event.occurred_at.date(),
            )
        return "applied"

    # -- payments and credit notes -------------------------------------------------------

    def _document(self, event: Document) -> str:
        p = event.payload
        # the facts read once and passed on: reading them was a visible part of a payment
        facts = document_of(event)
        kind, document_id, amount, currency, value_date, named = facts
        key: DocumentKey = (p.company_code, kind, document_id)
        digest = content_hash(p)
        stored = self.documents.get(key)
        if stored is not None:
            if stored.content_hash == digest:
                return "unchanged"
            raise Inapplicable(
                "document_conflict",
                f"{kind} {document_id} of {p.company_code} arrived again with other content",
            )
        missing = tuple(n for n in named if (p.company_code, n) not in self.invoices)
        if not missing:
            if named:
                self._check_named(facts, p.company_code, p.customer_id)
            self._spread(event, facts)
        status = "parked" if missing else "applied"
        self.documents[key] = DocumentRow(
            p.company_code,
            kind,
            document_id,
            p.customer_id,
            currency,
            amount,
            value_date,
            digest,
            status,
            event.event_id,
        )
        self.changed_documents.add(key)
        self.opened_documents.add(key)
        if missing:
            self.parked[key] = ParkedDocument(
                p.company_code, kind, document_id, p.customer_id, named, event
            )
            self.changed_parked.add(key)
            self._emit(
                ledger_events.UNMATCHED_CASH_RECORDED,
                p.customer_id,
                ledger_events.unmatched_cash_recorded(
                    company_code=p.company_code,
                    customer_id=p.customer_id,
                    kind=kind,
                    document_id=document_id,
                    currency=currency,
                    amount=amount,
                    value_date=value_date,
                    awaiting=missing,
                ),
            )
            return "parked"
        return "applied"

    def _check_named(self, facts: DocumentFacts, company: str, customer: str) -> None:
        _, document_id, _, currency, _, named = facts
        for number in named:
            row = self.invoices[(company, number)]
            if row.customer_id != customer:
                raise Inapplicable(
                    "customer_mismatch",
                    f"{document_id} of customer {customer} names invoice {number} "
                    "of another customer",
                )
            if row.currency != currency:
                raise Inapplicable(
                    "currency_mismatch",
                    f"{document_id} in {currency} names invoice {number} in {row.currency}",
                )

    def _spread(self, event: Document, facts: DocumentFacts) -> None:
        """Apply a payment or credit note whose named invoices are all known and checked;
        ``facts`` are its :func:`document_of`."""
        kind, document_id, amount, currency, value_date, _ = facts
        plan: AllocationPlan
        if type(event) is erp.PaymentReceived:
            p = event.payload
            # the rows themselves, by number: they have what the allocation reads
            # (OwedInvoice's fields); the index itself unless the payment names invoices
            # that are not in it (a customer may have hundreds of open invoices)
            company = p.company_code
            candidates = cast(
                dict[str, Owed], self._open_by_customer.get((company, p.customer_id), {})
            )
            allocations = p.allocations
            explicit = [(a.invoice_number, a.amount) for a in allocations] if allocations else []
            if explicit and any(number not in candidates for number, _ in explicit):
                # copied only then: the allocation reads the candidates, never changes them
                candidates = dict(candidates)
                for number, _ in explicit:
                    if number not in candidates:
                        candidates[number] = self.invoices[(company, number)]
            plan = allocate_payment(amount, currency, explicit, p.reference, candidates)
        else:
            c = cast(erp.CreditNotePayload, event.payload)
            company = c.company_code
            named = c.invoice_number
            row = self.invoices.get((company, named)) if named else None
            plan = allocate_credit_note(amount, currency, row)
        for number, part in plan.allocations:
            row = self.invoices[(company, number)]
            self.allocations.append(
                AllocationRow(company, kind, document_id, number, currency, part)
            )
            self._pay(row, part, kind, document_id, value_date)
        if plan.credit > 0:
            customer = event.payload.customer_id
            self._credit(company, customer, currency, plan.credit, kind, document_id, value_date)

    def _pay(
        self,
        row: InvoiceRow,
        part: Decimal,
        kind: DocumentKind | Literal["credit_balance"],
        document_id: str,
        value_date: date,
    ) -> None:
        before = row.open_amount
        row.open_amount = before - part
        self.changed_invoices.add(row.key)
        if row.open_amount == 0:
            self._unindex(row)
            self._settled(row, before, kind, document_id, value_date)
            return
        self._open_amount_changed(row, before, kind, document_id, value_date)

    def _open_amount_changed(
        self,
        row: InvoiceRow,
        before: Decimal,
        cause: ledger.OpenAmountCause,
        document_id: str,
        value_date: date,
    ) -> None:
        self._emit(
            ledger_events.OPEN_AMOUNT_CHANGED,
            row.customer_id,
            ledger_events.open_amount_changed(  # positionally: keywords cost more
                row.company_code,
                row.customer_id,
                row.invoice_number,
                row.currency,
                before,
                row.open_amount,
                cause,
                document_id,
                row.due_date,
                row.amount,
                value_date,
            ),
        )

    def _settled(
        self,
        row: InvoiceRow,
        before: Decimal,
        cause: ledger.SettlementCause,
        document_id: str,
        value_date: date,
    ) -> None:
        row.status, row.settled_on = "settled", value_date
        self._emit(
            ledger_events.INVOICE_SETTLED,
            row.customer_id,
            ledger_events.invoice_settled(  # positionally: keywords cost more
                row.company_code,
                row.customer_id,
                row.invoice_number,
                row.currency,
                value_date,
                cause,
                document_id,
                before,
                row.amount,
                row.issue_date,
                row.due_date,
            ),
        )

    def _credit(
        self,
        company: str,
        customer: str,
        currency: str,
        delta: Decimal,
        cause: ledger.CreditBalanceCause,
        document_id: str,
        value_date: date | None,
    ) -> None:
        """Move a credit balance; ``value_date`` dates new credit (None when using credit:
        the caller took the lots it used)."""
        key = (company, customer, currency)
        balance = self.balances.get(key, ZERO) + delta
        self.balances[key] = balance
        lots = self.credit_lots.setdefault(key, [])
        if delta > 0:
            add_credit(lots, value_date, delta)
        elif value_date is not None:
            take_credit(lots, -delta)
        self.changed_balances.add(key)
        self._emit(
            ledger_events.CREDIT_BALANCE_CHANGED,
            customer,
            ledger_events.credit_balance_changed(  # positionally: keywords cost more
                company, customer, currency, balance, delta, cause, document_id
            ),
        )

    # -- plumbing ------------------------------------------------------------------------

    def _index(self, row: InvoiceRow) -> None:
        if row.status == "open":
            self._open_by_customer.setdefault((row.company_code, row.customer_id), {})[
                row.invoice_number
            ] = row

    def _unindex(self, row: InvoiceRow) -> None:
        self._open_by_customer.get((row.company_code, row.customer_id), {}).pop(
            row.invoice_number, None
        )

    def _emit(self, event_type: str, customer_id: str, payload: str) -> None:
        """Emit a ledger event whose payload is the JSON text ``payload``.

        Its id is derived from the ERP event that caused it and its rank among that event's
        ledger events, so that a replay emits the same ids; it occurred when its cause did.
        The records are written batch-wise (:func:`ledger_events.records`) at the end of
        :meth:`apply_all`, or when :attr:`emitted` is read.
        """
        caused = self._caused
        if caused is None:
            assert self._cause is not None
            caused = self._caused = []
            self._causes.append((*self._cause, self._written + 1, caused))
        caused.append((event_type, customer_id, payload))

    def _write_records(self) -> None:
        if self._causes:
            self._records += ledger_events.records(self.ledger_topic, self._causes)
            self._causes.clear()
        if self._caused is not None:  # the cause's next ledger events rank after these
            self._written += len(self._caused)
            self._caused = None
