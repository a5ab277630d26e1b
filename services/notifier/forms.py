"""Reading the URL-encoded forms that providers (Twilio) post."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request


async def form_of(request: Request) -> dict[str, str]:
    """The form's fields (the last value of a repeated one); empty when the body is not
    ``application/x-www-form-urlencoded``."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return {}
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))
