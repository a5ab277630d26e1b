"""Invoice copies: the customer downloads their own invoice's copy, and nothing else."""

from __future__ import annotations

import hashlib
from datetime import date

import httpx
import pytest

from services.portal import metrics
from services.portal.documents import DocumentStoreSettings, HttpDocumentServer, S3DocumentStore
from services.portal.errors import DocumentMissing, DocumentStoreFailed
from services.runtime.health import HealthState, HttpServer, build_app
from tests.integration.portal import document_standin as standin
from tests.integration.portal.conftest import Site, feed
from tests.unit.portal import samples

pytestmark = pytest.mark.integration


def _refused() -> float:
    return float(metrics.COPIES.labels("portal", "refused")._value.get())


async def test_the_customer_downloads_the_copy_of_their_invoice(site: Site) -> None:
    async with httpx.AsyncClient() as client:
        page = await client.get(site.account_url)
        assert "/copy/FR01/F-2026-002" in page.text
        assert page.text.count("/copy/") == 1  # only the invoice whose copy the ERP named
        response = await client.get(site.account_url + "/copy/FR01/F-2026-002")
    assert response.status_code == 200
    assert response.content == samples.COPY_OF_002
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'attachment; filename="F-2026-002.pdf"'
    assert response.headers["referrer-policy"] == "no-referrer"
    assert site.documents.served == 1


async def test_another_customers_or_a_forged_invoice_is_404_and_counted(site: Site) -> None:
    await feed(
        site.pool,
        site.clock,
        [
            samples.erp_invoice(
                "F-2026-777",
                "90.00",
                date(2026, 3, 31),
                reference="FR01/2026/F-2026-777.pdf",
                customer_id="C-9999",
            )
        ],
    )
    site.documents.documents["FR01/2026/F-2026-777.pdf"] = b"%PDF another customer's"
    before = _refused()
    async with httpx.AsyncClient() as client:
        other = await client.get(site.account_url + "/copy/FR01/F-2026-777")
        forged = await client.get(site.account_url + "/copy/FR01/..%2F..%2Fetc%2Fpasswd")
        no_copy = await client.get(site.account_url + "/copy/FR01/F-2026-001")
    for response in (other, forged, no_copy):
        assert response.status_code == 404
        assert "Copie indisponible" in response.text
        assert b"PDF" not in response.content
    assert site.documents.served == 0
    assert _refused() == before + 3


async def test_a_copy_that_does_not_match_the_erps_digest_is_not_served(site: Site) -> None:
    site.documents.documents["FR01/2026/F-2026-002.pdf"] = b"%PDF-1.7 altered"
    async with httpx.AsyncClient() as client:
        response = await client.get(site.account_url + "/copy/FR01/F-2026-002")
    assert response.status_code == 502
    assert b"altered" not in response.content


async def test_a_newer_invoice_version_without_a_copy_removes_the_link(site: Site) -> None:
    await feed(
        site.pool,
        site.clock,
        [samples.erp_invoice("F-2026-002", "480.00", date(2026, 3, 31), reference=None, version=2)],
    )
    async with httpx.AsyncClient() as client:
        page = await client.get(site.account_url)
        response = await client.get(site.account_url + "/copy/FR01/F-2026-002")
    assert "/copy/" not in page.text
    assert response.status_code == 404


async def test_the_object_storage_adapter_reads_a_signed_get_object() -> None:
    s3 = standin.S3StandIn()
    body = b"%PDF-1.7 from the bucket"
    s3.objects["FR01/2026/F-1.pdf"] = body
    server = HttpServer(build_app(HealthState("s3"), [s3.routes()]), "127.0.0.1", 0)
    await server.start()
    try:
        settings = DocumentStoreSettings(
            kind="s3",
            s3_endpoint_url=f"http://127.0.0.1:{server.port}",
            s3_region=standin.REGION,
            s3_bucket=standin.BUCKET,
            s3_access_key_id=standin.ACCESS_KEY,
            s3_secret_access_key=standin.SECRET_KEY,
        )
        store = S3DocumentStore(settings)
        assert await store.fetch("FR01/2026/F-1.pdf") == body
        assert hashlib.sha256(body).hexdigest()  # what the portal then compares
        with pytest.raises(DocumentMissing):
            await store.fetch("FR01/2026/absent.pdf")
        wrong = S3DocumentStore(
            settings.model_copy(update={"s3_access_key_id": settings.s3_secret_access_key})
        )
        with pytest.raises(DocumentStoreFailed, match="SignatureDoesNotMatch"):
            await wrong.fetch("FR01/2026/F-1.pdf")
        assert s3.served == 1
    finally:
        await server.stop()


async def test_a_document_server_refusing_the_token_is_a_page_and_the_token_never_shown(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    from pydantic import SecretStr

    store = site.pages.documents
    assert isinstance(store, HttpDocumentServer)
    store.token = SecretStr("a-token-the-server-does-not-know")
    async with httpx.AsyncClient() as client:
        response = await client.get(site.account_url + "/copy/FR01/F-2026-002")
    assert response.status_code == 502
    assert "Copie indisponible" in response.text
    assert "answered 401" in caplog.text
    assert "a-token-the-server-does-not-know" not in caplog.text + response.text
