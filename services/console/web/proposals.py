"""Proposals: steps waiting for a collector's confirmation, previewed and decided.

- ``GET /proposals/{id}``: the proposal (customer, step, invoices, deadline, its policy at
  the deadline), its **preview** as the notifier will send it (fetched server-side with the
  console's machine key, its digest checked against the one announced; the text shown
  escaped, the PDF offered through the console), and the four decisions: approve, edit
  (the editable paragraphs, the channel, the recipient among the customer's contacts by
  role), postpone to a day, skip with a reason.
- ``POST /proposals/{id}/decide/{decision}``: a confirmation page, then the confirmed post
  records the command in ``sent_command`` and puts it in the outbox in one transaction, as
  the customer page's actions do; the command cites the version the collector saw.
- ``POST /proposals/approve``: the proposals ticked on My day, confirmed, then one
  ``approve_proposals`` command.
- ``GET /proposals/{id}/{version}/pdf``: the letter, or the PDF attached to the email.
- ``GET /proposals/{id}/{version}/message``: the email's HTML, for the preview's frame,
  under its own sandboxing policy (:func:`security.protect_message`): no script of the
  message runs, and it loads nothing from outside.

A decision the scheduler refuses (another collector decided first: ``already_decided``; the
proposal was edited since: ``stale_proposal``) comes back through the dead-letter census and
is shown on the proposal's page, its customer's page and the collector's My day.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING
from urllib.parse import quote
from uuid import UUID

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from contracts.dunning import ProposalVersion
from services.console import queries, read_model
from services.console.domain.commands import FormProblem
from services.console.domain.previews import Preview, pdf_of, preview_of
from services.console.domain.proposals import (
    CHANNELS,
    CONTACT_ROLES,
    DECISIONS,
    bulk_approval_of,
    decision_of,
    fields_of,
    selected_of,
)
from services.console.errors import PreviewUnavailable
from services.console.web.actions import actor_of
from services.console.web.security import protect, protect_message
from services.runtime import outbox
from services.runtime.identity import Identity, Role, authorize, require_role
from services.runtime.logs import get_logger

if TYPE_CHECKING:
    from services.console.web.pages import Console

log = get_logger(__name__)

PROPOSAL_COMMANDS = ("approve_proposal", "edit_proposal", "postpone_proposal", "skip_proposal")
BULK = "approve_proposals"


async def preview(console: Console, found: read_model.Proposal) -> Preview | str:
    """The proposal's preview, or why there is none (the page says it in words)."""
    if found.rendered is None:
        return "not_rendered"
    if not found.rendered:
        return "render_failed"
    try:
        rendering = await console.notifier.fetch(found.proposal_id, found.version, found.digest)
    except PreviewUnavailable as exc:
        log.warning("preview_unavailable", proposal_id=str(found.proposal_id), detail=str(exc))
        return "unavailable"
    return preview_of(rendering.media_type, rendering.content)


async def previews(console: Console, found: list[read_model.Proposal]) -> dict[str, object]:
    """Previews of several proposals at once (My day), by proposal id."""
    results = await asyncio.gather(*(preview(console, p) for p in found))
    return {str(p.proposal_id): r for p, r in zip(found, results, strict=True)}


async def _proposal_of(
    console: Console, request: Request, proposal_id: str
) -> tuple[Identity, read_model.Proposal | None, read_model.Customer | None]:
    identity = await console.identity(request)
    try:
        pid = UUID(proposal_id)
    except ValueError:
        return identity, None, None
    found = await read_model.proposal(console.pool, pid)
    if found is None:
        return identity, None, None
    proposal, customer = found
    authorize(
        identity,
        company_code=customer.company_code,
        collector_code=customer.collector_code,
        segment=customer.market,
    )
    return identity, proposal, customer


def _confirm_role(found: read_model.Proposal) -> Role:
    """The least role that may decide it: the proposal's, and never below collector."""
    roles: tuple[Role, ...] = ("credit_manager", "administrator")
    return next((r for r in roles if r == found.confirm_role), "collector")


