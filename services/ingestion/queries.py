"""The SQL of the ingestion service: loading a batch's rows and writing back what changed.

Reads take their keys as JSON arrays (``json_array_elements_text``; the pool's ``json``
codec dumps a list with the C encoder), one round trip per table and batch: asyncpg checks
every element of a ``text[]`` parameter against ``collections.abc`` in Python, two calls
per string, about 0.8 µs per ERP event for a batch's keys. Writes are one set-based
statement per table and batch (``INSERT ... SELECT FROM unnest(...) ON CONFLICT``: the
batch's keys are unique, the :class:`Book` keeps one row per key; for invoices and
documents an ``INSERT`` of the new and an ``UPDATE`` of the stored, :func:`save_invoices`)
and ``COPY`` for allocations. The frequent writes (invoices, documents, balances) pass one
array of a row type (migration ``0005``) rather than an array per column: asyncpg checks
each element of an array parameter against ``collections.abc`` in Python, per field with
column arrays, per row with a row type; only parked documents, which are rare and carry an
array per row, are written row by row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from services.ingestion.domain.book import (
    AllocationRow,
    BalanceKey,
    CreditLots,
    CustomerRow,
    DocumentKey,
    DocumentRow,
    InvoiceKey,
    InvoiceRow,
)
from services.runtime.database import Connection
from services.runtime.errors import WriteConflict

_INVOICE_COLUMNS = (
    "company_code, invoice_number, customer_id, version, currency, amount, open_amount, "
    "issue_date, due_date, status, settled_on, payment_terms, purchase_order, extra::text, "
    "content_hash"
)


# a customer among those of a JSON array of text (see the module's docstring)
_CUSTOMER_IN_JSON = "customer_id = ANY(ARRAY(SELECT json_array_elements_text($1::json)))"


def _invoice(record: Any) -> InvoiceRow:
    # positionally, in InvoiceRow's field order (that of _INVOICE_COLUMNS): a dataclass's
    # __init__ with fifteen keywords cost three times as much, for every row a batch reads
    return InvoiceRow(
        record[0],
        record[1],
        record[2],
        record[3],
        record[4].strip(),  # currency, char(3)
        record[5],
        record[6],
        record[7],
        record[8],
        record[9],
        record[10],
        record[11],
        record[12],
        record[13],
        record[14],
    )


async def invoices_by_key(connection: Connection, keys: Iterable[InvoiceKey]) -> list[InvoiceRow]:
    companies, numbers = _columns(keys, 2)
    if not companies:
        return []
    rows = await connection.fetch(
        f"SELECT {_INVOICE_COLUMNS} FROM invoices i "
        "JOIN ROWS FROM (json_array_elements_text($1::json), json_array_elements_text($2::json)) "
        "AS k(company_code, invoice_number) USING (company_code, invoice_number)",
        companies,
        list(numbers),
    )
    return [_invoice(r) for r in rows]


# Each (company, customer, currency)'s open invoices oldest first, as a payment without
# allocations pays them (allocation.OLDEST_FIRST: due date, issue date, number; the number
# is in the C collation, Python's order of str), with what the older ones still owe: one
# small window per key (a lateral subquery) rather than one window partitioned over all
# the batch's keys, whose sort of every row by six keys cost PostgreSQL about 2 µs per ERP
# event more (docs/ingestion.md, sixteenth round).
_OPEN_OLDEST_FIRST = (
    "SELECT i.*, sum(i.open_amount) OVER (ORDER BY i.due_date, i.issue_date, i.invoice_number "
    "ROWS UNBOUNDED PRECEDING) - i.open_amount AS owed_before FROM invoices i "
    "WHERE i.status = 'open' AND i.customer_id = k.customer_id "
    "AND i.company_code = k.company_code AND i.currency = k.currency::char(3)"
)
_REACHED_COLUMNS = ", ".join("o." + column.strip() for column in _INVOICE_COLUMNS.split(","))


async def open_invoices_reached(
    connection: Connection, reach: dict[BalanceKey, Decimal]
) -> list[InvoiceRow]:
    """The open invoices of each (company, customer, currency) of ``reach``, oldest first,
    up to the first whose older ones owe ``reach[key]`` or more between them: the invoices
    that a batch's payments of that much in all, spread oldest first, can come to
    (``LedgerHandler.load`` says what the amount must cover)."""
    if not reach:
        return []
    companies, customers, currencies = _columns(reach, 3)
    amounts = [str(reach[k]) for k in zip(companies, customers, currencies, strict=True)]
    rows = await connection.fetch(
        f"SELECT {_REACHED_COLUMNS} "
        "FROM ROWS FROM (json_array_elements_text($1::json), json_array_elements_text($2::json), "
        "json_array_elements_text($3::json), json_array_elements_text($4::json)) "
        "AS k(company_code, customer_id, currency, reach) "
        f"CROSS JOIN LATERAL ({_OPEN_OLDEST_FIRST}) o "
        "WHERE o.owed_before < k.reach::numeric",
        companies,
        customers,
        currencies,
        amounts,
    )
    return [_invoice(r) for r in rows]


async def customer_versions(connection: Connection, customers: Sequence[str]) -> list[CustomerRow]:
    if not customers:
        return []
    rows = await connection.fetch(
        f"SELECT customer_id, company_code, version FROM customers WHERE {_CUSTOMER_IN_JSON}",
        list(customers),
    )
    return [CustomerRow(r[0], r[1], r[2], None) for r in rows]


async def balances_of(
    connection: Connection, customers: Sequence[str]
) -> tuple[dict[BalanceKey, Decimal], dict[BalanceKey, CreditLots]]:
    """The customers' credit balances, and the lots of money in each by value date."""
    if not customers:
        return {}, {}
    rows = await connection.fetch(
        "SELECT company_code, customer_id, currency, balance, lots::text FROM credit_balances "
        f"WHERE {_CUSTOMER_IN_JSON}",
        list(customers),
    )
    balances: dict[BalanceKey, Decimal] = {}
    lots: dict[BalanceKey, CreditLots] = {}
    for r in rows:
        key = (r[0], r[1], r[2].strip())
        balances[key] = r[3]
        if r[4] is None:  # written before lots were kept
            lots[key] = [(None, r[3])] if r[3] > 0 else []
        else:
            lots[key] = [
                (None if when is None else date.fromisoformat(when), Decimal(amount))
                for when, amount in json.loads(r[4])
            ]
    return balances, lots


