"""The batch handler: load the rows a batch touches, apply it in a :class:`Book`, write back.

Four round trips read the batch's invoices, customers, balances, documents and parked
documents; the ERP events are applied in memory in their batch order; what changed is
written back with set-based upserts and ``COPY``, ledger events go to the outbox and
rejected events to the dead-letter topic, all in the batch's one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from contracts import erp
from contracts.envelope import Event
from contracts.topics import ERP_CREDIT_NOTES, ERP_INVOICES, ERP_PAYMENTS, LEDGER_EVENTS, Topic
from services.ingestion import metrics, queries
from services.ingestion.domain.allocation import ZERO
from services.ingestion.domain.book import (
    BalanceKey,
    Book,
    DocumentKey,
    InvoiceKey,
    ParkedDocument,
    document_of,
)
from services.runtime.consumer import UnitOfWork
from services.runtime.dead_letter import IncomingRecord

PARKED_TOPICS = {
    "payment": ERP_PAYMENTS,
    "credit_note": ERP_CREDIT_NOTES,
    "cancellation": ERP_INVOICES,
}


def held_dead_letters(book: Book) -> list[tuple[IncomingRecord, uuid.UUID, str, str]]:
    """The parked events the book gave up on, rebuilt as records for their dead-letter topic."""
    held = []
    for parked, reason, detail in book.dead_parked:
        topic = PARKED_TOPICS[parked.kind]
        record = IncomingRecord(
            topic=topic.name,
            partition=-1,
            offset=-1,
            key=topic.key(parked.event),
            value=topic.value(parked.event),
            headers=(("event_type", parked.event.event_type.encode()),),
        )
        held.append((record, parked.event.event_id, reason, detail))
    return held


def document_reads(
    event: erp.PaymentReceived | erp.CreditNoteIssued,
    invoice_keys: set[InvoiceKey],
    reach: dict[BalanceKey, Decimal],
) -> DocumentKey:
    """The key of a batch's payment or credit note; the invoices it names, or a payment's
    reference may name, added to ``invoice_keys``; a payment's amount to ``reach``."""
    payload = event.payload
    company = payload.company_code
    kind, document_id, amount, currency, _, named = document_of(event)
    invoice_keys.update((company, n) for n in named)
    if type(event) is erp.PaymentReceived:
        reference = event.payload.reference
        if reference is not None:  # allocate_payment looks the stripped text up first
            invoice_keys.add((company, reference.strip()))
        key = (company, payload.customer_id, currency)
        reach[key] = reach.get(key, ZERO) + amount
    return (company, kind, document_id)


