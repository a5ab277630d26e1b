"""The notifier's consumer: keeps its view of invoices, disputes and holds, records deliveries
to make.

The handler runs inside the batch's database transaction, so it never talks to a provider:
a ``dunning.reminder.due`` becomes a *pending* delivery keyed by (reminder, channel), which a
redelivered or replayed event cannot create twice. The dispatcher sends pending deliveries
outside any consumer transaction (:mod:`services.notifier.dispatcher`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime

from contracts import disputes, dunning, ledger, reference
from contracts.envelope import Event
from services.notifier import (
    ledger_batch,
    notices,
    previews,
    queries,
    reference_rates,
    suspensions,
)
from services.notifier.suspensions import ReleaseRules
from services.runtime.consumer import UnitOfWork

DEFAULT_RULES = ReleaseRules()

# Facts on the notifier's topics that concern none of its tables (the ``case _`` of
# :func:`handle`). A unit test checks that every event its topics carry is a ledger event it
# keeps a view of, one of these, or one :func:`handle` matches by name.
IGNORED: tuple[type[Event], ...] = (
    ledger.CreditBalanceChanged,
    ledger.UnmatchedCashRecorded,
    ledger.UnmatchedCashCleared,
    dunning.EscalationRaised,
    dunning.CommandExecuted,
    dunning.CampaignLaunched,
    dunning.LibraryChanged,
    disputes.DisputeAnswered,
    disputes.DisputeCorrectionReceived,
    disputes.PaymentPlanProposed,
    disputes.CallbackRequested,
)
DELIVERY_NAMESPACE = uuid.UUID("6f1d3c52-8a0e-4b8e-9a43-1d0c2e5b7f10")


def delivery_id_of(reminder_id: uuid.UUID, channel: str) -> uuid.UUID:
    """Deterministic: one delivery per reminder and channel."""
    return uuid.uuid5(DELIVERY_NAMESPACE, f"{reminder_id}/{channel}")


def handler_for(rules: ReleaseRules) -> Callable[[UnitOfWork, Sequence[Event]], Awaitable[None]]:
    """The consumer's handler, releasing held deliveries by ``rules`` on resume."""

    async def handler(work: UnitOfWork, events: Sequence[Event]) -> None:
        await handle(work, events, rules)

    return handler


