"""The customer page's actions: a form, its confirmation, the command through the outbox.

``POST /customers/{id}/actions/{action}`` first answers with a confirmation page stating
what will happen (the same fields, hidden, and a second button); the confirmed post
records the command in ``sent_command`` and puts it in the outbox in one transaction. The
``command_id`` is drawn when the customer page is rendered and carried by the form and its
confirmation: the same form posted again is the same command, recorded and sent once.
Role and portfolio are checked on every post; the actor is the signed-in identity, never a
form field.

*Send now* and *Change the scenario* may make something go out: their confirmation page
shows the scheduler's dry run of the command (``POST /v1/commands/{action}/dry-run``: which
invoices, which step, template, level and channel, or why nothing would go) and each
message as the notifier would render it (``POST /previews/reminders``), an email's HTML in
a sandboxed frame served by ``GET /customers/{id}/actions/{action}/message`` (which runs the
dry run again with the same fields). When the scheduler or the notifier does not answer,
the page says the preview is unavailable and the command can still be confirmed. A
template or scenario the library's catalogue does not have is refused on the server.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode
from uuid import UUID

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from contracts import commands
from contracts.topics import Topic
from services.console import queries, read_model
from services.console.domain.commands import (
    FIELDS,
    LOWEST_ROLE,
    REHEARSED,
    FormProblem,
    command_of,
    fields_of,
    rehearsal_of,
    unknown_choices,
)
from services.console.domain.previews import Preview, preview_of
from services.console.errors import PreviewUnavailable, SchedulerUnavailable
from services.console.web.security import protect, protect_message
from services.runtime import outbox
from services.runtime.identity import Identity, authorize, require_role
from services.runtime.logs import get_logger

if TYPE_CHECKING:
    from services.console.web.pages import Console

log = get_logger(__name__)


def actor_of(identity: Identity) -> commands.CommandActor:
    """The command's actor: the identity the console authenticated."""
    portfolio = identity.portfolio
    return commands.CommandActor(
        subject=identity.actor,
        roles=tuple(sorted(identity.roles)),
        kind=identity.kind,
        company_codes=tuple(sorted(portfolio.company_codes)),
        collector_codes=tuple(sorted(portfolio.collector_codes)),
        segments=tuple(sorted(portfolio.segments)),
        everything=portfolio.everything,
    )


async def act(
    console: Console, request: Request, customer_id: str, action: str, topic: Topic
) -> Response:
    identity = await console.identity(request)
    if action not in FIELDS:
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    form = await console.form(request)
    found = await read_model.customer(console.pool, customer_id)
    if found is None:
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    authorize(
        identity,
        company_code=found.company_code,
        collector_code=found.collector_code,
        segment=found.market,
    )
    require_role(identity, LOWEST_ROLE[action])
    fields = fields_of(action, form)
    try:
        command_id = UUID(form.get("command_id", ""))
    except ValueError:
        return console.render(
            request, "refused.html", status_code=400, identity=identity, reason="form"
        )
    now = console.clock.now()
    built = command_of(
        action,
        fields,
        command_id=command_id,
        customer_id=customer_id,
        actor=actor_of(identity),
        now=now,
        today=now.date(),
    )
    invoice_id = fields.get("invoice_id")
    if invoice_id and not await console.pool.fetchval(
        queries.INVOICE_OF_CUSTOMER, invoice_id, customer_id
    ):
        # an invoice of another customer (or none) named on this customer's page
        built = [*(built if isinstance(built, list) else []), FormProblem("invoice_id", "invalid")]
    if action in REHEARSED:  # a template or scenario typed that the library does not have
        unknown = unknown_choices(action, fields, await console.scheduler.catalogue())
        if unknown:
            built = [*(built if isinstance(built, list) else []), *unknown]
    confirmed = form.get("confirmed") == "yes" and not isinstance(built, list)
    if not confirmed:
        rehearsal: dict[str, Any] = {}
        if not isinstance(built, list) and action in REHEARSED:
            rehearsal = await rehearse(console, customer_id, action, fields, command_id)
        return console.render(
            request,
            "action.html",
            status_code=422 if isinstance(built, list) else 200,
            identity=identity,
            customer=found,
            action=action,
            fields=fields,
            command_id=command_id,
            problems=built if isinstance(built, list) else [],
            **rehearsal,
        )
    assert not isinstance(built, list)
    facts = {name: value for name, value in fields.items() if name != "invoice_id"}
    async with console.pool.acquire() as connection, connection.transaction():
        recorded = await connection.fetchval(
            queries.RECORD_SENT_COMMAND,
            command_id,
            customer_id,
            action,
            fields.get("invoice_id"),
            facts,
            identity.actor,
            now,
        )
        if recorded is not None:
            await outbox.enqueue(connection, [outbox.OutgoingRecord.of(topic, built)])
    log.info(
        "command_sent",
        command=action,
        command_id=str(command_id),
        customer_id=customer_id,
        subject=identity.subject,
        again=recorded is None,
    )
    back = "/customers/" + quote(found.customer_id, safe="") + f"?sent={action}"
    return protect(RedirectResponse(back, status_code=303))


