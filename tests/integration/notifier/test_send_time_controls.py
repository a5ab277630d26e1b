"""Send-time controls on real PostgreSQL and a real SMTP server: suspension, sending window,
send-time silence (promises, plans), the final check after the rate limit, statements that
never dun what is handled elsewhere, and no recovery indemnity for consumers."""

from __future__ import annotations

import dataclasses
import re
import uuid
import zlib
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any, TypeVar

import asyncpg
import pytest

from contracts import disputes, dunning, erp, ledger
from contracts.envelope import Event
from contracts.topics import NOTIFIER_DELIVERIES
from services.notifier.channels.email.adapter import EmailAdapter
from services.notifier.channels.email.smtp import SmtpChannel
from services.notifier.composing.composer import SAMPLE_RATES, EmailComposer
from services.notifier.dispatcher import Dispatcher
from services.notifier.notices import NoticeComposer, NoticeSender
from services.notifier.reference_rates import RateBook
from services.notifier.settings import EmailSettings, NotifierSettings, SmtpSettings
from services.runtime.clock import SimulatedClock
from tests.integration.notifier.harness import Mailbox, Notifier
from tests.kafka_tools import unique
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration

# samples.NOW is Monday 2 March 2026, 08:00 UTC: 09:00 in Paris, inside the window.
PARIS_23H = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)
TUESDAY_9H_PARIS = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)


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
    adapter = EmailAdapter(
        EmailComposer.load(settings, RateBook(SAMPLE_RATES)), SmtpChannel(settings)
    )
    dispatcher = Dispatcher(
        pool, clock, settings, {"email": adapter}, adapter.composer, topic=topic
    )
    return Notifier(pool, clock, dispatcher, topic.name)


E = TypeVar("E", bound=Event)


def _event(cls: type[E], payload: Any, at: datetime = samples.NOW) -> E:
    return cls.model_validate(
        {"event_id": uuid.uuid4(), "occurred_at": at, "source": "test", "payload": payload}
    )


def suspended(company: str | None, at: datetime = samples.NOW) -> dunning.SendingSuspended:
    return _event(
        dunning.SendingSuspended,
        dunning.Suspension(
            suspension_id=uuid.uuid5(uuid.NAMESPACE_URL, f"suspension/{company}"),
            company_code=company,
            by="alice@creditor.example",
            reason="ERP migration",
            at=at,
        ),
        at,
    )


def resumed(company: str | None, at: datetime) -> dunning.SendingResumed:
    return _event(
        dunning.SendingResumed,
        dunning.SuspensionLifted(
            suspension_id=uuid.uuid5(uuid.NAMESPACE_URL, f"suspension/{company}"),
            company_code=company,
            by="bob@creditor.example",
            at=at,
        ),
        at,
    )


def customer(
    *, customer_type: erp.CustomerType = "business", time_zone: str = "Europe/Paris"
) -> ledger.LedgerCustomerUpserted:
    base = samples.customer_upserted().payload
    return _event(
        ledger.LedgerCustomerUpserted,
        base.model_copy(
            update={
                "time_zone": time_zone,
                "country": "US" if time_zone.startswith("America") else "FR",
                "segment": erp.Segment(customer_type=customer_type),
            }
        ),
    )


def promise_made(number: str, promised: date = date(2026, 3, 15)) -> disputes.PromiseMade:
    return _event(
        disputes.PromiseMade,
        disputes.Promise(
            promise_id=uuid.uuid4(),
            customer_id=samples.CUSTOMER,
            invoice_ids=(f"FR01/{number}",),
            promised_date=promised,
            amount=samples.eur("700.00"),
            channel="email",
            recorded_by="collector@creditor.example",
        ),
    )


def plan_agreed(number: str) -> disputes.PaymentPlanAgreed:
    return _event(
        disputes.PaymentPlanAgreed,
        disputes.PaymentPlan(
            plan_id=uuid.uuid4(),
            customer_id=samples.CUSTOMER,
            invoice_ids=(f"FR01/{number}",),
            agreed_on=date(2026, 3, 1),
            instalments=(
                disputes.Instalment(due_date=date(2026, 3, 31), amount=samples.eur("350.00")),
                disputes.Instalment(due_date=date(2026, 4, 30), amount=samples.eur("350.00")),
            ),
            agreed_by="collector@creditor.example",
        ),
    )


