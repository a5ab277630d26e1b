"""The projection: ledger, dunning, dispute and FX events applied to the reporting tables.

:func:`statements_for` maps one event to the parameterised statements that apply it (a
pure function, dispatched on the event's class through the table :data:`PROJECTIONS`);
:func:`apply_events`, the service's batch handler, runs them within the batch's
transaction, in the order of the events. Consecutive events of one type are sent
together (``executemany``): their first statements, then their second ones, which gives
the same result as one event after the other because a second statement only appends to
the open-amount history. The kit's inbox guarantees each event id is applied once. Events
of types reporting does not use (absent from the table) map to no statement.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date
from itertools import groupby
from typing import Any

from contracts import disputes, dunning, ledger, notifications, reference
from contracts.envelope import Event
from services.reporting import queries
from services.runtime.consumer import UnitOfWork

Statement = tuple[str, tuple[Any, ...]]

# The customer tag naming the collector's portfolio: ``collector:<code>``.
COLLECTOR_TAG = "collector:"


async def apply_events(work: UnitOfWork, events: Sequence[Event]) -> None:
    """The service's batch handler.

    A run of consecutive ledger events is applied in *layers* (:func:`in_layers`): each
    invoice's, customer's or document's events keep their order, events of different ones
    are sent together by type. The ledger's statements touch only the rows of their own
    invoice, customer, credit balance or parked document (and the aged balance's sums,
    which add up in any order), so events of different ones commute; ingestion's mix
    alternates types (an invoice, a payment's changes, a credit balance's), which cut a
    batch into hundreds of runs of one type, a round trip each. Other events keep the
    batch's order.
    """
    start = 0
    while start < len(events):
        end = start
        while end < len(events) and _entity_of(events[end]) is not None:
            end += 1
        if end > start:
            await _apply_in_runs(work, in_layers(events[start:end]))
        else:
            end = start + 1
            while end < len(events) and _entity_of(events[end]) is None:
                end += 1
            await _apply_in_runs(work, events[start:end])
        start = end


def _entity_of(event: Event) -> tuple[str, ...] | None:
    """What a ledger event's statements write (and read): None for any other event."""
    payload: Any = event.payload
    match event:
        case (
            ledger.InvoiceOpened()
            | ledger.OpenAmountChanged()
            | ledger.InvoiceSettled()
            | ledger.LedgerInvoiceCancelled()
        ):
            return ("invoice", payload.invoice_id)
        case ledger.LedgerCustomerUpserted():
            return ("customer", payload.customer_id)
        case ledger.CreditBalanceChanged():
            return ("credit", payload.customer_id, payload.currency)
        case ledger.UnmatchedCashRecorded() | ledger.UnmatchedCashCleared():
            return ("unmatched", payload.company_code, payload.kind, payload.document_id)
    return None


def in_layers(events: Sequence[Event]) -> list[Event]:
    """Ledger events reordered so that each one's *n*-th event comes in layer *n*, a layer's
    events grouped by type: the order of each invoice's (customer's, document's) events is
    kept, and each layer has one event per invoice at most."""
    seen: dict[tuple[str, ...], int] = {}
    layered: list[tuple[int, int, int, Event]] = []
    for position, event in enumerate(events):
        entity = _entity_of(event)
        assert entity is not None
        layer = seen.get(entity, 0)
        seen[entity] = layer + 1
        layered.append((layer, _TYPE_ORDER.get(type(event), 0), position, event))
    layered.sort(key=lambda item: item[:3])
    return [event for *_, event in layered]


async def _apply_in_runs(work: UnitOfWork, events: Sequence[Event]) -> None:
    for _, run in groupby(events, key=type):
        per_event = [statements_for(event) for event in run]
        for position in range(max((len(s) for s in per_event), default=0)):
            by_sql: dict[str, list[tuple[Any, ...]]] = {}
            for statements in per_event:
                if position < len(statements):
                    sql, args = statements[position]
                    by_sql.setdefault(sql, []).append(args)
            for sql, rows in by_sql.items():
                await work.connection.executemany(sql, rows)


def statements_for(event: Event) -> list[Statement]:
    """The statements that apply ``event``; none for an event type reporting ignores."""
    project = PROJECTIONS.get(type(event))
    return [] if project is None else project(event)