async def dry_run(
    console: Console, customer_id: str, action: str, fields: dict[str, str], command_id: UUID
) -> dict[str, Any] | None:
    """The scheduler's dry run of the action, or None when it did not answer."""
    body = rehearsal_of(action, fields, customer_id=customer_id, command_id=command_id)
    if body is None or not console.scheduler.configured:
        return None
    try:
        return await console.scheduler.rehearse(action, body)
    except SchedulerUnavailable as exc:
        log.warning("command_preview_unavailable", command=action, detail=str(exc))
        return None


async def rendered(console: Console, reminder: dict[str, Any]) -> Preview | str:
    """A reminder as the notifier would render it, or why it cannot be shown."""
    try:
        rendering = await console.notifier.render_reminder(reminder)
    except PreviewUnavailable as exc:
        log.warning("command_preview_unavailable", detail=str(exc))
        return "unavailable"
    return preview_of(rendering.media_type, rendering.content)


async def rehearse(
    console: Console, customer_id: str, action: str, fields: dict[str, str], command_id: UUID
) -> dict[str, Any]:
    """What the confirmation page shows of the dry run: ``dry`` (the scheduler's answer,
    None when unavailable), ``previews`` (one per message: a :class:`Preview` or why not)
    and ``frame_query`` (the fields the frames' route runs the dry run again with)."""
    dry = await dry_run(console, customer_id, action, fields, command_id)
    outgoing = [] if dry is None else dry.get("outgoing", [])
    previews = await asyncio.gather(*(rendered(console, o["reminder"]) for o in outgoing))
    query = urlencode({**fields, "command_id": str(command_id)})
    return {"rehearsed": True, "dry": dry, "previews": list(previews), "frame_query": query}


async def message(console: Console, request: Request, customer_id: str, action: str) -> Response:
    """The HTML of the ``n``-th message of an action's dry run, for its confirmation page's
    sandboxed frame: the dry run again with the fields of the query, role and portfolio
    checked as for the action itself."""
    identity = await console.identity(request)
    found = await read_model.customer(console.pool, customer_id)
    if action not in REHEARSED or found is None:
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    authorize(
        identity,
        company_code=found.company_code,
        collector_code=found.collector_code,
        segment=found.market,
    )
    require_role(identity, LOWEST_ROLE[action])
    query = dict(request.query_params)
    fields = fields_of(action, query)
    try:
        command_id = UUID(query.get("command_id", ""))
        n = int(query.get("n", "0"))
    except ValueError:
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    dry = await dry_run(console, customer_id, action, fields, command_id)
    outgoing = [] if dry is None else dry.get("outgoing", [])
    if not 0 <= n < len(outgoing):
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    preview = await rendered(console, outgoing[n]["reminder"])
    if isinstance(preview, str) or preview.html is None:
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    return protect_message(Response(preview.html, media_type="text/html; charset=utf-8"))