def _may_decide(identity: Identity, found: read_model.Proposal) -> bool:
    return identity.has(_confirm_role(found))


async def proposal_page(
    console: Console, request: Request, proposal_id: str, sent: str = ""
) -> Response:
    identity, found, customer = await _proposal_of(console, request, proposal_id)
    if found is None or customer is None:
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    return await _render_proposal(
        console, request, identity, found, customer, sent=sent if sent in DECISIONS else None
    )


async def _render_proposal(
    console: Console,
    request: Request,
    identity: Identity,
    found: read_model.Proposal,
    customer: read_model.Customer,
    status_code: int = 200,
    **values: object,
) -> Response:
    refused = [
        r
        for r in await read_model.refused_commands(
            console.pool, customer.customer_id, console.settings.timeline_limit
        )
        if r.command in PROPOSAL_COMMANDS
    ]
    roles = sorted({str(c.get("role")) for c in customer.contacts if c.get("role")})
    return console.render(
        request,
        "proposal.html",
        status_code=status_code,
        identity=identity,
        proposal=found,
        customer=customer,
        preview=await preview(console, found) if found.waiting else None,
        refused=refused,
        can_decide=found.waiting and _may_decide(identity, found),
        channels=CHANNELS,
        contact_roles=[r for r in CONTACT_ROLES if r in roles] or list(CONTACT_ROLES),
        today=console.clock.now().date(),
        command_ids={d: console.new_command_id() for d in DECISIONS},
        **values,
    )


async def decide(console: Console, request: Request, proposal_id: str, decision: str) -> Response:
    identity, found, customer = await _proposal_of(console, request, proposal_id)
    form = await console.form(request)
    if found is None or customer is None or decision not in DECISIONS:
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    require_role(identity, _confirm_role(found))  # the scheduler checks it again
    try:
        command_id = UUID(form.get("command_id", ""))
        version = int(form.get("version", ""))
    except ValueError:
        return console.render(
            request, "refused.html", status_code=400, identity=identity, reason="form"
        )
    fields = fields_of(form)
    now = console.clock.now()
    built = decision_of(
        decision,
        fields,
        command_id=command_id,
        customer_id=customer.customer_id,
        proposal_id=found.proposal_id,
        version=version,
        current_paragraphs=found.paragraphs,
        current_channel=found.channel,
        current_recipient_role=found.recipient_role,
        actor=actor_of(identity),
        now=now,
        today=now.date(),
    )
    if isinstance(built, list):
        return await _render_proposal(
            console,
            request,
            identity,
            found,
            customer,
            status_code=422,
            problems=built,
            form=form,
        )
    if form.get("confirmed") != "yes":
        return console.render(
            request,
            "proposal_confirm.html",
            identity=identity,
            proposal=found,
            customer=customer,
            decision=decision,
            fields=fields,
            version=version,
            command_id=command_id,
        )
    facts = {"proposal_id": str(found.proposal_id), "version": version, **fields}
    async with console.pool.acquire() as connection, connection.transaction():
        recorded = await connection.fetchval(
            queries.RECORD_SENT_COMMAND,
            command_id,
            customer.customer_id,
            f"{decision}_proposal",
            None,
            facts,
            identity.actor,
            now,
        )
        if recorded is not None:
            await outbox.enqueue(
                connection, [outbox.OutgoingRecord.of(console.commands_topic, built)]
            )
    log.info(
        "command_sent",
        command=f"{decision}_proposal",
        command_id=str(command_id),
        customer_id=customer.customer_id,
        proposal_id=str(found.proposal_id),
        version=version,
        subject=identity.subject,
        again=recorded is None,
    )
    back = f"/proposals/{quote(str(found.proposal_id))}?sent={decision}"
    return protect(RedirectResponse(back, status_code=303))