def _cancelled(event: ledger.LedgerInvoiceCancelled) -> list[Statement]:
    c = event.payload
    return [
        (queries.CANCEL_INVOICE, (c.invoice_id, event.occurred_at)),
        (
            queries.RECORD_CANCELLATION,
            (
                c.invoice_id,
                event.event_id,
                _utc_day(event),
                event.occurred_at,
                c.previous_open_amount.amount,
            ),
        ),
    ]


def _credit_balance(event: ledger.CreditBalanceChanged) -> list[Statement]:
    p = event.payload
    return [(queries.UPSERT_CREDIT_BALANCE, (p.customer_id, p.currency, p.company_code, p.balance))]


def _dispute_opened(event: disputes.DisputeOpened) -> list[Statement]:
    d = event.payload
    return [
        (
            queries.OPEN_DISPUTE,
            (
                d.dispute_id,
                d.customer_id,
                d.whole_account,
                d.category,
                d.raised_by,
                d.owner_role,
                d.due_date,
                event.occurred_at,
            ),
        ),
        (queries.ADD_DISPUTE_INVOICES, (d.dispute_id, list(d.invoice_ids))),
    ]


def _dispute_resolved(event: disputes.DisputeResolved) -> list[Statement]:
    r = event.payload
    return [(queries.RESOLVE_DISPUTE, (r.dispute_id, r.outcome, event.occurred_at))]


def _dispute_reopened(event: disputes.DisputeReopened) -> list[Statement]:
    o = event.payload
    return [
        (queries.REOPEN_DISPUTE, (o.dispute_id, o.owner_role, o.due_date)),
        (queries.ADD_DISPUTE_INVOICES, (o.dispute_id, list(o.invoice_ids))),
    ]


def _reminder_due(event: dunning.ReminderDue) -> list[Statement]:
    m = event.payload
    return [
        (
            queries.RECORD_REMINDER_INVOICES,
            (
                m.reminder_id,
                [i.invoice_id for i in m.invoices],
                m.customer_id,
                m.company_code,
                m.scenario_id,
                m.step_name,
                m.level,
                m.channel,
                m.scheduled_for,
            ),
        )
    ]


def _escalation(event: dunning.EscalationRaised) -> list[Statement]:
    e = event.payload
    return [
        (
            queries.RECORD_ESCALATION,
            (
                event.event_id,
                e.customer_id,
                e.company_code,
                e.scenario_id,
                e.action,
                total.currency,
                total.amount,
                sum(1 for i in e.invoices if i.open_amount.currency == total.currency),
                event.occurred_at,
            ),
        )
        for total in e.total_open
    ]


def _promise_made(event: disputes.PromiseMade) -> list[Statement]:
    p = event.payload
    return [
        (
            queries.MAKE_PROMISE,
            (
                p.promise_id,
                p.customer_id,
                len(p.invoice_ids),
                p.promised_date,
                p.amount.currency,
                p.amount.amount,
                p.channel,
                event.occurred_at,
            ),
        ),
        (queries.ADD_PROMISE_INVOICES, (p.promise_id, list(p.invoice_ids))),
    ]


def _promise_kept(event: disputes.PromiseKept) -> list[Statement]:
    k = event.payload
    return [(queries.CLOSE_PROMISE, (k.promise_id, "kept", k.kept_on, None))]


def _promise_broken(event: disputes.PromiseBroken) -> list[Statement]:
    b = event.payload
    return [(queries.CLOSE_PROMISE, (b.promise_id, "broken", b.promised_date, b.received.amount))]


def _plan_agreed(event: disputes.PaymentPlanAgreed) -> list[Statement]:
    a = event.payload
    return [
        (
            queries.AGREE_PLAN,
            (
                a.plan_id,
                a.customer_id,
                len(a.invoice_ids),
                a.agreed_on,
                a.instalments[0].amount.currency,
                sum(i.amount.amount for i in a.instalments),
                len(a.instalments),
            ),
        )
    ]


def _instalment_missed(event: disputes.PaymentPlanInstalmentMissed) -> list[Statement]:
    return [(queries.MISS_INSTALMENT, (event.payload.plan_id,))]


