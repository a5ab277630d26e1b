"""Notices through a real SMTP server: every agreement (a promise on any channel, a payment
plan) confirmed in writing to the customer, a dispute's owner reminded at their role's
address with the manager copied."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from contracts import disputes
from contracts.money import PositiveMoney
from services.notifier.channels.email.smtp import SmtpChannel
from services.notifier.handler import handle
from services.notifier.notices import NoticeComposer, NoticeSender
from services.notifier.settings import NotifierSettings, SmtpSettings
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import UnitOfWork
from tests.integration.notifier.harness import Mailbox
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration


def _promise(channel: str) -> disputes.PromiseMade:
    return disputes.PromiseMade(
        event_id=uuid.uuid4(),
        occurred_at=samples.NOW,
        source="disputes",
        payload=disputes.Promise(
            promise_id=uuid.uuid4(),
            customer_id=samples.CUSTOMER,
            invoice_ids=("FR01/F1", "FR01/F2"),
            promised_date=date(2026, 12, 10),
            amount=PositiveMoney(amount=Decimal("1500.00"), currency="EUR"),
            channel=channel,
            recorded_by="anna@creditor.example",
        ),
    )


def _owner_reminder(firmness: str, escalated: bool) -> disputes.DisputeOwnerReminderDue:
    reminder_id = uuid.uuid4()
    return disputes.DisputeOwnerReminderDue(
        event_id=reminder_id,
        occurred_at=samples.NOW,
        source="disputes",
        payload=disputes.OwnerReminder(
            reminder_id=reminder_id,
            dispute_id=uuid.uuid4(),
            customer_id=samples.CUSTOMER,
            invoice_ids=("FR01/F1",),
            owner_role="order_administration",
            due_date=date(2026, 12, 9),
            firmness=firmness,
            escalated_to_manager=escalated,
        ),
    )


def _sender(pool: asyncpg.Pool, port: int, **extra: Any) -> NoticeSender:
    settings = NotifierSettings(
        smtp=SmtpSettings(host="127.0.0.1", port=port, security="none"), **extra
    )
    return NoticeSender(
        pool, SimulatedClock(samples.NOW), settings, NoticeComposer(settings), SmtpChannel(settings)
    )


async def _consume(pool: asyncpg.Pool, *events: object) -> None:
    async with pool.acquire() as connection, connection.transaction():
        await handle(UnitOfWork(connection, SimulatedClock(samples.NOW)), events)  # type: ignore[arg-type]


def _text(message: Any) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


async def test_every_promise_is_confirmed_in_writing_once_whatever_its_channel(
    pool: asyncpg.Pool, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    made = _promise("phone_call")
    others = [_promise(channel) for channel in ("email", "visit", "portal")]
    await _consume(pool, samples.customer_upserted(), made, made, *others)

    assert await _sender(pool, port).send_all() == 4

    texts = [" ".join(_text(m).split()) for _, m in box.received]
    for opening in (
        "Nous vous remercions de notre échange téléphonique. Comme convenu, vous",
        "Nous vous remercions de notre rencontre. Comme convenu, vous",
        "Nous avons bien reçu l'engagement pris sur notre page de paiement : vous",
        "Nous vous remercions de votre message. Comme convenu, vous",
    ):
        assert sum(opening in text for text in texts) == 1, opening
    # who it was made to, for an agreement made to a person (a call, a visit)
    assert sum("pris auprès de anna@creditor.example" in text for text in texts) == 2
    ((envelope, message),) = [(e, m) for e, m in box.received if "téléphonique" in _text(m)]
    assert envelope.rcpt_tos == ["compta@acme.example"]  # the billing contact
    assert "Confirmation de votre engagement de paiement" in message["Subject"]
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "1\u202f500,00\u00a0€" in text
    assert "10 décembre 2026" in text
    assert "FR01/F2" in text
    row = await pool.fetchrow("SELECT status, recipients FROM notices")
    assert row is not None
    assert (row["status"], row["recipients"]) == ("sent", ["compta@acme.example"])


async def test_a_payment_plan_is_confirmed_in_writing_with_its_instalments(
    pool: asyncpg.Pool, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    instalments = (
        disputes.Instalment(
            due_date=date(2026, 12, 15),
            amount=PositiveMoney(amount=Decimal("700.00"), currency="EUR"),
        ),
        disputes.Instalment(
            due_date=date(2027, 1, 15),
            amount=PositiveMoney(amount=Decimal("800.00"), currency="EUR"),
        ),
    )
    agreed = disputes.PaymentPlanAgreed(
        event_id=uuid.uuid4(),
        occurred_at=samples.NOW,
        source="disputes",
        payload=disputes.PaymentPlan(
            plan_id=uuid.uuid4(),
            customer_id=samples.CUSTOMER,
            invoice_ids=("FR01/F1",),
            agreed_on=date(2026, 12, 1),
            instalments=instalments,
            agreed_by="local:anna",
        ),
    )
    await _consume(pool, samples.customer_upserted(), agreed, agreed)

    assert await _sender(pool, port).send_all() == 1

    ((envelope, message),) = box.received
    assert envelope.rcpt_tos == ["compta@acme.example"]
    assert "Confirmation de votre échéancier de paiement" in message["Subject"]
    text = _text(message)
    assert "1\u202f500,00\u00a0€" in text  # the total
    assert "700,00\u00a0€ au plus tard le 15 décembre 2026" in text
    assert "800,00\u00a0€ au plus tard le 15 janvier 2027" in text
    assert "FR01/F1" in text


async def test_owner_reminders_go_to_the_role_and_copy_the_manager_when_escalated(
    pool: asyncpg.Pool, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    await _consume(
        pool,
        samples.customer_upserted(),
        _owner_reminder("gentle", False),
        _owner_reminder("urgent", True),
    )
    sender = _sender(
        pool,
        port,
        internal_addresses={
            "order_administration": "adv@creditor.example",
            "manager": "boss@creditor.example",
        },
    )

    assert await sender.send_all() == 2

    by_subject = {m["Subject"]: e.rcpt_tos for e, m in box.received}
    urgent = next(s for s in by_subject if s.startswith("URGENT"))
    gentle = next(s for s in by_subject if not s.startswith("URGENT"))
    assert by_subject[urgent] == ["adv@creditor.example", "boss@creditor.example"]
    assert by_subject[gentle] == ["adv@creditor.example"]
    assert "ACME <Industrie> SAS" in gentle


async def test_an_owner_reminder_without_an_address_fails_with_its_reason(
    pool: asyncpg.Pool, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    await _consume(pool, _owner_reminder("firm", False))
    assert await _sender(pool, port).send_all() == 1
    assert box.received == []
    row = await pool.fetchrow("SELECT status, error FROM notices")
    assert row is not None
    assert row["status"] == "failed"
    assert "no address for role order_administration" in row["error"]
