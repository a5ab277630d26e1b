"""The console's client of the notifier's preview route: its key, the digest, failures."""

from __future__ import annotations

import hashlib
from uuid import uuid4

import httpx
import pytest

from services.console.errors import PreviewUnavailable
from services.console.notifier import NotifierPreviews
from services.console.settings import ConsoleSettings

KEY = "console-preview-key-0123456789"
BYTES = b"Subject: Relance\r\n\r\nBonjour\r\n"
DIGEST = hashlib.sha256(BYTES).hexdigest()


def client_of(status: int, content: bytes, seen: list[httpx.Request]) -> httpx.AsyncClient:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, content=content, headers={"content-type": "message/rfc822"})

    return httpx.AsyncClient(transport=httpx.MockTransport(answer))


def previews(status: int, content: bytes, seen: list[httpx.Request]) -> NotifierPreviews:
    settings = ConsoleSettings(notifier_url="http://notifier:8080/", notifier_api_key=KEY)
    return NotifierPreviews(settings, client_of(status, content, seen))


async def test_the_rendering_is_asked_with_the_key_and_its_digest_checked() -> None:
    seen: list[httpx.Request] = []
    proposal = uuid4()
    rendering = await previews(200, BYTES, seen).fetch(proposal, 2, DIGEST)
    assert (rendering.content, rendering.media_type, rendering.digest) == (
        BYTES,
        "message/rfc822",
        DIGEST,
    )
    [request] = seen
    assert str(request.url) == f"http://notifier:8080/proposals/{proposal}/2"
    assert request.headers["x-api-key"] == KEY


async def test_other_bytes_than_announced_a_refusal_or_no_address_show_no_preview() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(PreviewUnavailable, match="not the one announced"):
        await previews(200, BYTES + b"!", seen).fetch(uuid4(), 1, DIGEST)
    with pytest.raises(PreviewUnavailable, match="answered 403"):
        await previews(403, b"outside the portfolio", seen).fetch(uuid4(), 1, DIGEST)
    with pytest.raises(PreviewUnavailable, match="RELANCE_CONSOLE_NOTIFIER_URL"):
        await NotifierPreviews(ConsoleSettings()).fetch(uuid4(), 1, DIGEST)