async def documents_by_key(
    connection: Connection, keys: Iterable[DocumentKey]
) -> list[DocumentRow]:
    companies, kinds, ids = _columns(keys, 3)
    if not companies:
        return []
    rows = await connection.fetch(
        "SELECT company_code, kind, document_id, customer_id, currency, amount, value_date, "
        "content_hash, status, event_id FROM documents "
        "JOIN ROWS FROM (json_array_elements_text($1::json), json_array_elements_text($2::json), "
        "json_array_elements_text($3::json)) AS k(company_code, kind, document_id) "
        "USING (company_code, kind, document_id)",
        companies,
        kinds,
        ids,
    )
    return [
        DocumentRow(r[0], r[1], r[2], r[3], r[4].strip(), r[5], r[6], r[7], r[8], r[9])
        for r in rows
    ]


async def parked_awaiting(connection: Connection, numbers: Sequence[str]) -> list[Any]:
    """Parked documents waiting for any of these invoice numbers (any company)."""
    if not numbers:
        return []
    return list(
        await connection.fetch(
            "SELECT company_code, kind, document_id, customer_id, awaiting, event::text "
            "FROM parked_documents WHERE status = 'parked' "
            "AND awaiting && ARRAY(SELECT json_array_elements_text($1::json)) "
            "ORDER BY parked_seq",
            list(numbers),
        )
    )


async def save_customers(connection: Connection, rows: Iterable[CustomerRow]) -> None:
    records = [
        (
            r.customer_id,
            r.company_code,
            r.version,
            r.payload.name,
            r.payload.country,
            r.payload.time_zone,
            r.payload.language,
            json.dumps(r.payload.model_dump(mode="json")),
        )
        for r in rows
        if r.payload is not None
    ]
    if records:
        await connection.execute(
            "INSERT INTO customers (customer_id, company_code, version, name, country, "
            "time_zone, language, document) "
            "SELECT c.customer_id, c.company_code, c.version, c.name, c.country, c.time_zone, "
            "c.language, c.document::jsonb FROM unnest($1::text[], $2::text[], $3::bigint[], "
            "$4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) "
            "AS c(customer_id, company_code, version, name, country, time_zone, language, "
            "document) "
            "ON CONFLICT (customer_id) DO UPDATE SET company_code = EXCLUDED.company_code, "
            "version = EXCLUDED.version, name = EXCLUDED.name, country = EXCLUDED.country, "
            "time_zone = EXCLUDED.time_zone, language = EXCLUDED.language, "
            "document = EXCLUDED.document WHERE customers.version < EXCLUDED.version",
            *_columns_of(records, 8),
        )


def _invoice_records(rows: Iterable[InvoiceRow]) -> list[tuple[Any, ...]]:
    # in the order of the invoice_upsert row type (migration 0005); amounts as text (0006)
    return [
        (
            r.company_code,
            r.invoice_number,
            r.customer_id,
            r.version,
            r.currency,
            str(r.amount),
            str(r.open_amount),
            r.issue_date,
            r.due_date,
            r.status,
            r.settled_on,
            r.payment_terms,
            r.purchase_order,
            r.extra_json,
            r.content_hash,
        )
        for r in rows
    ]


