"""The read model: ledger, dispute and ERP invoice events applied to the portal's tables.

:func:`statements_for` maps one event to the parameterised statements that apply it (a
pure function, dispatched on the event's class); :func:`apply_events`, the service's batch
handler, runs them within the batch's transaction in the events' order. The kit's inbox
applies each event id once. Event types the portal does not show map to no statement.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC
from typing import Any

from contracts import disputes, erp, ledger
from contracts.envelope import Event
from services.portal import owner_queries, queries
from services.runtime.consumer import UnitOfWork

Statement = tuple[str, tuple[Any, ...]]
RECEIVED_CAUSES = ("payment", "credit_note")


async def apply_events(work: UnitOfWork, events: Sequence[Event]) -> None:
    """The service's batch handler."""
    for event in events:
        for sql, args in statements_for(event):
            await work.connection.execute(sql, *args)


def statements_for(event: Event) -> list[Statement]:
    project = PROJECTIONS.get(type(event))
    return [] if project is None else project(event)


def _customer(event: ledger.LedgerCustomerUpserted) -> list[Statement]:
    c = event.payload
    return [
        (
            queries.UPSERT_CUSTOMER,
            (c.customer_id, c.company_code, c.version, c.name, c.language, c.country),
        )
    ]


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
                i.amount.amount,
                i.open_amount.amount,
                i.open_amount.currency,
                event.occurred_at,
            ),
        )
    ]


def _changed(event: ledger.OpenAmountChanged) -> list[Statement]:
    c = event.payload
    statements: list[Statement] = [
        (
            queries.CHANGE_OPEN_AMOUNT,
            (
                c.invoice_id,
                c.customer_id,
                c.company_code,
                c.invoice_number,
                c.due_date,
                c.amount.amount,
                c.open_amount.amount,
                c.open_amount.currency,
                event.occurred_at,
            ),
        )
    ]
    received = c.previous_open_amount.amount - c.open_amount.amount
    if c.cause in RECEIVED_CAUSES and received > 0:
        statements.append(
            _receipt(
                event,
                c.customer_id,
                c.company_code,
                c.invoice_id,
                c.invoice_number,
                c.cause,
                received,
                c.open_amount.currency,
            )
        )
    return statements


def _settled(event: ledger.InvoiceSettled) -> list[Statement]:
    s = event.payload
    statements: list[Statement] = [(queries.CLOSE_INVOICE, (s.invoice_id, event.occurred_at))]
    if s.cause in RECEIVED_CAUSES:
        statements.append(
            _receipt(
                event,
                s.customer_id,
                s.company_code,
                s.invoice_id,
                s.invoice_number,
                s.cause,
                s.previous_open_amount.amount,
                s.previous_open_amount.currency,
                s.settled_on,
            )
        )
    return statements


def _cancelled(event: ledger.LedgerInvoiceCancelled) -> list[Statement]:
    return [(queries.CLOSE_INVOICE, (event.payload.invoice_id, event.occurred_at))]


def _receipt(
    event: Event,
    customer_id: str,
    company_code: str,
    invoice_id: str,
    invoice_number: str,
    cause: str,
    amount: Any,
    currency: str,
    on: Any = None,
) -> Statement:
    received_on = on if on is not None else event.occurred_at.astimezone(UTC).date()
    return (
        queries.RECORD_RECEIPT,
        (
            event.event_id,
            customer_id,
            company_code,
            invoice_id,
            invoice_number,
            cause,
            amount,
            currency,
            received_on,
        ),
    )


def _invoice_document(event: erp.InvoiceIssued | erp.InvoiceUpdated) -> list[Statement]:
    """The copy's reference of the invoice's newest version (none: no copy)."""
    i = event.payload
    d = i.document
    return [
        (
            queries.UPSERT_DOCUMENT,
            (
                ledger.invoice_id_of(i.company_code, i.invoice_number),
                i.customer_id,
                i.company_code,
                i.invoice_number,
                i.version,
                d.reference if d else None,
                d.media_type if d else None,
                d.sha256 if d else None,
            ),
        )
    ]


def _dispute(event: disputes.DisputeOpened | disputes.DisputeReopened) -> list[Statement]:
    d = event.payload
    return [
        (
            queries.START_PAUSE,
            ("dispute", d.dispute_id, d.customer_id, list(d.invoice_ids), d.whole_account, None),
        )
    ]


def _dispute_resolved(event: disputes.DisputeResolved) -> list[Statement]:
    return [(queries.END_PAUSE, ("dispute", event.payload.dispute_id))]


def _promise(event: disputes.PromiseMade) -> list[Statement]:
    """A promise shows its date; a payment the provider announced shows none (its date is
    the day it was paid: the page says the payment was announced, awaiting the ERP)."""
    p = event.payload
    until = p.promised_date if p.kind == "promise" else None
    return [
        (
            queries.START_PAUSE,
            ("promise", p.promise_id, p.customer_id, list(p.invoice_ids), False, until),
        )
    ]


def _promise_ended(event: disputes.PromiseKept | disputes.PromiseBroken) -> list[Statement]:
    return [(queries.END_PAUSE, ("promise", event.payload.promise_id))]