def _plan_broken(event: disputes.PaymentPlanBroken) -> list[Statement]:
    return [(queries.CLOSE_PLAN, (event.payload.plan_id, "broken", event.payload.broken_on))]


def _plan_completed(event: disputes.PaymentPlanCompleted) -> list[Statement]:
    c = event.payload
    return [(queries.CLOSE_PLAN, (c.plan_id, "completed", c.completed_on))]


def _call_closed(event: notifications.CallTaskClosed) -> list[Statement]:
    t = event.payload
    return [
        (
            queries.RECORD_CALL_OUTCOME,
            (
                t.task_id,
                t.reminder_id,
                t.customer_id,
                t.outcome,
                len(t.invoice_ids),
                event.occurred_at,
            ),
        )
    ]


DeliveryEvent = (
    notifications.DeliverySent
    | notifications.DeliveryDelivered
    | notifications.DeliveryBounced
    | notifications.DeliveryFailed
    | notifications.DeliverySuppressed
)


def _delivery(event: DeliveryEvent) -> list[Statement]:
    """What became of a reminder: its delivery's latest outcome, and the invoices sent."""
    d = event.payload
    handed_over = isinstance(event, notifications.DeliverySent | notifications.DeliveryDelivered)
    delivered = isinstance(event, notifications.DeliveryDelivered)
    statements: list[Statement] = [
        (
            queries.RECORD_DELIVERY,
            (
                d.delivery_id,
                d.reminder_id,
                d.customer_id,
                d.channel,
                len(d.invoice_ids),
                event.event_type.removeprefix("delivery."),
                d.at,
                d.at if handed_over else None,
                d.at if delivered else None,
                d.kind if isinstance(d, notifications.Bounce) else None,
                d.reason if isinstance(d, notifications.Suppression) else None,
                1 if isinstance(event, notifications.DeliveryFailed) else 0,
            ),
        )
    ]
    if handed_over:
        statements.append(
            (queries.RECORD_SENT_INVOICES, (d.reminder_id, list(d.invoice_ids), d.at))
        )
    return statements


def _fx_rate(event: reference.FxRatePublished) -> list[Statement]:
    f = event.payload
    return [(queries.UPSERT_FX_RATE, (f.base_currency, f.quote_currency, f.valid_on, f.rate))]


def collector_of(tags: Sequence[str]) -> str | None:
    """The collector's portfolio code from a customer's tag ``collector:<code>``, if any."""
    for tag in tags:
        if tag.startswith(COLLECTOR_TAG) and len(tag) > len(COLLECTOR_TAG):
            return tag[len(COLLECTOR_TAG) :]
    return None


def _customer(event: ledger.LedgerCustomerUpserted) -> Statement:
    c = event.payload
    # A consumer's name is personal data; a company's name is not, and BI needs it.
    name = None if c.segment.customer_type == "consumer" else c.name
    return (
        queries.UPSERT_CUSTOMER,
        (
            c.customer_id,
            c.company_code,
            c.version,
            name,
            str(c.country),
            c.segment.customer_type,
            c.segment.market,
            c.segment.risk_rating,
            c.segment.payer_profile,
            collector_of(c.segment.tags),
        ),
    )


def _opened(event: ledger.InvoiceOpened) -> list[Statement]:
    i = event.payload
    return [
        (
            queries.UPSERT_OPENED_INVOICE,
            (
                i.invoice_id,
                i.company_code,
                i.customer_id,
                i.invoice_number,
                i.issue_date,
                i.due_date,
                i.amount.currency,
                i.amount.amount,
                i.open_amount.amount,
                event.occurred_at,
            ),
        ),
        (
            queries.RECORD_OPEN_AMOUNT,
            (
                i.invoice_id,
                event.event_id,
                i.issue_date,
                event.occurred_at,
                i.open_amount.amount,
                i.due_date,
                "opened",
                i.open_amount.amount,
            ),
        ),
    ]


