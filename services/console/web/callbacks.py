"""Call-backs customers asked for on the portal, as call tasks for collectors.

``GET /callbacks/{id}``: who asked, the day, slot and number they gave (a ``tel:`` link),
the customer's other contacts, the invoices it is about, and the call's outcome form.
``POST /callbacks/{id}/outcome``: the outcome as a ``log_call`` command on
``dunning.commands.v1`` (the scheduler records the call and forwards a promise or a
dispute to the disputes service), recorded, put in the outbox and the task closed in one
transaction, with ``callback.close`` for the disputes service, which keeps the request; the
``command_id`` is drawn when the page is rendered, so the same form posted
twice is one command. Role and portfolio are checked on every route.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID, uuid5

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from contracts import disputes
from contracts.topics import DISPUTE_COMMANDS
from services.console import queries, read_model
from services.console.domain.calls import OUTCOMES, log_call_of
from services.console.domain.commands import EVENT_NAMESPACE, SOURCE
from services.console.web.actions import actor_of
from services.console.web.security import protect
from services.console.web.workplace import CATEGORIES
from services.runtime import outbox
from services.runtime.identity import Identity, authorize, require_role
from services.runtime.logs import get_logger

if TYPE_CHECKING:
    from services.console.web.pages import Console

log = get_logger(__name__)


async def _task_of(
    console: Console, request: Request, request_id: str
) -> tuple[Identity, read_model.CallbackTask | None, read_model.Customer | None]:
    identity = await console.identity(request)
    try:
        rid = UUID(request_id)
    except ValueError:
        return identity, None, None
    row = await console.pool.fetchrow(queries.CALLBACK_TASK, rid)
    customer = await read_model.customer(console.pool, row["customer_id"]) if row else None
    if row is None or customer is None:
        return identity, None, None
    authorize(
        identity,
        company_code=customer.company_code,
        collector_code=customer.collector_code,
        segment=customer.market,
    )
    task = await read_model.callback_task(console.pool, rid, customer.name)
    return identity, task, customer


def _render(
    console: Console,
    request: Request,
    identity: Identity,
    task: read_model.CallbackTask,
    customer: read_model.Customer,
    status_code: int = 200,
    **values: object,
) -> Response:
    return console.render(
        request,
        "callback.html",
        status_code=status_code,
        identity=identity,
        task=task,
        customer=customer,
        outcomes=OUTCOMES,
        categories=CATEGORIES,
        can_record=identity.has("collector"),
        today=console.clock.now().date(),
        **{"command_id": console.new_command_id(), **values},
    )


async def callback_page(
    console: Console, request: Request, request_id: str, sent: str = ""
) -> Response:
    identity, task, customer = await _task_of(console, request, request_id)
    if task is None or customer is None:
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    return _render(console, request, identity, task, customer, sent=sent == "yes")


async def callback_outcome(console: Console, request: Request, request_id: str) -> Response:
    identity, task, customer = await _task_of(console, request, request_id)
    form = await console.form(request)
    if task is None or customer is None:
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
        reminder_id=None,  # a call the customer asked for, not a call reminder
        invoice_ids=[i.invoice_id for i in task.invoices if i.status == "open"],
        currency=task.currency,
        actor=actor_of(identity),
        now=now,
        today=now.date(),
    )
    if isinstance(built, list):
        return _render(
            console,
            request,
            identity,
            task,
            customer,
            status_code=422,
            problems=built,
            form=form,
            command_id=command_id,
        )
    facts = {"outcome": form.get("outcome", ""), "callback_id": str(task.request_id)}
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
            await connection.execute(
                queries.CLOSE_CALLBACK, task.request_id, now, identity.actor, command_id
            )
            await outbox.enqueue(
                connection,
                [
                    outbox.OutgoingRecord.of(console.commands_topic, built),
                    outbox.OutgoingRecord.of(
                        DISPUTE_COMMANDS, closure_of(task, identity.actor, command_id, now)
                    ),
                ],
            )
    log.info(
        "command_sent",
        command="log_call",
        command_id=str(command_id),
        customer_id=customer.customer_id,
        callback_id=str(task.request_id),
        subject=identity.subject,
        again=recorded is None,
    )
    return protect(RedirectResponse(f"/callbacks/{task.request_id}?sent=yes", status_code=303))


def closure_of(
    task: read_model.CallbackTask, actor: str, command_id: UUID, now: datetime
) -> disputes.CloseCallback:
    """The disputes service's ``callback.close`` sent with the call's ``log_call``."""
    return disputes.CloseCallback(
        event_id=uuid5(EVENT_NAMESPACE, f"{command_id}/callback.close"),
        occurred_at=now,
        source=SOURCE,
        payload=disputes.CallbackClosure(
            request_id=task.request_id, customer_id=task.customer_id, closed_by=actor
        ),
    )
