"""Interactive email: the reminder's email carries the customer's signed link to the portal.

The notifier only mints the link (``services.runtime.signed_links``); the page behind it is
the portal's, tested in tests/integration/portal/. Here the link is checked the way the
portal checks it: a ``CustomerLinks`` of its own with the same keys.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import asyncpg
import pytest
from pydantic import SecretStr

from contracts.dunning import Reminder
from contracts.topics import NOTIFIER_DELIVERIES
from services.notifier.app import channel_adapters, customer_links
from services.notifier.composing.composer import EmailComposer
from services.notifier.dispatcher import Dispatcher
from services.notifier.settings import NotifierSettings, SmtpSettings
from services.runtime.clock import SimulatedClock
from services.runtime.signed_links import (
    CustomerLinks,
    LinkExpired,
    LinkTampered,
    SignedLinkSettings,
)
from tests.integration.notifier.harness import Mailbox, Notifier
from tests.kafka_tools import unique
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration

PORTAL = "https://portal.example/customers"
OLD_KEY = "an-older-key-still-accepted-by-the-portal-0001"
KEY = "the-newest-key-that-signs-customer-links-0002"


@dataclasses.dataclass
class Site:
    notifier: Notifier
    mailbox: Mailbox
    clock: SimulatedClock

    def portal_links(self, *keys: str) -> CustomerLinks:
        """What the portal verifies links with: the shared keys, its own instance."""
        return CustomerLinks(
            SignedLinkSettings(keys=tuple(SecretStr(k) for k in keys), valid_days=30),
            self.clock,
        )


@pytest.fixture
async def site(pool: asyncpg.Pool, mailbox: tuple[Mailbox, int]) -> Site:
    settings = NotifierSettings(
        smtp=SmtpSettings(host="127.0.0.1", port=mailbox[1], security="none"),
        links=SignedLinkSettings(
            keys=(SecretStr(OLD_KEY), SecretStr(KEY)), base_url=PORTAL + "/", valid_days=30
        ),
    )
    composer = EmailComposer.load(settings)
    clock = SimulatedClock(samples.NOW)
    topic = dataclasses.replace(NOTIFIER_DELIVERIES, name=unique(NOTIFIER_DELIVERIES.name))
    adapters = channel_adapters(settings, composer, customer_links(settings, clock))
    assert adapters["interactive_email"].provider == "smtp"
    dispatcher = Dispatcher(pool, clock, settings, adapters, composer, topic=topic)
    return Site(Notifier(pool, clock, dispatcher, topic.name), mailbox[0], clock)


async def emailed_link(site: Site, due: Reminder) -> str:
    await site.notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    assert await site.notifier.dispatcher.dispatch_all() == 1
    (_, message) = site.mailbox.received[-1]
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    match = re.search(r"(https://\S+/portal/\S+)", text.get_content())
    assert match is not None
    assert f'href="{match.group(1)}"' in html.get_content()
    assert "valable jusqu'au 1 avril 2026" in text.get_content()  # 30 days from 2 March
    return match.group(1)


def interactive(*numbers: str) -> Reminder:
    return samples.reminder(*numbers, channel="interactive_email", level="level_1")


async def test_the_email_links_to_the_customers_account_on_the_portal(site: Site) -> None:
    link = await emailed_link(site, interactive("INV-1", "INV-2"))
    base, token = link.rsplit("/portal/", 1)
    assert base == PORTAL  # RELANCE_LINKS_BASE_URL, trailing slash or not
    checked = site.portal_links(OLD_KEY, KEY).check(token)
    assert (checked.customer_id, checked.company_code) == (samples.CUSTOMER, "FR01")
    assert checked.signed_at == samples.NOW
    # signed with the newest key: a portal that dropped the older one still accepts it
    assert site.portal_links(KEY).check(token) == checked
    with pytest.raises(LinkTampered):
        site.portal_links(OLD_KEY).check(token)


async def test_one_link_per_customer_and_company_whatever_the_reminder(site: Site) -> None:
    first = await emailed_link(site, interactive("INV-1"))
    second = await emailed_link(site, interactive("INV-3"))
    assert first == second  # names no reminder: both lead to the same account
    other = interactive("INV-4").model_copy(update={"company_code": "BE01"})
    await site.notifier.consume(samples.reminder_due(other))
    assert await site.notifier.dispatcher.dispatch_all() == 1
    (_, message) = site.mailbox.received[-1]
    body = message.get_body(("plain",))
    assert body is not None
    match = re.search(r"/portal/(\S+)", body.get_content())
    assert match is not None
    checked = site.portal_links(KEY).check(match.group(1))
    assert checked.company_code == "BE01"  # the reminder's invoicing company


async def test_the_portal_refuses_the_link_once_expired_or_changed(site: Site) -> None:
    token = (await emailed_link(site, interactive("INV-1"))).rsplit("/", 1)[1]
    portal = site.portal_links(OLD_KEY, KEY)
    changed = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    with pytest.raises(LinkTampered):
        portal.check(changed)
    site.clock.advance(timedelta(days=29, hours=23))
    assert portal.check(token).customer_id == samples.CUSTOMER
    site.clock.advance(timedelta(days=1, hours=2))
    with pytest.raises(LinkExpired) as expired:
        portal.check(token)
    assert (expired.value.customer_id, expired.value.company_code) == (samples.CUSTOMER, "FR01")
