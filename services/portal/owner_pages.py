"""The page of a dispute's owner, behind a link scoped to that one dispute.

``GET /portal/dispute/{token}``: the dispute (customer, category, the customer's message,
invoices, due date) and the documents the customer attached. ``GET
/portal/dispute/{token}/attachments/{number}``: one of them, fetched from the document
store, checked against the digest recorded when it was attached, and served as a download
(its media type, ``Content-Disposition: attachment``, ``X-Content-Type-Options: nosniff``
and the portal's other headers). A document is looked up by the dispute the link names and
its number within that dispute: no link reaches another dispute's documents. The page is
in the browser's language (an internal reader, not the customer).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from services.portal import i18n, metrics, queries
from services.portal.domain.documents import check_copy
from services.portal.errors import (
    DocumentAltered,
    DocumentMissing,
    DocumentStoreFailed,
    PageRefused,
)
from services.runtime.signed_links import LinkExpired, LinkTampered

if TYPE_CHECKING:
    from services.portal.pages import Pages

logger = logging.getLogger(__name__)
SOURCE = "portal"


async def _dispute(pages: Pages, request: Request) -> tuple[dict[str, object], str]:
    """The dispute the link opens and the reader's language; refuses bad, expired or too
    frequent links like the customer's."""
    address = request.client.host if request.client else "unknown"
    language = i18n.from_accept_language(request.headers.get("accept-language"))
    try:
        dispute_id = pages.owner_links.check(request.path_params["token"])
    except LinkExpired as exc:
        if not pages.rate_limit.allow("expired", address):
            raise PageRefused(429, "too_many", "too_many", language) from exc
        raise PageRefused(410, "expired_title", "expired_text", language) from exc
    except LinkTampered as exc:
        if not pages.rate_limit.allow("tampered", address):
            raise PageRefused(429, "too_many", "too_many", language) from exc
        raise PageRefused(403, "tampered_title", "tampered_text", language) from exc
    if not pages.rate_limit.allow("dispute", str(dispute_id), address):
        raise PageRefused(429, "too_many", "too_many", language)
    row = await pages.pool.fetchrow(queries.OWNER_DISPUTE, dispute_id)
    if row is None:
        raise PageRefused(404, "not_found_title", "owner_not_found", language)
    return dict(row), language


async def owner_page(pages: Pages, request: Request) -> Response:
    from services.portal.pages import Words

    dispute, language = await _dispute(pages, request)
    words = Words(language)
    attachments = await pages.pool.fetch(queries.ATTACHMENTS_OF, dispute["dispute_id"])
    numbers = await pages.pool.fetch(queries.INVOICE_NUMBERS, dispute["invoice_ids"])
    html = pages.environment.get_template("owner.html").render(
        t=words,
        lang=words.language,
        dispute=dispute,
        invoices=sorted(r["invoice_number"] for r in numbers) or dispute["invoice_ids"],
        attachments=attachments,
        base=f"/portal/dispute/{request.path_params['token']}/attachments/",
    )
    return HTMLResponse(html)


async def attachment(pages: Pages, request: Request) -> Response:
    dispute, language = await _dispute(pages, request)
    number = request.path_params["number"]
    row = (
        await pages.pool.fetchrow(queries.ATTACHMENT, dispute["dispute_id"], int(number))
        if number.isdigit() and len(number) < 4
        else None
    )
    if row is None:
        metrics.ATTACHMENTS.labels(SOURCE, "refused").inc()
        logger.warning(
            "attachment %r refused to the link of dispute %s: not one of its documents",
            number[:20],
            dispute["dispute_id"],
        )
        raise PageRefused(404, "copy_missing_title", "owner_attachment_missing", language)
    if pages.documents is None:
        raise PageRefused(404, "copy_missing_title", "owner_attachment_missing", language)
    try:
        body = await pages.documents.fetch(row["reference"])
        check_copy(body, row["sha256"])
    except DocumentMissing as exc:
        metrics.ATTACHMENTS.labels(SOURCE, "missing").inc()
        logger.warning("attachment %s missing in the document store: %s", row["reference"], exc)
        raise PageRefused(404, "copy_missing_title", "owner_attachment_missing", language) from exc
    except (DocumentStoreFailed, DocumentAltered) as exc:
        outcome = "altered" if isinstance(exc, DocumentAltered) else "store_failed"
        metrics.ATTACHMENTS.labels(SOURCE, outcome).inc()
        logger.error("attachment %s not served (%s): %s", row["reference"], outcome, exc)
        raise PageRefused(502, "copy_failed_title", "copy_failed_text", language) from exc
    metrics.ATTACHMENTS.labels(SOURCE, "served").inc()
    return Response(
        body,
        media_type=row["media_type"],
        headers={"Content-Disposition": content_disposition(row["file_name"], int(number))},
    )


def content_disposition(file_name: str, number: int) -> str:
    """A download whatever the name holds: an ASCII fallback of safe characters, and the
    name as sent in RFC 5987's ``filename*`` (percent-encoded, so no quote or line break
    reaches the header)."""
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "-", file_name).strip("-.") or f"document-{number}"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"