def _open_amount_changed(event: ledger.OpenAmountChanged) -> list[Statement]:
    c = event.payload
    return [
        (
            queries.CHANGE_OPEN_AMOUNT,
            (c.invoice_id, c.open_amount.amount, c.due_date, c.amount.amount, event.occurred_at),
        ),
        (
            queries.RECORD_OPEN_AMOUNT,
            (
                c.invoice_id,
                event.event_id,
                _utc_day(event) if c.value_date is None else c.value_date,
                event.occurred_at,
                c.open_amount.amount,
                c.due_date,
                c.cause,
                c.open_amount.amount - c.previous_open_amount.amount,
            ),
        ),
    ]


def _settled(event: ledger.InvoiceSettled) -> list[Statement]:
    s = event.payload
    return [
        (
            queries.SETTLE_INVOICE,
            (s.invoice_id, s.settled_on, s.cause, s.amount.amount, s.due_date, event.occurred_at),
        ),
        (
            queries.RECORD_OPEN_AMOUNT,
            (
                s.invoice_id,
                event.event_id,
                s.settled_on,
                event.occurred_at,
                0,
                s.due_date,
                "settled",
                -s.previous_open_amount.amount,
            ),
        ),
    ]


def _unmatched_cash_recorded(event: ledger.UnmatchedCashRecorded) -> list[Statement]:
    """Money ingestion parked until its invoices arrive."""
    u = event.payload
    return [
        (
            queries.RECORD_UNMATCHED_CASH,
            (
                u.company_code,
                u.kind,
                u.document_id,
                u.customer_id,
                u.amount.currency,
                u.amount.amount,
                u.value_date,
                list(u.awaiting),
                event.occurred_at,
            ),
        )
    ]


def _unmatched_cash_cleared(event: ledger.UnmatchedCashCleared) -> list[Statement]:
    """What became of parked money: matched, released or dead-lettered."""
    c = event.payload
    return [
        (
            queries.CLEAR_UNMATCHED_CASH,
            (
                c.company_code,
                c.kind,
                c.document_id,
                c.customer_id,
                c.outcome,
                c.reason,
                event.occurred_at,
            ),
        )
    ]


def _dunning_state(event: dunning.DunningStateChanged) -> Statement:
    s = event.payload
    return (
        queries.UPSERT_DUNNING_STATE,
        (
            s.invoice_id,
            s.customer_id,
            s.scenario_id,
            s.step_name,
            s.level,
            s.paused,
            s.pause_reason,
            s.last_action_at,
            s.next_action_at,
            event.occurred_at,
        ),
    )


def _command_executed(event: dunning.CommandExecuted) -> list[Statement]:
    """The audit view's row: the command's role, time and non-personal arguments only (no
    subject, no reason, no note)."""
    c = event.payload
    until = c.detail.get("until")
    moved = sum(
        (b.scenario_id, b.next_step) != (a.scenario_id, a.next_step)
        for b, a in zip(
            sorted(c.before, key=lambda s: s.invoice_id),
            sorted(c.after, key=lambda s: s.invoice_id),
            strict=True,
        )
    )
    return [
        (
            queries.RECORD_AUDIT_EVENT,
            (
                c.command_id,
                c.command,
                c.customer_id,
                c.company_code,
                c.invoice_id,
                c.actor_role,
                c.requested_at,
                c.executed_at,
                len(c.after),
                None if until is None else date.fromisoformat(until),
                c.detail.get("scenario_id"),
                c.detail.get("template"),
                c.detail.get("step_name"),
                moved,
                c.detail.get("outcome") if c.command == "log_call" else None,
            ),
        )
    ]


OPERATOR_ROLE = "administrator"
"""The role operators act with from the command line (suspensions, campaigns)."""


def _operator_action(
    event: Event, action: str, companies: tuple[str, ...], before: str, after: str, **more: Any
) -> Statement:
    role = getattr(event.payload, "role", None) or OPERATOR_ROLE  # none: the command line
    fields = {
        "suspension_id": None,
        "campaign_id": None,
        "template": None,
        "level": None,
        "channel": None,
        "customers": None,
        "invoices": None,
        **more,
    }
    return (
        queries.RECORD_OPERATOR_ACTION,
        (
            event.event_id,
            action,
            list(companies),
            role,
            event.occurred_at,
            before,
            after,
            *fields.values(),
        ),
    )


