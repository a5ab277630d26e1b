"""Promises to pay: whether one may be recorded, when it is kept or broken, its events.

Pure functions of values; a stored promise is passed as its row (read by column name).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from contracts import disputes
from contracts.money import Money, PositiveMoney
from services.disputes.domain.policy import SOURCE, event_id
from services.disputes.domain.rules import Row
from services.disputes.errors import CommandRejected


def already_recorded(existing: Row | None, promise: disputes.Promise) -> bool:
    """True for a retried command (nothing to do); rejected when the id holds another."""
    if existing is None:
        return False
    if existing["customer_id"] == promise.customer_id and existing["amount"] == (
        promise.amount.amount
    ):
        return True
    raise CommandRejected(
        "promise_id_taken", f"promise {promise.promise_id} exists with other content"
    )


def counts_in_record(kind: disputes.PromiseKind) -> bool:
    """Only the customer's own promises count in their kept and broken record: a payment a
    provider announced that the ERP does not confirm is not the customer's broken word."""
    return kind == "promise"


def kept_at_deadline(row: Row) -> bool:
    """At the deadline, a promise is kept if the payments cover it at the last moment."""
    received: Decimal = max(Decimal(0), row["received"])
    amount: Decimal = row["amount"]
    return received >= amount


def made(now: datetime, promise: disputes.Promise) -> disputes.PromiseMade:
    return disputes.PromiseMade(
        event_id=event_id("promise.made", promise.promise_id),
        occurred_at=now,
        source=SOURCE,
        payload=promise,
    )


def kept(
    now: datetime, row: Row, today: date, record: disputes.PromiseRecord | None
) -> disputes.PromiseKept:
    return disputes.PromiseKept(
        event_id=event_id("promise.kept", row["promise_id"]),
        occurred_at=now,
        source=SOURCE,
        payload=disputes.KeptPromise(
            promise_id=row["promise_id"],
            customer_id=row["customer_id"],
            invoice_ids=tuple(row["invoice_ids"]),
            kept_on=today,
            customer_record=record,
            kind=row["kind"],
        ),
    )


def broken(
    now: datetime, row: Row, record: disputes.PromiseRecord | None, failure: str | None = None
) -> disputes.PromiseBroken:
    """The promised date plus the grace is over and the payments do not cover it (for a
    payment a provider announced: the ERP's payment did not arrive in time, or the provider
    reported it failed: ``failure``)."""
    announced = row["kind"] == "payment_announced"
    return disputes.PromiseBroken(
        event_id=event_id("promise.broken", row["promise_id"]),
        occurred_at=now,
        source=SOURCE,
        payload=disputes.BrokenPromise(
            promise_id=row["promise_id"],
            customer_id=row["customer_id"],
            invoice_ids=tuple(row["invoice_ids"]),
            promised_date=row["promised_date"],
            amount=PositiveMoney(amount=row["amount"], currency=row["currency"]),
            received=Money(amount=max(Decimal(0), row["received"]), currency=row["currency"]),
            customer_record=record,
            kind=row["kind"],
            announced_by=row["recorded_by"] if announced else None,
            failure=failure if announced else None,
        ),
    )


def failure_applies(row: Row | None, failure: disputes.FailedPayment) -> bool:
    """Whether a provider's failure report breaks the promise: it must be an announced
    payment of that customer; one already kept or broken stays as it is (a redelivery, or
    a failure reported after the ERP's payment arrived: the ledger will show its reversal)."""
    if row is None:
        raise CommandRejected("unknown_promise", f"no promise {failure.promise_id}")
    if row["kind"] != "payment_announced" or row["customer_id"] != failure.customer_id:
        raise CommandRejected(
            "not_an_announced_payment",
            f"promise {failure.promise_id} is not a payment announced for {failure.customer_id}",
        )
    return bool(row["status"] == "open")
