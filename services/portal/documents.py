"""The document store: where the ERP keeps invoice copies, read by reference.

Two adapters behind two methods, :meth:`DocumentStore.fetch` (invoice copies) and
:meth:`DocumentStore.store` (documents customers attach to disputes):

- :class:`HttpDocumentServer`: the ERP's document server, ``GET`` and ``PUT
  {base_url}/{reference}`` with a bearer token;
- :class:`S3DocumentStore`: S3-compatible object storage (AWS S3, MinIO, Ceph, Scaleway...),
  ``GetObject`` and ``PutObject`` on one bucket through aiobotocore, requests signed with
  SigV4.

Both read at most ``max_bytes`` (a larger copy is refused, never truncated) and translate
their client's errors into :class:`DocumentMissing` (the store has no such copy) and
:class:`DocumentStoreFailed` (the store did not answer as expected). What they fetched is
checked by :func:`services.portal.domain.documents.check_copy` before it is served.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol
from urllib.parse import quote

import httpx
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.portal.errors import DocumentMissing, DocumentStoreFailed


class DocumentStoreSettings(BaseSettings):
    """The document store (``RELANCE_DOCUMENTS_*``); ``kind=none``: no invoice copies."""

    model_config = SettingsConfigDict(env_prefix="RELANCE_DOCUMENTS_", extra="ignore")

    kind: Literal["none", "http", "s3"] = Field(
        default="none", description="The ERP's document server (http), object storage (s3)."
    )
    base_url: str | None = Field(default=None, description="The document server's address.")
    token: SecretStr | None = Field(default=None, description="The document server's token.")
    s3_endpoint_url: str | None = Field(
        default=None, description="An S3-compatible endpoint; none: AWS's for the region."
    )
    s3_region: str = "eu-west-3"
    s3_bucket: str | None = None
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    timeout_s: float = Field(default=10.0, gt=0)
    max_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1024, description="Larger copies are refused."
    )

    @model_validator(mode="after")
    def _complete(self) -> DocumentStoreSettings:
        if self.kind == "http" and (self.base_url is None or self.token is None):
            raise ValueError(
                "RELANCE_DOCUMENTS_KIND=http needs RELANCE_DOCUMENTS_BASE_URL and "
                "RELANCE_DOCUMENTS_TOKEN"
            )
        if self.kind == "s3" and (
            self.s3_bucket is None
            or self.s3_access_key_id is None
            or self.s3_secret_access_key is None
        ):
            raise ValueError(
                "RELANCE_DOCUMENTS_KIND=s3 needs RELANCE_DOCUMENTS_S3_BUCKET, "
                "RELANCE_DOCUMENTS_S3_ACCESS_KEY_ID and RELANCE_DOCUMENTS_S3_SECRET_ACCESS_KEY"
            )
        return self


class DocumentStore(Protocol):
    async def fetch(self, reference: str) -> bytes:
        """The copy's bytes; :class:`DocumentMissing` or :class:`DocumentStoreFailed`."""
        ...

    async def store(self, reference: str, body: bytes, media_type: str) -> None:
        """Keeps ``body`` under ``reference``; :class:`DocumentStoreFailed`."""
        ...


