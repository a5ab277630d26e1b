"""What protects the internet-facing pages: headers, body size, and a rate limit.

Every answer carries ``Referrer-Policy: no-referrer`` (the link is the key: it must never
leave in a ``Referer``), a strict Content-Security-Policy (nothing but this origin's
stylesheet, no script, no frames, forms post to this origin only), ``frame-ancestors
'none'``, ``nosniff`` and ``Cache-Control: no-store``.

The rate limit counts requests per link and address in fixed one-minute windows, in this
process (each replica counts its own: the limit is per replica).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response

from services.portal.errors import BodyTooLarge
from services.runtime.clock import Clock

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def secured(response: Response, form_targets: tuple[str, ...] = ()) -> Response:
    """The security headers; ``form_targets`` are origins a form may lead to besides this
    one (the payment provider's checkout, reached by a redirect from the pay form, which
    browsers check against ``form-action``)."""
    response.headers.update(SECURITY_HEADERS)
    if form_targets:
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
            "form-action 'self'", "form-action 'self' " + " ".join(form_targets)
        )
    return response


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge()
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise BodyTooLarge()
    return bytes(body)


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def form_fields(request: Request, limit: int) -> dict[str, list[str]]:
    """The URL-encoded form's fields, every value of a repeated one; reads at most ``limit``
    bytes (raises :class:`BodyTooLarge` beyond); empty for another content type."""
    body = await _body(request, limit)
    if _content_type(request) != "application/x-www-form-urlencoded":
        return {}
    return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)


@dataclass(frozen=True)
class UploadedFile:
    """A file sent with a form: the name the browser gave it, and its bytes. Its declared
    content type is not kept: what a file is, is read from its content."""

    file_name: str
    body: bytes


async def form_with_files(
    request: Request, form_limit: int, files_limit: int, max_files: int
) -> tuple[dict[str, list[str]], list[UploadedFile]]:
    """A URL-encoded or multipart form's fields and files (an empty file input sends no
    file); reads at most ``form_limit`` bytes of a form without files, ``files_limit`` of
    a multipart one (:class:`BodyTooLarge` beyond, also for more than ``max_files``)."""
    multipart = _content_type(request) == "multipart/form-data" and max_files > 0
    limit = files_limit if multipart else form_limit
    body = await _body(request, limit)
    if _content_type(request) == "application/x-www-form-urlencoded":
        return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True), []
    if not multipart:
        return {}, []

    async def read() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(
        request.headers, read(), max_files=max_files, max_fields=100, max_part_size=limit
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:  # too many files or fields, or malformed
        raise BodyTooLarge() from exc
    fields: dict[str, list[str]] = {}
    files: list[UploadedFile] = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            content = await value.read()
            if value.filename or content:
                files.append(UploadedFile(value.filename or "document", content))
        else:
            fields.setdefault(name, []).append(value)
    await form.close()
    return fields, files


class RateLimit:
    """At most ``per_minute`` requests per key in each clock minute."""

    def __init__(self, clock: Clock, per_minute: int, max_keys: int = 100_000) -> None:
        self.clock = clock
        self.per_minute = per_minute
        self.max_keys = max_keys
        self._counts: OrderedDict[tuple[str, ...], tuple[int, int]] = OrderedDict()

    def allow(self, *key: str) -> bool:
        minute = int(self.clock.now().timestamp() // 60)
        window, count = self._counts.get(key, (minute, 0))
        if window != minute:
            count = 0
        self._counts[key] = (minute, count + 1)
        self._counts.move_to_end(key)
        while len(self._counts) > self.max_keys:
            self._counts.popitem(last=False)
        return count < self.per_minute
