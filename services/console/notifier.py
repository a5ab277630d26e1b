"""The notifier, as the console reads it: proposals' renderings, byte for byte.

``GET {RELANCE_CONSOLE_NOTIFIER_URL}/proposals/{id}/{version}`` with the console's machine
key (``X-API-Key``); the notifier answers the exact bytes it would hand the provider, their
media type and their SHA-256 (``X-Content-SHA256``). The console checks the digest against
the one ``notifier.proposal.rendered`` announced, so that what the collector approves is
what was previewed. The console checks the reader's portfolio itself before asking; the
machine key sees every customer. Every failure is a :class:`PreviewUnavailable` with why.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from services.console.errors import PreviewUnavailable
from services.console.settings import ConsoleSettings

MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Rendering:
    media_type: str
    content: bytes
    digest: str


class NotifierPreviews:
    """Fetches renderings from the notifier's preview route."""

    def __init__(self, settings: ConsoleSettings, client: httpx.AsyncClient | None = None):
        self.base_url = (settings.notifier_url or "").rstrip("/")
        self.key = settings.notifier_api_key
        self.timeout_s = settings.notifier_timeout_s
        self.client = client

    @property
    def configured(self) -> bool:
        return bool(self.base_url)

    async def fetch(self, proposal_id: UUID, version: int, digest: str | None) -> Rendering:
        if not self.configured:
            raise PreviewUnavailable("no notifier address (RELANCE_CONSOLE_NOTIFIER_URL)")
        url = f"{self.base_url}/proposals/{proposal_id}/{version}"
        headers = {"X-API-Key": self.key.get_secret_value()} if self.key else {}
        try:
            if self.client is not None:
                response = await self.client.get(url, headers=headers, timeout=self.timeout_s)
            else:
                async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                    response = await client.get(url, headers=headers)
        except httpx.HTTPError as exc:
            raise PreviewUnavailable(f"the notifier did not answer: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise PreviewUnavailable(
                f"the notifier answered {response.status_code}: {response.text[:200]}"
            )
        content = response.content
        if len(content) > MAX_BYTES:
            raise PreviewUnavailable(f"the rendering is larger than {MAX_BYTES} bytes")
        actual = hashlib.sha256(content).hexdigest()
        if digest is not None and actual != digest:
            raise PreviewUnavailable(
                f"the rendering served ({actual[:12]}) is not the one announced ({digest[:12]})"
            )
        media_type = response.headers.get("content-type", "application/octet-stream")
        return Rendering(media_type, content, actual)

    async def render_reminder(self, reminder: dict[str, Any]) -> Rendering:
        """A reminder not sent yet (a campaign's recipient), rendered by the notifier as its
        channel would render it now (``POST /previews/reminders``)."""
        if not self.configured:
            raise PreviewUnavailable("no notifier address (RELANCE_CONSOLE_NOTIFIER_URL)")
        url = f"{self.base_url}/previews/reminders"
        headers = {"X-API-Key": self.key.get_secret_value()} if self.key else {}
        try:
            if self.client is not None:
                response = await self.client.post(
                    url, json=reminder, headers=headers, timeout=self.timeout_s
                )
            else:
                async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                    response = await client.post(url, json=reminder, headers=headers)
        except httpx.HTTPError as exc:
            raise PreviewUnavailable(f"the notifier did not answer: {type(exc).__name__}") from exc
        if response.status_code != 200 or len(response.content) > MAX_BYTES:
            raise PreviewUnavailable(
                f"the notifier answered {response.status_code}: {response.text[:200]}"
            )
        media_type = response.headers.get("content-type", "application/octet-stream")
        return Rendering(media_type, response.content, hashlib.sha256(response.content).hexdigest())


class DeliveryArchive:
    """Reads the notifier's proof archive: a delivery's exact copy, its proofs, and the
    documents the provider returned (``GET /deliveries/{id}/content``, ``GET
    /invoices/{id}/deliveries``, ``GET /deliveries/{id}/documents/{kind}``), with the
    console's machine key. The bytes' SHA-256 must be the one the notifier states
    (``X-Content-SHA256``), which is the one its archive recorded when it sent them."""

    def __init__(self, notifier: NotifierPreviews) -> None:
        self.notifier = notifier

    @property
    def configured(self) -> bool:
        return self.notifier.configured

    async def _get(self, path: str) -> httpx.Response:
        n = self.notifier
        if not n.configured:
            raise PreviewUnavailable("no notifier address (RELANCE_CONSOLE_NOTIFIER_URL)")
        url = f"{n.base_url}{path}"
        headers = {"X-API-Key": n.key.get_secret_value()} if n.key else {}
        try:
            if n.client is not None:
                response = await n.client.get(url, headers=headers, timeout=n.timeout_s)
            else:
                async with httpx.AsyncClient(timeout=n.timeout_s) as client:
                    response = await client.get(url, headers=headers)
        except httpx.HTTPError as exc:
            raise PreviewUnavailable(f"the notifier did not answer: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise PreviewUnavailable(
                f"the notifier answered {response.status_code}: {response.text[:200]}"
            )
        if len(response.content) > MAX_BYTES:
            raise PreviewUnavailable(f"the answer is larger than {MAX_BYTES} bytes")
        return response

    def _checked(self, response: httpx.Response) -> Rendering:
        content = response.content
        actual = hashlib.sha256(content).hexdigest()
        stated = response.headers.get("x-content-sha256")
        if stated is not None and stated != actual:
            raise PreviewUnavailable(
                f"the bytes served ({actual[:12]}) are not those archived ({stated[:12]})"
            )
        media_type = response.headers.get("content-type", "application/octet-stream")
        return Rendering(media_type, content, actual)

    async def content(self, delivery_id: UUID) -> Rendering:
        """The exact message or letter sent."""
        return self._checked(await self._get(f"/deliveries/{delivery_id}/content"))

    async def document(self, delivery_id: UUID, kind: str) -> Rendering:
        """A document the provider returned (a deposit proof, an acknowledgement)."""
        return self._checked(
            await self._get(f"/deliveries/{delivery_id}/documents/{quote(kind, safe='')}")
        )

    async def proofs(self, delivery_id: UUID, invoice_id: str) -> dict[str, Any] | None:
        """The delivery as the archive records it (recipients, provider ids, attempts,
        provider reports, documents), found among the deliveries of one of its invoices."""
        response = await self._get(f"/invoices/{quote(invoice_id, safe='')}/deliveries")
        try:
            listed = response.json().get("deliveries", [])
        except (ValueError, AttributeError) as exc:
            raise PreviewUnavailable("the notifier's answer is not a list of deliveries") from exc
        return next(
            (d for d in listed if isinstance(d, dict) and d.get("delivery_id") == str(delivery_id)),
            None,
        )