class HttpDocumentServer:
    """The ERP's document server: ``GET {base_url}/{reference}``, bearer token."""

    def __init__(self, settings: DocumentStoreSettings) -> None:
        assert settings.base_url is not None
        assert settings.token is not None
        self.base_url = settings.base_url.rstrip("/")
        self.token = settings.token
        self.timeout_s = settings.timeout_s
        self.max_bytes = settings.max_bytes

    def _url(self, reference: str) -> str:
        return f"{self.base_url}/{quote(reference.lstrip('/'), safe='/')}"

    async def store(self, reference: str, body: bytes, media_type: str) -> None:
        headers = {
            "Authorization": f"Bearer {self.token.get_secret_value()}",
            "Content-Type": media_type,
        }
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.put(self._url(reference), content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DocumentStoreFailed(
                f"the document server did not answer: {type(exc).__name__}"
            ) from exc
        if response.status_code not in (200, 201, 204):
            raise DocumentStoreFailed(
                f"the document server answered {response.status_code} storing {reference}"
            )

    async def fetch(self, reference: str) -> bytes:
        url = self._url(reference)
        headers = {"Authorization": f"Bearer {self.token.get_secret_value()}"}
        try:
            async with (
                httpx.AsyncClient(timeout=self.timeout_s) as client,
                client.stream("GET", url, headers=headers) as response,
            ):
                if response.status_code == 404:
                    raise DocumentMissing(reference)
                if response.status_code != 200:
                    raise DocumentStoreFailed(
                        f"the document server answered {response.status_code} for {reference}"
                    )
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > self.max_bytes:
                        raise DocumentStoreFailed(
                            f"{reference} is larger than {self.max_bytes} bytes"
                        )
                return bytes(body)
        except httpx.HTTPError as exc:
            raise DocumentStoreFailed(
                f"the document server did not answer: {type(exc).__name__}"
            ) from exc


class S3DocumentStore:
    """S3-compatible object storage: ``GetObject`` of ``reference`` in one bucket."""

    def __init__(self, settings: DocumentStoreSettings) -> None:
        assert settings.s3_bucket is not None
        assert settings.s3_access_key_id is not None
        assert settings.s3_secret_access_key is not None
        self.settings = settings
        self.bucket = settings.s3_bucket

    def _client(self) -> Any:
        # imported here: botocore loads its service models, which only this adapter needs
        from aiobotocore.config import AioConfig
        from aiobotocore.session import get_session

        s = self.settings
        assert s.s3_access_key_id is not None
        assert s.s3_secret_access_key is not None
        config = AioConfig(
            connect_timeout=s.timeout_s,
            read_timeout=s.timeout_s,
            retries={"max_attempts": 2, "mode": "standard"},
            s3={"addressing_style": "path"},
        )
        return get_session().create_client(
            "s3",
            region_name=s.s3_region,
            endpoint_url=s.s3_endpoint_url,
            aws_access_key_id=s.s3_access_key_id.get_secret_value(),
            aws_secret_access_key=s.s3_secret_access_key.get_secret_value(),
            config=config,
        )

    async def store(self, reference: str, body: bytes, media_type: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            async with self._client() as client:
                await client.put_object(
                    Bucket=self.bucket, Key=reference, Body=body, ContentType=media_type
                )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise DocumentStoreFailed(f"the object storage refused {reference}: {code}") from exc
        except BotoCoreError as exc:
            raise DocumentStoreFailed(
                f"the object storage did not answer: {type(exc).__name__}"
            ) from exc

    async def fetch(self, reference: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        s = self.settings
        try:
            async with self._client() as client:
                answer: dict[str, Any] = await client.get_object(Bucket=self.bucket, Key=reference)
                if int(answer.get("ContentLength") or 0) > s.max_bytes:
                    raise DocumentStoreFailed(f"{reference} is larger than {s.max_bytes} bytes")
                async with answer["Body"] as stream:
                    body: bytes = await stream.read()
                if len(body) > s.max_bytes:
                    raise DocumentStoreFailed(f"{reference} is larger than {s.max_bytes} bytes")
                return body
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise DocumentMissing(reference) from exc
            raise DocumentStoreFailed(f"the object storage refused {reference}: {code}") from exc
        except BotoCoreError as exc:
            raise DocumentStoreFailed(
                f"the object storage did not answer: {type(exc).__name__}"
            ) from exc


def document_store(settings: DocumentStoreSettings) -> DocumentStore | None:
    """The configured store, or None when the portal offers no copies."""
    if settings.kind == "http":
        return HttpDocumentServer(settings)
    if settings.kind == "s3":
        return S3DocumentStore(settings)
    return None
