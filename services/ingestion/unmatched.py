"""Unmatched cash: payments and credit notes waiting for invoices, and operators' decisions.

A payment or credit note naming an invoice not seen yet waits, nothing of it applied
(``ledger.unmatched_cash.recorded``). When the invoice will never come (a typo in the
allocation, an invoice the ERP does not export), an operator decides::

    python -m services.ingestion.unmatched list
    python -m services.ingestion.unmatched release FR01 payment PAY-93
    python -m services.ingestion.unmatched dead-letter FR01 payment PAY-93 --reason "refunded"

``release`` retries the match and applies the document now without the invoices still
missing (:meth:`Book.release`); ``dead-letter`` sends its original event to its topic's
dead-letter topic with reason ``operator_dead_lettered`` and applies nothing. Either way
the ledger publishes ``ledger.unmatched_cash.cleared`` and, for a release, the changes of
open amounts and credit it made, all in one transaction with the ledger's rows.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Annotated, Literal

import asyncpg
import typer

from contracts import erp
from services.ingestion import queries
from services.ingestion.app import DEFINITION
from services.ingestion.domain.book import Book, DocumentKey, ParkedDocument
from services.ingestion.errors import NotUnmatched
from services.ingestion.handler import PARKED_TOPICS, LedgerHandler, held_dead_letters
from services.runtime import outbox
from services.runtime.clock import Clock, SystemClock
from services.runtime.consumer import UnitOfWork
from services.runtime.database import Connection
from services.runtime.dead_letter import DeadLetter
from services.runtime.settings import DatabaseSettings

Decision = Literal["release", "dead_letter"]
OPERATOR_REASON = "operator_dead_lettered"
# Ledger events of a decision get ids derived from it: a decision taken twice is refused
# (the document no longer waits), and its events are never published twice.
DECISION_NAMESPACE = uuid.UUID("5d0f8a3e-6f0b-4c55-9e51-7a2c1b0e9d42")


async def decide(
    connection: Connection,
    key: DocumentKey,
    decision: Decision,
    clock: Clock,
    detail: str = "dead-lettered by an operator",
    service: str = DEFINITION.name,
) -> Book:
    """Release or dead-letter one waiting document, in one transaction; the book it left."""
    async with connection.transaction():
        row = await queries.parked_document(connection, key)
        if row is None:
            raise NotUnmatched(f"{key[1]} {key[2]} of {key[0]} is not waiting for invoices")
        company, kind, document_id, customer, awaiting, event_json = row
        event = PARKED_TOPICS[kind].parse(event_json.encode())
        assert isinstance(event, erp.PaymentReceived | erp.CreditNoteIssued)
        handler = LedgerHandler(service)
        work = UnitOfWork(connection, clock)
        book = await handler.load(work, [event])
        book.parked[key] = ParkedDocument(
            company, kind, document_id, customer, tuple(awaiting), event
        )
        cause = uuid.uuid5(DECISION_NAMESPACE, f"{decision}:{company}/{kind}/{document_id}")
        at = clock.now()
        if decision == "release":
            book.release(key, cause, at)
        else:
            book.dead_letter(key, cause, at, OPERATOR_REASON, detail)
        await handler.save(work, book)
        dead_letters = [
            DeadLetter(record, reason, reason_detail, service, event_id).outgoing()
            for record, event_id, reason, reason_detail in held_dead_letters(book)
        ]
        await outbox.enqueue(connection, [*book.emitted, *dead_letters])
    return book


async def _connect() -> asyncpg.Connection:
    url = DatabaseSettings().url.get_secret_value()
    return await asyncpg.connect(url, server_settings={"search_path": DEFINITION.schema})


async def _list() -> list[str]:
    connection = await _connect()
    try:
        rows = await queries.unmatched_documents(connection)
    finally:
        await connection.close()
    now = SystemClock().now()
    return [
        f"{r['company_code']:<8}{r['kind']:<12}{r['document_id']:<24}{r['customer_id']:<16}"
        f"{r['amount']:>14} {r['currency']}  value {r['value_date']}  "
        f"waiting {_days(now, r['parked_at'])} days for {', '.join(r['awaiting'])}"
        for r in rows
    ]


def _days(now: datetime, since: datetime) -> int:
    return (now - since).days


async def _decide(key: DocumentKey, decision: Decision, detail: str) -> Book:
    connection = await _connect()
    try:
        return await decide(connection, key, decision, SystemClock(), detail)
    finally:
        await connection.close()


app = typer.Typer(no_args_is_help=True, help="Unmatched cash: payments waiting for invoices.")
Kind = Annotated[str, typer.Argument(help="payment or credit_note")]


@app.command("list")
def list_unmatched() -> None:
    """List the payments and credit notes waiting for invoices, oldest first."""
    lines = asyncio.run(_list())
    for line in lines:
        typer.echo(line)
    typer.echo(f"{len(lines)} unmatched document(s).")


def _run(key: DocumentKey, decision: Decision, detail: str) -> Book:
    try:
        return asyncio.run(_decide(key, decision, detail))
    except NotUnmatched as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc


@app.command("release")
def release(company: str, kind: Kind, document_id: str) -> None:
    """Retry the match now: apply the document without the invoices still missing."""
    book = _run((company, kind, document_id), "release", "")
    if book.dead_parked:
        _, reason, detail = book.dead_parked[0]
        typer.echo(
            f"{kind} {document_id} could not be applied ({reason}: {detail}); dead-lettered."
        )
        return
    typer.echo(f"{kind} {document_id} released: {book.tally.unparked} document applied.")


@app.command("dead-letter")
def dead_letter(
    company: str,
    kind: Kind,
    document_id: str,
    reason: Annotated[str, typer.Option(help="Why, kept in the dead letter's detail.")] = (
        "dead-lettered by an operator"
    ),
) -> None:
    """Give up on the document: dead-letter its event, apply nothing of it."""
    _run((company, kind, document_id), "dead_letter", reason)
    typer.echo(f"{kind} {document_id} dead-lettered ({OPERATOR_REASON}).")


if __name__ == "__main__":
    app()
