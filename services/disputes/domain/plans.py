"""Payment plans: whether one may be agreed, and the events of its course.

Pure functions of values; a stored plan is passed as its row (read by column name). When
a plan is completed or an instalment missed is decided in :mod:`.commitments`.
"""

from __future__ import annotations

from datetime import date, datetime

from contracts import disputes
from contracts.disputes import Instalment
from contracts.money import Money
from services.disputes.domain.commitments import Missed
from services.disputes.domain.policy import SOURCE, event_id
from services.disputes.domain.rules import Row
from services.disputes.errors import CommandRejected


def instalments_of(row: Row) -> tuple[Instalment, ...]:
    """A stored plan's instalments (stored as JSON)."""
    return tuple(Instalment.model_validate(i) for i in row["instalments"])


def already_agreed(existing: Row | None, plan: disputes.PaymentPlan) -> bool:
    """True for a retried command (nothing to do); rejected when the id holds another."""
    if existing is None:
        return False
    if existing["customer_id"] == plan.customer_id and existing["agreed_on"] == plan.agreed_on:
        return True
    raise CommandRejected("plan_id_taken", f"payment plan {plan.plan_id} exists with other content")


def agreed(now: datetime, plan: disputes.PaymentPlan) -> disputes.PaymentPlanAgreed:
    return disputes.PaymentPlanAgreed(
        event_id=event_id("payment_plan.agreed", plan.plan_id),
        occurred_at=now,
        source=SOURCE,
        payload=plan,
    )


def completed(now: datetime, row: Row, today: date) -> disputes.PaymentPlanCompleted:
    return disputes.PaymentPlanCompleted(
        event_id=event_id("payment_plan.completed", row["plan_id"]),
        occurred_at=now,
        source=SOURCE,
        payload=disputes.CompletedPaymentPlan(
            plan_id=row["plan_id"],
            customer_id=row["customer_id"],
            invoice_ids=tuple(row["invoice_ids"]),
            completed_on=today,
        ),
    )


def broken(
    now: datetime, row: Row, today: date, missed: Missed
) -> list[disputes.PaymentPlanInstalmentMissed | disputes.PaymentPlanBroken]:
    """An instalment missed breaks the plan: both events, in that order."""
    invoice_ids = tuple(row["invoice_ids"])
    currency = row["currency"]
    return [
        disputes.PaymentPlanInstalmentMissed(
            event_id=event_id("payment_plan.instalment_missed", row["plan_id"], missed.number),
            occurred_at=now,
            source=SOURCE,
            payload=disputes.MissedInstalment(
                plan_id=row["plan_id"],
                customer_id=row["customer_id"],
                invoice_ids=invoice_ids,
                instalment_number=missed.number,
                due_date=missed.instalment.due_date,
                amount=missed.instalment.amount,
                received=Money(amount=missed.received, currency=currency),
            ),
        ),
        disputes.PaymentPlanBroken(
            event_id=event_id("payment_plan.broken", row["plan_id"]),
            occurred_at=now,
            source=SOURCE,
            payload=disputes.BrokenPaymentPlan(
                plan_id=row["plan_id"],
                customer_id=row["customer_id"],
                invoice_ids=invoice_ids,
                broken_on=today,
                reason=(
                    f"instalment {missed.number} of {missed.instalment.amount.amount} "
                    f"{currency} due {missed.instalment.due_date} was not paid "
                    f"(received {missed.received})"
                ),
            ),
        ),
    ]