def pdf_text(pdf: bytes) -> str:
    """The text drawn in an fpdf2 PDF: its content streams inflated, the strings of Tj."""
    chunks: list[str] = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue
        for line in re.findall(rb"\((.*?)\) ?Tj", content, re.S):
            chunks.append(line.replace(rb"\(", b"(").replace(rb"\)", b")").decode("latin-1"))
    return "\n".join(chunks)


def _parts(message: EmailMessage) -> tuple[str, str, str]:
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    (attachment,) = list(message.iter_attachments())
    return text, html, pdf_text(attachment.get_content())


async def _suppressions(notifier: Notifier) -> list[str]:
    return [
        e["payload"]["reason"]
        for e in await notifier.published()
        if e["event_type"] == "delivery.suppressed"
    ]


# 1. Suspension -------------------------------------------------------------------------------


async def test_suspension_holds_everything_and_resume_releases_without_a_burst(
    notifier: Notifier, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    first, second, paid = (samples.reminder(n) for n in ("INV-1", "INV-2", "INV-3"))
    await notifier.consume(samples.customer_upserted(), suspended("FR01"))
    await notifier.consume(*(samples.reminder_due(r) for r in (first, second, paid)))
    notifier.clock.set(samples.NOW + timedelta(hours=2))

    assert await notifier.dispatcher.dispatch_all() == 0  # held: not even claimed
    assert box.received == []
    for reminder in (first, second, paid):
        row = await notifier.delivery(reminder.reminder_id)
        assert (row["status"], row["attempts"]) == ("pending", 0)
    assert await notifier.pool.fetchval("SELECT count(*) FROM delivery_attempts") == 0

    await notifier.consume(samples.invoice_settled("INV-3"))  # paid while suspended
    resumed_at = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)  # 20:00 in Paris
    notifier.clock.set(resumed_at)
    await notifier.consume(resumed("FR01", resumed_at))

    times = sorted(
        [(await notifier.delivery(r.reminder_id))["next_attempt_at"] for r in (first, second)]
        + [(await notifier.delivery(paid.reminder_id))["next_attempt_at"]]
    )
    # one a day, each at 09:00 Paris (the window), at least 20 h apart: no burst
    assert times == [TUESDAY_9H_PARIS + timedelta(days=d) for d in range(3)]
    lifted = await notifier.pool.fetchrow("SELECT * FROM suspensions")
    assert lifted is not None
    assert (lifted["suspended_by"], lifted["lifted_by"], lifted["released"]) == (
        "alice@creditor.example",
        "bob@creditor.example",
        3,
    )

    assert await notifier.dispatcher.dispatch_all() == 0  # 20:00: nothing until 09:00
    for day in range(3):
        notifier.clock.set(TUESDAY_9H_PARIS + timedelta(days=day))
        assert await notifier.dispatcher.dispatch_all() == 1
    assert len(box.received) == 2  # the paid one was checked again and dropped
    assert await _suppressions(notifier) == ["invoice_settled"]


