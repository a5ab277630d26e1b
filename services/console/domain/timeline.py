"""What one public event adds to a customer's timeline: a kind and its facts.

A pure function of the event: :func:`entry_of` returns a :class:`TimelineEntry` (or none
for an event that is not part of a customer's story, such as a dunning state change). The
facts are plain JSON values (strings for amounts and dates) that the page words in the
reader's language; nothing here is HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from contracts import disputes, dunning, ledger, notifications
from contracts.envelope import Event
from contracts.money import Money, PositiveMoney

Facts = dict[str, Any]


@dataclass(frozen=True)
class TimelineEntry:
    event_id: UUID
    customer_id: str
    at: datetime
    kind: str
    facts: Facts


def number_of(invoice_id: str) -> str:
    """The invoice number of an invoice id ``<company code>/<invoice number>``."""
    return invoice_id.split("/", 1)[-1]


def _money(value: Money | PositiveMoney) -> dict[str, str]:
    return {"amount": str(value.amount), "currency": value.currency}


def _numbers(invoice_ids: tuple[str, ...]) -> list[str]:
    return [number_of(i) for i in invoice_ids]


def _opened(e: ledger.InvoiceOpened) -> tuple[str, Facts]:
    i = e.payload
    return "invoice.opened", {
        "number": i.invoice_number,
        "amount": _money(i.amount),
        "open": _money(i.open_amount),
        "due_date": i.due_date.isoformat(),
    }


def _changed(e: ledger.OpenAmountChanged) -> tuple[str, Facts]:
    c = e.payload
    return f"invoice.{c.cause}", {
        "number": c.invoice_number,
        "before": _money(c.previous_open_amount),
        "open": _money(c.open_amount),
        "document": c.cause_document_id,
        # the day the change takes effect (version 2 events): the interest to date counts a
        # payment from it, the timeline shows it beside the day the ledger announced it
        **({"value_date": c.value_date.isoformat()} if c.value_date is not None else {}),
    }


def _settled(e: ledger.InvoiceSettled) -> tuple[str, Facts]:
    s = e.payload
    return f"invoice.settled.{s.cause}", {
        "number": s.invoice_number,
        "paid": _money(s.previous_open_amount),
        "document": s.cause_document_id,
        "on": s.settled_on.isoformat(),
    }


def _cancelled(e: ledger.LedgerInvoiceCancelled) -> tuple[str, Facts]:
    c = e.payload
    return "invoice.cancelled", {"number": c.invoice_number, "reason": c.reason}


def _credit(e: ledger.CreditBalanceChanged) -> tuple[str, Facts]:
    c = e.payload
    return "credit_balance.changed", {
        "balance": {"amount": str(c.balance), "currency": c.currency},
        "cause": c.cause,
        "document": c.cause_document_id,
    }


def _unmatched(e: ledger.UnmatchedCashRecorded) -> tuple[str, Facts]:
    u = e.payload
    return "unmatched_cash.recorded", {
        "kind": u.kind,
        "document": u.document_id,
        "amount": {"amount": str(u.amount.amount), "currency": u.amount.currency},
        "awaiting": list(u.awaiting),
    }


def _unmatched_cleared(e: ledger.UnmatchedCashCleared) -> tuple[str, Facts]:
    c = e.payload
    facts: Facts = {"kind": c.kind, "document": c.document_id, "outcome": c.outcome}
    if c.reason:
        facts["reason"] = c.reason
    return "unmatched_cash.cleared", facts


def _reminder(e: dunning.ReminderDue) -> tuple[str, Facts]:
    r = e.payload
    return "reminder.due", {
        "level": r.level,
        "step": r.step_name,
        "channel": r.channel,
        "scenario": r.scenario_id,
        "numbers": [i.invoice_number for i in r.invoices],
        "scheduled_for": r.scheduled_for.isoformat(),
    }


def _escalation(e: dunning.EscalationRaised) -> tuple[str, Facts]:
    x = e.payload
    return "escalation.raised", {
        "action": x.action,
        "numbers": [i.invoice_number for i in x.invoices],
        "totals": [_money(t) for t in x.total_open],
    }


def actor_name(subject: str) -> str:
    """Who gave a command, as a reader knows them: a local account's or an operator's login
    (``local:camille`` is ``camille``); other subjects (``oidc:<sub>``) as they are."""
    kind, _, name = subject.partition(":")
    return name if kind in ("local", "operator") and name else subject


def _command(e: dunning.CommandExecuted) -> tuple[str, Facts]:
    c = e.payload
    facts: Facts = {"by": actor_name(c.actor_subject)}
    if c.invoice_id is not None:
        facts["number"] = number_of(c.invoice_id)
    for name in ("until", "reason", "template", "scenario", "step"):
        if c.detail.get(name):
            facts[name] = c.detail[name]
    if c.command == "log_call":
        facts.update(_logged_call(c.detail))
    return f"command.{c.command}", facts


def _logged_call(detail: Mapping[str, str]) -> Facts:
    """A logged call's outcome and figures, from the scheduler's audit detail (its note is
    not there: the console adds the one it sent, see ``queries.ADD_LOGGED_CALL_ENTRY``)."""
    facts: Facts = {}
    if detail.get("outcome"):
        facts["outcome"] = detail["outcome"]
    if detail.get("promised_date") and detail.get("promised_amount") and detail.get("currency"):
        facts["promised_date"] = detail["promised_date"]
        facts["promised"] = {"amount": detail["promised_amount"], "currency": detail["currency"]}
    if detail.get("dispute_category"):
        facts["category"] = detail["dispute_category"]
    return facts


def _proposal_raised(e: dunning.ProposalRaised) -> tuple[str, Facts]:
    p = e.payload
    facts: Facts = {
        "version": p.version,
        "step": p.reminder.step_name,
        "channel": p.reminder.channel,
        "numbers": [i.invoice_number for i in p.reminder.invoices],
        "deadline": p.deadline.isoformat(),
    }
    if p.edited_by:
        facts["by"] = actor_name(p.edited_by)
    return ("proposal.edited" if p.version > 1 else "proposal.raised"), facts


def _proposal_decided(e: dunning.ProposalClosed) -> tuple[str, Facts]:
    d = e.payload
    facts: Facts = {"version": d.version, "by": actor_name(d.by)}
    if d.reason:
        facts["reason"] = d.reason
    if d.postponed_until:
        facts["until"] = d.postponed_until.isoformat()
    return f"proposal.{d.decision}", facts


def _delivery(e: Event) -> tuple[str, Facts]:
    d = e.payload
    assert isinstance(d, notifications.Delivery)
    facts: Facts = {
        "channel": d.channel,
        "numbers": _numbers(d.invoice_ids),
        "delivery": str(d.delivery_id),  # its exact copy and proofs, from the notifier
    }
    provider = getattr(d, "provider", None)
    if provider:
        facts["provider"] = provider
    reason = getattr(d, "reason", None)
    if reason:
        facts["reason"] = reason
    if isinstance(d, notifications.Bounce):
        facts["bounce"] = d.kind
    return e.event_type, facts


def _call(e: notifications.CallTaskClosed) -> tuple[str, Facts]:
    t = e.payload
    facts: Facts = {
        "outcome": t.outcome,
        "by": t.closed_by,
        "numbers": _numbers(t.invoice_ids),
        "note": t.note,
    }
    if t.promised_date is not None and t.promised_amount is not None:
        facts["promised_date"] = t.promised_date.isoformat()
        facts["promised"] = _money(t.promised_amount)
    if t.dispute_reason:
        facts["dispute_reason"] = t.dispute_reason
    return "call_task.closed", facts


def _dispute_opened(e: disputes.DisputeOpened) -> tuple[str, Facts]:
    d = e.payload
    return "dispute.opened", {
        "category": d.category,
        "text": d.text,
        "raised_by": d.raised_by,
        "owner_role": d.owner_role,
        "due_date": d.due_date.isoformat(),
        "whole_account": d.whole_account,
        "numbers": _numbers(d.invoice_ids),
    }


def _dispute_resolved(e: disputes.DisputeResolved) -> tuple[str, Facts]:
    r = e.payload
    return "dispute.resolved", {"outcome": r.outcome, "by": r.by, "note": r.note}


def _dispute_reopened(e: disputes.DisputeReopened) -> tuple[str, Facts]:
    o = e.payload
    return "dispute.reopened", {"by": o.by, "reason": o.reason, "due_date": o.due_date.isoformat()}


def _dispute_answered(e: disputes.DisputeAnswered) -> tuple[str, Facts]:
    a = e.payload
    return "dispute.answered", {
        "by": a.by,
        "text": a.text,
        "attachments": [attachment.file_name for attachment in a.attachments],
    }


def _correction(e: disputes.DisputeCorrectionReceived) -> tuple[str, Facts]:
    c = e.payload
    return "dispute.correction_received", {"cause": c.cause, "numbers": _numbers(c.invoice_ids)}


def _owner_reminder(e: disputes.DisputeOwnerReminderDue) -> tuple[str, Facts]:
    o = e.payload
    return "dispute.owner_reminder", {"owner_role": o.owner_role, "firmness": o.firmness}


def _promise_made(e: disputes.PromiseMade) -> tuple[str, Facts]:
    p = e.payload
    return "promise.made", {
        "amount": _money(p.amount),
        "promised_date": p.promised_date.isoformat(),
        "channel": p.channel,
        "by": p.recorded_by,
        "numbers": _numbers(p.invoice_ids),
    }


def _promise_kept(e: disputes.PromiseKept) -> tuple[str, Facts]:
    return "promise.kept", {"on": e.payload.kept_on.isoformat()}


def _promise_broken(e: disputes.PromiseBroken) -> tuple[str, Facts]:
    b = e.payload
    return "promise.broken", {
        "amount": _money(b.amount),
        "received": _money(b.received),
        "promised_date": b.promised_date.isoformat(),
    }


def _plan_agreed(e: disputes.PaymentPlanAgreed) -> tuple[str, Facts]:
    a = e.payload
    return "plan.agreed", {
        "instalments": len(a.instalments),
        "first_due": a.instalments[0].due_date.isoformat(),
        "by": a.agreed_by,
        "numbers": _numbers(a.invoice_ids),
    }


def _instalment_missed(e: disputes.PaymentPlanInstalmentMissed) -> tuple[str, Facts]:
    m = e.payload
    return "plan.instalment_missed", {
        "instalment": m.instalment_number,
        "amount": _money(m.amount),
        "received": _money(m.received),
    }


def _plan_broken(e: disputes.PaymentPlanBroken) -> tuple[str, Facts]:
    return "plan.broken", {"reason": e.payload.reason}


def _plan_completed(e: disputes.PaymentPlanCompleted) -> tuple[str, Facts]:
    return "plan.completed", {"on": e.payload.completed_on.isoformat()}


def _plan_proposed(e: disputes.PaymentPlanProposed) -> tuple[str, Facts]:
    p = e.payload
    return "plan.proposed", {
        "instalments": len(p.instalments),
        "first_due": p.instalments[0].due_date.isoformat(),
        "deadline": p.answer_by.isoformat(),
        "numbers": _numbers(p.invoice_ids),
    }


def _plan_refused(e: disputes.PaymentPlanRefused) -> tuple[str, Facts]:
    r = e.payload
    return ("plan.lapsed" if r.expired else "plan.refused"), {"reason": r.reason, "by": r.by}


def _callback_requested(e: disputes.CallbackRequested) -> tuple[str, Facts]:
    r = e.payload
    return "callback.requested", {"due_date": r.on.isoformat(), "channel": "phone_call"}


WORDING: Mapping[type[Event], Callable[[Any], tuple[str, Facts]]] = {
    ledger.InvoiceOpened: _opened,
    ledger.OpenAmountChanged: _changed,
    ledger.InvoiceSettled: _settled,
    ledger.LedgerInvoiceCancelled: _cancelled,
    ledger.CreditBalanceChanged: _credit,
    ledger.UnmatchedCashRecorded: _unmatched,
    ledger.UnmatchedCashCleared: _unmatched_cleared,
    dunning.ReminderDue: _reminder,
    dunning.EscalationRaised: _escalation,
    dunning.CommandExecuted: _command,
    dunning.ProposalRaised: _proposal_raised,
    dunning.ProposalClosed: _proposal_decided,
    notifications.DeliverySent: _delivery,
    notifications.DeliveryDelivered: _delivery,
    notifications.DeliveryBounced: _delivery,
    notifications.DeliveryFailed: _delivery,
    notifications.DeliverySuppressed: _delivery,
    notifications.CallTaskClosed: _call,
    disputes.DisputeOpened: _dispute_opened,
    disputes.DisputeResolved: _dispute_resolved,
    disputes.DisputeReopened: _dispute_reopened,
    disputes.DisputeAnswered: _dispute_answered,
    disputes.DisputeCorrectionReceived: _correction,
    disputes.DisputeOwnerReminderDue: _owner_reminder,
    disputes.PromiseMade: _promise_made,
    disputes.PromiseKept: _promise_kept,
    disputes.PromiseBroken: _promise_broken,
    disputes.PaymentPlanAgreed: _plan_agreed,
    disputes.PaymentPlanInstalmentMissed: _instalment_missed,
    disputes.PaymentPlanBroken: _plan_broken,
    disputes.PaymentPlanCompleted: _plan_completed,
    disputes.PaymentPlanProposed: _plan_proposed,
    disputes.PaymentPlanRefused: _plan_refused,
    disputes.CallbackRequested: _callback_requested,
}


def entry_of(event: Event) -> TimelineEntry | None:
    """The timeline entry of ``event``; none when the event tells no customer's story."""
    word = WORDING.get(type(event))
    if word is None:
        return None
    kind, facts = word(event)
    customer_id = getattr(event.payload, "customer_id", None)
    if not isinstance(customer_id, str):
        return None
    return TimelineEntry(event.event_id, customer_id, event.occurred_at, kind, facts)
