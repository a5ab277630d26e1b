"""The projection: public events applied to the console's read model.

:func:`statements_for` maps one event to the parameterised statements that apply it (the
state tables, then the customer's timeline entry from :mod:`domain.timeline`);
:func:`apply_events`, the service's batch handler, runs them in the batch's transaction, in
the order of the events, a run of ledger events regrouped set-based by
:mod:`services.console.ledger_run` to the same effect. The kit's inbox applies each event
id once; event types the console does not use map to no statement.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, get_args
from uuid import UUID

from contracts import disputes, dunning, ledger, notifications, reference
from contracts.envelope import Event
from contracts.topics import (
    DISPUTE_EVENTS,
    DUNNING_ACTIONS,
    FX_RATES,
    INTEREST_RATES,
    LEDGER_EVENTS,
    NOTIFIER_DELIVERIES,
)
from services.console import ledger_run, queries, suspensions
from services.console.domain.timeline import entry_of
from services.runtime.consumer import UnitOfWork

Statement = tuple[str, tuple[Any, ...]]

COLLECTOR_TAG = "collector:"
# The notifier's provider name for a phone reminder turned into a collector's call task.
CALL_TASK_PROVIDER = "call_task"
CONSUMED = (
    LEDGER_EVENTS,
    DUNNING_ACTIONS,
    NOTIFIER_DELIVERIES,
    DISPUTE_EVENTS,
    INTEREST_RATES,
    FX_RATES,
)


async def apply_events(work: UnitOfWork, events: Sequence[Event]) -> None:
    """The service's batch handler; then, once per topic, how fresh the read model is.

    A run of consecutive ledger events is applied set-based (:mod:`ledger_run`: a few
    statements per run, the same end state); any other event with its own statements, in
    the batch's order. Every path that applies events (a batch, its retry after a
    transient error, a replay or a catch-up from the start of a topic) comes through here.
    """
    start = 0
    while start < len(events):
        end = start
        while end < len(events) and ledger_run.in_run(events[end]):
            end += 1
        if end > start:
            await ledger_run.apply_run(work.connection, events[start:end], statements_for)
        else:
            end = start + 1
            for sql, args in statements_for(events[start]):
                await work.connection.execute(sql, *args)
        start = end
    for sql, args in freshness_of(events, work.clock.now()):
        await work.connection.execute(sql, *args)


def _topic_of_events() -> dict[type[Event], str]:
    """Each event class of the topics the console reads, and its topic's name."""
    topic_of: dict[type[Event], str] = {}
    for topic in CONSUMED:
        union = get_args(topic.union)[0]  # Annotated[A | B | ..., Field(...)]
        for event_class in get_args(union) or (union,):
            topic_of[event_class] = topic.name
    return topic_of


def freshness_of(events: Sequence[Event], now: datetime) -> list[Statement]:
    """Per topic of ``events``: its newest event's time, now, and how many were applied."""
    newest: dict[str, tuple[datetime, int]] = {}
    for event in events:
        topic = TOPIC_OF.get(type(event))
        if topic is None:
            continue
        last, count = newest.get(topic, (event.occurred_at, 0))
        newest[topic] = (max(last, event.occurred_at), count + 1)
    return [
        (queries.TOPIC_FRESHNESS, (topic, last, now, count))
        for topic, (last, count) in sorted(newest.items())
    ]


def statements_for(event: Event) -> list[Statement]:
    """The statements that apply ``event``: its state changes, then its timeline entry."""
    project = PROJECTIONS.get(type(event))
    statements = [] if project is None else project(event)
    entry = entry_of(event)
    if entry is not None:
        values = (entry.event_id, entry.customer_id, entry.at, entry.kind, entry.facts)
        if isinstance(event, dunning.CommandExecuted) and event.payload.command == "log_call":
            # with the note, the contact called and the invoices the console kept when it
            # sent the call (the scheduler's audit, kept for ever, leaves them out)
            statements.append((queries.ADD_LOGGED_CALL_ENTRY, (*values, event.payload.command_id)))
        else:
            statements.append((queries.ADD_TIMELINE_ENTRY, values))
    return statements


def collector_of(tags: Sequence[str]) -> str | None:
    """The collector's portfolio code from a customer's tag ``collector:<code>``, if any."""
    for tag in tags:
        if tag.startswith(COLLECTOR_TAG) and len(tag) > len(COLLECTOR_TAG):
            return tag[len(COLLECTOR_TAG) :]
    return None