@dataclass(frozen=True)
class LedgerHandler:
    """Applies batches of ERP events to the ledger."""

    service: str = "ingestion"
    known_companies: frozenset[str] = frozenset()
    ledger_topic: Topic = LEDGER_EVENTS
    apply_credit: bool = True

    async def handle(self, work: UnitOfWork, events: Sequence[Event]) -> None:
        book = await self.load(work, events)
        book.apply_all(events)
        await self.save(work, book)
        for event, reason, detail in book.rejected:
            work.reject(event, reason, detail)
        for record, event_id, reason, detail in held_dead_letters(book):
            work.dead_letter_held(record, event_id, reason, detail)
        work.emit_records(book.emitted)
        if book.changed_parked or book.unparked:
            count, oldest = await queries.unmatched_cash(work.connection)
            metrics.record_unmatched(
                self.service, count, None if oldest is None else oldest.timestamp()
            )
        tally = book.tally
        if book.dead_parked:
            metrics.DOCUMENTS.labels(self.service, "rejected_after_parking").inc(
                len(book.dead_parked)
            )
        for outcome in ("applied", "unchanged", "parked", "rejected", "unparked"):
            count = getattr(tally, outcome)
            if count:
                metrics.DOCUMENTS.labels(self.service, outcome).inc(count)

    async def load(self, work: UnitOfWork, events: Sequence[Event]) -> Book:
        connection = work.connection
        invoice_keys: set[InvoiceKey] = set()
        document_keys: set[DocumentKey] = set()
        customers: set[str] = set()
        # the customers whose stored version an upsert compares with (Book._customer), the
        # only use of a customer's row: reading every customer a batch names cost about
        # 1.5 µs per ERP event (docs/ingestion.md, sixteenth round)
        upserted: set[str] = set()
        # what the batch's payments bring to each (company, customer, currency): see below
        reach: dict[BalanceKey, Decimal] = {}
        arriving: set[str] = set()
        for event in events:
            payload = event.payload
            customers.add(payload.customer_id)
            # exact types: see Book.apply
            if (
                type(event) is erp.InvoiceIssued
                or type(event) is erp.InvoiceUpdated
                or type(event) is erp.InvoiceCancelled
            ):
                invoice_keys.add((payload.company_code, payload.invoice_number))
                arriving.add(payload.invoice_number)
            elif type(event) is erp.PaymentReceived or type(event) is erp.CreditNoteIssued:
                document_keys.add(document_reads(event, invoice_keys, reach))
            elif type(event) is erp.CustomerUpserted:
                upserted.add(payload.customer_id)
        parked: dict[DocumentKey, ParkedDocument] = {}
        for row in await queries.parked_awaiting(connection, sorted(arriving)):
            company, kind, document_id, customer, awaiting, event_json = row
            if not any((company, n) in invoice_keys for n in awaiting):
                continue
            document = PARKED_TOPICS[kind].parse(event_json.encode())
            assert isinstance(
                document, erp.PaymentReceived | erp.CreditNoteIssued | erp.InvoiceCancelled
            )
            parked[(company, kind, document_id)] = ParkedDocument(
                company, kind, document_id, customer, tuple(awaiting), document
            )
            invoice_keys.update((company, n) for n in awaiting)
            document_keys.add((company, kind, document_id))
            if not isinstance(document, erp.InvoiceCancelled):
                document_reads(document, invoice_keys, reach)
            customers.add(customer)
        invoices = {r.key: r for r in await queries.invoices_by_key(connection, invoice_keys)}
        balances, credit_lots = await queries.balances_of(connection, sorted(customers))
        # A payment pays what it names, then the customer's open invoices in its currency
        # oldest first (allocation.allocate_payment); a credit note only the invoice it
        # names. The invoices read by key (named, referred to, or the batch's own) are all
        # in the book; the others of a customer change in this batch only through such
        # spreads, which take them in order and never more than the payments bring: only
        # those whose older ones owe less than that can be reached, not every open invoice
        # of a paying customer (a customer may have hundreds). What the invoices read by key
        # owed is added, in case the batch paid them otherwise (a credit note names one).
        if reach:
            for row in invoices.values():
                if row.status == "open":
                    key = (row.company_code, row.customer_id, row.currency)
                    if key in reach:
                        reach[key] += row.open_amount
            for row in await queries.open_invoices_reached(connection, reach):
                invoices.setdefault(row.key, row)
        return Book(
            invoices=invoices,
            customers={
                r.customer_id: r
                for r in await queries.customer_versions(connection, sorted(upserted))
            },
            balances=balances,
            credit_lots=credit_lots,
            documents={r.key: r for r in await queries.documents_by_key(connection, document_keys)},
            parked=parked,
            known_companies=self.known_companies,
            apply_credit=self.apply_credit,
            ledger_topic=self.ledger_topic.name,
        )

    async def save(self, work: UnitOfWork, book: Book) -> None:
        connection = work.connection
        await queries.save_customers(
            connection, (book.customers[c] for c in book.changed_customers)
        )
        await queries.save_invoices(
            connection,
            (book.invoices[k] for k in book.opened_invoices),
            (book.invoices[k] for k in book.changed_invoices - book.opened_invoices),
        )
        await queries.save_balances(
            connection, {k: book.balances[k] for k in book.changed_balances}, book.credit_lots
        )
        await queries.save_documents(
            connection,
            (book.documents[k] for k in book.opened_documents),
            (book.documents[k] for k in book.changed_documents - book.opened_documents),
        )
        await queries.save_allocations(connection, book.allocations)
        await queries.delete_parked(connection, book.unparked)
        await queries.save_parked(
            connection,
            (
                (
                    p.company_code,
                    p.kind,
                    p.document_id,
                    p.customer_id,
                    list(p.awaiting),
                    p.event.model_dump(mode="json"),
                    p.status,
                    p.reason,
                    p.event.occurred_at,
                )
                for k in book.changed_parked - book.unparked
                for p in (book.parked[k],)
            ),
        )