async def test_a_resume_at_8_in_paris_sends_at_9_not_at_once(
    notifier: Notifier, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    due = samples.reminder("INV-1")
    await notifier.consume(samples.customer_upserted(), suspended(None), samples.reminder_due(due))
    resumed_at = TUESDAY_9H_PARIS - timedelta(hours=1)  # 08:00 Paris
    notifier.clock.set(resumed_at)
    await notifier.consume(resumed(None, resumed_at))
    assert await notifier.dispatcher.dispatch_all() == 0
    assert box.received == []
    assert (await notifier.delivery(due.reminder_id))["next_attempt_at"] == TUESDAY_9H_PARIS
    notifier.clock.set(TUESDAY_9H_PARIS)
    assert await notifier.dispatcher.dispatch_all() == 1
    assert len(box.received) == 1


async def test_a_suspension_of_every_company_holds_and_another_company_does_not(
    notifier: Notifier, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    due = samples.reminder("INV-1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    await notifier.consume(suspended("DE01"))
    await notifier.consume(suspended(None))
    assert await notifier.dispatcher.dispatch_all() == 0
    await notifier.consume(resumed(None, samples.NOW))
    assert await notifier.dispatcher.dispatch_all() == 1  # DE01's suspension is not ours
    assert len(box.received) == 1


async def test_a_suspension_holds_a_retry(notifier: Notifier, mailbox: tuple[Mailbox, int]) -> None:
    box, _ = mailbox
    box.reply = "451 4.3.0 try again later"
    due = samples.reminder("INV-1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    assert await notifier.dispatcher.dispatch_all() == 1
    assert (await notifier.delivery(due.reminder_id))["status"] == "pending"  # a retry
    box.reply = None
    await notifier.consume(suspended("FR01"))
    notifier.clock.set(samples.NOW + timedelta(hours=3))
    assert await notifier.dispatcher.dispatch_all() == 0
    assert (await notifier.delivery(due.reminder_id))["attempts"] == 1
    assert box.received == []


async def test_a_promise_confirmation_is_held_while_suspended_and_sent_in_the_window(
    notifier: Notifier, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    settings = notifier.dispatcher.settings
    sender = NoticeSender(
        notifier.pool, notifier.clock, settings, NoticeComposer(settings), SmtpChannel(settings)
    )
    by_phone = promise_made("INV-1")
    by_phone = by_phone.model_copy(
        update={"payload": by_phone.payload.model_copy(update={"channel": "phone_call"})}
    )
    await notifier.consume(samples.customer_upserted(), suspended("FR01"), by_phone)
    assert await sender.send_all() == 0
    notifier.clock.set(PARIS_23H)
    await notifier.consume(resumed("FR01", PARIS_23H))
    assert await sender.send_all() == 1  # claimed at 23:00 Paris: waits for the window
    assert box.received == []
    notifier.clock.set(TUESDAY_9H_PARIS)
    assert await sender.send_all() == 1
    assert [m["To"] for _, m in box.received] == ["compta@acme.example"]


# 2. The sending window ------------------------------------------------------------------------


async def test_a_reminder_claimed_at_night_waits_for_the_window(
    notifier: Notifier, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    due = samples.reminder("INV-1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    notifier.clock.set(PARIS_23H)  # a restart at 23:00 Paris
    assert await notifier.dispatcher.dispatch_all() == 1
    assert box.received == []
    row = await notifier.delivery(due.reminder_id)
    assert (row["status"], row["attempts"], row["next_attempt_at"]) == (
        "pending",
        0,
        TUESDAY_9H_PARIS,
    )
    assert await notifier.published() == []  # not sent, not failed
    notifier.clock.set(TUESDAY_9H_PARIS)
    assert await notifier.dispatcher.dispatch_all() == 1
    assert len(box.received) == 1


async def test_the_window_is_the_customers_own_and_skips_the_weekend(
    notifier: Notifier, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    due = samples.reminder("INV-1")
    await notifier.consume(customer(time_zone="America/New_York"), samples.reminder_due(due))
    friday_19h_new_york = datetime(2026, 3, 6, 23, 30, tzinfo=UTC)
    notifier.clock.set(friday_19h_new_york)
    assert await notifier.dispatcher.dispatch_all() == 1
    row = await notifier.delivery(due.reminder_id)
    # Monday 9 March 09:00 in New York (EDT from 8 March: UTC-4)
    assert row["next_attempt_at"] == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)
    assert box.received == []


async def test_a_retry_whose_backoff_lands_at_night_waits_for_the_window(
    notifier: Notifier, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    box.reply = "451 4.3.0 try again later"
    due = samples.reminder("INV-1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    notifier.clock.set(datetime(2026, 3, 2, 16, 59, tzinfo=UTC))  # 17:59 Paris
    assert await notifier.dispatcher.dispatch_all() == 1
    box.reply = None
    notifier.clock.set(datetime(2026, 3, 2, 17, 30, tzinfo=UTC))  # backoff over: 18:30
    assert await notifier.dispatcher.dispatch_all() == 1
    assert box.received == []
    row = await notifier.delivery(due.reminder_id)
    assert (row["status"], row["attempts"], row["next_attempt_at"]) == (
        "pending",
        1,
        TUESDAY_9H_PARIS,
    )


# 4. Every reason to stay silent, and the final check after the rate limit ------------------


async def test_a_promise_or_a_plan_recorded_after_the_decision_pauses_the_reminder(
    notifier: Notifier, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    promised, planned, due = (samples.reminder(n) for n in ("INV-1", "INV-2", "INV-3"))
    await notifier.consume(
        samples.customer_upserted(),
        *(samples.reminder_due(r) for r in (promised, planned, due)),
        promise_made("INV-1"),
        plan_agreed("INV-2"),
    )
    assert await notifier.dispatcher.dispatch_all() == 3
    assert await _suppressions(notifier) == ["paused", "paused"]
    assert len(box.received) == 1


class OpensADisputeWhileWaiting:
    """A rate limiter whose wait lets a dispute arrive in the meantime (real consumer)."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self.waits = 0

    async def wait(self, channel: str) -> float:
        self.waits += 1
        if self.waits == 1:
            await self.notifier.consume(samples.dispute_opened("INV-1"))
        return 0.0


async def test_the_final_check_after_the_rate_limit_catches_a_late_dispute(
    notifier: Notifier, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    notifier.dispatcher.limiter = OpensADisputeWhileWaiting(notifier)
    due = samples.reminder("INV-1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    assert await notifier.dispatcher.dispatch_all() == 2  # handed back, then suppressed
    assert box.received == []
    row = await notifier.delivery(due.reminder_id)
    assert (row["status"], row["attempts"], row["last_error"]) == (
        "suppressed",
        0,
        "invoice_disputed",
    )
    assert await notifier.pool.fetchval("SELECT count(*) FROM delivery_attempts") == 0
    assert await _suppressions(notifier) == ["invoice_disputed"]


# 3. Statements never dun what is handled elsewhere ------------------------------------------


async def test_the_statement_marks_disputed_promised_and_planned_invoices_and_leaves_them_out(
    notifier: Notifier, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    await notifier.consume(
        samples.customer_upserted(),
        *(samples.invoice_opened(n, "1000.00") for n in ("INV-1", "INV-2", "INV-3", "INV-4")),
        _event(
            disputes.DisputeOpened,
            samples.dispute_opened("INV-2").payload,
            datetime(2026, 2, 18, 10, 0, tzinfo=UTC),
        ),
        promise_made("INV-3"),
        plan_agreed("INV-4"),
    )
    await notifier.consume(samples.reminder_due(samples.reminder("INV-1", "INV-2")))
    assert await notifier.dispatcher.dispatch_all() == 1
    text, html, pdf = _parts(box.received[0][1])

    assert "INV-2" not in text
    assert "INV-2" not in html
    assert "Total restant dû : 700,00\xa0€" in text
    assert "40,00\xa0€ pour 1 facture(s)" in text
    # the PDF shows the others for completeness, marked, out of the totals
    assert "INV-2: en litige depuis le 18 février 2026, non compris dans le total" in pdf
    assert "INV-3: paiement promis pour le 15 mars 2026, non compris dans le total" in pdf
    assert "INV-4: dans un échéancier de paiement, non compris dans le total" in pdf
    lines = pdf.replace("\xa0", " ").splitlines()
    total = lines.index("Total", lines.index("INV-4"))
    assert lines[total + 1 : total + 3] == ["700,00 EUR", "6,99 EUR"]  # INV-1 alone
    assert lines[lines.index("INV-2") + 4] == "-"  # no interest on a disputed invoice
    assert "40,00 EUR (1 facture(s))" in pdf.replace("\xa0", " ")


# 5. Consumers never owe the fixed recovery indemnity -----------------------------------------


async def test_a_consumer_is_never_charged_the_recovery_indemnity(
    notifier: Notifier, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    await notifier.consume(
        customer(customer_type="consumer"),
        samples.invoice_opened("INV-1"),
        samples.invoice_opened("INV-2"),
    )
    await notifier.consume(samples.reminder_due(samples.reminder("INV-1", include_penalties=True)))
    assert await notifier.dispatcher.dispatch_all() == 1
    text, html, pdf = _parts(box.received[0][1])
    for part in (text, html, pdf):
        assert "indemnité forfaitaire" not in part.lower()
        assert "40 EUR" not in part
        assert "40,00" not in part
    # French law has no statutory rate against a consumer (only a contract rate): none
    assert "12,15 %" not in text
    assert "pénalités de retard" not in text