async def _insert_new(
    connection: Connection, statement: str, records: list[tuple[Any, ...]], what: str
) -> None:
    """Insert rows the batch read as absent; a key that another transaction committed in
    the meantime is a :class:`WriteConflict` (see :func:`save_invoices`)."""
    if not records:
        return
    try:
        await connection.execute(statement, records)
    except asyncpg.UniqueViolationError as exc:
        raise WriteConflict(f"{what} was written by another batch first: {exc.detail}") from exc


async def save_invoices(
    connection: Connection, opened: Iterable[InvoiceRow], changed: Iterable[InvoiceRow]
) -> None:
    """Write a batch's new invoices (``opened``) and the stored ones it changed.

    New invoices by a plain ``INSERT``, stored ones by ``UPDATE``: the batch read every
    invoice it touches, so it knows which is which, and an ``INSERT ... ON CONFLICT DO
    UPDATE`` (a speculative insertion, checked again after the insert) cost more per row.
    An invoice the batch found absent can still be there at its insert: another replica's
    batch, of another partition, opened the same number first (two customers of a company
    given one invoice number; a customer's own batches wait for each other, see
    ``BatchProcessor.partition_locks``). The unique violation becomes a
    :class:`~services.runtime.errors.WriteConflict`: the batch is rolled back and retried,
    reads that invoice, and the ledger's rules decide (an ``invoice_conflict`` for another
    customer's invoice), where an upsert would have overwritten the first one.
    """
    await _insert_new(
        connection,
        "INSERT INTO invoices (company_code, invoice_number, customer_id, version, currency, "
        "amount, open_amount, issue_date, due_date, status, settled_on, payment_terms, "
        "purchase_order, extra, content_hash) "
        "SELECT i.company_code, i.invoice_number, i.customer_id, i.version, i.currency, "
        "i.amount::numeric, i.open_amount::numeric, i.issue_date, i.due_date, i.status, "
        "i.settled_on, i.payment_terms, i.purchase_order, i.extra::jsonb, i.content_hash "
        "FROM unnest($1::invoice_upsert[]) AS i",
        _invoice_records(opened),
        "an invoice this batch opens",
    )
    known = _invoice_records(changed)
    if known:
        await connection.execute(
            "UPDATE invoices AS v SET customer_id = i.customer_id, version = i.version, "
            "currency = i.currency, amount = i.amount::numeric, "
            "open_amount = i.open_amount::numeric, issue_date = i.issue_date, "
            "due_date = i.due_date, status = i.status, settled_on = i.settled_on, "
            "payment_terms = i.payment_terms, purchase_order = i.purchase_order, "
            "extra = i.extra::jsonb, content_hash = i.content_hash "
            "FROM unnest($1::invoice_upsert[]) AS i "
            "WHERE v.company_code = i.company_code AND v.invoice_number = i.invoice_number",
            known,
        )


async def save_balances(
    connection: Connection,
    balances: dict[BalanceKey, Decimal],
    lots: dict[BalanceKey, CreditLots],
) -> None:
    if balances:
        await connection.execute(
            "INSERT INTO credit_balances (company_code, customer_id, currency, balance, lots) "
            "SELECT u.company_code, u.customer_id, u.currency, u.balance::numeric, u.lots::jsonb "
            "FROM unnest($1::balance_upsert[]) AS u "
            "ON CONFLICT (company_code, customer_id, currency) "
            "DO UPDATE SET balance = EXCLUDED.balance, lots = EXCLUDED.lots",
            [(*key, str(value), _lots_json(lots.get(key, []))) for key, value in balances.items()],
        )


def _lots_json(lots: CreditLots) -> str:
    """The lots as the JSON ``[["2026-02-01", "12.50"], [null, "3"]]`` (value date or null,
    amount as text). Hand-written: a lot is an ISO date and a decimal's digits, text that
    needs no escaping, and ``json.dumps`` of the nested lists cost three times as much
    (7 µs against 2.2 for a balance of four lots), for every credit balance a batch writes."""
    return (
        "["
        + ",".join(
            [f'[null,"{a:f}"]' if d is None else f'["{d.isoformat()}","{a:f}"]' for d, a in lots]
        )
        + "]"
    )


def _document_records(rows: Iterable[DocumentRow]) -> list[tuple[Any, ...]]:
    # in the order of the document_upsert row type (migration 0005); the amount as text (0006)
    return [
        (
            r.company_code,
            r.kind,
            r.document_id,
            r.customer_id,
            r.currency,
            str(r.amount),
            r.value_date,
            r.content_hash,
            r.status,
            r.event_id,
        )
        for r in rows
    ]