async def handle(
    work: UnitOfWork, events: Sequence[Event], rules: ReleaseRules = DEFAULT_RULES
) -> None:
    connection = work.connection
    # Consecutive ledger events are applied together, set-based, before the next event that
    # concerns the notifier (a resume reads the customers they write): the same end state as
    # one at a time. A fact the notifier ignores does not end the run: a credit balance's
    # change comes between a payment's ledger events, and ending the run there cost nine
    # statements for every payment of a batch.
    run = ledger_batch.LedgerRun()
    for event in events:
        if isinstance(event, ledger_batch.LEDGER_EVENTS):
            run.add(event)
            continue
        if isinstance(event, IGNORED):
            continue
        if run:
            await ledger_batch.apply(connection, run)
            run = ledger_batch.LedgerRun()
        match event:
            case dunning.ReminderDue(payload=reminder):
                await connection.execute(
                    queries.RECORD_DELIVERY,
                    reminder.reminder_id,
                    reminder.channel,
                    delivery_id_of(reminder.reminder_id, reminder.channel),
                    reminder.customer_id,
                    reminder.model_dump(mode="json"),
                    reminder.scheduled_for,
                    [i.invoice_id for i in reminder.invoices],
                    work.clock.now(),
                    reminder.company_code,
                )
            case dunning.ProposalRaised(payload=proposal):
                await previews.record_proposal(work, proposal)
            case dunning.ProposalClosed(payload=closed):
                await previews.record_decision(work, closed)
            case dunning.DunningStateChanged(payload=state):
                await _record_hold(work, state, event.occurred_at)
            case dunning.SendingSuspended(payload=suspension):
                await suspensions.suspend(work, suspension)
            case dunning.SendingResumed(payload=lifted):
                await suspensions.resume(work, lifted, rules)
            case disputes.DisputeOpened(payload=opened):
                await _open_dispute(work, opened.dispute_id, opened, event.occurred_at.date())
                await notices.record_owner_assignment(work, opened, event.event_id)
            case disputes.DisputeReopened(payload=reopened):
                await _open_dispute(work, reopened.dispute_id, reopened, event.occurred_at.date())
                await notices.record_owner_assignment(work, reopened, event.event_id)
            case disputes.DisputeResolved(payload=resolved):
                await connection.execute(queries.CLOSE_DISPUTE, resolved.dispute_id)
            case disputes.PromiseMade(payload=promise):
                await connection.execute(
                    queries.RECORD_COMMITMENT,
                    promise.promise_id,
                    "promise",
                    promise.customer_id,
                    list(promise.invoice_ids),
                    event.occurred_at.date(),
                    promise.promised_date,
                )
                await connection.execute(
                    queries.FORGET_BROKEN_COMMITMENTS, list(promise.invoice_ids)
                )
                await notices.record_promise(work, promise)
            case disputes.PromiseKept(payload=kept):
                await connection.execute(queries.END_COMMITMENT, kept.promise_id)
            case disputes.PromiseBroken(payload=broken):
                await connection.execute(
                    queries.RECORD_BROKEN_COMMITMENT,
                    broken.promise_id,
                    broken.customer_id,
                    "promise",
                    list(broken.invoice_ids),
                    broken.promised_date,
                    broken.amount.amount,
                    broken.amount.currency,
                    None,
                )
                await connection.execute(queries.END_COMMITMENT, broken.promise_id)
                if broken.kind == "payment_announced":
                    await notices.record_unconfirmed_payment(work, broken)
            case disputes.PaymentPlanInstalmentMissed(payload=missed):
                await connection.execute(
                    queries.RECORD_BROKEN_COMMITMENT,
                    missed.plan_id,
                    missed.customer_id,
                    "instalment",
                    list(missed.invoice_ids),
                    missed.due_date,
                    missed.amount.amount,
                    missed.amount.currency,
                    missed.instalment_number,
                )
            case disputes.PaymentPlanAgreed(payload=plan):
                await connection.execute(
                    queries.RECORD_COMMITMENT,
                    plan.plan_id,
                    "plan",
                    plan.customer_id,
                    list(plan.invoice_ids),
                    plan.agreed_on,
                    plan.instalments[-1].due_date,
                )
                await connection.execute(queries.FORGET_BROKEN_COMMITMENTS, list(plan.invoice_ids))
                await notices.record_plan(work, plan)
            case disputes.PaymentPlanCompleted(payload=completed):
                await connection.execute(queries.END_COMMITMENT, completed.plan_id)
            case disputes.PaymentPlanBroken(payload=broken_plan):
                await connection.execute(queries.END_COMMITMENT, broken_plan.plan_id)
            case disputes.PaymentPlanRefused(payload=refused_plan):
                await notices.record_plan_refusal(work, refused_plan)
            case disputes.DisputeOwnerReminderDue(payload=owner_reminder):
                await notices.record_owner_reminder(work, owner_reminder)
            case reference.ReferenceInterestRatePublished(payload=rate):
                await reference_rates.record_rate(work, rate)
            case _:
                pass  # other facts on these topics do not concern the notifier
    if run:
        await ledger_batch.apply(connection, run)


async def _open_dispute(
    work: UnitOfWork, dispute_id: uuid.UUID, invoices: disputes.DisputedInvoices, on: date
) -> None:
    await work.connection.execute(
        queries.OPEN_DISPUTE,
        dispute_id,
        invoices.customer_id,
        list(invoices.invoice_ids),
        invoices.whole_account,
        on,
    )


async def _record_hold(
    work: UnitOfWork, state: dunning.InvoiceDunningState, stated_at: datetime
) -> None:
    """A collector's hold on the invoice (or on its customer, announced invoice by invoice):
    held until ``paused_until``, or until a later state lifts it when it has no date; any
    other state lifts it."""
    if state.pause_reason == "hold":
        await work.connection.execute(
            queries.RECORD_HOLD, state.invoice_id, state.customer_id, state.paused_until, stated_at
        )
    else:
        await work.connection.execute(queries.LIFT_HOLD, state.invoice_id, stated_at)
