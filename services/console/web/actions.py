"""The customer page's actions: a form, its confirmation, the command through the outbox.

``POST /customers/{id}/actions/{action}`` first answers with a confirmation page stating
what will happen (the same fields, hidden, and a second button); the confirmed post
records the command in ``sent_command`` and puts it in the outbox in one transaction. The
``command_id`` is drawn when the customer page is rendered and carried by the form and its
confirmation: the same form posted again is the same command, recorded and sent once.
Role and portfolio are checked on every post; the actor is the signed-in identity, never a
form field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote
from uuid import UUID

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from contracts import commands
from contracts.topics import Topic
from services.console import queries, read_model
from services.console.domain.commands import (
    FIELDS,
    LOWEST_ROLE,
    FormProblem,
    command_of,
    fields_of,
)
from services.console.web.security import protect
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
    confirmed = form.get("confirmed") == "yes" and not isinstance(built, list)
    if not confirmed:
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