def _customer(event: ledger.LedgerCustomerUpserted) -> list[Statement]:
    c = event.payload
    contacts = [contact.model_dump(mode="json", exclude_none=True) for contact in c.contacts]
    return [
        (
            queries.UPSERT_CUSTOMER,
            (
                c.customer_id,
                c.company_code,
                c.version,
                c.name,
                str(c.country),
                c.language,
                c.segment.customer_type,
                c.segment.market,
                c.segment.risk_rating,
                c.segment.payer_profile,
                collector_of(c.segment.tags),
                contacts,
                list(c.segment.tags),
            ),
        ),
        (
            queries.RECORD_SEGMENT,
            (c.company_code, collector_of(c.segment.tags) or "", c.segment.market),
        ),
    ]


def _at_risk_of_items_holding(invoice_id: str) -> list[Statement]:
    """My day's items that hold this invoice get their money at risk again."""
    return [(sql, (invoice_id,)) for sql in queries.INVOICE_AT_RISK]


def _opened(event: ledger.InvoiceOpened) -> list[Statement]:
    i = event.payload
    return [
        (
            queries.OPEN_INVOICE,
            (
                i.invoice_id,
                i.customer_id,
                i.company_code,
                i.invoice_number,
                i.issue_date,
                i.due_date,
                i.amount.currency,
                i.amount.amount,
                i.open_amount.amount,
                i.late_interest_rate,
            ),
        ),
        *_at_risk_of_items_holding(i.invoice_id),
    ]


def _changed(event: ledger.OpenAmountChanged) -> list[Statement]:
    c = event.payload
    return [
        (
            queries.CHANGE_OPEN_AMOUNT,
            (c.invoice_id, c.open_amount.amount, c.due_date, c.amount.amount),
        ),
        *_at_risk_of_items_holding(c.invoice_id),
    ]


def _settled(event: ledger.InvoiceSettled) -> list[Statement]:
    s = event.payload
    return [
        (queries.CLOSE_INVOICE, (s.invoice_id, "settled", s.settled_on)),
        *_at_risk_of_items_holding(s.invoice_id),
    ]


def _cancelled(event: ledger.LedgerInvoiceCancelled) -> list[Statement]:
    on = event.occurred_at.date()
    return [
        (queries.CLOSE_INVOICE, (event.payload.invoice_id, "cancelled", on)),
        *_at_risk_of_items_holding(event.payload.invoice_id),
    ]


def _unmatched(event: ledger.UnmatchedCashRecorded) -> list[Statement]:
    u = event.payload
    return [
        (
            queries.RECORD_UNMATCHED_CASH,
            (
                u.kind,
                u.document_id,
                u.customer_id,
                u.company_code,
                u.amount.currency,
                u.amount.amount,
                u.value_date,
                list(u.awaiting),
                event.occurred_at,
            ),
        )
    ]


def _unmatched_cleared(event: ledger.UnmatchedCashCleared) -> list[Statement]:
    c = event.payload
    return [(queries.CLEAR_UNMATCHED_CASH, (c.kind, c.document_id, c.outcome, event.occurred_at))]


def _dunning_state(event: dunning.DunningStateChanged) -> list[Statement]:
    s = event.payload
    return [
        (
            queries.DUNNING_STATE,
            (
                s.invoice_id,
                s.scenario_id,
                s.step_name,
                s.level,
                s.paused,
                s.pause_reason,
                s.next_action_at,
                s.paused_until,
                None if s.next_step is None else s.next_step.step_name,
                None if s.next_step is None else s.next_step.level,
                None if s.next_step is None else s.next_step.channel,
            ),
        )
    ]


def _reminder(event: dunning.ReminderDue) -> list[Statement]:
    r = event.payload
    return [
        (
            queries.RECORD_REMINDER,
            (
                r.reminder_id,
                r.customer_id,
                r.company_code,
                r.channel,
                r.level,
                r.step_name,
                r.scheduled_for,
                [i.invoice_id for i in r.invoices],
                r.scenario_id,
                r.template,
            ),
        ),
        (queries.REMINDER_AT_RISK, (r.reminder_id,)),
    ]


def _delivery(event: Event) -> list[Statement]:
    d = event.payload
    assert isinstance(d, notifications.Delivery)
    reason = getattr(d, "reason", None)
    statements: list[Statement] = []
    if (
        isinstance(d, notifications.ProviderDelivery)
        and d.provider == CALL_TASK_PROVIDER
        and d.provider_tracking_id
        and event.event_type == "delivery.sent"
    ):
        statements.append((queries.CALL_TASK_CREATED, (d.reminder_id, d.provider_tracking_id)))
    return [
        *statements,
        (
            queries.RECORD_DELIVERY,
            (
                d.delivery_id,
                d.reminder_id,
                d.customer_id,
                d.channel,
                event.event_type.removeprefix("delivery."),
                str(reason) if reason is not None else None,
                list(d.invoice_ids),
                d.at,
            ),
        ),
        (queries.DELIVERY_AT_RISK, (d.delivery_id,)),
    ]


