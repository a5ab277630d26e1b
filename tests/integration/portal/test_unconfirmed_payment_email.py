"""The account's owners are emailed when a payment announced on the portal does not become an
ERP payment: real PostgreSQL and Kafka (the portal's commands read back from Kafka), the
disputes service and the scheduler on one clock, the notifier's consumer and its notices
sent to a loopback SMTP server. The email says which invoices, how much, announced when and
by which provider."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from aiosmtpd.controller import Controller

from contracts import disputes
from contracts.topics import DISPUTE_COMMANDS
from services.notifier.app import DEFINITION as NOTIFIER
from services.notifier.channels.email.smtp import SmtpChannel
from services.notifier.handler import handle
from services.notifier.notices import NoticeComposer, NoticeSender
from services.notifier.settings import NotifierSettings, SmtpSettings
from services.runtime import migrations
from services.runtime.consumer import UnitOfWork
from services.runtime.database import create_pool
from services.runtime.settings import DatabaseSettings
from tests.integration.disputes.harness import Timeline
from tests.integration.notifier.harness import Mailbox, free_port
from tests.integration.portal.conftest import Site
from tests.integration.portal.test_announced_payments import PAID, _paid_by_card
from tests.integration.portal.test_announced_payments import timeline as timeline
from tests.integration.portal.test_direct_debits import a_fulfilled_debit, webhook_url
from tests.kafka_tools import consume
from tests.unit.notifier.conftest import companies_file  # noqa: F401 (autouse fixture)
from tests.unit.portal import samples

pytestmark = pytest.mark.integration

ADDRESSES = {
    "collector": "recouvrement@creditor.example",
    "accounting_team": "compta@creditor.example",
}


@pytest.fixture
async def notifier(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    await migrations.apply_async(database_url, NOTIFIER.schema, NOTIFIER.migrations)
    pool = await create_pool(DatabaseSettings(url=database_url), NOTIFIER.schema)
    yield pool
    await pool.close()


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


async def _notify(pool: asyncpg.Pool, timeline: Timeline, port: int) -> int:
    """The disputes service's events through the notifier's consumer, then its notices."""
    async with pool.acquire() as connection, connection.transaction():
        events = [samples.customer(), *await timeline.disputes.events()]
        await handle(UnitOfWork(connection, timeline.clock), events)
    settings = NotifierSettings(
        smtp=SmtpSettings(host="127.0.0.1", port=port, security="none"),
        internal_addresses=ADDRESSES,
    )
    sender = NoticeSender(
        pool, timeline.clock, settings, NoticeComposer(settings), SmtpChannel(settings)
    )
    return await sender.send_all()


def _alerts(box: Mailbox) -> list[tuple[Any, str, str]]:
    """(envelope, subject, plain text) of each email to the collectors."""
    found = []
    for envelope, message in box.received:
        if ADDRESSES["collector"] in envelope.rcpt_tos:
            body = message.get_body(preferencelist=("plain",))
            assert body is not None
            subject = " ".join(str(message["Subject"]).split())
            found.append((envelope, subject, " ".join(body.get_content().split())))
    return found


async def test_a_card_payment_the_erp_never_confirms_is_emailed_to_the_account_owners(
    site: Site, timeline: Timeline, notifier: asyncpg.Pool, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    command = await _paid_by_card(site)
    await timeline.command(command)
    timeline.clock.set(samples.NOW + timedelta(days=4, hours=1))  # the wait (3 days) is over
    await timeline.disputes.timers.run_until_idle()
    assert await _notify(notifier, timeline, port) >= 1

    ((envelope, subject, text),) = _alerts(box)
    assert envelope.rcpt_tos == [ADDRESSES["collector"], ADDRESSES["accounting_team"]]
    assert subject == "Paiement non confirmé par l'ERP : 1 180,00 € de Ateliers <Dupont> & Fils"
    assert "Le 2 mars 2026, Stripe (paiement cs_test_standin0001) a annoncé un paiement" in text
    assert "du client Ateliers <Dupont> & Fils (C-2001)" in text
    for invoice in PAID:
        assert f"- {invoice}" in text
    assert "L'ERP ne l'a pas enregistré à temps : 0,00 € reçus" in text
    # a second pass sends nothing more
    assert await _notify(notifier, timeline, port) == 0
    assert len(_alerts(box)) == 1


async def test_a_failed_direct_debit_is_emailed_with_what_the_bank_said(
    site: Site, timeline: Timeline, notifier: asyncpg.Pool, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    async with httpx.AsyncClient() as client:
        request_id = await a_fulfilled_debit(site, client)
        for action in ("submitted", "failed"):
            details = {"cause": "insufficient_funds"} if action == "failed" else {}
            body, headers = site.gocardless.webhook(
                site.gocardless.event("payments", action, request_id, **details)
            )
            assert (await client.post(webhook_url(site), content=body, headers=headers)).is_success
    records = await consume(site.bootstrap, site.commands.name, expected=2)
    for record in records:
        await timeline.command(DISPUTE_COMMANDS.parse(record.value))
    assert any(isinstance(e, disputes.PromiseBroken) for e in await timeline.disputes.events())
    assert await _notify(notifier, timeline, port) >= 1

    ((_, subject, text),) = _alerts(box)
    assert subject == "Paiement échoué : 1 180,00 € de Ateliers <Dupont> & Fils"
    assert "GoCardless (paiement PM000STANDIN001) a annoncé un paiement" in text
    assert "GoCardless l'a ensuite signalé en échec (failed: insufficient_funds)" in text
