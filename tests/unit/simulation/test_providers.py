"""The loopback providers' accounting of what they received."""

from __future__ import annotations

import asyncio
import json
from email.message import EmailMessage
from pathlib import Path

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