def _call_closed(event: notifications.CallTaskClosed) -> list[Statement]:
    t = event.payload
    return [(queries.CLOSE_CALL_TASK, (t.reminder_id, t.outcome, event.occurred_at))]


def _dispute_opened(event: disputes.DisputeOpened) -> list[Statement]:
    d = event.payload
    return [
        (
            queries.OPEN_DISPUTE,
            (
                d.dispute_id,
                d.customer_id,
                list(d.invoice_ids),
                d.whole_account,
                d.category,
                d.owner_role,
                d.owner,
                d.due_date,
                event.occurred_at,
            ),
        ),
        (queries.DISPUTE_AT_RISK, (d.dispute_id,)),
    ]


def _dispute_resolved(event: disputes.DisputeResolved) -> list[Statement]:
    return [(queries.RESOLVE_DISPUTE, (event.payload.dispute_id,))]


def _dispute_reopened(event: disputes.DisputeReopened) -> list[Statement]:
    o = event.payload
    return [
        (
            queries.REOPEN_DISPUTE,
            (o.dispute_id, o.owner_role, o.owner, o.due_date, list(o.invoice_ids)),
        ),
        (queries.DISPUTE_AT_RISK, (o.dispute_id,)),
    ]


def _promise_made(event: disputes.PromiseMade) -> list[Statement]:
    p = event.payload
    return [
        (
            queries.MAKE_PROMISE,
            (
                p.promise_id,
                p.customer_id,
                list(p.invoice_ids),
                p.promised_date,
                p.amount.currency,
                p.amount.amount,
                event.occurred_at,
                p.recorded_by,
            ),
        )
    ]


def _promise_kept(event: disputes.PromiseKept) -> list[Statement]:
    return [(queries.CLOSE_PROMISE, (event.payload.promise_id, "kept", event.occurred_at))]


def _promise_broken(event: disputes.PromiseBroken) -> list[Statement]:
    return [(queries.CLOSE_PROMISE, (event.payload.promise_id, "broken", event.occurred_at))]


def _plan_agreed(event: disputes.PaymentPlanAgreed) -> list[Statement]:
    a = event.payload
    instalments = [i.model_dump(mode="json") for i in a.instalments]
    return [
        (
            queries.AGREE_PLAN,
            (a.plan_id, a.customer_id, list(a.invoice_ids), a.agreed_on, a.agreed_by, instalments),
        )
    ]


def _instalment_missed(event: disputes.PaymentPlanInstalmentMissed) -> list[Statement]:
    m = event.payload
    return [
        (
            queries.MISS_INSTALMENT,
            (m.plan_id, m.due_date, m.amount.currency, m.amount.amount - m.received.amount),
        )
    ]


def _plan_broken(event: disputes.PaymentPlanBroken) -> list[Statement]:
    return [(queries.CLOSE_PLAN, (event.payload.plan_id, "broken"))]


def _plan_completed(event: disputes.PaymentPlanCompleted) -> list[Statement]:
    return [(queries.CLOSE_PLAN, (event.payload.plan_id, "completed"))]


def _command_executed(event: dunning.CommandExecuted) -> list[Statement]:
    c = event.payload
    statements: list[Statement] = [(queries.COMMAND_EXECUTED, (c.command_id, c.executed_at))]
    reminder = c.detail.get("reminder_id")
    if c.command == "log_call" and reminder:
        try:
            reminder_id = UUID(reminder)
        except ValueError:
            return statements
        outcome = c.detail.get("outcome", "")
        statements.append((queries.CALL_LOGGED, (reminder_id, outcome, c.executed_at)))
    return statements


def _proposal_raised(event: dunning.ProposalRaised) -> list[Statement]:
    p = event.payload
    r = p.reminder
    # The money at risk: the open amounts of the invoices it reminds, in their currency
    # (a reminder's invoices share one currency; the largest's is kept otherwise).
    largest = max(r.invoices, key=lambda i: i.open_amount.amount)
    at_risk = sum(
        (
            i.open_amount.amount
            for i in r.invoices
            if i.open_amount.currency == largest.open_amount.currency
        ),
        Decimal(0),
    )
    return [
        (
            queries.RAISE_PROPOSAL,
            (
                p.proposal_id,
                p.version,
                p.customer_id,
                r.company_code,
                r.reminder_id,
                r.channel,
                r.level,
                r.step_name,
                r.template,
                r.recipient_role,
                p.confirm_role,
                p.deadline,
                p.on_timeout,
                dict(p.paragraphs),
                [i.invoice_id for i in r.invoices],
                [i.invoice_number for i in r.invoices],
                largest.open_amount.currency,
                at_risk,
                p.edited_by,
                event.occurred_at,
            ),
        )
    ]


