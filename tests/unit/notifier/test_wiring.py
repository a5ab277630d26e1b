from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from contracts.topics import DISPUTE_EVENTS, DUNNING_ACTIONS, INTEREST_RATES, LEDGER_EVENTS
from services.notifier.app import DEFINITION, channel_adapters, customer_links
from services.notifier.channels.email.smtp import SmtpChannel
from services.notifier.composing.composer import EmailComposer
from services.notifier.rate_limit import ChannelRateLimiter
from services.notifier.settings import (
    Ar24Settings,
    LettersSettings,
    MailevaSettings,
    NotifierSettings,
    SmtpSettings,
    TwilioSettings,
)
from services.runtime.clock import SimulatedClock
from services.runtime.errors import ConfigurationError
from services.runtime.signed_links import SignedLinkSettings


def test_notifier_consumes_reminders_ledger_disputes_and_interest_rates() -> None:
    assert DEFINITION.schema == "notifier"
    assert [t.name for t in DEFINITION.consumes] == [
        t.name for t in (DUNNING_ACTIONS, LEDGER_EVENTS, DISPUTE_EVENTS, INTEREST_RATES)
    ]
    assert DEFINITION.migrations is not None
    assert sorted(p.name for p in DEFINITION.migrations.glob("*.sql")) == [
        "0001_deliveries.sql",
        "0002_call_tasks.sql",
        "0004_provider_documents.sql",
        "0005_notices.sql",
        "0006_channel_rates.sql",
        "0007_open_items.sql",
        "0008_lre_proofs.sql",
        "0009_send_time_controls.sql",
        "0010_holds.sql",
        "0011_reference_interest_rates.sql",
        "0012_plan_confirmations.sql",
        "0013_opted_out_recipients.sql",
        "0014_proposal_previews.sql",
        "0015_open_amount_history.sql",
        "0016_broken_commitments.sql",
        "0019_platform_references.sql",
        "0021_unconfirmed_payment_notices.sql",
        "0025_plan_refusal_notices.sql",
        "0027_contract_interest_rates.sql",
        "0030_owner_assignment_notices.sql",
    ]


def test_only_configured_channels_are_available(tmp_path: Path) -> None:
    bare = NotifierSettings()
    assert channel_adapters(bare, EmailComposer.load(bare)) == {}
    full = NotifierSettings(
        smtp=SmtpSettings(host="smtp.example"),
        twilio=TwilioSettings(
            account_sid="AC" + "0" * 32, auth_token="token", sms_from="+33100000000"
        ),
        letters=LettersSettings(drop_dir=tmp_path),
    )
    adapters = channel_adapters(full, EmailComposer.load(full))
    assert sorted(adapters) == ["email", "postal_letter", "registered_letter", "sms"]
    assert {a.provider for a in adapters.values()} == {"smtp", "twilio", "file_drop"}


def test_the_interactive_email_needs_smtp_and_the_portals_link_keys() -> None:
    clock = SimulatedClock(datetime(2026, 3, 2, tzinfo=UTC))
    key = SecretStr("k" * 32)
    smtp = SmtpSettings(host="smtp.example")
    for links in (
        SignedLinkSettings(),
        SignedLinkSettings(keys=(key,)),  # no RELANCE_LINKS_BASE_URL: nowhere to point
        SignedLinkSettings(base_url="https://portal.example"),
    ):
        settings = NotifierSettings(smtp=smtp, links=links)
        assert customer_links(settings, clock) is None
        assert "interactive_email" not in channel_adapters(settings, EmailComposer.load(settings))
    full = NotifierSettings(
        smtp=smtp, links=SignedLinkSettings(keys=(key,), base_url="https://portal.example")
    )
    adapters = channel_adapters(full, EmailComposer.load(full), customer_links(full, clock))
    assert adapters["interactive_email"].provider == "smtp"
    short = NotifierSettings(
        links=SignedLinkSettings(keys=(SecretStr("short"),), base_url="https://portal.example")
    )
    with pytest.raises(ConfigurationError, match="key 0 has fewer than 32"):
        customer_links(short, clock)


def test_maileva_sends_the_letters_once_fully_configured(tmp_path: Path) -> None:
    partial = NotifierSettings(
        letters=LettersSettings(drop_dir=tmp_path),
        maileva=MailevaSettings(api_url="https://api.example"),
    )
    adapters = channel_adapters(partial, EmailComposer.load(partial))
    assert adapters["registered_letter"].provider == "file_drop"
    maileva = partial.maileva.model_copy(
        update={
            "client_id": "client",
            "client_secret": SecretStr("secret"),
            "username": "user",
            "password": SecretStr("password"),
        }
    )
    full = partial.model_copy(update={"maileva": maileva})
    adapters = channel_adapters(full, EmailComposer.load(full))
    assert {adapters[c].provider for c in ("postal_letter", "registered_letter")} == {"maileva"}


def _with_ar24(settings: NotifierSettings, **ar24: object) -> NotifierSettings:
    return settings.model_copy(update={"ar24": settings.ar24.model_copy(update=ar24)})


def test_lre_is_available_once_ar24_is_fully_configured() -> None:
    partial = NotifierSettings(
        ar24=Ar24Settings(
            api_url="https://sandbox.ar24.fr/api",
            token=SecretStr("token"),
            private_key=SecretStr("private-key"),
        )
    )
    composer = EmailComposer.load(partial)
    assert "electronic_registered_letter" not in channel_adapters(partial, composer)
    sender = _with_ar24(partial, sender_user_id="1234")
    # eIDAS (the default) needs the sender's OTP key: not qualified means not available
    assert "electronic_registered_letter" not in channel_adapters(sender, composer)
    eidas = _with_ar24(sender, otp_secret=SecretStr("JBSWY3DPEHPK3PXP"))
    adapter = channel_adapters(eidas, composer)["electronic_registered_letter"]
    assert adapter.provider == "ar24"
    simple = _with_ar24(sender, eidas=False)
    assert channel_adapters(simple, composer)["electronic_registered_letter"].provider == "ar24"


async def test_rate_limiter_spaces_sends_per_channel() -> None:
    now = [100.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = ChannelRateLimiter({"sms": 4.0}, monotonic=lambda: now[0], sleep=sleep)
    waits = [await limiter.wait("sms") for _ in range(3)]
    assert waits == [0.0, 0.25, 0.25]
    assert await limiter.wait("email") == 0.0  # not limited
    now[0] += 10
    assert await limiter.wait("sms") == 0.0
    assert slept == [0.25, 0.25]


def test_smtp_channel_needs_a_host() -> None:
    settings = NotifierSettings()
    with pytest.raises(ValueError, match="no SMTP host"):
        SmtpChannel(settings)


def test_a_lease_must_outlast_the_margin_a_final_check_asks_of_it() -> None:
    assert NotifierSettings(sending_lease_s=300, sending_lease_margin_s=60).dispatch_look_ahead == 0
    with pytest.raises(ValueError, match="sending_lease_margin_s must be shorter"):
        NotifierSettings(sending_lease_s=60, sending_lease_margin_s=60)
