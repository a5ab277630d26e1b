"""The loopback providers' accounting of what they received."""

from __future__ import annotations

import json
from pathlib import Path

from simulation.providers import (
    INTERNAL_ROLES,
    Email,
    LetterDrop,
    Providers,
    SmtpCollector,
    TwilioStandIn,
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
