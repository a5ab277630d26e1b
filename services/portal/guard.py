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
from urllib.parse import parse_qs

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


async def form_fields(request: Request, limit: int) -> dict[str, list[str]]:
    """The URL-encoded form's fields, every value of a repeated one; reads at most ``limit``
    bytes (raises :class:`BodyTooLarge` beyond); empty for another content type."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge()
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise BodyTooLarge()
    if content_type != "application/x-www-form-urlencoded":
        return {}
    return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)


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
