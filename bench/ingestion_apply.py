"""Ingestion's rules in memory: CPU per ERP event of parsing and of ``Book.apply``, no I/O.

Run with ``python -m bench.ingestion_apply [--events N] [--batch N] [--rounds N]
[--profile]``. It generates ``bench.ingestion``'s mix, serialises it as the ERP topics
carry it, then, batch by batch, parses the records with their topics' unions (as the
runtime kit does), loads into a :class:`Book` the rows the handler would read (from an
in-memory copy of the ledger's tables, fresh row objects as the database would return)
and applies the batch. Only parsing and ``apply_all`` are timed (process CPU time); the
loading and the write-back are not, they stand for PostgreSQL.

It prints the microseconds per ERP event of each round and their best and median, the
ledger events emitted per ERP event, the load average and a ``bench.limits``-style pydantic
figure measured in the same run, so that a noisy host shows. With ``--profile`` it runs the
apply of one round under ``cProfile`` and prints the 30 most expensive functions.

It checks, like ``bench.ingestion``, that the ledger reconciles with the generator to the
cent and that nothing was rejected or left parked, and exits 1 otherwise.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import pstats
import statistics
import sys
import time
from collections.abc import Sequence
from decimal import Decimal

from bench.ingestion import Balances, erp_mix, expected_balances, reconcile
from bench.limits import print_host
from contracts import erp
from contracts.envelope import Event
from contracts.topics import Topic
from services.ingestion.domain.allocation import OLDEST_FIRST
from services.ingestion.domain.book import (
    Book,
    CreditLots,
    CustomerRow,
    DocumentKey,
    DocumentRow,
    InvoiceKey,
    InvoiceRow,
)
from services.ingestion.handler import document_reads
from services.ingestion.settings import IngestionSettings
from services.runtime import gc_tuning


class Ledger:
    """The ledger's tables as dicts: what the handler's queries would read and write."""

    def __init__(self) -> None:
        self.invoices: dict[InvoiceKey, InvoiceRow] = {}
        self.customers: dict[str, CustomerRow] = {}
        self.balances: dict[tuple[str, str, str], Decimal] = {}
        self.lots: dict[tuple[str, str, str], CreditLots] = {}
        self.documents: dict[DocumentKey, DocumentRow] = {}
        self.open_by_customer: dict[str, set[InvoiceKey]] = {}
        self.balances_by_customer: dict[str, set[tuple[str, str, str]]] = {}

    def load(self, events: Sequence[Event]) -> Book:
        """A book of the rows :meth:`LedgerHandler.load` would read (no parked documents)."""
        invoice_keys: set[InvoiceKey] = set()
        document_keys: set[DocumentKey] = set()
        customers: set[str] = set()
        upserted: set[str] = set()  # the customers read, for their upserts' versions
        reach: dict[tuple[str, str, str], Decimal] = {}
        for event in events:
            payload = event.payload
            customers.add(payload.customer_id)
            if isinstance(event, erp.InvoiceIssued | erp.InvoiceUpdated | erp.InvoiceCancelled):
                invoice_keys.add((payload.company_code, payload.invoice_number))
            elif isinstance(event, erp.PaymentReceived | erp.CreditNoteIssued):
                document_keys.add(document_reads(event, invoice_keys, reach))
            elif isinstance(event, erp.CustomerUpserted):
                upserted.add(payload.customer_id)
        invoices = {k: copy.copy(self.invoices[k]) for k in invoice_keys if k in self.invoices}
        for read in invoices.values():
            key = (read.company_code, read.customer_id, read.currency)
            if read.status == "open" and key in reach:
                reach[key] += read.open_amount
        # queries.open_invoices_reached: oldest first, up to the first whose older ones owe
        # what the payments bring
        for (company, customer, currency), amount in reach.items():
            owed_before = Decimal(0)
            for owed in sorted(
                (
                    self.invoices[k]
                    for k in self.open_by_customer.get(customer, ())
                    if k[0] == company and self.invoices[k].currency == currency
                ),
                key=OLDEST_FIRST,
            ):
                if owed_before >= amount:
                    break
                invoices.setdefault(owed.key, copy.copy(owed))
                owed_before += owed.open_amount
        balance_keys = {k for c in customers for k in self.balances_by_customer.get(c, ())}
        return Book(
            invoices=invoices,
            customers={
                c: CustomerRow(c, row.company_code, row.version, None)
                for c in upserted
                if (row := self.customers.get(c)) is not None
            },
            balances={k: self.balances[k] for k in balance_keys},
            credit_lots={k: list(self.lots[k]) for k in balance_keys},
            documents={
                k: copy.copy(self.documents[k]) for k in document_keys if k in self.documents
            },
        )

    def save(self, book: Book) -> None:
        for key in book.changed_invoices:
            row = book.invoices[key]
            self.invoices[key] = row
            opened = self.open_by_customer.setdefault(row.customer_id, set())
            if row.status == "open":
                opened.add(key)
            else:
                opened.discard(key)
        for customer_id in book.changed_customers:
            self.customers[customer_id] = book.customers[customer_id]
        for balance in book.changed_balances:
            self.balances[balance] = book.balances[balance]
            self.lots[balance] = book.credit_lots.get(balance, [])
            self.balances_by_customer.setdefault(balance[1], set()).add(balance)
        for document in book.changed_documents:
            self.documents[document] = book.documents[document]

    def owed(self) -> Balances:
        owed: Balances = {}
        for row in self.invoices.values():
            if row.status == "open":
                key = (row.company_code, row.customer_id, row.currency)
                owed[key] = owed.get(key, Decimal(0)) + row.open_amount
        for key, balance in self.balances.items():
            owed[key] = owed.get(key, Decimal(0)) - balance
        return owed


def one_round(
    records: Sequence[tuple[Topic, bytes]], batch: int, profiler: cProfile.Profile | None
) -> tuple[float, float, int, Ledger, int]:
    """(parse CPU s, apply CPU s, ledger events, the ledger, rejected or parked)."""
    ledger = Ledger()
    parse_s = apply_s = 0.0
    emitted = troubles = 0
    for start in range(0, len(records), batch):
        chunk = records[start : start + batch]
        t0 = time.process_time()
        events = [topic.parse(value) for topic, value in chunk]
        t1 = time.process_time()
        book = ledger.load(events)
        t2 = time.process_time()
        if profiler is not None:
            profiler.enable()
        book.apply_all(events)
        if profiler is not None:
            profiler.disable()
        t3 = time.process_time()
        parse_s += t1 - t0
        apply_s += t3 - t2
        emitted += len(book.emitted)
        troubles += len(book.rejected) + len(book.parked)
        ledger.save(book)
    return parse_s, apply_s, emitted, ledger, troubles


def exit_unless_reconciled(failures: Sequence[str], success: str) -> None:
    """Print ``success``, or the first differences to stderr and exit with status 1."""
    if failures:
        print(f"LEDGER DOES NOT RECONCILE ({len(failures)}):", file=sys.stderr)
        for line in failures[:20]:
            print(f"  {line}", file=sys.stderr)
        sys.exit(1)
    print(success)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile one round's apply")
    parser.add_argument(
        "--customers",
        type=int,
        default=None,
        help="customers the events are spread over (default: one per 40 events)",
    )
    args = parser.parse_args()
    mix = erp_mix(args.events, customers=args.customers)
    expected = expected_balances(mix)
    records = [(topic, topic.value(event)) for topic, event in mix]
    del mix
    gc_tuning.tune(IngestionSettings().gc_gen0_threshold)  # as the service does at start
    print_host("before")
    parse_us: list[float] = []
    apply_us: list[float] = []
    failures: list[str] = []
    emitted = 0
    for n in range(args.rounds):
        profiler = cProfile.Profile() if args.profile and n == args.rounds - 1 else None
        parse_s, apply_s, emitted, ledger, troubles = one_round(records, args.batch, profiler)
        parse_us.append(parse_s / args.events * 1e6)
        apply_us.append(apply_s / args.events * 1e6)
        print(
            f"round {n + 1}: parse {parse_us[-1]:.1f} µs/event, apply {apply_us[-1]:.1f} "
            f"µs/event{' (profiled)' if profiler else ''}",
            flush=True,
        )
        failures = reconcile(expected, ledger.owed())
        if troubles:
            failures.append(f"{troubles} events rejected or parked")
        if profiler is not None:
            apply_us.pop()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    print_host("after")
    print(f"ledger events per ERP event: {emitted / args.events:.3f}")
    for name, values in (("parse", parse_us), ("apply", apply_us)):
        if values:
            print(
                f"{name}: best {min(values):.1f}, median {statistics.median(values):.1f} µs "
                f"per ERP event over {len(values)} round(s)"
            )
    exit_unless_reconciled(
        failures, f"ledger reconciled with the generator to the cent: {len(expected)} balances"
    )


if __name__ == "__main__":
    main()
