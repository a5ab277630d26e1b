"""Disputes: whether a command applies to a stored dispute, and the events it emits.

Pure functions of values: a stored dispute is passed as its row (read by column name),
what the ledger says of its invoices as :class:`~services.disputes.domain.rules.InvoiceView`.
A command that cannot apply raises :class:`CommandRejected` before anything changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from contracts import disputes
from contracts.disputes import CorrectionCause, DisputeOutcome
from services.disputes.domain.policy import SOURCE, Policy, event_id
from services.disputes.domain.routing import Route, owner_reminder_id
from services.disputes.domain.rules import InvoiceView, Row
from services.disputes.errors import CommandRejected, NotFound, VersionConflict


def already_opened(existing: Row | None, request: disputes.DisputeRequest) -> bool:
    """True for a retried command (nothing to do); rejected when the id holds another."""
    if existing is None:
        return False
    if existing["customer_id"] == request.customer_id and existing["category"] == (
        request.category
    ):
        return True
    raise CommandRejected(
        "dispute_id_taken", f"dispute {request.dispute_id} exists with other content"
    )


def whole_account_invoices(
    customer_id: str,
    invoice_ids: Sequence[str],
    others: Iterable[Row],
    open_invoice_ids: Iterable[str],
    held: Mapping[str, str],
) -> list[str]:
    """A whole-account dispute holds every open invoice no other dispute holds; one per
    account (``others``: the customer's other open disputes)."""
    for other in others:
        if other["whole_account"]:
            raise CommandRejected(
                "account_already_disputed",
                f"the account of {customer_id} is already disputed by {other['dispute_id']}",
            )
    held_now = list(invoice_ids)
    for invoice_id in open_invoice_ids:
        if invoice_id not in held_now and invoice_id not in held:
            held_now.append(invoice_id)
    return held_now


def check_found(row: Row | None, dispute_id: uuid.UUID, customer_id: str) -> Row:
    if row is None or row["customer_id"] != customer_id:
        raise NotFound("unknown_dispute", f"no dispute {dispute_id} for customer {customer_id}")
    return row


def check_version(row: Row, expected: int | None) -> None:
    if expected is not None and row["version"] != expected:
        raise VersionConflict(
            "version_conflict",
            f"dispute {row['dispute_id']} is at version {row['version']}, "
            f"not {expected}: read it again and retry",
        )


def resolution(
    row: Row, outcome: DisputeOutcome, invoices: Mapping[str, InvoiceView]
) -> tuple[str, list[str]]:
    """The status after resolving an open dispute, and the invoices awaiting correction:
    a justified dispute waits for the ledger to correct its invoices still open."""
    if row["status"] != "open":
        raise CommandRejected("dispute_not_open", f"dispute {row['dispute_id']} is {row['status']}")
    if outcome != "justified":
        return "resolved", []
    awaiting = [i for i in row["invoice_ids"] if invoices[i].status == "open"]
    return ("awaiting_correction" if awaiting else "resolved"), awaiting


def reopened_invoices(row: Row, invoices: Mapping[str, InvoiceView]) -> list[str]:
    """The invoices a resolved dispute holds again when reopened: those still open."""
    if row["status"] == "open":
        raise CommandRejected("dispute_not_resolved", f"dispute {row['dispute_id']} is still open")
    still_open = [i for i in row["invoice_ids"] if invoices[i].status == "open"]
    if not still_open and not row["whole_account"]:
        raise CommandRejected(
            "invoices_closed",
            f"every invoice of dispute {row['dispute_id']} is settled or cancelled",
        )
    return still_open


def opened(
    now: datetime,
    request: disputes.DisputeRequest,
    invoice_ids: Sequence[str],
    route: Route,
) -> disputes.DisputeOpened:
    return disputes.DisputeOpened(
        event_id=event_id("dispute.opened", request.dispute_id),
        occurred_at=now,
        source=SOURCE,
        payload=disputes.OpenedDispute(
            dispute_id=request.dispute_id,
            customer_id=request.customer_id,
            invoice_ids=tuple(invoice_ids),
            whole_account=request.whole_account,
            category=request.category,
            text=request.text,
            raised_by=request.raised_by,
            attachments=request.attachments,
            owner_role=route.owner_role,
            owner=route.owner,
            due_date=route.due_date,
        ),
    )


def invoice_added(
    now: datetime, row: Row, customer_id: str, invoice_id: str
) -> disputes.DisputeOpened:
    """A whole-account dispute published again with an invoice opened since."""
    return disputes.DisputeOpened(
        event_id=event_id("dispute.opened", row["dispute_id"], invoice_id),
        occurred_at=now,
        source=SOURCE,
        payload=disputes.OpenedDispute(
            dispute_id=row["dispute_id"],
            customer_id=customer_id,
            invoice_ids=tuple(row["invoice_ids"]),
            whole_account=True,
            category=row["category"],
            text=row["text"],
            raised_by=row["raised_by"],
            attachments=tuple(disputes.Attachment.model_validate(a) for a in row["attachments"]),
            owner_role=row["owner_role"],
            owner=row["owner"],
            due_date=row["due_date"],
        ),
    )


def resolved(
    now: datetime, row: Row, resolution: disputes.DisputeResolution, version: int
) -> disputes.DisputeResolved:
    return disputes.DisputeResolved(
        event_id=event_id("dispute.resolved", resolution.dispute_id, version),
        occurred_at=now,
        source=SOURCE,
        payload=disputes.ResolvedDispute(
            dispute_id=resolution.dispute_id,
            customer_id=resolution.customer_id,
            invoice_ids=tuple(row["invoice_ids"]),
            whole_account=row["whole_account"],
            outcome=resolution.outcome,
            by=resolution.by,
            note=resolution.note,
            correction=resolution.correction,
        ),
    )


def check_answerable(row: Row) -> None:
    """Only an open dispute takes answers: a resolved one shows its outcome."""
    if row["status"] != "open":
        raise CommandRejected("dispute_not_open", f"dispute {row['dispute_id']} is {row['status']}")


def answered(
    now: datetime, answer: disputes.DisputeAnswer, version: int
) -> disputes.DisputeAnswered:
    return disputes.DisputeAnswered(
        event_id=event_id("dispute.answered", answer.dispute_id, version),
        occurred_at=now,
        source=SOURCE,
        payload=disputes.AnsweredDispute(**answer.model_dump()),
    )


def reopened(
    now: datetime, row: Row, reopening: disputes.DisputeReopening, route: Route, version: int
) -> disputes.DisputeReopened:
    return disputes.DisputeReopened(
        event_id=event_id("dispute.reopened", reopening.dispute_id, version),
        occurred_at=now,
        source=SOURCE,
        payload=disputes.ReopenedDispute(
            dispute_id=reopening.dispute_id,
            customer_id=reopening.customer_id,
            invoice_ids=tuple(row["invoice_ids"]),
            whole_account=row["whole_account"],
            owner_role=route.owner_role,
            owner=route.owner,
            due_date=route.due_date,
            by=reopening.by,
            reason=reopening.reason,
        ),
    )


def correction_received(
    now: datetime, dispute_id: uuid.UUID, customer_id: str, invoice_id: str, cause: CorrectionCause
) -> disputes.DisputeCorrectionReceived:
    return disputes.DisputeCorrectionReceived(
        event_id=event_id("dispute.correction_received", dispute_id, invoice_id),
        occurred_at=now,
        source=SOURCE,
        payload=disputes.ReceivedCorrection(
            dispute_id=dispute_id,
            customer_id=customer_id,
            invoice_ids=(invoice_id,),
            cause=cause,
        ),
    )


def owner_reminder(
    policy: Policy, now: datetime, row: Row
) -> tuple[disputes.DisputeOwnerReminderDue, datetime]:
    """The owner reminder due for an open, overdue dispute, and when the next one is."""
    reminders = policy.reminders
    today: date = now.astimezone(ZoneInfo(policy.time_zone)).date()
    overdue = (today - row["due_date"]).days
    number = row["reminders_sent"] + 1
    rid = owner_reminder_id(row["dispute_id"], row["opening"], number)
    event = disputes.DisputeOwnerReminderDue(
        event_id=rid,
        occurred_at=now,
        source=SOURCE,
        payload=disputes.OwnerReminder(
            reminder_id=rid,
            dispute_id=row["dispute_id"],
            customer_id=row["customer_id"],
            invoice_ids=tuple(row["invoice_ids"]),
            whole_account=row["whole_account"],
            owner_role=row["owner_role"],
            owner=row["owner"],
            due_date=row["due_date"],
            firmness=reminders.firmness(overdue),
            escalated_to_manager=reminders.escalated_to_manager(overdue),
        ),
    )
    return event, policy.owner_reminder_at(reminders.next_day(today))
