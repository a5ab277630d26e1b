"""The pages beyond a customer: a call to make and its outcome, Disputes, Promises and
plans, Team (credit managers) and Operations (administrators).

Each route finds who is asking, checks role and portfolio, reads the read model and renders
a template, as :mod:`services.console.web.pages` does; a call's outcome is a ``log_call``
command on ``dunning.commands.v1``, recorded and put in the outbox in one transaction like
the customer page's actions (the ``command_id`` drawn when the page is rendered).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, get_args
from uuid import UUID

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from contracts.disputes import DisputeCategory
from services.console import queries, read_model, team
from services.console.domain.calls import OUTCOMES, log_call_of
from services.console.web import operations
from services.console.web.actions import actor_of
from services.console.web.plans import proposal_values
from services.console.web.security import protect
from services.runtime import outbox
from services.runtime.identity import Identity, authorize, require_role
from services.runtime.logs import get_logger

if TYPE_CHECKING:
    from services.console.web.pages import Console

log = get_logger(__name__)

CATEGORIES: tuple[str, ...] = get_args(DisputeCategory)  # also the call's dispute category
AGES = (7, 30, 60, 90)
EFFECT_WINDOW_DAYS = 14


async def _call_of(
    console: Console, request: Request, reminder_id: str
) -> tuple[Identity, read_model.Call | None, read_model.Customer | None]:
    identity = await console.identity(request)
    try:
        rid = UUID(reminder_id)
    except ValueError:
        return identity, None, None
    found = await read_model.call(console.pool, rid)
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
    return identity, found, customer


async def call_page(
    console: Console, request: Request, reminder_id: str, sent: str = ""
) -> Response:
    identity, found, customer = await _call_of(console, request, reminder_id)
    if found is None or customer is None:
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    return _render_call(console, request, identity, found, customer, sent=sent == "yes")


def _render_call(
    console: Console,
    request: Request,
    identity: Identity,
    found: read_model.Call,
    customer: read_model.Customer,
    status_code: int = 200,
    **values: object,
) -> Response:
    return console.render(
        request,
        "call.html",
        status_code=status_code,
        identity=identity,
        call=found,
        customer=customer,
        outcomes=OUTCOMES,
        categories=CATEGORIES,
        can_record=identity.has("collector"),
        today=console.clock.now().date(),
        **{"command_id": console.new_command_id(), **values},
    )


async def call_outcome(console: Console, request: Request, reminder_id: str) -> Response:
    identity, found, customer = await _call_of(console, request, reminder_id)
    form = await console.form(request)
    if found is None or customer is None:
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    require_role(identity, "collector")
    try:
        command_id = UUID(form.get("command_id", ""))
    except ValueError:
        return console.render(
            request, "refused.html", status_code=400, identity=identity, reason="form"
        )
    now = console.clock.now()
    built = log_call_of(
        form,
        command_id=command_id,
        customer_id=customer.customer_id,
        reminder_id=found.reminder_id,
        invoice_ids=[i.invoice_id for i in found.invoices if i.status == "open"],
        currency=found.currency,
        actor=actor_of(identity),
        now=now,
        today=now.date(),
    )
    if isinstance(built, list):
        return _render_call(
            console,
            request,
            identity,
            found,
            customer,
            status_code=422,
            problems=built,
            form=form,
            command_id=command_id,
        )
    facts = {"outcome": form.get("outcome", ""), "reminder_id": str(found.reminder_id)}
    if form.get("note", "").strip():  # shown on the timeline once the call is executed
        facts["note"] = form["note"].strip()[:4000]
    async with console.pool.acquire() as connection, connection.transaction():
        recorded = await connection.fetchval(
            queries.RECORD_SENT_COMMAND,
            command_id,
            customer.customer_id,
            "log_call",
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
        command="log_call",
        command_id=str(command_id),
        customer_id=customer.customer_id,
        subject=identity.subject,
        again=recorded is None,
    )
    return protect(RedirectResponse(f"/calls/{found.reminder_id}?sent=yes", status_code=303))


def _int_or_none(text: str) -> int | None:
    return int(text) if text.isdigit() and int(text) in AGES else None


async def disputes_page(
    console: Console, request: Request, owner: str = "", category: str = "", age: str = ""
) -> Response:
    identity = await console.identity(request)
    filters = read_model.DisputeFilter(
        owner=owner.strip()[:200] or None,
        category=category if category in CATEGORIES else None,
        older_than_days=_int_or_none(age),
    )
    rows, summary, owners = await read_model.disputes(
        console.pool, identity, filters, console.clock.now(), console.settings.worklist_limit
    )
    return console.render(
        request,
        "disputes.html",
        identity=identity,
        disputes=rows,
        summary=summary,
        owners=owners,
        categories=CATEGORIES,
        ages=AGES,
        filters=filters,
        today=console.clock.now().date(),
    )


async def promises_page(
    console: Console,
    request: Request,
    status_code: int = 200,
    problem: tuple[str, dict[str, str]] | None = None,
) -> Response:
    identity = await console.identity(request)
    today = console.clock.now().date()
    promises, plans = await read_model.promises_and_plans(
        console.pool, identity, today, console.settings.worklist_limit
    )
    return console.render(
        request,
        "promises.html",
        status_code=status_code,
        identity=identity,
        promises=promises,
        plans=plans,
        today=today,
        back="/promises",
        **await proposal_values(console, identity, request, problem),
    )


async def team_page(console: Console, request: Request) -> Response:
    identity = await console.identity(request)
    require_role(identity, "credit_manager")
    figures = await team.team(console.pool, identity, console.clock.now(), EFFECT_WINDOW_DAYS)
    return console.render(request, "team.html", identity=identity, team=figures)


async def operations_page(console: Console, request: Request, sent: str = "") -> Response:
    identity = await console.identity(request)
    require_role(identity, "credit_manager")  # credit managers and administrators
    figures = await team.operations(console.pool, console.settings.worklist_limit)
    return console.render(
        request,
        "operations.html",
        identity=identity,
        ops=figures,
        now=console.clock.now(),
        **await operations.page_values(console, identity, sent),
    )