def _proposal_rendered(event: notifications.ProposalRendered) -> list[Statement]:
    r = event.payload
    return [
        (
            queries.PROPOSAL_RENDERED,
            (
                r.proposal_id,
                r.version,
                r.rendered,
                r.digest,
                r.media_type,
                r.preview_path,
                str(r.reason) if r.reason is not None else None,
                r.at,
            ),
        )
    ]


def _proposal_decided(event: dunning.ProposalClosed) -> list[Statement]:
    d = event.payload
    return [
        (
            queries.PROPOSAL_DECIDED,
            (d.proposal_id, d.decision, d.by, d.at, d.reason, d.postponed_until),
        )
    ]


# Event class -> the function mapping one such event to its state statements.
def _plan_agreed_or_accepted(event: disputes.PaymentPlanAgreed) -> list[Statement]:
    """A plan agreed; a customer's proposal of the same id is accepted."""
    a = event.payload
    return [
        *_plan_agreed(event),
        (queries.PLAN_PROPOSAL_DECIDED, (a.plan_id, "accepted", a.agreed_by, None)),
    ]


def _plan_proposed(event: disputes.PaymentPlanProposed) -> list[Statement]:
    p = event.payload
    return [
        (
            queries.RECORD_PLAN_PROPOSAL,
            (
                p.proposal_id,
                p.customer_id,
                list(p.invoice_ids),
                [i.model_dump(mode="json") for i in p.instalments],
                p.instalments[0].amount.currency,
                sum(i.amount.amount for i in p.instalments),
                p.proposed_on,
                p.answer_by,
                # the instant ends the last day, in the customer's zone the event carries
                (p.answer_by - timedelta(microseconds=1)).date(),
            ),
        )
    ]


def _plan_refused(event: disputes.PaymentPlanRefused) -> list[Statement]:
    r = event.payload
    state = "expired" if r.expired else "refused"
    return [(queries.PLAN_PROPOSAL_DECIDED, (r.proposal_id, state, r.by, r.reason))]


def _callback_requested(event: disputes.CallbackRequested) -> list[Statement]:
    r = event.payload
    return [
        (
            queries.RECORD_CALLBACK,
            (
                r.request_id,
                r.customer_id,
                r.phone,
                r.on,
                r.slot,
                list(r.invoice_ids),
                r.requested_by,
                event.occurred_at,
            ),
        )
    ]


def _reference_rate(event: reference.ReferenceInterestRatePublished) -> list[Statement]:
    r = event.payload
    return [(queries.RECORD_REFERENCE_RATE, (r.kind, r.valid_from, r.rate))]


def _fx_rate(event: reference.FxRatePublished) -> list[Statement]:
    f = event.payload
    return [(queries.RECORD_FX_RATE, (f.base_currency, f.quote_currency, f.valid_on, f.rate))]


PROJECTIONS: Mapping[type[Event], Callable[[Any], list[Statement]]] = {
    reference.ReferenceInterestRatePublished: _reference_rate,
    reference.FxRatePublished: _fx_rate,
    ledger.LedgerCustomerUpserted: _customer,
    ledger.InvoiceOpened: _opened,
    ledger.OpenAmountChanged: _changed,
    ledger.InvoiceSettled: _settled,
    ledger.LedgerInvoiceCancelled: _cancelled,
    ledger.UnmatchedCashRecorded: _unmatched,
    ledger.UnmatchedCashCleared: _unmatched_cleared,
    dunning.DunningStateChanged: _dunning_state,
    dunning.ReminderDue: _reminder,
    dunning.CommandExecuted: _command_executed,
    dunning.ProposalRaised: _proposal_raised,
    dunning.ProposalClosed: _proposal_decided,
    dunning.SendingSuspended: suspensions.suspended,
    dunning.SendingResumed: suspensions.resumed,
    notifications.ProposalRendered: _proposal_rendered,
    notifications.DeliverySent: _delivery,
    notifications.DeliveryDelivered: _delivery,
    notifications.DeliveryBounced: _delivery,
    notifications.DeliveryFailed: _delivery,
    notifications.DeliverySuppressed: _delivery,
    notifications.CallTaskClosed: _call_closed,
    disputes.DisputeOpened: _dispute_opened,
    disputes.DisputeResolved: _dispute_resolved,
    disputes.DisputeReopened: _dispute_reopened,
    disputes.PromiseMade: _promise_made,
    disputes.PromiseKept: _promise_kept,
    disputes.PromiseBroken: _promise_broken,
    disputes.PaymentPlanAgreed: _plan_agreed_or_accepted,
    disputes.PaymentPlanProposed: _plan_proposed,
    disputes.PaymentPlanRefused: _plan_refused,
    disputes.CallbackRequested: _callback_requested,
    disputes.PaymentPlanInstalmentMissed: _instalment_missed,
    disputes.PaymentPlanBroken: _plan_broken,
    disputes.PaymentPlanCompleted: _plan_completed,
}


TOPIC_OF = _topic_of_events()
