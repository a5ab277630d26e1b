"""A letter and an SMS never present as due an invoice handled elsewhere (real PostgreSQL,
the print-room drop and a loopback Twilio)."""

from __future__ import annotations

import asyncpg
import pytest

from services.notifier.settings import NotifierSettings
from tests.integration.notifier.harness import Notifier
from tests.integration.notifier.test_send_time_controls import plan_agreed
from tests.integration.notifier.test_sms_and_letters import (  # noqa: F401 (fixtures)
    TwilioStandIn,
    notifier,
    settings,
    twilio,
)
from tests.unit.notifier import samples
from tests.unit.notifier.pdf_text import page_text

pytestmark = pytest.mark.integration


async def test_a_letter_marks_a_disputed_invoice_and_leaves_it_out_of_the_totals(
    notifier: Notifier,  # noqa: F811
    settings: NotifierSettings,  # noqa: F811
    pool: asyncpg.Pool,
) -> None:
    due = samples.reminder("INV-1", channel="registered_letter", level="formal_notice")
    await notifier.consume(
        samples.customer_upserted(),
        samples.invoice_opened("INV-1"),
        samples.invoice_opened("INV-2", "5000.00"),
        samples.dispute_opened("INV-2"),
        samples.reminder_due(due),
    )
    assert await notifier.dispatcher.dispatch_all() == 1
    assert settings.letters.drop_dir is not None
    pdf = settings.letters.drop_dir / f"reminder-{due.reminder_id}-registered_letter.pdf"
    text = page_text(pdf.read_bytes()).replace("\xa0", " ")  # the letter's own font
    assert "INV-2: en litige depuis le 2 mars 2026, non compris dans le total" in text
    lines = text.splitlines()
    total = lines.index("Total", lines.index("INV-2"))
    assert lines[total + 1] == "700,00 €"  # INV-1 alone, as the reminder states it
    assert "5 700,00 €" not in text
    assert "40,00 € (1 facture(s))" in text


async def test_an_sms_states_only_what_is_still_due(
    notifier: Notifier,  # noqa: F811
    twilio: TwilioStandIn,  # noqa: F811
) -> None:
    due = samples.reminder("INV-1", "INV-2", channel="sms", role="accounting", level="level_1")
    await notifier.consume(
        samples.customer_upserted(), samples.reminder_due(due), plan_agreed("INV-2")
    )
    assert await notifier.dispatcher.dispatch_all() == 1
    ((_, form, _),) = twilio.requests
    body = " ".join(form["Body"].replace("\xa0", " ").replace("\u202f", " ").split())
    assert "Reste dû : 700,00 €." in body  # INV-1 alone, not 1 400,00
    row = await notifier.delivery(due.reminder_id)
    assert list(row["invoice_ids"]) == ["FR01/INV-1"]
