"""The promise aggregate's shell: record, payments towards it, its deadline.

Reads the promise and what the ledger says, lets :mod:`services.disputes.domain` decide,
then writes the promise and the customer's promise record, in the caller's transaction.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from contracts import disputes
from contracts.envelope import Event
from services.disputes import queries
from services.disputes.cases.ledger_view import LedgerView
from services.disputes.domain import commitments, promises, rules
from services.disputes.domain.policy import Policy
from services.runtime.database import Connection


class Promises:
    def __init__(self, policy: Policy, ledger: LedgerView) -> None:
        self.policy = policy
        self.ledger = ledger

    async def record(
        self, connection: Connection, now: datetime, promise: disputes.Promise
    ) -> list[Event]:
        existing = await connection.fetchrow(queries.PROMISE, promise.promise_id)
        if promises.already_recorded(existing, promise):
            return []
        await self.ledger.committable(
            connection, promise.customer_id, promise.invoice_ids, promise.amount.currency
        )
        zone = await self.ledger.time_zone(connection, promise.customer_id)
        today = now.astimezone(ZoneInfo(zone)).date()
        if promise.kind == "payment_announced":
            # paid already, per the provider: wait for the ERP's payment, then resume
            deadline = commitments.announced_payment_deadline(
                promise.promised_date, today, self.policy.announced_payment_days
            )
        else:
            rules.check_promised_date(promise.promised_date, today, self.policy.promise_max_days)
            deadline = commitments.promise_deadline(
                promise.promised_date, self.policy.promise_grace_days
            )
        await connection.execute(
            queries.INSERT_PROMISE,
            promise.promise_id,
            promise.customer_id,
            list(promise.invoice_ids),
            promise.promised_date,
            promise.amount.amount,
            promise.amount.currency,
            promise.channel,
            promise.recorded_by,
            now,
            commitments.day_end(deadline, zone),
            promise.kind,
        )
        if promises.counts_in_record(promise.kind):
            await connection.execute(queries.PROMISE_MADE, promise.customer_id)
        return [promises.made(now, promise)]

    async def deadline_passed(self, connection: Connection, now: datetime, row: Any) -> Event:
        """The promised date plus the grace is over and the promise was not kept: broken."""
        today = await self.ledger.today(connection, row["customer_id"], now)
        if promises.kept_at_deadline(row):
            return await self._keep(connection, now, row, today)
        await connection.execute(queries.CLOSE_PROMISE, row["promise_id"], "broken", today)
        record = await self._record(connection, row, 0, 1)
        return promises.broken(now, row, record)

    async def payment_failed(
        self, connection: Connection, now: datetime, failure: disputes.FailedPayment
    ) -> list[Event]:
        """The provider reports the announced payment failed: broken at once, so the
        invoices resume without waiting for the deadline."""
        row = await connection.fetchrow(queries.PROMISE_FOR_UPDATE, failure.promise_id)
        if not promises.failure_applies(row, failure) or row is None:
            return []
        await connection.execute(
            queries.CLOSE_PROMISE, failure.promise_id, "broken", failure.failed_on
        )
        return [promises.broken(now, row, None, failure.reason)]

    @staticmethod
    async def _record(
        connection: Connection, promise: Any, kept: int, broken: int
    ) -> disputes.PromiseRecord | None:
        """The customer's record with this promise decided; a payment a provider announced
        does not count in it (None)."""
        if not promises.counts_in_record(promise["kind"]):
            return None
        customer_id = promise["customer_id"]
        row = await connection.fetchrow(queries.PROMISE_DECIDED, customer_id, kept, broken)
        return (
            None if row is None else disputes.PromiseRecord(kept=row["kept"], broken=row["broken"])
        )

    async def _keep(self, connection: Connection, now: datetime, row: Any, today: date) -> Event:
        await connection.execute(queries.CLOSE_PROMISE, row["promise_id"], "kept", today)
        record = await self._record(connection, row, 1, 0)
        return promises.kept(now, row, today, record)
