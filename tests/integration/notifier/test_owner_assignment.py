"""A dispute's owner is told at once when a dispute opens for them, through a real SMTP
server: once however often the event is delivered, again when it is reopened, at night and
while the customer's company is suspended (an internal email obeys neither control), with
the invoices' amounts and the signed link to the dispute's page."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import pytest

from contracts import disputes, dunning
from services.notifier.channels.email.smtp import SmtpChannel
from services.notifier.handler import handle
from services.notifier.notices import NoticeComposer, NoticeSender
from services.notifier.settings import NotifierSettings, SmtpSettings
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import UnitOfWork
from services.runtime.signed_links import DisputeLinks, SignedLinkSettings
from tests.integration.notifier.harness import Mailbox
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration

PARIS_3H = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)  # a Tuesday, 03:00 in Paris
LINKS = SignedLinkSettings(keys=("k" * 40,), base_url="https://portal.example.com")


def _suspended() -> dunning.SendingSuspended:
    return dunning.SendingSuspended(
        event_id=uuid.uuid4(),
        occurred_at=samples.NOW,
        source="console",
        payload=dunning.Suspension(
            suspension_id=uuid.uuid4(),
            company_code="FR01",
            by="alice@creditor.example",
            reason="ERP migration",
            at=samples.NOW,
        ),
    )


def _reopened(opened: disputes.DisputeOpened) -> disputes.DisputeReopened:
    return disputes.DisputeReopened(
        event_id=uuid.uuid4(),
        occurred_at=samples.NOW,
        source="disputes",
        payload=disputes.ReopenedDispute(
            dispute_id=opened.payload.dispute_id,
            customer_id=samples.CUSTOMER,
            invoice_ids=opened.payload.invoice_ids,
            owner_role="sales",
            owner="paul@creditor.example",
            due_date=date(2026, 3, 27),
            by="local:anna",
            reason="The credit note never came.",
        ),
    )


async def _consume(pool: asyncpg.Pool, *events: object) -> None:
    async with pool.acquire() as connection, connection.transaction():
        await handle(UnitOfWork(connection, SimulatedClock(samples.NOW)), events)  # type: ignore[arg-type]


def _text(message: Any) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


async def test_the_owner_is_told_once_at_once_and_again_when_reopened(
    pool: asyncpg.Pool, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    opened = samples.dispute_opened("INV-1")
    await _consume(
        pool, samples.customer_upserted(), samples.invoice_opened("INV-1"), _suspended(), opened
    )
    await _consume(pool, opened)  # redelivered
    clock = SimulatedClock(PARIS_3H)
    settings = NotifierSettings(
        smtp=SmtpSettings(host="127.0.0.1", port=port, security="none"),
        internal_addresses={"sales": "sales@creditor.example"},
    )
    links = DisputeLinks(LINKS, clock)
    sender = NoticeSender(
        pool, clock, settings, NoticeComposer(settings, owner_links=links), SmtpChannel(settings)
    )

    assert await sender.send_all() == 1

    ((envelope, message),) = box.received
    assert envelope.rcpt_tos == ["sales@creditor.example"]
    assert message["Subject"].startswith("Nouveau litige : client ACME <Industrie> SAS")
    text = _text(message)
    assert "Un litige (prix) a été ouvert par le client" in text
    assert "The price is wrong" in text
    assert "20 mars 2026" in text
    assert "- FR01/INV-1 : 1\u202f200,00\u00a0€ ouverts sur 1\u202f200,00\u00a0€" in text
    line = next(x for x in text.splitlines() if "/portal/dispute/" in x)
    assert links.check(line.strip().rsplit("/", 1)[1]) == opened.payload.dispute_id

    reopened = _reopened(opened)
    await _consume(pool, reopened, reopened)
    assert await sender.send_all() == 1
    assert [e.rcpt_tos for e, _ in box.received[1:]] == [["paul@creditor.example"]]
    assert "a été rouvert par local:anna" in _text(box.received[1][1])
    rows = await pool.fetch("SELECT kind, status FROM notices ORDER BY created_at")
    assert [(r["kind"], r["status"]) for r in rows] == [("owner_assignment", "sent")] * 2


async def test_without_an_address_the_notice_fails_with_its_reason(
    pool: asyncpg.Pool, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    await _consume(pool, samples.dispute_opened("INV-1"))
    settings = NotifierSettings(smtp=SmtpSettings(host="127.0.0.1", port=port, security="none"))
    sender = NoticeSender(
        pool,
        SimulatedClock(samples.NOW),
        settings,
        NoticeComposer(settings),
        SmtpChannel(settings),
    )
    assert await sender.send_all() == 1
    assert box.received == []
    row = await pool.fetchrow("SELECT status, error FROM notices")
    assert row is not None
    assert row["status"] == "failed"
    assert "no address for role sales" in row["error"]
