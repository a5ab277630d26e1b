"""The notifier keeps the last broken promise or missed instalment of each invoice from the
disputes events, and the reminder that follows recalls it; a new promise forgets it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from contracts import disputes
from contracts.money import Money
from tests.integration.notifier.harness import Mailbox, Notifier
from tests.integration.notifier.test_send_time_controls import (
    _event,
    _parts,
    notifier,  # noqa: F401 (the fixture, wired as there)
    plan_agreed,
    promise_made,
)
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration

MADE = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)


def broken(made: disputes.PromiseMade) -> disputes.PromiseBroken:
    promise = made.payload
    return _event(
        disputes.PromiseBroken,
        disputes.BrokenPromise(
            promise_id=promise.promise_id,
            customer_id=promise.customer_id,
            invoice_ids=promise.invoice_ids,
            promised_date=promise.promised_date,
            amount=promise.amount,
            received=Money(amount="0.00", currency="EUR"),
        ),
    )


def missed(
    agreed: disputes.PaymentPlanAgreed,
) -> tuple[disputes.PaymentPlanInstalmentMissed, disputes.PaymentPlanBroken]:
    """As the disputes service says it: the instalment missed, then the plan broken."""
    plan = agreed.payload
    instalment = _event(
        disputes.PaymentPlanInstalmentMissed,
        disputes.MissedInstalment(
            plan_id=plan.plan_id,
            customer_id=plan.customer_id,
            invoice_ids=plan.invoice_ids,
            instalment_number=1,
            due_date=plan.instalments[0].due_date,
            amount=plan.instalments[0].amount,
            received=Money(amount="0.00", currency="EUR"),
        ),
    )
    plan_broken = _event(
        disputes.PaymentPlanBroken,
        disputes.BrokenPaymentPlan(
            plan_id=plan.plan_id,
            customer_id=plan.customer_id,
            invoice_ids=plan.invoice_ids,
            broken_on=date(2026, 4, 1),
            reason="instalment 1 was not paid",
        ),
    )
    return instalment, plan_broken


async def test_the_reminder_after_a_broken_promise_and_a_missed_instalment_recalls_both(
    notifier: Notifier,  # noqa: F811
    mailbox: tuple[Mailbox, int],
) -> None:
    box, _ = mailbox
    promise = promise_made("INV-1", date(2026, 2, 10))
    promise = promise.model_copy(update={"occurred_at": MADE})
    plan = plan_agreed("INV-2")
    await notifier.consume(
        samples.customer_upserted(),
        samples.invoice_opened("INV-1"),
        samples.invoice_opened("INV-2"),
        samples.invoice_opened("INV-3"),
        promise,
        broken(promise),
        plan,
        *missed(plan),
    )
    await notifier.consume(samples.reminder_due(samples.reminder("INV-1", "INV-2")))
    assert await notifier.dispatcher.dispatch_all() == 1
    text, html, _ = _parts(box.received[0][1])
    assert (
        "Vous vous étiez engagé le 3 février 2026 à régler 700,00\xa0€ au plus tard le "
        "10 février 2026 ; nous n'avons pas reçu ce paiement." in text
    )
    assert (
        "L'échéance n° 1 de l'échéancier convenu le 1 mars 2026, de 350,00\xa0€ au "
        "31 mars 2026, n'a pas été réglée." in text
    )
    assert html.count('class="broken-commitment"') == 2


async def test_a_new_promise_forgets_the_broken_one(notifier: Notifier) -> None:  # noqa: F811
    first = promise_made("INV-1", date(2026, 2, 10))
    await notifier.consume(
        samples.customer_upserted(), samples.invoice_opened("INV-1"), first, broken(first)
    )
    assert await notifier.pool.fetchval("SELECT count(*) FROM broken_commitments") == 1
    await notifier.consume(promise_made("INV-1", date(2026, 2, 20)))
    assert await notifier.pool.fetchval("SELECT count(*) FROM broken_commitments") == 0
