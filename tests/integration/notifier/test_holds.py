"""Collectors' holds at send time, on real PostgreSQL and a real SMTP server: the notifier
learns holds from ``dunning.state.changed`` and never sends about a held invoice, at the claim
as in the final check right before the provider call, retries included."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta

import asyncpg
import pytest

from contracts import dunning
from contracts.topics import NOTIFIER_DELIVERIES
from services.notifier.channels.email.adapter import EmailAdapter
from services.notifier.channels.email.smtp import SmtpChannel
from services.notifier.composing.composer import EmailComposer
from services.notifier.dispatcher import Dispatcher
from services.notifier.settings import EmailSettings, NotifierSettings, SmtpSettings
from services.runtime.clock import SimulatedClock
from tests.integration.notifier.harness import Mailbox, Notifier
from tests.kafka_tools import unique
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration

# samples.NOW is Monday 2 March 2026, 08:00 UTC: 09:00 in Paris, inside the window.
UNTIL_NOON = samples.NOW + timedelta(hours=3)


@pytest.fixture
def notifier(pool: asyncpg.Pool, mailbox: tuple[Mailbox, int]) -> Notifier:
    settings = NotifierSettings(
        smtp=SmtpSettings(host="127.0.0.1", port=mailbox[1], security="none", timeout_s=5),
        email=EmailSettings(
            sender="relances@creditor.example", message_id_domain="creditor.example"
        ),
    )
    clock = SimulatedClock(samples.NOW)
    topic = dataclasses.replace(NOTIFIER_DELIVERIES, name=unique(NOTIFIER_DELIVERIES.name))
    adapter = EmailAdapter(EmailComposer.load(settings), SmtpChannel(settings))
    dispatcher = Dispatcher(
        pool, clock, settings, {"email": adapter}, adapter.composer, topic=topic
    )
    return Notifier(pool, clock, dispatcher, topic.name)


def state(
    number: str,
    *,
    held_until: datetime | None = None,
    hold: bool = True,
    at: datetime = samples.NOW,
) -> dunning.DunningStateChanged:
    """The scheduler's state of one invoice: held (until ``held_until``, or with no date), or
    back in its scenario."""
    return dunning.DunningStateChanged.model_validate(
        {
            "event_id": uuid.uuid4(),
            "occurred_at": at,
            "source": "scheduler",
            "payload": dunning.InvoiceDunningState(
                customer_id=samples.CUSTOMER,
                company_code="FR01",
                invoice_id=f"FR01/{number}",
                scenario_id="standard",
                step_name="level_1",
                level="level_1",
                paused=hold,
                pause_reason="hold" if hold else None,
                next_action_at=None if hold else at + timedelta(days=7),
                paused_until=held_until if hold else None,
            ),
        }
    )


async def _suppressions(notifier: Notifier) -> list[str]:
    return [
        e["payload"]["reason"]
        for e in await notifier.published()
        if e["event_type"] == "delivery.suppressed"
    ]


async def test_a_held_invoice_is_not_sent(notifier: Notifier, mailbox: tuple[Mailbox, int]) -> None:
    box, _ = mailbox
    held, due = samples.reminder("INV-1"), samples.reminder("INV-2")
    undated = samples.reminder("INV-3")
    await notifier.consume(
        samples.customer_upserted(),
        state("INV-1", held_until=UNTIL_NOON),
        state("INV-3"),  # held with no date: until a later state lifts it
        *(samples.reminder_due(r) for r in (held, due, undated)),
    )
    assert await notifier.dispatcher.dispatch_all() == 3
    assert len(box.received) == 1
    assert await _suppressions(notifier) == ["paused", "paused"]
    for reminder in (held, undated):
        row = await notifier.delivery(reminder.reminder_id)
        assert (row["status"], row["last_error"]) == ("suppressed", "paused")
    assert (await notifier.delivery(due.reminder_id))["status"] == "sent"


async def test_a_held_invoice_is_dropped_and_the_others_of_the_reminder_go(
    notifier: Notifier, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    both = samples.reminder("INV-1", "INV-2")
    await notifier.consume(
        samples.customer_upserted(),
        state("INV-1", held_until=UNTIL_NOON),
        samples.reminder_due(both),
    )
    assert await notifier.dispatcher.dispatch_all() == 1
    assert len(box.received) == 1
    row = await notifier.delivery(both.reminder_id)
    assert (row["status"], row["invoice_ids"]) == ("sent", ["FR01/INV-2"])


async def test_a_hold_whose_date_has_passed_no_longer_counts(
    notifier: Notifier, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    due = samples.reminder("INV-1")
    await notifier.consume(
        samples.customer_upserted(),
        state("INV-1", held_until=samples.NOW - timedelta(minutes=1)),
        samples.reminder_due(due),
    )
    assert await notifier.dispatcher.dispatch_all() == 1
    assert len(box.received) == 1
    assert (await notifier.delivery(due.reminder_id))["status"] == "sent"


async def test_a_hold_lifted_by_a_later_state_no_longer_counts(
    notifier: Notifier, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    due = samples.reminder("INV-1")
    await notifier.consume(
        samples.customer_upserted(),
        state("INV-1", at=samples.NOW - timedelta(hours=2)),
        state("INV-1", hold=False, at=samples.NOW - timedelta(hours=1)),
        # an older hold replayed late does not undo the release
        state("INV-1", at=samples.NOW - timedelta(hours=2)),
        samples.reminder_due(due),
    )
    assert await notifier.dispatcher.dispatch_all() == 1
    assert len(box.received) == 1
    assert await notifier.pool.fetchval("SELECT count(*) FROM invoice_holds WHERE held") == 0


async def test_a_retry_of_a_held_delivery_is_suppressed(
    notifier: Notifier, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    box.reply = "451 4.3.0 try again later"
    due = samples.reminder("INV-1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    assert await notifier.dispatcher.dispatch_all() == 1
    assert (await notifier.delivery(due.reminder_id))["status"] == "pending"  # a retry
    box.reply = None
    box.received.clear()
    await notifier.consume(state("INV-1", held_until=samples.NOW + timedelta(days=10)))
    notifier.clock.set(samples.NOW + timedelta(hours=3))
    assert await notifier.dispatcher.dispatch_all() == 1
    assert box.received == []
    row = await notifier.delivery(due.reminder_id)
    assert (row["status"], row["last_error"]) == ("suppressed", "paused")
    assert await _suppressions(notifier) == ["paused"]


class HoldsWhileWaiting:
    """A rate limiter whose wait lets a collector's hold arrive in the meantime."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self.waits = 0

    async def wait(self, channel: str) -> float:
        self.waits += 1
        if self.waits == 1:
            await self.notifier.consume(state("INV-1", held_until=UNTIL_NOON))
        return 0.0