def _sending_suspended(event: dunning.SendingSuspended) -> list[Statement]:
    """Who suspended (the role), when, which companies; not the reason (free text)."""
    s = event.payload
    companies = () if s.company_code is None else (s.company_code,)
    return [
        _operator_action(
            event,
            "sending_suspended",
            companies,
            "sending",
            "suspended",
            suspension_id=s.suspension_id,
        )
    ]


def _sending_resumed(event: dunning.SendingResumed) -> list[Statement]:
    s = event.payload
    companies = () if s.company_code is None else (s.company_code,)
    return [
        _operator_action(
            event,
            "sending_resumed",
            companies,
            "suspended",
            "sending",
            suspension_id=s.suspension_id,
        )
    ]


def _campaign_launched(event: dunning.CampaignLaunched) -> list[Statement]:
    c = event.payload
    return [
        _operator_action(
            event,
            "campaign_launched",
            c.company_codes,
            "not_sent",
            "sent",
            campaign_id=c.campaign_id,
            template=c.template,
            level=c.level,
            channel=c.channel,
            customers=c.customers_reached,
            invoices=c.invoices_reached,
        )
    ]


def _library_changed(event: dunning.LibraryChanged) -> list[Statement]:
    """The library audit's row: revisions, scenarios and counts; not who changed it."""
    c = event.payload

    def named(kind: str) -> list[str]:
        return [s.scenario_id for s in c.scenarios if s.change == kind]

    versions = {s.scenario_id: s.version_after for s in c.scenarios if s.version_after}
    return [
        (
            queries.RECORD_LIBRARY_AUDIT_EVENT,
            (
                c.revision,
                c.revision_before,
                c.changed_at,
                named("added"),
                named("changed"),
                named("removed"),
                json.dumps(versions, sort_keys=True),
                c.assignment_changed,
                c.templates_changed,
                c.invoices_moved,
                c.invoices_reassigned,
            ),
        )
    ]


def _utc_day(event: Event) -> date:
    """The day an event happened, in UTC: when a change without a value date takes effect."""
    return event.occurred_at.astimezone(UTC).date()


# Event class -> the function mapping one such event to its statements. An event type
# absent from the table is one reporting does not use.
PROJECTIONS: Mapping[type[Event], Callable[[Any], list[Statement]]] = {
    ledger.LedgerCustomerUpserted: lambda event: [_customer(event)],
    ledger.InvoiceOpened: _opened,
    ledger.OpenAmountChanged: _open_amount_changed,
    ledger.InvoiceSettled: _settled,
    ledger.LedgerInvoiceCancelled: _cancelled,
    ledger.CreditBalanceChanged: _credit_balance,
    ledger.UnmatchedCashRecorded: _unmatched_cash_recorded,
    ledger.UnmatchedCashCleared: _unmatched_cash_cleared,
    dunning.DunningStateChanged: lambda event: [_dunning_state(event)],
    dunning.ReminderDue: _reminder_due,
    dunning.EscalationRaised: _escalation,
    dunning.CommandExecuted: _command_executed,
    dunning.SendingSuspended: _sending_suspended,
    dunning.SendingResumed: _sending_resumed,
    dunning.CampaignLaunched: _campaign_launched,
    dunning.LibraryChanged: _library_changed,
    disputes.DisputeOpened: _dispute_opened,
    disputes.DisputeResolved: _dispute_resolved,
    disputes.DisputeReopened: _dispute_reopened,
    disputes.PromiseMade: _promise_made,
    disputes.PromiseKept: _promise_kept,
    disputes.PromiseBroken: _promise_broken,
    disputes.PaymentPlanAgreed: _plan_agreed,
    disputes.PaymentPlanInstalmentMissed: _instalment_missed,
    disputes.PaymentPlanBroken: _plan_broken,
    disputes.PaymentPlanCompleted: _plan_completed,
    notifications.CallTaskClosed: _call_closed,
    notifications.DeliverySent: _delivery,
    notifications.DeliveryDelivered: _delivery,
    notifications.DeliveryBounced: _delivery,
    notifications.DeliveryFailed: _delivery,
    notifications.DeliverySuppressed: _delivery,
    reference.FxRatePublished: _fx_rate,
}

_TYPE_ORDER: Mapping[type[Event], int] = {kind: order for order, kind in enumerate(PROJECTIONS)}
