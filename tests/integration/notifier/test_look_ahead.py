"""A lane composes the next deliveries ahead while it sends one: every send-time control still
holds at each one's own turn, right before SMTP, and a claim made ahead never outlives its
lease unnoticed. Real PostgreSQL, a real SMTP server on loopback, a real composing worker."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import asyncpg
import pytest

from contracts.topics import NOTIFIER_DELIVERIES
from services.notifier.channels.adapter import Outgoing, Receipt
from services.notifier.channels.email.adapter import EmailAdapter
from services.notifier.channels.email.smtp import SmtpChannel
from services.notifier.composing.composer import SAMPLE_RATES, EmailComposer
from services.notifier.composing.workers import ComposingWorkers
from services.notifier.dispatcher import Dispatcher
from services.notifier.reference_rates import RateBook
from services.notifier.settings import EmailSettings, NotifierSettings, SmtpSettings
from services.runtime.clock import SimulatedClock
from tests.integration.notifier.harness import Mailbox, Notifier
from tests.kafka_tools import unique
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration


class DuringTheFirstSend(EmailAdapter):
    """The real email adapter; while the first message is being handed to SMTP, ``meanwhile``
    runs with that message's Message-ID (the lane's other claims are being made then)."""

    meanwhile: Callable[[str], Awaitable[None]] | None = None
    sending: str | None = None

    async def send(self, outgoing: Outgoing) -> Receipt:
        if self.sending is None and self.meanwhile is not None:
            assert outgoing.tracking_id is not None
            self.sending = outgoing.tracking_id
            await self.meanwhile(outgoing.tracking_id)
        return await super().send(outgoing)


@pytest.fixture
async def notifier(
    pool: asyncpg.Pool, mailbox: tuple[Mailbox, int]
) -> AsyncIterator[tuple[Notifier, DuringTheFirstSend]]:
    settings = NotifierSettings(
        smtp=SmtpSettings(host="127.0.0.1", port=mailbox[1], security="none", timeout_s=5),
        email=EmailSettings(
            sender="relances@creditor.example", message_id_domain="creditor.example"
        ),
        dispatch_look_ahead=1,
    )
    composer = EmailComposer.load(settings, RateBook(SAMPLE_RATES))
    adapter = DuringTheFirstSend(composer, SmtpChannel(settings))
    topic = dataclasses.replace(NOTIFIER_DELIVERIES, name=unique(NOTIFIER_DELIVERIES.name))
    clock = SimulatedClock(samples.NOW)
    dispatcher = Dispatcher(
        pool,
        clock,
        settings,
        {"email": adapter},
        composer,
        topic=topic,
    )
    yield Notifier(pool, clock, dispatcher, topic.name), adapter
    if dispatcher.workers is not None:
        dispatcher.workers.close()


async def _claimed_ahead(notifier: Notifier, reminder_id: uuid.UUID) -> asyncpg.Record:
    """The delivery once it is claimed and composed (``sending``, its bytes recorded)."""
    for _ in range(500):
        row = await notifier.delivery(reminder_id)
        if row["status"] == "sending" and row["content"] is not None:
            return row
        await asyncio.sleep(0.02)
    raise AssertionError("the lane did not claim and compose the next delivery ahead")


def _other(message_id: str, *reminders: uuid.UUID) -> uuid.UUID:
    (other,) = (r for r in reminders if str(r) not in message_id)
    return other


async def test_a_delivery_composed_ahead_whose_invoice_is_paid_meanwhile_is_not_sent(
    notifier: tuple[Notifier, DuringTheFirstSend], mailbox: tuple[Mailbox, int]
) -> None:
    service, adapter = notifier
    box, _ = mailbox
    first, second = samples.reminder("INV-1"), samples.reminder("INV-2")
    await service.consume(
        samples.customer_upserted(), samples.reminder_due(first), samples.reminder_due(second)
    )
    composed_ahead: list[asyncpg.Record] = []

    async def paid_meanwhile(sending: str) -> None:
        # the other delivery is claimed and composed by the worker while this one is sent;
        # then its invoice is paid, before its own turn
        ahead = _other(sending, first.reminder_id, second.reminder_id)
        composed_ahead.append(await _claimed_ahead(service, ahead))
        number = "INV-1" if ahead == first.reminder_id else "INV-2"
        await service.consume(samples.invoice_settled(number))

    adapter.meanwhile = paid_meanwhile
    settings = service.dispatcher.settings.model_copy(update={"composing_nice": 5})
    workers = ComposingWorkers(settings, adapter.composer.rate_book, 1)
    service.dispatcher.workers = workers
    # sent; handed back by its final check; dropped by the next claim
    assert await service.dispatcher.dispatch_all() == 3
    (worker,) = workers.pids()  # composing below the service's CPU priority
    here = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, worker) == min(19, here + 5)

    (ahead,) = composed_ahead
    assert b"application/pdf" in ahead["content"]  # it had been composed, PDF and all
    assert len(box.received) == 1
    assert box.received[0][1]["Message-ID"].strip() == adapter.sending
    row = await service.delivery(ahead["reminder_id"])
    assert (row["status"], row["attempts"], row["last_error"]) == (
        "suppressed",
        0,
        "invoice_settled",
    )
    attempts = await service.pool.fetchval(
        "SELECT count(*) FROM delivery_attempts WHERE delivery_id = $1", row["delivery_id"]
    )
    assert attempts == 0  # its attempt was taken back, not consumed
    assert sorted(e["event_type"] for e in await service.published()) == [
        "delivery.sent",
        "delivery.suppressed",
    ]


async def test_a_delivery_whose_lease_ends_while_it_waits_its_turn_is_claimed_again(
    notifier: tuple[Notifier, DuringTheFirstSend], mailbox: tuple[Mailbox, int]
) -> None:
    service, adapter = notifier
    box, _ = mailbox
    reminders = [samples.reminder("INV-1"), samples.reminder("INV-2")]
    await service.consume(samples.customer_upserted(), *map(samples.reminder_due, reminders))
    settings = service.dispatcher.settings

    async def slow_send(sending: str) -> None:
        await _claimed_ahead(service, _other(sending, *(r.reminder_id for r in reminders)))
        # this send takes so long that the claim made ahead has less than its margin left
        left = settings.sending_lease_s - settings.sending_lease_margin_s
        service.clock.advance(timedelta(seconds=left + 1))

    adapter.meanwhile = slow_send
    # the first sent; the second handed back at its turn, claimed again with a new lease, sent
    assert await service.dispatcher.dispatch_all() == 3
    assert len(box.received) == 2
    ids = sorted(message["Message-ID"].strip() for _, message in box.received)
    assert len(set(ids)) == 2  # each reminder once
    rows = [await service.delivery(r.reminder_id) for r in reminders]
    assert [r["status"] for r in rows] == ["sent", "sent"]
    assert sorted(r["attempts"] for r in rows) == [1, 1]  # the attempt taken back


async def test_claims_made_ahead_by_a_lane_that_stalled_go_to_another_after_the_lease_once(
    notifier: tuple[Notifier, DuringTheFirstSend], mailbox: tuple[Mailbox, int]
) -> None:
    service, _ = notifier
    box, _ = mailbox
    reminders = [samples.reminder("INV-1"), samples.reminder("INV-2")]
    await service.consume(samples.customer_upserted(), *map(samples.reminder_due, reminders))
    stalled = service.dispatcher
    # a lane claims and composes two deliveries ahead, then stops (killed, or stalled)
    claims = [await stalled._claim(), await stalled._claim()]
    assert all(c.sending is not None for c in claims)
    another = dataclasses.replace(stalled, workers=None)  # another replica
    assert await another.dispatch_all() == 0  # leased: no one else sends them

    service.clock.advance(timedelta(seconds=stalled.settings.sending_lease_s))
    assert await another.dispatch_all() == 2  # after the lease, with the same Message-IDs
    sent_ids = sorted(str(m["Message-ID"]).strip() for _, m in box.received)
    assert sent_ids == sorted(str(c.sending.outgoing.tracking_id) for c in claims if c.sending)
    # the stalled lane's turns come: its final checks find the claims are not its own any more
    for claim in claims:
        await stalled.deliver(claim)
    assert len(box.received) == 2  # nothing sent twice
    rows = [await service.delivery(r.reminder_id) for r in reminders]
    assert [(r["status"], r["attempts"]) for r in rows] == [("sent", 2), ("sent", 2)]