def _plan(event: disputes.PaymentPlanAgreed) -> list[Statement]:
    p = event.payload
    return [
        (queries.START_PAUSE, ("plan", p.plan_id, p.customer_id, list(p.invoice_ids), False, None))
    ]


def _plan_ended(
    event: disputes.PaymentPlanBroken | disputes.PaymentPlanCompleted,
) -> list[Statement]:
    return [(queries.END_PAUSE, ("plan", event.payload.plan_id))]


def _plan_agreed(event: disputes.PaymentPlanAgreed) -> list[Statement]:
    """A plan agreed; if it was the customer's proposal (same id), no longer waiting."""
    p = event.payload
    return [
        *_plan(event),
        (queries.END_PAUSE, ("proposal", p.plan_id)),
        (queries.PROPOSAL_DECIDED, (p.plan_id, "accepted", None, event.occurred_at.date())),
    ]


def _plan_proposed(event: disputes.PaymentPlanProposed) -> list[Statement]:
    p = event.payload
    return [
        (
            queries.START_PAUSE,
            ("proposal", p.proposal_id, p.customer_id, list(p.invoice_ids), False, None),
        ),
        (
            queries.RECORD_PROPOSAL,
            (
                p.proposal_id,
                p.customer_id,
                p.company_code,
                list(p.invoice_ids),
                [i.model_dump(mode="json") for i in p.instalments],
                p.proposed_on,
                p.answer_by,
            ),
        ),
    ]


def _plan_refused(event: disputes.PaymentPlanRefused) -> list[Statement]:
    p = event.payload
    status = "expired" if p.expired else "refused"
    return [
        (queries.END_PAUSE, ("proposal", p.proposal_id)),
        (queries.PROPOSAL_DECIDED, (p.proposal_id, status, p.reason, p.refused_on)),
    ]


def _dispute_for_owner(event: disputes.DisputeOpened) -> list[Statement]:
    """The dispute's pause, and the dispute with its documents for its owner's page."""
    d = event.payload
    return [
        *_dispute(event),
        (
            queries.UPSERT_OWNER_DISPUTE,
            (
                d.dispute_id,
                d.customer_id,
                d.category,
                d.text,
                list(d.invoice_ids),
                d.whole_account,
                d.owner_role,
                d.due_date,
            ),
        ),
        *(
            (
                queries.RECORD_ATTACHMENT,
                (
                    d.dispute_id,
                    number,
                    a.reference,
                    a.media_type,
                    a.size,
                    a.sha256,
                    a.file_name,
                ),
            )
            for number, a in enumerate(d.attachments, start=1)
        ),
    ]


def _dispute_resolved_for_owner(event: disputes.DisputeResolved) -> list[Statement]:
    """The owner's page shows the outcome, and takes no more answers."""
    p = event.payload
    c = p.correction
    return [
        *_dispute_resolved(event),
        (
            owner_queries.RESOLVED,
            (
                p.dispute_id,
                p.outcome,
                p.note,
                p.by,
                c.kind if c else None,
                c.reference if c else None,
                c.amount.amount if c and c.amount else None,
                c.amount.currency if c and c.amount else None,
            ),
        ),
    ]


def _dispute_reopened_for_owner(event: disputes.DisputeReopened) -> list[Statement]:
    return [
        *_dispute(event),
        (owner_queries.REOPENED, (event.payload.dispute_id,)),
    ]


def _dispute_answered(event: disputes.DisputeAnswered) -> list[Statement]:
    """An answer in the owner's page's history, its documents beside the customer's."""
    p = event.payload
    return [
        (owner_queries.RECORD_ANSWER, (p.answer_id, p.dispute_id, p.by, p.text, event.occurred_at)),
        *(
            (
                owner_queries.RECORD_ANSWER_ATTACHMENT,
                (
                    p.dispute_id,
                    a.reference,
                    a.media_type,
                    a.size,
                    a.sha256,
                    a.file_name,
                    p.answer_id,
                ),
            )
            for a in p.attachments
        ),
    ]


PROJECTIONS: Mapping[type[Event], Callable[[Any], list[Statement]]] = {
    erp.InvoiceIssued: _invoice_document,
    erp.InvoiceUpdated: _invoice_document,
    ledger.LedgerCustomerUpserted: _customer,
    ledger.InvoiceOpened: _opened,
    ledger.OpenAmountChanged: _changed,
    ledger.InvoiceSettled: _settled,
    ledger.LedgerInvoiceCancelled: _cancelled,
    disputes.DisputeOpened: _dispute_for_owner,
    disputes.DisputeReopened: _dispute_reopened_for_owner,
    disputes.DisputeResolved: _dispute_resolved_for_owner,
    disputes.DisputeAnswered: _dispute_answered,
    disputes.PromiseMade: _promise,
    disputes.PromiseKept: _promise_ended,
    disputes.PromiseBroken: _promise_ended,
    disputes.PaymentPlanAgreed: _plan_agreed,
    disputes.PaymentPlanProposed: _plan_proposed,
    disputes.PaymentPlanRefused: _plan_refused,
    disputes.PaymentPlanBroken: _plan_ended,
    disputes.PaymentPlanCompleted: _plan_ended,
}
