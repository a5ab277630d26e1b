"""A dispute with documents: checked by content, stored in the document store, named in
the command, kept with the dispute by the disputes service."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest

from contracts import disputes
from contracts.topics import DISPUTE_COMMANDS
from services.disputes.app import DEFINITION as DISPUTES
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.database import create_pool
from services.runtime.settings import DatabaseSettings
from tests.integration.disputes.harness import Disputes
from tests.integration.portal.conftest import Site
from tests.kafka_tools import consume
from tests.unit.portal import samples

pytestmark = pytest.mark.integration

PDF = b"%PDF-1.7\n% bon de livraison 7\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
FORM = {"invoice": "FR01/F-2026-002", "category": "delivery", "message": "2 colis sur 3."}


@pytest.fixture
async def disputes_service(database_url: str) -> AsyncIterator[Disputes]:
    await migrations.apply_async(database_url, DISPUTES.schema, DISPUTES.migrations)
    pool = await create_pool(DatabaseSettings(url=database_url), DISPUTES.schema)
    service = Disputes(pool, SimulatedClock(samples.NOW))
    await service.feed([e for e in samples.account_events() if e.event_type.startswith("ledger.")])
    yield service
    await pool.close()


async def test_a_dispute_with_documents_stores_them_and_names_them(
    site: Site, disputes_service: Disputes
) -> None:
    files = [
        ("attachment", ("bon de livraison.pdf", PDF, "application/octet-stream")),
        ("attachment", ("C:\\photos\\colis.png", PNG, "image/png")),
    ]
    async with httpx.AsyncClient() as client:
        response = await client.post(site.account_url + "/dispute", data=FORM, files=files)
    assert response.status_code == 303, response.text
    (record,) = await consume(site.bootstrap, site.commands.name, expected=1)
    command = DISPUTE_COMMANDS.parse(record.value)
    assert isinstance(command, disputes.OpenDispute)
    attachments = command.payload.attachments
    assert [(a.file_name, a.media_type, a.size) for a in attachments] == [
        ("bon de livraison.pdf", "application/pdf", len(PDF)),
        ("colis.png", "image/png", len(PNG)),
    ]
    for attachment, body in zip(attachments, (PDF, PNG), strict=True):
        assert attachment.sha256 == hashlib.sha256(body).hexdigest()
        assert attachment.reference.startswith(
            f"disputes/{samples.CUSTOMER}/{command.payload.dispute_id}/"
        )
        assert site.documents.documents[attachment.reference] == body  # stored first
    await disputes_service.feed([command])
    (opened,) = await disputes_service.events()
    assert isinstance(opened, disputes.DisputeOpened)
    assert opened.payload.attachments == attachments
    kept = await disputes_service.pool.fetchval(
        "SELECT attachments FROM dispute WHERE dispute_id = $1", command.payload.dispute_id
    )
    assert [a["reference"] for a in kept] == [a.reference for a in attachments]


async def test_a_file_that_is_not_what_its_name_says_is_refused_and_nothing_sent(
    site: Site,
) -> None:
    html = b"<html><script>document.location='https://evil.example'</script></html>"
    files = [("attachment", ("facture.pdf", html, "application/pdf"))]
    async with httpx.AsyncClient() as client:
        response = await client.post(site.account_url + "/dispute", data=FORM, files=files)
        too_many = await client.post(
            site.account_url + "/dispute",
            data=FORM,
            files=[("attachment", (f"{n}.pdf", PDF, "application/pdf")) for n in range(5)],
        )
    assert response.status_code == 422
    assert "facture.pdf n&#39;est pas un fichier PDF, PNG ou JPEG." in response.text
    assert "2 colis sur 3." in response.text  # what was typed is kept
    assert too_many.status_code == 422
    assert "Joignez au plus 3 documents." in too_many.text
    assert site.documents.documents.keys() == {"FR01/2026/F-2026-002.pdf"}  # the copy only
    assert await site.outbox() == []
