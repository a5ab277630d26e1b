"""The loopback providers' accounting of what they received."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
from aiosmtpd.smtp import SMTP, Envelope, Session

from simulation.providers import (
    INTERNAL_ROLES,
    Email,
    LetterDrop,
    Providers,
    SmtpCollector,
    TwilioStandIn,
    _Handler,
)

MONDAY = datetime(2026, 1, 5, 15, tzinfo=UTC)
TUESDAY = datetime(2026, 1, 6, 15, tzinfo=UTC)


def test_notices_are_counted_apart_from_reminders() -> None:
    smtp = SmtpCollector()
    smtp.received.extend(
        [
            Email("<r1-email@relance>", ("billing@c1.example",), "Relance"),
            Email("<r1-email@relance>", ("billing@c1.example",), "Relance"),  # a duplicate
            Email("<notice-7@relance>", ("sales@creditor.example",), "Litige"),
        ]
    )
    assert smtp.count() == 2
    assert smtp.notice_count() == 1
    assert dict(smtp.message_ids()) == {"<r1-email@relance>": 2}


def test_emails_name_their_notice_or_reminder_and_keep_the_simulated_instant() -> None:
    notice = Email("<notice-5b3c@relance.example>", ("a@b.example",), "Promesse")
    reminder = Email("<reminder-9f1e.email@relance.example>", ("a@b.example",), "Relance")
    assert notice.notice_id == "5b3c"
    assert notice.reminder_key is None
    assert reminder.reminder_key == ("9f1e", "email")
    assert reminder.notice_id is None
    smtp = SmtpCollector()
    smtp.received.extend([notice, notice, reminder])
    assert smtp.notice_ids() == {"5b3c"}


def test_letters_are_stamped_when_first_seen(tmp_path: Path) -> None:
    drop = LetterDrop(tmp_path)
    (tmp_path / "reminder-1-postal_letter.json").write_text('{"customer_id": "C1"}')
    drop.stamp(MONDAY)
    (tmp_path / "reminder-2-postal_letter.json").write_text('{"customer_id": "C2"}')
    drop.stamp(TUESDAY)
    assert [(m["customer_id"], at) for m, at in drop.stamped()] == [
        ("C1", MONDAY),
        ("C2", TUESDAY),
    ]


async def test_a_folded_message_id_is_read_whole() -> None:
    smtp = SmtpCollector(clock=lambda: MONDAY)
    smtp.start()
    try:
        message = EmailMessage()
        message["From"] = "relance@creditor.example"
        message["To"] = "billing@c1.example"
        message["Subject"] = "Relance"
        message["Message-ID"] = (
            "<reminder-97ba67f8-4e5a-531b-969b-0632ed50aa1f.email@relance.invalid>"
        )
        message.set_content("Bonjour")
        await aiosmtplib.send(message, hostname="127.0.0.1", port=smtp.port)
    finally:
        smtp.stop()
    [email] = smtp.emails()
    assert email.reminder_key == ("97ba67f8-4e5a-531b-969b-0632ed50aa1f", "email")
    assert email.received_at == MONDAY


async def test_the_whole_message_of_a_watched_reminder_is_kept() -> None:
    smtp = SmtpCollector(clock=lambda: MONDAY)
    smtp.watched.add("97ba67f8-4e5a-531b-969b-0632ed50aa1f")
    smtp.start()
    try:
        for reminder in (
            "97ba67f8-4e5a-531b-969b-0632ed50aa1f",
            "0e7c1b7e-0000-4000-8000-000000000001",
        ):
            message = EmailMessage()
            message["From"] = "relance@creditor.example"
            message["To"] = "billing@c1.example"
            message["Subject"] = "Relance"
            message["Message-ID"] = f"<reminder-{reminder}.email@relance.invalid>"
            message.set_content(f"Bonjour {reminder}")
            await aiosmtplib.send(message, hostname="127.0.0.1", port=smtp.port)
    finally:
        smtp.stop()
    assert len(smtp.emails()) == 2
    assert list(smtp.kept) == ["97ba67f8-4e5a-531b-969b-0632ed50aa1f"]
    assert b"Bonjour 97ba67f8" in smtp.kept["97ba67f8-4e5a-531b-969b-0632ed50aa1f"]


def test_every_internal_role_has_an_address(tmp_path: Path) -> None:
    providers = Providers(SmtpCollector(port=2525), TwilioStandIn(port=8099), LetterDrop(tmp_path))
    addresses = json.loads(providers.notifier_environment()["RELANCE_NOTIFIER_INTERNAL_ADDRESSES"])
    assert set(addresses) == set(INTERNAL_ROLES)
    assert "sales" in addresses
    assert addresses["order_administration"] == "order-administration@creditor.example"


async def test_the_newest_interactive_emails_are_kept_for_their_portal_link() -> None:
    smtp = SmtpCollector()
    handler = _Handler(smtp)
    link = (
        "http://127.0.0.1:43975/portal/" + "eyJjIjoiQy0xMDAxIiwiZSI6IkZSMDEifQ.Z1x9aQ." + "k" * 60
    )
    bodies = (
        f"Réglez en ligne :\n{link}\n(lien personnel, valable jusqu'au 01/04/2026)\n",
        "Une relance sans lien.\n",
    )
    for number, body in enumerate(bodies):
        message = EmailMessage()
        message["From"] = "relances@creditor.example"
        message["To"] = "billing@c1.example"
        message["Message-ID"] = f"<r{number}-email@relance>"
        message.set_content(body)  # quoted-printable: the long link is wrapped
        message.add_alternative(f"<p>{body}</p>", subtype="html")
        envelope = Envelope()
        envelope.content = message.as_bytes()
        envelope.rcpt_tos = ["billing@c1.example"]
        assert await handler.handle_DATA(
            SMTP(handler), Session(loop=asyncio.get_running_loop()), envelope
        ) == ("250 OK queued")
    assert smtp.count() == 2
    assert len(smtp.interactive) == 1
    assert smtp.portal_links() == [link]
