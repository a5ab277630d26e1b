"""Keeping each invoice's dunning state in step with the ledger and with pauses.

The ledger opens invoices, moves their open amount and closes them; disputes, promises to
pay and payment plans pause and resume them; a reminder the notifier could not deliver goes
again on a fallback channel (:mod:`services.scheduler.fallback`); a delivered formal notice
and a call's outcome decide what comes next (:mod:`services.scheduler.deliveries`). Every
change reschedules the invoice's durable timer (``next_action_at``); a closed or paused
invoice has none, so it is never reminded.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from contracts import disputes, ledger, notifications
from contracts.dunning import DunningStateChanged, NextStep
from contracts.envelope import Event
from contracts.topics import DUNNING_ACTIONS
from services.runtime.consumer import UnitOfWork
from services.runtime.database import Connection
from services.scheduler import queries
from services.scheduler.deliveries import (
    call_closed,
    letter_returned,
    notice_served,
    returned_letter,
    serves_notice,
)
from services.scheduler.domain.state import (
    Customer,
    InvoiceState,
    Policy,
    amount_changed,
    assigned,
    closed,
    heading_for,
    opened,
    paused,
    reassigned,
    rescheduled,
    resumed,
)
from services.scheduler.domain.state import Resumption as Resumption  # where callers find it
from services.scheduler.fallback import fall_back, needs_fallback
from services.scheduler.outgoing import SOURCE

PAUSES: dict[type[Event], str] = {
    disputes.DisputeOpened: "dispute",
    disputes.DisputeReopened: "dispute",
    disputes.PromiseMade: "promise_to_pay",
    disputes.PaymentPlanAgreed: "payment_plan",
    disputes.PaymentPlanProposed: "payment_plan",  # while a credit manager decides
}


def resumption_of(event: Event) -> tuple[str, Resumption] | None:
    """Which pause an event lifts and how; None when it lifts none.

    A dispute resolved as justified lifts nothing: the creditor was wrong, a credit note or
    a corrected invoice follows, and the invoices stay paused until the disputes service
    sees it in the ledger (``dispute.correction_received``).
    """
    match event:
        case disputes.DisputeResolved(payload=resolved):
            if resolved.outcome == "justified":
                return None
            if resolved.outcome == "rejected":
                return "dispute", Resumption.FIRMER
            return "dispute", Resumption.WHERE_IT_STOPPED
        case disputes.DisputeCorrectionReceived():
            return "dispute", Resumption.WHERE_IT_STOPPED
        case disputes.PromiseKept():
            return "promise_to_pay", Resumption.WHERE_IT_STOPPED
        case disputes.PromiseBroken():
            return "promise_to_pay", Resumption.FIRMER_NOW
        case disputes.PaymentPlanBroken():
            return "payment_plan", Resumption.FIRMER_NOW
        case disputes.PaymentPlanCompleted():
            return "payment_plan", Resumption.WHERE_IT_STOPPED
        case disputes.PaymentPlanRefused():  # a proposed plan refused or lapsed
            return "payment_plan", Resumption.WHERE_IT_STOPPED
    return None


async def _outstanding(work: UnitOfWork, customer_id: str) -> dict[str, Decimal]:
    """What the customer owes on the invoices the scheduler follows, per currency."""
    rows = await work.connection.fetch(queries.OUTSTANDING, customer_id)
    return {r["currency"]: r["total"] for r in rows}


async def save(connection: Connection, state: InvoiceState) -> None:
    await connection.execute(
        queries.SAVE_INVOICE,
        state.invoice_id,
        state.due_date,
        state.amount,
        state.open_amount,
        state.scenario_id,
        state.next_step,
        state.status,
        state.pause_reason,
        state.resumed,
        state.last_step_name,
        state.last_level,
        state.last_action_at,
        state.next_action_at,
        state.formal_notice_at,
        state.scenario_version,
        state.awaiting_delivery,
    )


def state_changed(
    state: InvoiceState, now: datetime, next_step: NextStep | None = None
) -> DunningStateChanged | None:
    snapshot = state.snapshot(now, next_step)
    if snapshot is None:
        return None
    return DunningStateChanged(
        event_id=uuid.uuid4(), occurred_at=now, source=SOURCE, payload=snapshot
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
        elif (failed := needs_fallback(event)) is not None:
            if (bounce := returned_letter(event)) is not None:
                await letter_returned(work, self.policy, bounce)
            await fall_back(work, self.policy, failed.reminder_id, now)
        elif (bounce := returned_letter(event)) is not None:  # a soft bounce
            await letter_returned(work, self.policy, bounce)
        elif (served := serves_notice(self.policy, event)) is not None:
            await notice_served(work, self.policy, served, self._store)
        elif isinstance(event, notifications.CallTaskClosed):
            await call_closed(work, self.policy, event.payload)
        else:
            resumption = resumption_of(event)
            if resumption is not None:
                await self._resume(work, event, *resumption, now)

    async def _customer_row(self, work: UnitOfWork, customer_id: str) -> Customer | None:
        row = await work.connection.fetchrow(queries.CUSTOMER, customer_id)
        return None if row is None else Customer.of(row)

    async def _store(
        self,
        work: UnitOfWork,
        before: InvoiceState | None,
        after: InvoiceState,
        now: datetime,
        customer: Customer | None = None,
    ) -> None:
        await save(work.connection, after)
        if before != after:
            if after.next_action_at is not None and customer is None:
                customer = await self._customer_row(work, after.customer_id)
            changed = state_changed(after, now, heading_for(self.policy.library, after, customer))
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
        outstanding = await _outstanding(work, payload.customer_id)
        for row in await work.connection.fetch(queries.NOT_STARTED_INVOICES, payload.customer_id):
            before = InvoiceState.of(row)
            after = assigned(self.policy, before, customer, outstanding)
            after = rescheduled(self.policy, after, customer, now)
            await self._store(work, before, after, now, customer)
        for row in await work.connection.fetch(queries.UNDER_WAY_INVOICES, payload.customer_id):
            before = InvoiceState.of(row)
            after = reassigned(self.policy, before, customer, outstanding)
            if after != before:
                await self._store(
                    work, before, rescheduled(self.policy, after, customer, now), now, customer
                )

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
        outstanding = None
        if customer is not None:
            outstanding = await _outstanding(work, payload.customer_id)
        after = opened(self.policy, before, customer, outstanding, now)
        if customer is not None and customer.held_at(now):  # a collector's hold covers it
            await work.connection.execute(queries.HOLD_LIKE_CUSTOMER, payload.invoice_id)
            after = replace(after, held_until=customer.held_until)
        await self._store(work, None, after, now, customer)

    async def _amount_changed(
        self, work: UnitOfWork, payload: ledger.OpenAmountChange, now: datetime
    ) -> None:
        row = await work.connection.fetchrow(queries.INVOICE_FOR_UPDATE, payload.invoice_id)
        if row is None:
            return  # an invoice opened before the scheduler followed the ledger
        before = InvoiceState.of(row)
        customer = await self._customer_row(work, payload.customer_id)
        after = amount_changed(
            self.policy,
            before,
            customer,
            due_date=payload.due_date,
            amount=payload.amount.amount,
            open_amount=payload.open_amount.amount,
            now=now,
        )
        await self._store(work, before, after, now, customer)

    async def _closed(self, work: UnitOfWork, invoice_id: str, now: datetime) -> None:
        row = await work.connection.fetchrow(queries.INVOICE_FOR_UPDATE, invoice_id)
        if row is None:
            return
        before = InvoiceState.of(row)
        await self._store(work, before, closed(before), now)

    async def _targets(self, work: UnitOfWork, event: Event) -> list[InvoiceState]:
        payload = event.payload
        rows = await work.connection.fetch(queries.CUSTOMER_INVOICES, payload.customer_id)
        if getattr(payload, "whole_account", False):
            return [InvoiceState.of(r) for r in rows]
        wanted = set(payload.invoice_ids)
        return [InvoiceState.of(r) for r in rows if r["invoice_id"] in wanted]

    async def _pause(self, work: UnitOfWork, event: Event, reason: str, now: datetime) -> None:
        for before in await self._targets(work, event):
            await self._store(work, before, paused(before, reason), now)

    async def _resume(
        self, work: UnitOfWork, event: Event, reason: str, how: Resumption, now: datetime
    ) -> None:
        """Lift the pause ``reason`` (only that one) from the event's invoices."""
        customer = await self._customer_row(work, event.payload.customer_id)
        for before in await self._targets(work, event):
            after = resumed(self.policy, before, customer, reason, how, now)
            if after is not None:  # None: not paused for this reason
                await self._store(work, before, after, now, customer)
