"""The documents a customer attached to a dispute, served back to the dispute's owner
behind a link scoped to that dispute: listed on the owner's page, downloaded with their
type, as attachments, never sniffed; never another dispute's document, never through a
customer's link (real PostgreSQL and Kafka, the loopback document server)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from contracts import disputes
from contracts.topics import DISPUTE_COMMANDS
from services.disputes.app import DEFINITION as DISPUTES
from services.portal.owner_links import DisputeLinks
from services.portal.owner_pages import content_disposition
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.database import create_pool
from services.runtime.settings import DatabaseSettings
from tests.integration.disputes.harness import Disputes
from tests.integration.portal.conftest import Site, feed
from tests.kafka_tools import consume
from tests.unit.portal import samples

pytestmark = pytest.mark.integration

PDF = b"%PDF-1.7\n% bon de livraison 7\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
OTHER_PDF = b"%PDF-1.7\n% photo of another dispute\n%%EOF\n"


@pytest.fixture
async def disputes_service(database_url: str) -> AsyncIterator[Disputes]:
    await migrations.apply_async(database_url, DISPUTES.schema, DISPUTES.migrations)
    pool = await create_pool(DatabaseSettings(url=database_url), DISPUTES.schema)
    service = Disputes(pool, SimulatedClock(samples.NOW))
    await service.feed([e for e in samples.account_events() if e.event_type.startswith("ledger.")])
    yield service
    await pool.close()


async def _opened(
    site: Site,
    disputes_service: Disputes,
    invoice: str,
    files: list[tuple[str, bytes]],
    sent_before: int = 0,
) -> disputes.DisputeOpened:
    """A dispute opened on the customer's page with documents, through to the portal's
    read model as the disputes service publishes it."""
    form = {"invoice": invoice, "category": "delivery", "message": "2 colis sur 3."}
    attached = [("attachment", (name, body, "application/octet-stream")) for name, body in files]
    async with httpx.AsyncClient() as client:
        response = await client.post(site.account_url + "/dispute", data=form, files=attached)
    assert response.status_code == 303, response.text
    records = await consume(site.bootstrap, site.commands.name, expected=sent_before + 1)
    command = DISPUTE_COMMANDS.parse(records[-1].value)
    await disputes_service.feed([command])
    opened = (await disputes_service.events())[-1]
    assert isinstance(opened, disputes.DisputeOpened)
    await feed(site.pool, site.clock, [opened])
    return opened


async def test_the_owner_lists_and_downloads_the_customers_documents_and_no_others(
    site: Site, disputes_service: Disputes
) -> None:
    first = await _opened(
        site,
        disputes_service,
        "FR01/F-2026-002",
        [("bon de livraison.pdf", PDF), ("colis.png", PNG)],
    )
    second = await _opened(
        site, disputes_service, "FR01/F-2026-001", [("autre.pdf", OTHER_PDF)], sent_before=1
    )
    links = DisputeLinks(site.settings.links, site.clock)
    owner = f"{site.base_url}/portal/dispute/{links.token(first.payload.dispute_id)}"
    other = f"{site.base_url}/portal/dispute/{links.token(second.payload.dispute_id)}"
    async with httpx.AsyncClient(headers={"accept-language": "fr"}) as client:
        page = await client.get(owner)
        pdf = await client.get(owner + "/attachments/1")
        png = await client.get(owner + "/attachments/2")
        beyond = await client.get(owner + "/attachments/3")  # the second dispute has a 1st
        forged = await client.get(owner + "/attachments/..%2F..%2F1")
        theirs = await client.get(other + "/attachments/1")
        as_customer = await client.get(
            f"{site.base_url}/portal/dispute/{site.links.token(samples.CUSTOMER, samples.COMPANY)}"
        )
        tampered = await client.get(owner[:-3] + "abc/attachments/1")
        unknown = await client.get(
            f"{site.base_url}/portal/dispute/{links.token(uuid.uuid4())}/attachments/1"
        )
    assert page.status_code == 200
    assert "Documents joints par le client" in page.text
    assert "bon de livraison.pdf" in page.text
    assert "colis.png" in page.text
    assert "autre.pdf" not in page.text
    assert "2 colis sur 3." in page.text
    assert page.headers["referrer-policy"] == "no-referrer"

    assert pdf.status_code == 200
    assert pdf.content == PDF
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith(
        'attachment; filename="bon-de-livraison.pdf"'
    )
    assert pdf.headers["x-content-type-options"] == "nosniff"
    assert png.content == PNG
    assert png.headers["content-type"] == "image/png"
    assert theirs.content == OTHER_PDF  # the second dispute's own link reaches its own

    assert beyond.status_code == 404
    assert OTHER_PDF not in beyond.content
    assert forged.status_code == 404
    assert as_customer.status_code == 403  # a customer's link opens no dispute
    assert tampered.status_code == 403
    assert unknown.status_code == 404


def test_a_name_as_sent_never_breaks_the_header() -> None:
    header = content_disposition('facture "mars"\r\nX-Evil: 1.pdf', 1)
    assert "\r" not in header
    assert "\n" not in header
    assert header.startswith('attachment; filename="facture-mars-X-Evil-1.pdf"; filename*=')
