"""Interactive email: the personal link, the customer's page, and what they submit there."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest

from contracts.topics import DISPUTE_COMMANDS, NOTIFIER_DELIVERIES
from services.notifier.app import channel_adapters, portal_links
from services.notifier.channels.portal.page import Portal
from services.notifier.composing.composer import EmailComposer
from services.notifier.dispatcher import Dispatcher
from services.notifier.settings import NotifierSettings, PortalSettings, SmtpSettings
from services.runtime.clock import SimulatedClock
from tests.integration.notifier.harness import Mailbox, Notifier, free_port, serve
from tests.kafka_tools import unique
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration


@dataclasses.dataclass
class Site:
    base_url: str
    notifier: Notifier
    mailbox: Mailbox


@pytest.fixture
async def site(pool: asyncpg.Pool, mailbox: tuple[Mailbox, int]) -> AsyncIterator[Site]:
    port = free_port()
    settings = NotifierSettings(
        smtp=SmtpSettings(host="127.0.0.1", port=mailbox[1], security="none"),
        portal=PortalSettings(
            base_url=f"http://127.0.0.1:{port}", secret="a-long-enough-portal-secret", link_days=30
        ),
    )
    composer = EmailComposer.load(settings)
    clock = SimulatedClock(samples.NOW)
    topic = dataclasses.replace(NOTIFIER_DELIVERIES, name=unique(NOTIFIER_DELIVERIES.name))
    adapters = channel_adapters(settings, composer)
    assert adapters["interactive_email"].provider == "smtp"
    dispatcher = Dispatcher(pool, clock, settings, adapters, composer, topic=topic)
    links = portal_links(settings)
    assert links is not None
    server = await serve(Portal(pool, clock, composer, links).routes(), port=port)
    yield Site(
        settings.portal.base_url or "", Notifier(pool, clock, dispatcher, topic.name), mailbox[0]
    )
    await server.stop()


async def emailed_link(site: Site) -> str:
    due = samples.reminder("INV-1", "INV-2", channel="interactive_email", level="level_1")
    await site.notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    assert await site.notifier.dispatcher.dispatch_all() == 1
    ((_, message),) = site.mailbox.received
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    match = re.search(r"(http://\S+/portal/\S+)", text.get_content())
    assert match is not None
    assert f'href="{match.group(1)}"' in html.get_content()
    assert "valable jusqu'au 01/04/2026" in text.get_content()
    return match.group(1)


async def commands(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT value FROM outbox WHERE topic = $1 ORDER BY id", DISPUTE_COMMANDS.name
    )
    return [json.loads(r["value"]) for r in rows]


async def test_the_customer_promises_a_date_from_the_emailed_link(site: Site) -> None:
    link = await emailed_link(site)
    async with aiohttp.ClientSession() as http:
        async with http.get(link) as page:
            assert page.status == 200
            body = await page.text()
        assert "INV-1" in body
        assert "INV-2" in body
        promise = {"promised_date": "2026-03-20", "amount": "2400,00"}
        for _ in range(2):  # submitted twice: one promise
            async with http.post(f"{link}/promise", data=promise) as answer:
                assert answer.status == 200
                assert "votre date est enregistrée" in await answer.text()
        async with http.post(
            f"{link}/promise", data={"promised_date": "2027-12-01", "amount": "1"}
        ) as late:
            assert late.status == 422
    sent = await commands(site.notifier.pool)
    assert len(sent) == 2
    assert sent[0] == sent[1]
    payload = sent[0]["payload"]
    assert sent[0]["event_type"] == "promise.record"
    assert payload["channel"] == "portal"
    assert payload["invoice_ids"] == ["FR01/INV-1", "FR01/INV-2"]
    assert payload["amount"] == {"amount": "2400.00", "currency": "EUR"}


async def test_a_dispute_from_the_page_and_settled_invoices_left_out(site: Site) -> None:
    link = await emailed_link(site)
    await site.notifier.consume(samples.invoice_settled("INV-1"))
    async with aiohttp.ClientSession() as http:
        async with http.get(link) as page:
            body = await page.text()
        assert "INV-2" in body
        assert "INV-1" not in body
        form = {"invoice_id": "FR01/INV-2", "category": "quality", "text": "Colis abîmé"}
        async with http.post(f"{link}/dispute", data=form) as answer:
            assert answer.status == 200
        async with http.post(f"{link}/dispute", data={**form, "category": "weather"}) as bad:
            assert bad.status == 422
    (sent,) = await commands(site.notifier.pool)
    assert sent["event_type"] == "dispute.open"
    assert sent["payload"]["raised_by"] == "portal"
    assert sent["payload"]["invoice_ids"] == ["FR01/INV-2"]


async def test_a_changed_or_expired_link_is_refused(site: Site) -> None:
    link = await emailed_link(site)
    payload, _signature = link.rsplit("/", 1)[1].split(".")
    forged = link.replace(payload, payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB"))
    async with aiohttp.ClientSession() as http:
        async with http.get(forged) as answer:
            assert answer.status == 403
        site.notifier.clock.advance(timedelta(days=31))
        async with http.get(link) as answer:
            assert answer.status == 410