async def test_the_final_check_after_the_rate_limit_catches_a_late_hold(
    notifier: Notifier, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    notifier.dispatcher.limiter = HoldsWhileWaiting(notifier)
    due = samples.reminder("INV-1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    assert await notifier.dispatcher.dispatch_all() == 2  # handed back, then suppressed
    assert box.received == []
    row = await notifier.delivery(due.reminder_id)
    assert (row["status"], row["attempts"], row["last_error"]) == ("suppressed", 0, "paused")
    assert await notifier.pool.fetchval("SELECT count(*) FROM delivery_attempts") == 0


async def test_a_campaigns_delivery_about_a_held_customer_is_suppressed(
    notifier: Notifier, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    campaign = samples.reminder("INV-1", "INV-2").model_copy(
        update={"campaign_id": "year-end", "scenario_id": "year-end"}
    )
    await notifier.consume(
        samples.customer_upserted(),
        # a hold of the whole customer, announced invoice by invoice
        state("INV-1", held_until=UNTIL_NOON),
        state("INV-2", held_until=UNTIL_NOON),
        samples.reminder_due(campaign),
    )
    assert await notifier.dispatcher.dispatch_all() == 1
    assert box.received == []
    row = await notifier.delivery(campaign.reminder_id)
    assert (row["status"], row["last_error"]) == ("suppressed", "paused")
