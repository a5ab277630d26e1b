"""Payment plans customers proposed: a credit manager accepts or refuses them.

``POST /plan-proposals/{id}/accept`` and ``/refuse`` (with the reason the customer will
read), from My day or Promises and plans: only a credit manager (or above) whose portfolio
covers the customer; the actor is the signed-in identity. The decision is recorded on the
proposal and put in the outbox for ``disputes.commands.v1`` in one transaction; the
``command_id`` is drawn when the page is rendered and carried by the form, so a form posted
twice is one command. The disputes service decides once, and its event
(``payment_plan.agreed`` or ``payment_plan.refused``) comes back into the read model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from contracts.topics import DISPUTE_COMMANDS
from services.console import queries, read_model
from services.console.domain.plan_proposals import DECISIONS, decision_of
from services.console.web.actions import actor_of
from services.console.web.security import protect
from services.runtime import outbox
from services.runtime.identity import Identity, authorize, require_role
from services.runtime.logs import get_logger

if TYPE_CHECKING:
    from services.console.web.pages import Console

log = get_logger(__name__)


async def decide_plan(
    console: Console, request: Request, proposal_id: str, decision: str
) -> Response:
    identity = await console.identity(request)
    form = await console.form(request)
    try:
        pid = UUID(proposal_id)
    except ValueError:
        pid = None
    found = await read_model.plan_proposal(console.pool, pid) if pid else None
    if found is None or decision not in DECISIONS:
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    proposal, state = found
    customer = await read_model.customer(console.pool, proposal.customer_id)
    if customer is None:
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    authorize(
        identity,
        company_code=customer.company_code,
        collector_code=customer.collector_code,
        segment=customer.market,
    )
    require_role(identity, "credit_manager")
    try:
        command_id = UUID(form.get("command_id", ""))
    except ValueError:
        return console.render(
            request, "refused.html", status_code=400, identity=identity, reason="form"
        )
    back = form.get("back", "/promises")
    if back not in ("/promises", "/my-day"):
        back = "/promises"
    if state != "pending":
        return protect(RedirectResponse(f"{back}?plan=decided", status_code=303))
    now = console.clock.now()
    built = decision_of(
        "accept" if decision == "accept" else "refuse",
        form,
        command_id=command_id,
        proposal_id=proposal.proposal_id,
        customer_id=proposal.customer_id,
        actor=actor_of(identity),
        now=now,
    )
    if isinstance(built, list):
        from services.console.web.workplace import promises_page  # it imports this module

        return await promises_page(
            console, request, status_code=422, problem=(str(proposal.proposal_id), form)
        )
    async with console.pool.acquire() as connection, connection.transaction():
        recorded = await connection.fetchval(
            queries.SEND_PLAN_DECISION,
            proposal.proposal_id,
            decision,
            identity.actor,
            command_id,
            now,
        )
        if recorded is not None:
            await outbox.enqueue(connection, [outbox.OutgoingRecord.of(DISPUTE_COMMANDS, built)])
    log.info(
        "plan_decision_sent",
        decision=decision,
        proposal_id=str(proposal.proposal_id),
        customer_id=proposal.customer_id,
        subject=identity.subject,
        again=recorded is None,
    )
    return protect(RedirectResponse(f"{back}?plan={decision}", status_code=303))


async def proposal_values(
    console: Console,
    identity: Identity,
    request: Request,
    problem: tuple[str, dict[str, str]] | None = None,
) -> dict[str, Any]:
    """What a page shows of the proposals a credit manager may decide: each with a command
    id per form, drawn now; a refusal sent without its reason comes back with the problem
    beside the field and what was typed."""
    if not identity.has("credit_manager"):
        return {"plan_proposals": [], "plan_command_ids": {}, "plan_problem": None, "plan_sent": ""}
    found = await read_model.pending_plan_proposals(
        console.pool, identity, console.settings.worklist_limit
    )
    return {
        "plan_proposals": found,
        "plan_command_ids": {
            f"{p.proposal_id}/{decision}": console.new_command_id()
            for p in found
            for decision in DECISIONS
        },
        "plan_problem": problem,
        "plan_sent": request.query_params.get("plan", ""),
    }
