"""An opt-out is per recipient: a delivery goes to the recipients who did not opt out (an
SMS, sent to one number, to the role's next number),
leaves the others out (recorded on the delivery), and is suppressed only when nobody is
left; the final check before the provider call refuses a message to anyone who opted out
since the claim."""

from __future__ import annotations

import dataclasses

import asyncpg
import pytest

from contracts import erp, ledger
from contracts.topics import NOTIFIER_DELIVERIES
from services.notifier import queries
from services.notifier.channels.email.adapter import EmailAdapter
from services.notifier.channels.email.smtp import SmtpChannel
from services.notifier.composing.composer import SAMPLE_RATES, EmailComposer
from services.notifier.dispatcher import Dispatcher
from services.notifier.reference_rates import RateBook
from services.notifier.settings import EmailSettings, NotifierSettings, SmtpSettings
from services.runtime.clock import SimulatedClock
from tests.integration.notifier.harness import Mailbox, Notifier
from tests.integration.notifier.test_sms_and_letters import (  # noqa: F401 (fixtures)
    TwilioStandIn,
    notifier,
    settings,
    twilio,
)
from tests.kafka_tools import unique
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration

FIRST = "+33612345678"
SECOND = "+33698765432"


def two_phones() -> ledger.LedgerCustomerUpserted:
    """The sample customer with two accounting contacts, each with a mobile number."""
    event = samples.customer_upserted()
    contacts = (
        *event.payload.contacts,
        erp.Contact(role="accounting", name="Léa Roux", phone=SECOND),
    )
    return event.model_copy(
        update={"payload": event.payload.model_copy(update={"contacts": contacts})}
    )


async def opt_out(pool: asyncpg.Pool, address: str) -> None:
    await pool.execute(queries.RECORD_OPT_OUT, address, "sms_stop", samples.NOW)


async def test_an_sms_goes_to_a_number_that_did_not_opt_out(
    notifier: Notifier,  # noqa: F811
    pool: asyncpg.Pool,
    twilio: TwilioStandIn,  # noqa: F811
) -> None:
    await opt_out(pool, FIRST)
    due = samples.reminder("INV-1", channel="sms", role="accounting", level="level_1")
    await notifier.consume(two_phones(), samples.reminder_due(due))

    assert await notifier.dispatcher.dispatch_all() == 1

    assert [form["To"] for _, form, _ in twilio.requests] == [SECOND]
    row = await notifier.delivery(due.reminder_id)
    assert row["status"] == "sent"
    assert list(row["recipients"]) == [SECOND]
    assert list(row["opted_out_recipients"]) == [FIRST]
    (event,) = await notifier.published()
    assert event["event_type"] == "delivery.sent"


async def test_an_sms_whose_every_number_opted_out_is_suppressed(
    notifier: Notifier,  # noqa: F811
    pool: asyncpg.Pool,
    twilio: TwilioStandIn,  # noqa: F811
) -> None:
    await opt_out(pool, FIRST)
    await opt_out(pool, SECOND)
    due = samples.reminder("INV-1", channel="sms", role="accounting", level="level_1")
    await notifier.consume(two_phones(), samples.reminder_due(due))

    assert await notifier.dispatcher.dispatch_all() == 1

    assert twilio.requests == []
    row = await notifier.delivery(due.reminder_id)
    assert (row["status"], row["last_error"]) == ("suppressed", "opted_out")


async def test_a_stop_between_the_claim_and_the_send_is_honoured(
    notifier: Notifier,  # noqa: F811
    pool: asyncpg.Pool,
    twilio: TwilioStandIn,  # noqa: F811
) -> None:
    due = samples.reminder("INV-1", channel="sms", role="accounting", level="level_1")
    await notifier.consume(two_phones(), samples.reminder_due(due))
    claim = await notifier.dispatcher._claim()
    assert claim.sending is not None
    assert claim.sending.outgoing.recipients == (FIRST,)  # an SMS goes to one number

    await opt_out(pool, FIRST)  # who texts STOP meanwhile
    assert claim.place is not None
    assert not await notifier.dispatcher.final_check(claim.sending, claim.place)
    assert twilio.requests == []

    assert await notifier.dispatcher.dispatch_all() == 1  # claimed again, without FIRST
    assert [form["To"] for _, form, _ in twilio.requests] == [SECOND]
    row = await notifier.delivery(due.reminder_id)
    assert (row["status"], list(row["opted_out_recipients"])) == ("sent", [FIRST])


@pytest.fixture
def email_notifier(pool: asyncpg.Pool, mailbox: tuple[Mailbox, int]) -> Notifier:
    configured = NotifierSettings(
        smtp=SmtpSettings(host="127.0.0.1", port=mailbox[1], security="none", timeout_s=5),
        email=EmailSettings(
            sender="relances@creditor.example", message_id_domain="creditor.example"
        ),
    )
    clock = SimulatedClock(samples.NOW)
    topic = dataclasses.replace(NOTIFIER_DELIVERIES, name=unique(NOTIFIER_DELIVERIES.name))
    adapter = EmailAdapter(
        EmailComposer.load(configured, RateBook(SAMPLE_RATES)), SmtpChannel(configured)
    )
    dispatcher = Dispatcher(
        pool, clock, configured, {"email": adapter}, adapter.composer, topic=topic
    )
    return Notifier(pool, clock, dispatcher, topic.name)


async def test_an_email_leaves_out_a_copy_that_opted_out(
    email_notifier: Notifier, pool: asyncpg.Pool, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    await opt_out(pool, "achats@acme.example")
    due = samples.reminder("INV-1")  # level 2: the buyer is copied
    await email_notifier.consume(samples.customer_upserted(), samples.reminder_due(due))

    assert await email_notifier.dispatcher.dispatch_all() == 1

    ((envelope, message),) = box.received
    assert envelope.rcpt_tos == ["compta@acme.example"]
    assert message["To"] == "compta@acme.example"
    assert message["Cc"] is None
    row = await email_notifier.delivery(due.reminder_id)
    assert (row["status"], list(row["opted_out_recipients"])) == ("sent", ["achats@acme.example"])


async def test_an_email_whose_addressee_opted_out_is_not_sent_to_the_copies_alone(
    email_notifier: Notifier, pool: asyncpg.Pool, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    await opt_out(pool, "compta@acme.example")
    due = samples.reminder("INV-1")  # to billing, the buyer copied
    await email_notifier.consume(samples.customer_upserted(), samples.reminder_due(due))

    assert await email_notifier.dispatcher.dispatch_all() == 1

    assert box.received == []
    row = await email_notifier.delivery(due.reminder_id)
    assert (row["status"], row["last_error"]) == ("suppressed", "opted_out")
