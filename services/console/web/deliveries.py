"""A reminder sent, as the customer received it: its exact copy and its proofs.

- ``GET /deliveries/{id}``: the delivery (channel, outcome, invoices), its **exact copy**
  read from the notifier's proof archive (``GET /deliveries/{id}/content``): an email's
  subject, sender, recipients, its HTML in a sandboxed frame and its text beside it, a text
  message's text, a letter's PDF; its **PDF** attachment; and its **proofs** (``GET
  /invoices/{id}/deliveries``: recipients, provider ids, the SHA-256 archived, each attempt,
  the provider's reports, and the documents it returned, such as a deposit proof).
- ``GET /deliveries/{id}/message``: the email's HTML for the frame, under the message's own
  sandboxing policy (:func:`security.protect_message`), as a proposal's.
- ``GET /deliveries/{id}/pdf`` and ``/deliveries/{id}/documents/{kind}``: downloads.

The reader's portfolio is checked against the delivery's customer (the read model's
``deliveries``) before the notifier is asked, with the console's machine key, and the
collector role is needed (the archive holds personal data; the notifier asks the same of
its own callers). When the notifier cannot be reached, the page says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from fastapi import Request, Response

from services.console import read_model
from services.console.domain.previews import Preview, pdf_of, preview_of
from services.console.errors import PreviewUnavailable
from services.console.notifier import DeliveryArchive
from services.console.web.security import protect, protect_message
from services.runtime.identity import Identity, authorize, require_role
from services.runtime.logs import get_logger

if TYPE_CHECKING:
    from services.console.web.pages import Console

log = get_logger(__name__)

DOCUMENT_KINDS = ("deposit_proof", "acknowledgement_of_receipt")


async def _delivery_of(
    console: Console, request: Request, delivery_id: str
) -> tuple[Identity, read_model.DeliveryRow | None, read_model.Customer | None]:
    identity = await console.identity(request)
    try:
        did = UUID(delivery_id)
    except ValueError:
        return identity, None, None
    found = await read_model.delivery(console.pool, did)
    if found is None:
        return identity, None, None
    customer = await read_model.customer(console.pool, found.customer_id)
    if customer is None:
        return identity, None, None
    authorize(
        identity,
        company_code=customer.company_code,
        collector_code=customer.collector_code,
        segment=customer.market,
    )
    require_role(identity, "collector")
    return identity, found, customer


def _archive(console: Console) -> DeliveryArchive:
    return DeliveryArchive(console.notifier)


async def delivery_page(console: Console, request: Request, delivery_id: str) -> Response:
    identity, found, customer = await _delivery_of(console, request, delivery_id)
    if found is None or customer is None:
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    archive = _archive(console)
    copy: Preview | str
    proofs: dict[str, Any] | str | None
    try:
        rendering = await archive.content(found.delivery_id)
        copy = preview_of(rendering.media_type, rendering.content)
    except PreviewUnavailable as exc:
        log.warning("copy_unavailable", delivery_id=str(found.delivery_id), detail=str(exc))
        copy = "unavailable" if archive.configured else "not_configured"
    if not found.invoice_ids:
        proofs = None
    else:
        try:
            proofs = await archive.proofs(found.delivery_id, found.invoice_ids[0])
        except PreviewUnavailable as exc:
            log.warning("proofs_unavailable", delivery_id=str(found.delivery_id), detail=str(exc))
            proofs = "unavailable" if archive.configured else "not_configured"
    return console.render(
        request,
        "delivery.html",
        identity=identity,
        delivery=found,
        customer=customer,
        copy=copy,
        proofs=proofs,
        numbers=[i.split("/", 1)[-1] for i in found.invoice_ids],
    )


async def message(console: Console, request: Request, delivery_id: str) -> Response:
    """The HTML of the email sent, shown in a sandboxed frame of the delivery's page."""
    identity, found, customer = await _delivery_of(console, request, delivery_id)
    if found is None or customer is None:
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    try:
        rendering = await _archive(console).content(found.delivery_id)
    except PreviewUnavailable as exc:
        log.warning("copy_unavailable", delivery_id=str(found.delivery_id), detail=str(exc))
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    html = preview_of(rendering.media_type, rendering.content).html
    if html is None:
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    return protect_message(Response(html, media_type="text/html; charset=utf-8"))


def _download(name: str, content: bytes, media_type: str) -> Response:
    safe_name = "".join(ch for ch in name if ch.isalnum() or ch in "._-")[:100] or "document"
    return protect(
        Response(
            content,
            media_type=media_type,
            headers={"Content-Disposition": f'attachment; filename="{safe_name}"'},
        )
    )


async def pdf(console: Console, request: Request, delivery_id: str) -> Response:
    """The letter sent, or the PDF attached to the email sent."""
    identity, found, customer = await _delivery_of(console, request, delivery_id)
    if found is None or customer is None:
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    try:
        rendering = await _archive(console).content(found.delivery_id)
    except PreviewUnavailable as exc:
        log.warning("copy_unavailable", delivery_id=str(found.delivery_id), detail=str(exc))
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    document = pdf_of(rendering.media_type, rendering.content)
    if document is None:
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    name, content = document
    return _download(name, content, "application/pdf")


async def document(console: Console, request: Request, delivery_id: str, kind: str) -> Response:
    """A document the provider returned about the delivery (a deposit proof...)."""
    identity, found, customer = await _delivery_of(console, request, delivery_id)
    if found is None or customer is None or kind not in DOCUMENT_KINDS:
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    try:
        rendering = await _archive(console).document(found.delivery_id, kind)
    except PreviewUnavailable as exc:
        log.warning("proofs_unavailable", delivery_id=str(found.delivery_id), detail=str(exc))
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    return _download(f"{kind}-{found.delivery_id}", rendering.content, "application/octet-stream")
