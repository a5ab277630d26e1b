"""The page of a dispute's owner, behind a link scoped to that one dispute.

``GET /portal/dispute/{token}``: the dispute (customer, category, the customer's message,
invoices, due date), the documents the customer attached, what the owner answered so far,
and, once resolved, the outcome. While it is open the owner can:

- ``POST /portal/dispute/{token}/answer``: answer (a message, documents, or both: checked
  by their content and size like the customer's, stored in the document store under the
  dispute), sent as ``dispute.answer``;
- ``POST /portal/dispute/{token}/resolve``: resolve it, justified with the correction
  expected (a credit note or a corrected invoice, its reference, its amount when known) or
  rejected with a comment, sent as ``dispute.resolve``.

Both go to ``disputes.commands.v1`` through the portal's outbox; the actor recorded is the
link's identity, ``owner-link:<dispute id>:<owner role>``. Each form carries a token bound to
the dispute (an HMAC with the links' keys, :meth:`DisputeLinks.form_token`): a post without
it is refused (403). Errors are shown next to their field in the reader's language, with
everything typed shown back (documents must be chosen again: browsers do not keep them). A
resolved dispute's page shows the outcome and refuses further changes (409). ``GET
/portal/dispute/{token}/attachments/{number}``: one of them, fetched from the document
store, checked against the digest recorded when it was attached, and served as a download
(its media type, ``Content-Disposition: attachment``, ``X-Content-Type-Options: nosniff``
and the portal's other headers). A document is looked up by the dispute the link names and
its number within that dispute: no link reaches another dispute's documents. The page is
in the browser's language (an internal reader, not the customer).
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from contracts import disputes
from contracts.envelope import Event
from services.portal import i18n, metrics, owner_queries, queries
from services.portal.domain.attachments import EXTENSIONS, CheckedAttachment, check_attachments
from services.portal.domain.documents import check_copy
from services.portal.domain.forms import FieldError, FormFields
from services.portal.errors import (
    BodyTooLarge,
    DocumentAltered,
    DocumentMissing,
    DocumentStoreFailed,
    PageRefused,
)
from services.portal.guard import form_fields, form_with_files
from services.portal.owner_forms import (
    AnswerDecision,
    ResolutionDecision,
    check_answer,
    check_resolution,
)
from services.runtime import outbox
from services.runtime.signed_links import LinkExpired, LinkTampered

if TYPE_CHECKING:
    from services.portal.pages import Pages

logger = logging.getLogger(__name__)
SOURCE = "portal"
OWNER_NAMESPACE = uuid.UUID("3b8e0f52-6a1d-4c9b-b7e4-90d2f1a6c5e3")
FIELD_IDS = {
    "answer": "answer",
    "attachment": "owner-attachment",
    "outcome": "outcome-justified",
    "comment": "comment",
    "correction_kind": "correction-kind",
    "correction_reference": "correction-reference",
    "correction_amount": "correction-amount",
}


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


def actor_of(dispute: Mapping[str, Any]) -> str:
    """The identity a command from the link carries: the link, its dispute, its role."""
    return f"owner-link:{dispute['dispute_id']}:{dispute['owner_role']}"


async def owner_page(pages: Pages, request: Request) -> Response:
    dispute, language = await _dispute(pages, request)
    done = request.query_params.get("done")
    thanks = f"owner_thanks_{done}" if done in ("answer", "resolve") else None
    return await _render(pages, request, dispute, language, thanks=thanks)


async def _render(
    pages: Pages,
    request: Request,
    dispute: Mapping[str, Any],
    language: str,
    *,
    form: str | None = None,
    typed: FormFields | None = None,
    errors: Mapping[str, FieldError] | None = None,
    thanks: str | None = None,
    status: int = 200,
) -> Response:
    from services.portal.pages import Words

    words = Words(language)
    dispute_id = dispute["dispute_id"]
    attachments = await pages.pool.fetch(owner_queries.CUSTOMER_ATTACHMENTS_OF, dispute_id)
    answers = await pages.pool.fetch(owner_queries.ANSWERS_OF, dispute_id)
    owner_documents = await pages.pool.fetch(owner_queries.ANSWER_ATTACHMENTS_OF, dispute_id)
    numbers = await pages.pool.fetch(queries.INVOICE_NUMBERS, dispute["invoice_ids"])
    currencies = await pages.pool.fetch(owner_queries.CURRENCIES_OF, dispute["invoice_ids"])
    token = request.path_params["token"]
    accepts_files = pages.documents is not None and pages.settings.max_attachments > 0
    html = pages.environment.get_template("owner.html").render(
        t=words,
        lang=words.language,
        dispute=dispute,
        invoices=sorted(r["invoice_number"] for r in numbers) or dispute["invoice_ids"],
        attachments=attachments,
        answers=[
            {
                **dict(a),
                "documents": [d for d in owner_documents if d["answer_id"] == a["answer_id"]],
            }
            for a in answers
        ],
        base=f"/portal/dispute/{token}/attachments/",
        action=f"/portal/dispute/{token}/",
        form_token=pages.owner_links.form_token(dispute_id),
        form=form,
        typed=typed or {},
        errors=errors or {},
        field_ids=FIELD_IDS,
        thanks=thanks,
        currency=(currencies[0]["currency"] if currencies else "EUR"),
        uploads=(
            {
                "count": pages.settings.max_attachments,
                "max": pages.settings.max_attachment_bytes // 2**20,
            }
            if accepts_files
            else None
        ),
    )
    return HTMLResponse(html, status_code=status)


async def _open_for_changes(
    pages: Pages, request: Request
) -> tuple[dict[str, object], str, uuid.UUID]:
    """The dispute a post may change: the link's, its form token checked, still open, and
    within the rate limit of changes."""
    dispute, language = await _dispute(pages, request)
    dispute_id = dispute["dispute_id"]
    assert isinstance(dispute_id, uuid.UUID)
    address = request.client.host if request.client else "unknown"
    if not pages.rate_limit.allow("dispute-change", str(dispute_id), address):
        raise PageRefused(429, "too_many", "too_many", language)
    if dispute["state"] != "open":
        raise PageRefused(409, "owner_closed_title", "owner_closed_text", language)
    return dispute, language, dispute_id


def _check_form_token(pages: Pages, dispute_id: uuid.UUID, typed: FormFields, lang: str) -> None:
    values = typed.get("form_token") or [""]
    if not pages.owner_links.check_form_token(dispute_id, values[-1]):
        logger.warning("owner form of dispute %s refused: no valid form token", dispute_id)
        raise PageRefused(403, "tampered_title", "owner_form_refused", lang)


async def answer(pages: Pages, request: Request) -> Response:
    """A message, documents or both, as ``dispute.answer``."""
    dispute, language, dispute_id = await _open_for_changes(pages, request)
    settings = pages.settings
    accepts_files = pages.documents is not None and settings.max_attachments > 0
    try:
        typed, files = await form_with_files(
            request,
            settings.max_form_bytes,
            settings.max_form_bytes + settings.max_attachments * settings.max_attachment_bytes,
            2 * settings.max_attachments + 1 if accepts_files else 0,
        )
    except BodyTooLarge:
        raise PageRefused(413, "too_large", "too_large", language) from None
    _check_form_token(pages, dispute_id, typed, language)
    attached = check_attachments(
        [(f.file_name, f.body) for f in files],
        settings.max_attachment_bytes,
        settings.max_attachments if accepts_files else 0,
    )
    checked = check_answer(typed, 0 if isinstance(attached, FieldError) else len(attached))
    errors = {} if isinstance(checked, AnswerDecision) else dict(checked)
    if isinstance(attached, FieldError):
        errors["attachment"] = attached
    if errors or not isinstance(checked, AnswerDecision) or isinstance(attached, FieldError):
        return await _render(
            pages, request, dispute, language, form="answer", typed=typed, errors=errors, status=422
        )
    digests = "/".join(a.sha256 for a in attached)
    text_digest = hashlib.sha256(checked.text.encode()).hexdigest()
    answer_id = uuid.uuid5(OWNER_NAMESPACE, f"{dispute_id}/answer/{text_digest}/{digests}")
    stored = await _store(pages, dispute, answer_id, attached, language)
    command = disputes.AnswerDispute(
        event_id=uuid.uuid5(OWNER_NAMESPACE, f"{answer_id}/event"),
        occurred_at=pages.clock.now(),
        source=SOURCE,
        payload=disputes.DisputeAnswer(
            dispute_id=dispute_id,
            customer_id=str(dispute["customer_id"]),
            answer_id=answer_id,
            by=actor_of(dispute),
            text=checked.text,
            attachments=stored,
        ),
    )
    await _send(pages, command)
    return RedirectResponse(f"/portal/dispute/{request.path_params['token']}?done=answer", 303)


async def _store(
    pages: Pages,
    dispute: Mapping[str, Any],
    answer_id: uuid.UUID,
    attached: list[CheckedAttachment],
    language: str,
) -> tuple[disputes.Attachment, ...]:
    """The owner's documents in the store before the command is sent, under the dispute."""
    stored = []
    customer = re.sub(r"[^A-Za-z0-9._-]+", "_", str(dispute["customer_id"]))
    for number, a in enumerate(attached, start=1):
        reference = (
            f"disputes/{customer}/{dispute['dispute_id']}/owner-{answer_id}-{number}-"
            f"{a.sha256[:16]}.{EXTENSIONS[a.media_type]}"
        )
        assert pages.documents is not None
        try:
            await pages.documents.store(reference, a.body, a.media_type)
        except DocumentStoreFailed as exc:
            logger.error(
                "owner's document of dispute %s not stored: %s", dispute["dispute_id"], exc
            )
            raise PageRefused(
                502, "attachment_failed_title", "attachment_failed_text", language
            ) from exc
        stored.append(
            disputes.Attachment(
                reference=reference,
                media_type=a.media_type,
                size=len(a.body),
                sha256=a.sha256,
                file_name=a.file_name,
            )
        )
    return tuple(stored)


