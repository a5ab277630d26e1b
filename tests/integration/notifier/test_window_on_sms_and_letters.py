"""The sending window holds for an SMS and for a fallback letter (loopback Twilio, print room)."""

from __future__ import annotations

import pytest

from services.notifier.settings import NotifierSettings
from tests.integration.notifier.harness import Notifier
from tests.integration.notifier.test_send_time_controls import PARIS_23H, TUESDAY_9H_PARIS
from tests.integration.notifier.test_sms_and_letters import (  # noqa: F401 (fixtures)
    TwilioStandIn,
    notifier,
    settings,
    twilio,
)
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration


async def test_an_sms_and_a_fallback_letter_claimed_at_night_wait_for_the_window(
    notifier: Notifier,  # noqa: F811
    settings: NotifierSettings,  # noqa: F811
    twilio: TwilioStandIn,  # noqa: F811
) -> None:
    sms = samples.reminder("INV-1", channel="sms", role="accounting", level="level_1")
    letter = samples.reminder("INV-1", channel="registered_letter", level="formal_notice")
    await notifier.consume(
        samples.customer_upserted(), samples.reminder_due(sms), samples.reminder_due(letter)
    )
    notifier.clock.set(PARIS_23H)
    assert await notifier.dispatcher.dispatch_all() == 2
    assert twilio.requests == []
    assert settings.letters.drop_dir is not None
    assert not list(settings.letters.drop_dir.glob("*.pdf"))
    for reminder in (sms, letter):
        row = await notifier.delivery(reminder.reminder_id)
        assert (row["status"], row["next_attempt_at"]) == ("pending", TUESDAY_9H_PARIS)
    notifier.clock.set(TUESDAY_9H_PARIS)
    assert await notifier.dispatcher.dispatch_all() == 2
    assert len(twilio.requests) == 1
    assert len(list(settings.letters.drop_dir.glob("*.pdf"))) == 1
