"""The stories of the issue, with the scheduler: real PostgreSQL, one simulated clock.

A customer with three invoices at level 1 disputes one; the dispute pauses it, its owner is
chased, the dispute is rejected and the invoice resumes at level 2. A broken promise
escalates on the next business day. A missed instalment breaks a plan.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest

from contracts import disputes, ledger
from contracts.envelope import Event
from services.disputes.domain.routing import owner_reminder_id
from tests.integration.disputes.harness import (
    AT,
    Timeline,
    eur,
    open_dispute,
    plan,
    promise,
    resolve,
)
from tests.integration.scheduler.fixtures import amount_changed, customer, opened

pytestmark = pytest.mark.integration

DUE = date(2026, 12, 1)  # a Tuesday


async def _three_invoices_at_level_1(timeline: Timeline) -> None:
    await timeline.ledger(
        customer("C1"), *(opened("C1", number, DUE) for number in ("F1", "F2", "F3"))
    )
    await timeline.walk(date(2026, 11, 16), 19)  # courtesy on 26 Nov, friendly on 4 Dec
    sent = [(r.step_name, r.level, len(r.invoices)) for r in await timeline.reminders()]
    assert sent == [("courtesy", "preventive", 3), ("friendly", "level_1", 3)]


async def test_a_rejected_dispute_resumes_at_level_2_and_its_owner_was_chased(
    timeline: Timeline,
) -> None:
    await _three_invoices_at_level_1(timeline)
    dispute_id, opening = open_dispute("C1", ["F2"], category="administrative")
    await timeline.command(opening)  # on Friday 4 Dec
    (opened_event,) = await timeline.disputes.events()
    assert isinstance(opened_event, disputes.DisputeOpened)
    assert opened_event.payload.owner_role == "order_administration"
    assert opened_event.payload.due_date == date(2026, 12, 9)  # administrative: 5 days

    await timeline.walk(date(2026, 12, 5), 20)  # to Thursday 24 Dec
    await timeline.command(resolve("C1", dispute_id, "rejected"))  # 20 days after opening
    await timeline.walk(date(2026, 12, 25), 15)

    reminders = await timeline.reminders()
    after_dispute = [
        (r.step_name, r.level, sorted(i.invoice_id for i in r.invoices)) for r in reminders[2:]
    ]
    assert after_dispute[:3] == [
        ("call", "level_1", ["FR01/F1", "FR01/F3"]),  # 14 Dec: the disputed F2 is left out
        ("firm", "level_2", ["FR01/F1", "FR01/F2", "FR01/F3"]),  # 28 Dec: F2 at level 2
        ("registered", "level_2", ["FR01/F1", "FR01/F2", "FR01/F3"]),
    ]
    f2 = [r for r in reminders if "FR01/F2" in {i.invoice_id for i in r.invoices}]
    assert [r.level for r in f2][:3] == ["preventive", "level_1", "level_2"]
    days = Counter(r.scheduled_for.date() for r in reminders)
    assert max(days.values()) == 1  # never two reminders the same day

    owner = [
        e.payload
        for e in await timeline.disputes.events()
        if isinstance(e, disputes.DisputeOwnerReminderDue)
    ]
    assert [(r.firmness, r.escalated_to_manager) for r in owner] == [
        ("gentle", False),  # 10 Dec, 1 day overdue
        ("firm", False),  # 14 Dec (13 Dec is a Sunday), 5 days overdue
        ("firm", False),  # 17 Dec, 8 days overdue
        ("urgent", False),  # 21 Dec (20 Dec is a Sunday), 12 days overdue
        ("urgent", True),  # 24 Dec, 15 days overdue: the manager is copied
    ]
    assert [r.reminder_id for r in owner] == [
        owner_reminder_id(dispute_id, 1, n) for n in range(1, 6)
    ]
    assert all(r.owner_role == "order_administration" for r in owner)

    history = await timeline.disputes.pool.fetch(
        "SELECT action, actor FROM dispute_transition WHERE dispute_id = $1 ORDER BY id",
        dispute_id,
    )
    actions = [r["action"] for r in history]
    assert actions[0] == "opened"
    assert actions[-1] == "resolved"
    assert actions.count("owner_reminded") == 5
    assert history[-1]["actor"] == "collector@creditor.example"


async def test_a_broken_promise_escalates_on_the_next_business_day(timeline: Timeline) -> None:
    await timeline.ledger(customer("C1"), opened("C1", "F1", DUE))
    await timeline.walk(date(2026, 11, 16), 22)  # to Monday 7 Dec: friendly on 4 Dec
    promise_id, made = promise("C1", ["F1"], date(2026, 12, 10), "1200.00")
    await timeline.command(made)
    await timeline.ledger(amount_changed("C1", "F1", DUE, "1200.00", "900.00"))  # 300 paid

    await timeline.walk(date(2026, 12, 8), 7)  # to Monday 14 Dec

    events = await timeline.disputes.events()
    (broken,) = [e for e in events if isinstance(e, disputes.PromiseBroken)]
    # promised on Thursday 10 Dec, one day of grace: broken as Saturday 12 Dec begins
    assert broken.payload.promise_id == promise_id
    assert broken.payload.received.amount == 300
    assert broken.payload.customer_record == disputes.PromiseRecord(kept=0, broken=1)
    sent = [(r.step_name, r.level, r.scheduled_for.date()) for r in await timeline.reminders()]
    assert sent[-2:] == [
        ("friendly", "level_1", date(2026, 12, 4)),
        ("firm", "level_2", date(2026, 12, 14)),  # Monday, the next business day, firmer
    ]


async def test_a_kept_promise_resumes_where_it_stopped(timeline: Timeline) -> None:
    await timeline.ledger(customer("C1"), opened("C1", "F1", DUE), opened("C1", "F2", DUE))
    await timeline.walk(date(2026, 11, 16), 22)
    _, made = promise("C1", ["F1", "F2"], date(2026, 12, 10), "500.00", channel="email")
    await timeline.command(made)
    await timeline.ledger(amount_changed("C1", "F1", DUE, "1200.00", "700.00"))

    kept = [e for e in await timeline.disputes.events() if isinstance(e, disputes.PromiseKept)]
    assert [k.payload.customer_record for k in kept] == [disputes.PromiseRecord(kept=1, broken=0)]
    await timeline.walk(date(2026, 12, 8), 7)
    assert [r.step_name for r in await timeline.reminders()][-1] == "call"  # level 1 still


async def test_a_missed_instalment_breaks_the_plan(timeline: Timeline) -> None:
    await timeline.ledger(customer("C1"), opened("C1", "F1", DUE))
    await timeline.walk(date(2026, 11, 16), 22)  # to Monday 7 Dec
    plan_id, agreed = plan(
        "C1",
        ["F1"],
        date(2026, 12, 7),
        [
            (date(2026, 12, 7), "400.00"),
            (date(2026, 12, 21), "400.00"),
            (date(2027, 1, 4), "400.00"),
        ],
    )
    await timeline.command(agreed)
    await timeline.ledger(amount_changed("C1", "F1", DUE, "1200.00", "800.00"))  # first paid
    await timeline.walk(date(2026, 12, 8), 17)  # to 24 Dec

    events = [
        e
        for e in await timeline.disputes.events()
        if e.payload.__class__.__name__
        in ("MissedInstalment", "BrokenPaymentPlan", "CompletedPaymentPlan")
    ]
    missed, broken = events
    assert isinstance(missed, disputes.PaymentPlanInstalmentMissed)
    assert missed.payload.instalment_number == 2
    assert missed.payload.received.amount == Decimal(0)
    assert isinstance(broken, disputes.PaymentPlanBroken)
    assert broken.payload.plan_id == plan_id
    assert broken.payload.broken_on == date(2026, 12, 24)  # 21 Dec plus two days of grace
    sent = [(r.step_name, r.level, r.scheduled_for.date()) for r in await timeline.reminders()]
    assert sent[-1] == ("firm", "level_2", date(2026, 12, 24))


def settled_from(customer_id: str, number: str, previous: str) -> Event:
    return ledger.InvoiceSettled(
        event_id=uuid.uuid4(),
        occurred_at=AT,
        source="ledger",
        payload=ledger.Settlement(
            company_code="FR01",
            customer_id=customer_id,
            invoice_id=f"FR01/{number}",
            invoice_number=number,
            settled_on=DUE,
            cause="payment",
            cause_document_id="PAY-9",
            previous_open_amount=eur(previous),
            amount=eur("1200.00"),
            issue_date=DUE - timedelta(days=30),
            due_date=DUE,
        ),
    )


async def test_a_plan_paid_in_full_completes(timeline: Timeline) -> None:
    await timeline.ledger(customer("C1"), opened("C1", "F1", DUE))
    timeline.clock.set(timeline.clock.now().replace(month=12, day=7))
    _, agreed = plan(
        "C1",
        ["F1"],
        date(2026, 12, 7),
        [(date(2026, 12, 7), "600.00"), (date(2026, 12, 21), "600.00")],
    )
    await timeline.command(agreed)
    await timeline.ledger(amount_changed("C1", "F1", DUE, "1200.00", "600.00"))
    await timeline.walk(date(2026, 12, 8), 3)
    assert not any(
        isinstance(e, disputes.PaymentPlanCompleted) for e in await timeline.disputes.events()
    )
    await timeline.ledger(amount_changed("C1", "F1", DUE, "600.00", "0.50"))
    await timeline.ledger(settled_from("C1", "F1", "0.50"))
    (completed,) = [
        e for e in await timeline.disputes.events() if isinstance(e, disputes.PaymentPlanCompleted)
    ]
    assert completed.payload.completed_on == date(2026, 12, 10)


async def test_a_justified_dispute_stays_paused_until_the_credit_note(timeline: Timeline) -> None:
    await timeline.ledger(customer("C1"), opened("C1", "F1", DUE))
    await timeline.walk(date(2026, 11, 16), 19)  # friendly on 4 Dec
    dispute_id, opening = open_dispute("C1", ["F1"], category="pricing")
    await timeline.command(opening)
    await timeline.command(resolve("C1", dispute_id, "justified"))
    await timeline.walk(date(2026, 12, 5), 20)
    assert [r.step_name for r in await timeline.reminders()] == ["courtesy", "friendly"]

    credit = amount_changed("C1", "F1", DUE, "1200.00", "1000.00")
    credit = credit.model_copy(
        update={"payload": credit.payload.model_copy(update={"cause": "credit_note"})}
    )
    await timeline.ledger(credit)  # on 24 Dec
    (received,) = [
        e
        for e in await timeline.disputes.events()
        if isinstance(e, disputes.DisputeCorrectionReceived)
    ]
    assert (received.payload.dispute_id, received.payload.cause) == (dispute_id, "credit_note")
    status = await timeline.disputes.pool.fetchval(
        "SELECT status FROM dispute WHERE dispute_id = $1", dispute_id
    )
    assert status == "resolved"
    await timeline.walk(date(2026, 12, 25), 5)
    # back where it stopped (the creditor was wrong: no firmer step for that), on the first
    # business day after the minimum gap (25 Dec is a holiday), then the scenario goes on
    sent = [(r.step_name, r.scheduled_for.date()) for r in await timeline.reminders()]
    assert sent[2:] == [("call", date(2026, 12, 28)), ("firm", date(2026, 12, 29))]


async def test_commands_that_cannot_apply_are_rejected_with_their_reason(
    timeline: Timeline,
) -> None:
    await timeline.ledger(customer("C1"), opened("C1", "F1", DUE), opened("C1", "F2", DUE))
    timeline.clock.set(timeline.clock.now().replace(month=12, day=2))
    _, unknown = open_dispute("C1", ["F9"])
    dispute_id, first = open_dispute("C1", ["F1"])
    _, again = open_dispute("C1", ["F1", "F2"])
    _, promised = promise("C1", ["F2"], date(2026, 12, 10), "100.00")
    _, overlapping = promise("C1", ["F2"], date(2026, 12, 11), "100.00")
    _, on_disputed = promise("C1", ["F1"], date(2026, 12, 11), "100.00")
    _, in_the_past = promise("C1", ["F2"], date(2026, 11, 30), "100.00")
    await timeline.command(unknown, first, again, promised, overlapping, on_disputed, in_the_past)
    await timeline.command(resolve("C1", uuid.uuid4(), "rejected"))
    await timeline.command(resolve("C1", dispute_id, "rejected"))
    await timeline.command(resolve("C1", dispute_id, "rejected"))

    assert [reason for reason, _ in timeline.disputes.rejected] == [
        "unknown_invoice",
        "invoice_already_disputed",
        "overlapping_promise",
        "invoice_disputed",
        "overlapping_promise",  # F2 is promised already, whatever the date
        "unknown_dispute",
        "dispute_not_open",
    ]
    assert "FR01/F9" in timeline.disputes.rejected[0][1]
    types = [e.event_type for e in await timeline.disputes.events()]
    assert types == ["dispute.opened", "promise.made", "dispute.resolved"]


async def test_an_invoice_opened_during_a_whole_account_dispute_is_paused_too(
    timeline: Timeline,
) -> None:
    await timeline.ledger(customer("C1"), opened("C1", "F1", DUE))
    timeline.clock.set(timeline.clock.now().replace(month=11, day=20))
    dispute_id, opening = open_dispute("C1", [], category="accounting", whole_account=True)
    await timeline.command(opening)
    await timeline.ledger(opened("C1", "F2", DUE))

    published = [
        e.payload for e in await timeline.disputes.events() if isinstance(e, disputes.DisputeOpened)
    ]
    assert [p.invoice_ids for p in published] == [("FR01/F1",), ("FR01/F1", "FR01/F2")]
    assert {p.dispute_id for p in published} == {dispute_id}
    await timeline.walk(date(2026, 11, 21), 30)
    assert await timeline.reminders() == []
    pauses = await timeline.scheduler.pool.fetch("SELECT pause_reason FROM dunning_invoice")
    assert [r["pause_reason"] for r in pauses] == ["dispute", "dispute"]


async def test_a_dispute_from_a_logged_call_is_recorded_as_the_collectors(
    timeline: Timeline,
) -> None:
    await timeline.ledger(customer("C1"), opened("C1", "F1", DUE))
    dispute_id, opening = open_dispute("C1", ["F1"], raised_by="collector", by="local:marie")
    await timeline.command(opening)
    other_id, other = open_dispute("C1", [], whole_account=True)  # from the customer's page
    await timeline.command(other)
    actors = {
        r["dispute_id"]: r["actor"]
        for r in await timeline.disputes.pool.fetch(
            "SELECT dispute_id, actor FROM dispute_transition WHERE action = 'opened'"
        )
    }
    assert actors == {dispute_id: "local:marie", other_id: "customer"}
