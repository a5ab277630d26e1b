"""Keeping each invoice's dunning state in step with the ledger and with pauses.

The ledger opens invoices, moves their open amount and closes them; disputes, promises to
pay and payment plans pause and resume them. Every change reschedules the invoice's durable
timer (``next_action_at``); a closed or paused invoice has none, so it is never reminded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from contracts import disputes, ledger
from contracts.envelope import Event
from contracts.topics import DUNNING_ACTIONS
from services.runtime.consumer import UnitOfWork
from services.scheduler import queries
from services.scheduler.state import (
    Customer,
    InvoiceState,
    Policy,
    assigned,
    rescheduled,
    save,
    state_changed,
)

PAUSES: dict[type[Event], str] = {
    disputes.DisputeOpened: "dispute",
    disputes.DisputeReopened: "dispute",
    disputes.PromiseMade: "promise_to_pay",
    disputes.PaymentPlanAgreed: "payment_plan",
}
RESUMES: tuple[type[Event], ...] = (
    disputes.DisputeResolved,
    disputes.PromiseKept,
    disputes.PromiseBroken,
    disputes.PaymentPlanBroken,
    disputes.PaymentPlanCompleted,
)


class Tracker:
    """The scheduler's handler of ledger and dispute events."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    async def handle(self, work: UnitOfWork, events: Sequence[Event]) -> None:
        for event in events:
            await self.apply(work, event)

    async def apply(self, work: UnitOfWork, event: Event) -> None:
        now = work.clock.now()
        if isinstance(event, ledger.LedgerCustomerUpserted):
            await self._customer(work, event.payload, now)
        elif isinstance(event, ledger.InvoiceOpened):
            await self._opened(work, event.payload, now)
        elif isinstance(event, ledger.OpenAmountChanged):
            await self._amount_changed(work, event.payload, now)
        elif isinstance(event, ledger.InvoiceSettled | ledger.LedgerInvoiceCancelled):
            await self._closed(work, event.payload.invoice_id, now)
        elif type(event) in PAUSES:
            await self._pause(work, event, PAUSES[type(event)], now)
        elif isinstance(event, RESUMES):
            await self._resume(work, event, now)

    async def _customer_row(self, work: UnitOfWork, customer_id: str) -> Customer | None:
        row = await work.connection.fetchrow(queries.CUSTOMER, customer_id)
        return None if row is None else Customer.of(row)

    async def _store(
        self, work: UnitOfWork, before: InvoiceState | None, after: InvoiceState, now: datetime
    ) -> None:
        await save(work.connection, after)
        if before != after:
            changed = state_changed(after, now)
            if changed is not None:
                work.emit(DUNNING_ACTIONS, changed)

    async def _customer(
        self, work: UnitOfWork, payload: ledger.LedgerCustomer, now: datetime
    ) -> None:
        applied = await work.connection.fetchval(
            queries.UPSERT_CUSTOMER,
            payload.customer_id,
            payload.company_code,
            payload.country,
            payload.time_zone,
            payload.language,
            json.loads(payload.segment.model_dump_json()),
            payload.version,
        )
        if applied is None:
            return  # an older version than the one kept
        customer = await self._customer_row(work, payload.customer_id)
        assert customer is not None
        outstanding = await work.connection.fetchval(queries.OUTSTANDING, payload.customer_id)
        for row in await work.connection.fetch(queries.NOT_STARTED_INVOICES, payload.customer_id):
            before = InvoiceState.of(row)
            after = assigned(self.policy, before, customer, outstanding)
            after = rescheduled(self.policy, after, customer, now)
            await self._store(work, before, after, now)

    async def _opened(self, work: UnitOfWork, payload: ledger.OpenedInvoice, now: datetime) -> None:
        await work.connection.execute(
            queries.INSERT_INVOICE,
            payload.invoice_id,
            payload.customer_id,
            payload.company_code,
            payload.invoice_number,
            payload.due_date,
            payload.amount.currency,
            payload.amount.amount,
            payload.open_amount.amount,
        )
        row = await work.connection.fetchrow(queries.INVOICE_FOR_UPDATE, payload.invoice_id)
        before = InvoiceState.of(row)
        if before.last_step_name is not None or before.status not in ("active", "unassigned"):
            return  # already followed: a replayed or late opening changes nothing
        customer = await self._customer_row(work, payload.customer_id)
        after = replace(before, scenario_id=None, status="unassigned", next_action_at=None)
        if customer is not None:
            outstanding = await work.connection.fetchval(queries.OUTSTANDING, payload.customer_id)
            after = assigned(self.policy, after, customer, outstanding)
            after = rescheduled(self.policy, after, customer, now)
        await self._store(work, None, after, now)

    async def _amount_changed(
        self, work: UnitOfWork, payload: ledger.OpenAmountChange, now: datetime
    ) -> None:
        row = await work.connection.fetchrow(queries.INVOICE_FOR_UPDATE, payload.invoice_id)
        if row is None:
            return  # an invoice opened before the scheduler followed the ledger
        before = InvoiceState.of(row)
        status = before.status
        if status == "closed":  # a reversal reopened it
            status = "active" if before.scenario_id is not None else "unassigned"
        after = replace(
            before,
            due_date=payload.due_date,
            amount=payload.amount.amount,
            open_amount=payload.open_amount.amount,
            status=status,
        )
        customer = await self._customer_row(work, payload.customer_id)
        after = rescheduled(self.policy, after, customer, now)
        await self._store(work, before, after, now)

    async def _closed(self, work: UnitOfWork, invoice_id: str, now: datetime) -> None:
        row = await work.connection.fetchrow(queries.INVOICE_FOR_UPDATE, invoice_id)
        if row is None:
            return
        before = InvoiceState.of(row)
        after = replace(before, status="closed", next_action_at=None)
        await self._store(work, before, after, now)

    async def _targets(self, work: UnitOfWork, event: Event) -> list[InvoiceState]:
        payload = event.payload
        rows = await work.connection.fetch(queries.CUSTOMER_INVOICES, payload.customer_id)
        if getattr(payload, "whole_account", False):
            return [InvoiceState.of(r) for r in rows]
        wanted = set(payload.invoice_ids)
        return [InvoiceState.of(r) for r in rows if r["invoice_id"] in wanted]

    async def _pause(self, work: UnitOfWork, event: Event, reason: str, now: datetime) -> None:
        for before in await self._targets(work, event):
            after = replace(before, pause_reason=reason, next_action_at=None)
            await self._store(work, before, after, now)

    async def _resume(self, work: UnitOfWork, event: Event, now: datetime) -> None:
        customer = await self._customer_row(work, event.payload.customer_id)
        for before in await self._targets(work, event):
            if before.pause_reason is None:
                continue
            resumed = replace(before, pause_reason=None, resumed=True)
            after = rescheduled(self.policy, resumed, customer, now + self.policy.min_gap)
            await self._store(work, before, after, now)