async def approve_selected(console: Console, request: Request) -> Response:
    """The proposals ticked on My day: a confirmation, then one ``approve_proposals``."""
    identity = await console.identity(request)
    form = await console.form(request)  # the anti-forgery token first
    data = await request.form()  # parsed once: every ticked box
    require_role(identity, "collector")
    chosen = selected_of([v for v in data.getlist("proposal") if isinstance(v, str)])
    try:
        command_id = UUID(form.get("command_id", ""))
    except ValueError:
        return console.render(
            request, "refused.html", status_code=400, identity=identity, reason="form"
        )
    if not chosen or isinstance(chosen[0], FormProblem):
        return console.render(
            request, "refused.html", status_code=422, identity=identity, reason="none_selected"
        )
    selected = [c for c in chosen if isinstance(c, ProposalVersion)]
    versions = {c.proposal_id: c.version for c in selected}
    found = await read_model.proposals_by_id(console.pool, list(versions))
    if len(found) != len(versions):
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    for proposal in found:
        if not _may_decide(identity, proposal):
            require_role(identity, _confirm_role(proposal))
        customer = await read_model.customer(console.pool, proposal.customer_id)
        assert customer is not None  # the proposal's query joins its customer
        authorize(
            identity,
            company_code=customer.company_code,
            collector_code=customer.collector_code,
            segment=customer.market,
        )
    if form.get("confirmed") != "yes":
        return console.render(
            request,
            "proposals_confirm.html",
            identity=identity,
            proposals=found,
            versions={str(k): v for k, v in versions.items()},
            command_id=command_id,
        )
    now = console.clock.now()
    built = bulk_approval_of(
        selected,
        command_id=command_id,
        actor=actor_of(identity),
        now=now,
    )
    facts = {"proposals": [f"{k}:{v}" for k, v in versions.items()]}
    async with console.pool.acquire() as connection, connection.transaction():
        # A bulk approval names no one customer: recorded under no customer ('') so that a
        # retried form sends once; each proposal's own end comes back on its page.
        recorded = await connection.fetchval(
            queries.RECORD_SENT_COMMAND, command_id, "", BULK, None, facts, identity.actor, now
        )
        if recorded is not None:
            await outbox.enqueue(
                connection, [outbox.OutgoingRecord.of(console.commands_topic, built)]
            )
    log.info(
        "command_sent",
        command=BULK,
        command_id=str(command_id),
        proposals=len(versions),
        subject=identity.subject,
        again=recorded is None,
    )
    return protect(RedirectResponse("/my-day?sent=approve_proposals", status_code=303))


async def pdf(console: Console, request: Request, proposal_id: str, version: int) -> Response:
    identity, found, customer = await _proposal_of(console, request, proposal_id)
    if found is None or customer is None or version != found.version or not found.rendered:
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    try:
        rendering = await console.notifier.fetch(found.proposal_id, found.version, found.digest)
    except PreviewUnavailable as exc:
        log.warning("preview_unavailable", proposal_id=str(found.proposal_id), detail=str(exc))
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    document = pdf_of(rendering.media_type, rendering.content)
    if document is None:
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    name, content = document
    safe_name = "".join(ch for ch in name if ch.isalnum() or ch in "._-")[:100] or "document.pdf"
    response = Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{safe_name}"'},
    )
    return protect(response)


async def message(console: Console, request: Request, proposal_id: str, version: int) -> Response:
    """The HTML of the proposal's email, shown in a sandboxed frame of its page."""
    identity, found, customer = await _proposal_of(console, request, proposal_id)
    if found is None or customer is None or version != found.version or not found.rendered:
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    try:
        rendering = await console.notifier.fetch(found.proposal_id, found.version, found.digest)
    except PreviewUnavailable as exc:
        log.warning("preview_unavailable", proposal_id=str(found.proposal_id), detail=str(exc))
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    html = preview_of(rendering.media_type, rendering.content).html
    if html is None:
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    return protect_message(Response(html, media_type="text/html; charset=utf-8"))
