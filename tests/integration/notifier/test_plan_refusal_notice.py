"""A payment plan the customer proposed and that was refused (with its reason) or lapsed is
told to the customer by email, under the same send-time controls as the agreements'
confirmations: held while the company is suspended, sent in the customer's window, once."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from contracts import disputes
from services.notifier.channels.email.smtp import SmtpChannel
from services.notifier.notices import NoticeComposer, NoticeSender
from tests.integration.notifier.harness import Mailbox, Notifier
from tests.integration.notifier.test_send_time_controls import (
    PARIS_23H,
    TUESDAY_9H_PARIS,
    notifier,  # noqa: F401 (fixture)
    resumed,
    suspended,
)
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration


def refused(reason: str, expired: bool = False) -> disputes.PaymentPlanRefused:
    return disputes.PaymentPlanRefused(
        event_id=uuid.uuid4(),
        occurred_at=samples.NOW,
        source="disputes",
        payload=disputes.RefusedPaymentPlan(
            proposal_id=uuid.uuid4(),
            customer_id=samples.CUSTOMER,
            company_code="FR01",
            invoice_ids=("FR01/INV-1",),
            refused_on=date(2026, 3, 2),
            by="disputes" if expired else "local:marie",
            reason=reason,
            expired=expired,
        ),
    )


def _text(message: object) -> str:
    body = message.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
    assert body is not None
    return " ".join(str(body.get_content()).split())


async def test_a_refused_plan_is_emailed_with_its_reason_under_the_send_time_controls(
    notifier: Notifier,  # noqa: F811
    mailbox: tuple[Mailbox, int],
) -> None:
    box, _ = mailbox
    settings = notifier.dispatcher.settings
    sender = NoticeSender(
        notifier.pool, notifier.clock, settings, NoticeComposer(settings), SmtpChannel(settings)
    )
    no = refused("Trois échéances au plus pour ce montant.")
    lapsed = refused("expired", expired=True)
    await notifier.consume(samples.customer_upserted(), suspended("FR01"), no, no, lapsed)
    assert await sender.send_all() == 0  # held while suspended
    notifier.clock.set(PARIS_23H)
    await notifier.consume(resumed("FR01", PARIS_23H))
    assert await sender.send_all() == 2  # claimed at 23:00 Paris: both wait for the window
    assert box.received == []
    notifier.clock.set(TUESDAY_9H_PARIS)
    assert await sender.send_all() == 2
    assert [m["To"] for _, m in box.received] == ["compta@acme.example"] * 2
    texts = sorted(_text(m) for _, m in box.received)
    refusal = next(t for t in texts if "pour la raison suivante" in t)
    assert "Trois échéances au plus pour ce montant." in refusal
    assert "FR01/INV-1" in refusal
    expired = next(t for t in texts if "examiné à temps" in t)
    assert "expired" not in expired  # a lapse states no reason of its own
    assert all("Votre proposition d'échéancier" in m["Subject"] for _, m in box.received)
