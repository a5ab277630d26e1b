"""Keeping each invoice's dunning state in step with the ledger and with pauses.

The ledger opens invoices, moves their open amount and closes them; disputes, promises to
pay and payment plans pause and resume them; a reminder the notifier could not deliver goes
again on a fallback channel (:mod:`services.scheduler.fallback`); a delivered formal notice
and a call's outcome decide what comes next (:mod:`services.scheduler.deliveries`). Every
change reschedules the invoice's durable timer (``next_action_at``); a closed or paused
invoice has none, so it is never reminded.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from contracts import disputes, ledger, notifications
from contracts.dunning import DunningStateChanged, NextStep
from contracts.envelope import Event
from contracts.topics import DUNNING_ACTIONS
from services.runtime.consumer import UnitOfWork
from services.runtime.database import Connection
from services.scheduler import outgoing, queries
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
from services.scheduler.ledger_run import RUN_EVENTS, LedgerRun
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
    """The scheduler's handler of ledger and dispute events.

    Consecutive ledger events of a batch are applied together (:mod:`services.scheduler.
    ledger_run`): their rows read up front, the same logic applied to each in order in
    memory, the changed rows written at the end of the run, before the next event the
    tracker handles (a pause, a delivery's outcome) reads the tables. A fact it ignores (a
    customer's credit balance, between a payment's ledger events) does not end the run.
    """

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    async def handle(self, work: UnitOfWork, events: Sequence[Event]) -> None:
        run: list[Event] = []
        for event in events:
            if isinstance(event, RUN_EVENTS):
                run.append(event)
            elif self.ignores(event):
                continue
            else:
                if run:
                    await self._apply_run(work, run)
                    run = []
                await self._apply_one(work, event)
        if run:
            await self._apply_run(work, run)

    async def apply(self, work: UnitOfWork, event: Event) -> None:
        await self.handle(work, (event,))

    def ignores(self, event: Event) -> bool:
        """True for an event the tracker changes nothing for (a customer's credit balance,
        a dispute resolved as justified): it does not end a run of ledger events."""
        return not (
            isinstance(event, RUN_EVENTS)
            or type(event) in PAUSES
            or needs_fallback(event) is not None
            or returned_letter(event) is not None
            or serves_notice(self.policy, event) is not None
            or isinstance(event, notifications.CallTaskClosed)
            or resumption_of(event) is not None
        )

    async def _apply_run(self, work: UnitOfWork, events: Sequence[Event]) -> None:
        # what a customer owes is read only if an assignment rule reads it (the rules
        # decide alike with any total otherwise: Match.owes_enough)
        rules = self.policy.library.assignment.rules
        owed_matters = any(rule.when.min_outstanding is not None for rule in rules)
        run = await LedgerRun.load(work.connection, events, owed_matters)
        for event in events:
            now = work.clock.now()
            if isinstance(event, ledger.LedgerCustomerUpserted):
                await self._customer(work, run, event.payload, now)
            elif isinstance(event, ledger.InvoiceOpened):
                await self._opened(work, run, event.payload, now)
            elif isinstance(event, ledger.OpenAmountChanged):
                await self._amount_changed(work, run, event.payload, now)
            else:
                assert isinstance(event, ledger.InvoiceSettled | ledger.LedgerInvoiceCancelled)
                await self._closed(work, run, event.payload.invoice_id, now)
        await run.write()

    async def _apply_one(self, work: UnitOfWork, event: Event) -> None:
        now = work.clock.now()
        if type(event) in PAUSES:
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
            self._announce(work, after, now, customer)

    def _announce(
        self, work: UnitOfWork, after: InvoiceState, now: datetime, customer: Customer | None
    ) -> None:
        """Emit the invoice's ``dunning.state.changed`` (none without a scenario).

        Written as text by :func:`services.scheduler.outgoing.state_changed`, the bytes the
        model dumps, as the tick writes it; a hold in force that shows as a pause (which
        the tick never announces) goes through the model."""
        next_step = heading_for(self.policy.library, after, customer)
        if after.held_at(now) and not after.pauses:
            changed = state_changed(after, now, next_step)
            if changed is not None:
                work.emit(DUNNING_ACTIONS, changed)
            return
        record = outgoing.state_changed(after, now, next_step)
        if record is not None:
            work.emit_records((record,))

    # -- a run of ledger events, in memory (services.scheduler.ledger_run) ---------------

    async def _keep(
        self,
        work: UnitOfWork,
        run: LedgerRun,
        before: InvoiceState | None,
        after: InvoiceState,
        now: datetime,
        customer: Customer | None = None,
    ) -> None:
        """:meth:`_store` within a run: the save kept in ``run``, the change announced."""
        run.save(after)
        if before != after:
            if after.next_action_at is not None and customer is None:
                customer = await run.customer(after.customer_id)
            self._announce(work, after, now, customer)

    async def _customer(
        self, work: UnitOfWork, run: LedgerRun, payload: ledger.LedgerCustomer, now: datetime
    ) -> None:
        customer = await run.upsert_customer(payload)
        if customer is None:
            return  # an older version than the one kept
        outstanding = await run.outstanding(payload.customer_id)
        for before in await run.not_started(payload.customer_id):
            after = assigned(self.policy, before, customer, outstanding)
            after = rescheduled(self.policy, after, customer, now)
            await self._keep(work, run, before, after, now, customer)
        for before in await run.under_way(payload.customer_id):
            after = reassigned(self.policy, before, customer, outstanding)
            if after != before:
                await self._keep(
                    work, run, before, rescheduled(self.policy, after, customer, now), now, customer
                )

    async def _opened(
        self, work: UnitOfWork, run: LedgerRun, payload: ledger.OpenedInvoice, now: datetime
    ) -> None:
        before = await run.insert_invoice(payload)
        if before.last_step_name is not None or before.status not in ("active", "unassigned"):
            return  # already followed: a replayed or late opening changes nothing
        customer = await run.customer(payload.customer_id)
        outstanding = None
        if customer is not None:
            outstanding = await run.outstanding(payload.customer_id)
        after = opened(self.policy, before, customer, outstanding, now)
        if customer is not None and customer.held_at(now):  # a collector's hold covers it
            await run.hold_like_customer(payload.invoice_id)
            after = replace(after, held_until=customer.held_until)
        await self._keep(work, run, None, after, now, customer)

    async def _amount_changed(
        self, work: UnitOfWork, run: LedgerRun, payload: ledger.OpenAmountChange, now: datetime
    ) -> None:
        before = await run.invoice(payload.invoice_id)
        if before is None:
            return  # an invoice opened before the scheduler followed the ledger
        customer = await run.customer(payload.customer_id)
        after = amount_changed(
            self.policy,
            before,
            customer,
            due_date=payload.due_date,
            amount=payload.amount.amount,
            open_amount=payload.open_amount.amount,
            now=now,
        )
        await self._keep(work, run, before, after, now, customer)

    async def _closed(
        self, work: UnitOfWork, run: LedgerRun, invoice_id: str, now: datetime
    ) -> None:
        before = await run.invoice(invoice_id)
        if before is None:
            return
        await self._keep(work, run, before, closed(before), now)

    # -- pauses and resumptions, one event at a time -------------------------------------

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
