"""Direct debits' state in the portal's schema: starting one for a choice of invoices, and
applying GoCardless's verified events to it (``domain/direct_debit.py`` says what each
event means). A payment that went to the banks is announced to the disputes service as a
``promise.record`` of kind ``payment_announced``; one that failed after that is a
``promise.payment_failed``. Both go through the outbox in the transaction that moves the
debit's state, so a redelivered event (the state has moved) sends nothing twice, and
their ids derive from GoCardless's payment id.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from contracts import disputes
from contracts.topics import DISPUTE_COMMANDS, Topic
from services.portal import queries
from services.portal.domain.direct_debit import DebitEvent, debit_id
from services.runtime import outbox
from services.runtime.database import Connection, Pool
from services.runtime.logs import get_logger

COMMAND_NAMESPACE = uuid.UUID("6f1c2a9e-8b47-4d0e-9a35-2c7e51b4d8f0")  # the pages' own
SOURCE = "portal"
log = get_logger(__name__)


@dataclass(frozen=True)
class Debit:
    debit_id: uuid.UUID
    status: str
    billing_request_id: str | None


async def debit_for(
    pool: Pool,
    now: datetime,
    choice: str,
    customer_id: str,
    company_code: str,
    invoices: Sequence[tuple[str, Decimal]],
    currency: str,
    kind: str = "debit",
) -> Debit:
    """The debit (or bank transfer, ``kind``) of this choice: the latest attempt, unless it
    failed (then a new one)."""
    async with pool.acquire() as connection, connection.transaction():
        # two requests of one double click both read "no debit yet" without this lock, and
        # the second insert of the same (choice, attempt) failed: 500 instead of the same debit
        await connection.execute(queries.LOCK_CHOICE, choice)
        latest = await connection.fetchrow(queries.LATEST_DEBIT, choice)
        if latest is not None and latest["status"] != "failed":
            return Debit(latest["debit_id"], latest["status"], latest["billing_request_id"])
        attempt = 0 if latest is None else latest["attempt"] + 1
        new_id = debit_id(choice, attempt)
        await connection.execute(
            queries.START_DEBIT,
            new_id,
            choice,
            attempt,
            customer_id,
            company_code,
            [invoice_id for invoice_id, _ in invoices],
            sum((amount for _, amount in invoices), Decimal(0)),
            currency,
            now,
            kind,
        )
        return Debit(new_id, "started", None)


async def requested(pool: Pool, now: datetime, debit: uuid.UUID, billing_request_id: str) -> None:
    await pool.execute(queries.DEBIT_REQUESTED, debit, billing_request_id, now)


def promise_id_of(payment_id: str) -> uuid.UUID:
    return uuid.uuid5(COMMAND_NAMESPACE, f"gocardless/{payment_id}")


async def apply_events(
    pool: Pool, now: datetime, events: Sequence[DebitEvent], topic: Topic = DISPUTE_COMMANDS
) -> dict[str, int]:
    """Applies a verified batch in one transaction; counts per outcome (``unknown``: an
    event about a resource the portal did not start, such as another integration's)."""
    counts: dict[str, int] = {}
    records: list[outbox.OutgoingRecord] = []
    async with pool.acquire() as connection, connection.transaction():
        for event in events:
            outcome = await _apply(connection, now, event, records, topic)
            counts[outcome] = counts.get(outcome, 0) + 1
        await outbox.enqueue(connection, records)
    return counts


async def _apply(
    connection: Connection,
    now: datetime,
    event: DebitEvent,
    records: list[outbox.OutgoingRecord],
    topic: Topic,
) -> str:
    if event.outcome == "ignore":
        return "ignored"
    reference = _uuid(event.debit_reference)
    row = await connection.fetchrow(
        queries.DEBIT_OF_EVENT, event.payment_id, event.billing_request_id, reference
    )
    if row is None:
        log.info("gocardless_event_unknown", event_id=event.event_id, outcome=event.outcome)
        return "unknown"
    if event.outcome == "fulfilled":
        await connection.execute(queries.DEBIT_FULFILLED, row["debit_id"], event.payment_id, now)
        return "fulfilled"
    if event.outcome == "announce":
        payment_id = event.payment_id or row["payment_id"]
        if payment_id is None or row["status"] not in ("started", "fulfilled"):
            return "repeated"
        await connection.execute(queries.DEBIT_ANNOUNCED, row["debit_id"], payment_id, now)
        records.append(outbox.OutgoingRecord.of(topic, _announcement(row, payment_id, now)))
        return "announced"
    # fail
    if row["status"] == "failed":
        return "repeated"
    await connection.execute(queries.DEBIT_FAILED, row["debit_id"], event.reason, now)
    if row["status"] == "announced":
        records.append(outbox.OutgoingRecord.of(topic, _failure(row, event.reason, now)))
    log.info("direct_debit_failed", debit_id=str(row["debit_id"]), reason=event.reason)
    return "failed"


def _announcement(row: Any, payment_id: str, now: datetime) -> disputes.RecordPromise:
    key = f"gocardless/{payment_id}"
    return disputes.RecordPromise(
        event_id=uuid.uuid5(COMMAND_NAMESPACE, key + "/event"),
        occurred_at=now,
        source=SOURCE,
        payload=disputes.Promise(
            promise_id=promise_id_of(payment_id),
            customer_id=row["customer_id"],
            invoice_ids=tuple(row["invoice_ids"]),
            promised_date=now.date(),
            amount={"amount": row["amount"], "currency": row["currency"]},
            channel="portal",
            recorded_by=f"gocardless:{payment_id}"[:200],
            kind="payment_announced",
        ),
    )


def _failure(row: Any, reason: str, now: datetime) -> disputes.RecordPaymentFailure:
    payment_id = row["payment_id"]
    return disputes.RecordPaymentFailure(
        event_id=uuid.uuid5(COMMAND_NAMESPACE, f"gocardless/{payment_id}/failed"),
        occurred_at=now,
        source=SOURCE,
        payload=disputes.FailedPayment(
            promise_id=promise_id_of(payment_id),
            customer_id=row["customer_id"],
            failed_on=now.date(),
            reason=reason,
            recorded_by=f"gocardless:{payment_id}"[:200],
        ),
    )


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None