async def resolve(pages: Pages, request: Request) -> Response:
    """Justified with the correction expected, or rejected with a comment, as
    ``dispute.resolve``."""
    dispute, language, dispute_id = await _open_for_changes(pages, request)
    try:
        typed = await form_fields(request, pages.settings.max_form_bytes)
    except BodyTooLarge:
        raise PageRefused(413, "too_large", "too_large", language) from None
    _check_form_token(pages, dispute_id, typed, language)
    checked = check_resolution(typed)
    if not isinstance(checked, ResolutionDecision):
        return await _render(
            pages,
            request,
            dispute,
            language,
            form="resolve",
            typed=typed,
            errors=checked,
            status=422,
        )
    correction = (
        disputes.ExpectedCorrection(
            kind=checked.kind,
            reference=checked.reference or "",
            amount=(
                {"amount": checked.amount, "currency": checked.currency}
                if checked.amount is not None
                else None
            ),
        )
        if checked.kind is not None
        else None
    )
    command = disputes.ResolveDispute(
        # the instant too: a dispute reopened then resolved again by its owner is a new
        # command (a form sent twice is rejected by the disputes service: no longer open)
        event_id=uuid.uuid5(
            OWNER_NAMESPACE,
            f"{dispute_id}/resolve/{checked.outcome}/{pages.clock.now().isoformat()}",
        ),
        occurred_at=pages.clock.now(),
        source=SOURCE,
        payload=disputes.DisputeResolution(
            dispute_id=dispute_id,
            customer_id=str(dispute["customer_id"]),
            outcome="justified" if checked.outcome == "justified" else "rejected",
            by=actor_of(dispute),
            note=checked.comment or None,
            correction=correction,
        ),
    )
    await _send(pages, command)
    return RedirectResponse(f"/portal/dispute/{request.path_params['token']}?done=resolve", 303)


async def _send(pages: Pages, command: Event) -> None:
    async with pages.pool.acquire() as connection, connection.transaction():
        await outbox.enqueue(connection, [outbox.OutgoingRecord.of(pages.topic, command)])


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