async def save_documents(
    connection: Connection, opened: Iterable[DocumentRow], changed: Iterable[DocumentRow]
) -> None:
    """Write a batch's new payments and credit notes (``opened``) and the stored ones whose
    status it changed (a parked document applied or rejected), as :func:`save_invoices`
    does invoices: a document id that another partition's batch stored first (two
    customers' documents given one id) is a :class:`WriteConflict`, retried, and then a
    ``document_conflict`` by the rules instead of both applied."""
    await _insert_new(
        connection,
        "INSERT INTO documents (company_code, kind, document_id, customer_id, currency, "
        "amount, value_date, content_hash, status, event_id) "
        "SELECT d.company_code, d.kind, d.document_id, d.customer_id, d.currency, "
        "d.amount::numeric, d.value_date, d.content_hash, d.status, d.event_id "
        "FROM unnest($1::document_upsert[]) AS d",
        _document_records(opened),
        "a document this batch applies",
    )
    known = _document_records(changed)
    if known:
        await connection.execute(
            "UPDATE documents AS v SET status = d.status "
            "FROM unnest($1::document_upsert[]) AS d "
            "WHERE v.company_code = d.company_code AND v.kind = d.kind "
            "AND v.document_id = d.document_id",
            known,
        )


async def save_allocations(connection: Connection, rows: Sequence[AllocationRow]) -> None:
    if rows:
        await connection.copy_records_to_table(
            "allocations",
            records=[
                (r.company_code, r.kind, r.document_id, r.invoice_number, r.currency, r.amount)
                for r in rows
            ],
            columns=["company_code", "kind", "document_id", "invoice_number", "currency", "amount"],
        )


async def save_parked(connection: Connection, rows: Iterable[tuple[Any, ...]]) -> None:
    """Rows: (company, kind, document id, customer, awaiting, event json, status, reason,
    parked at)."""
    records = list(rows)
    if records:
        await connection.executemany(
            "INSERT INTO parked_documents (company_code, kind, document_id, customer_id, "
            "awaiting, event, status, reason, parked_at) "
            "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9) "
            "ON CONFLICT (company_code, kind, document_id) DO UPDATE SET "
            "status = EXCLUDED.status, reason = EXCLUDED.reason",
            records,
        )


async def delete_parked(connection: Connection, keys: Iterable[DocumentKey]) -> None:
    companies, kinds, ids = _columns(keys, 3)
    if companies:
        await connection.execute(
            "DELETE FROM parked_documents p USING unnest($1::text[], $2::text[], $3::text[]) "
            "AS k(company_code, kind, document_id) WHERE p.company_code = k.company_code "
            "AND p.kind = k.kind AND p.document_id = k.document_id",
            companies,
            kinds,
            ids,
        )


def _columns(keys: Iterable[tuple[str, ...]], width: int) -> list[list[str]]:
    columns: list[list[str]] = [[] for _ in range(width)]
    for key in set(keys):
        for column, value in zip(columns, key, strict=True):
            column.append(value)
    return columns


def _columns_of(records: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows as ``width`` column arrays, for one set-based ``INSERT ... SELECT FROM unnest``.

    One statement per table and batch, not one per row (``executemany``): PostgreSQL then
    plans and runs the upsert once, which is what made ingestion's writes cheap.
    """
    if not records:
        return [[] for _ in range(width)]
    columns = [list(column) for column in zip(*records, strict=True)]  # transposed in C
    if len(columns) != width:
        raise ValueError(f"rows of {len(columns)} values, not {width}")
    return columns


async def unmatched_cash(connection: Connection) -> tuple[int, datetime | None]:
    """How many payments and credit notes wait for their invoices, and since when the oldest."""
    row = await connection.fetchrow(
        "SELECT count(*), min(parked_at) FROM parked_documents "
        "WHERE status = 'parked' AND kind <> 'cancellation'"
    )
    assert row is not None
    return row[0], row[1]


async def parked_document(connection: Connection, key: DocumentKey) -> Any:
    """One parked payment or credit note still waiting, locked until the transaction ends."""
    return await connection.fetchrow(
        "SELECT company_code, kind, document_id, customer_id, awaiting, event::text "
        "FROM parked_documents WHERE company_code = $1 AND kind = $2 AND document_id = $3 "
        "AND status = 'parked' AND kind <> 'cancellation' FOR UPDATE",
        *key,
    )


async def unmatched_documents(connection: Connection) -> list[Any]:
    """Every payment and credit note waiting for invoices, oldest first."""
    return list(
        await connection.fetch(
            "SELECT p.company_code, p.kind, p.document_id, p.customer_id, p.awaiting, "
            "p.parked_at, d.currency, d.amount, d.value_date FROM parked_documents p "
            "JOIN documents d USING (company_code, kind, document_id) "
            "WHERE p.status = 'parked' AND p.kind <> 'cancellation' ORDER BY p.parked_at"
        )
    )
