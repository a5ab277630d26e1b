"""A call of the collector's own, logged from the customer page.

``GET /customers/{id}/call``: the customer's phone contacts (``tel:`` links, one to say who
was called), the invoices discussed (every open one, or those chosen among them) and the
call's outcome form (``_call_outcome.html``, the call task's and the call-back's).
``POST /customers/{id}/call`` first answers with a confirmation page stating what will be
logged (the same fields, hidden, and a second button), as the customer page's actions do;
the confirmed post records the ``log_call`` command (no ``reminder_id``: not a call reminder
of the scenario) in ``sent_command`` and puts it in the outbox in one transaction. The
``command_id`` is drawn when the form is rendered and carried by its confirmation: the same
form posted twice is one command. Role and portfolio are checked on every route; the actor
is the signed-in identity. The scheduler records the call and forwards a promise or a
dispute to the disputes service; the console keeps the note, the contact called and the
invoices' numbers with the command it sent, for the timeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from uuid import UUID

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from services.console import queries, read_model
from services.console.domain.calls import (
    FIELDS,
    OUTCOMES,
    Discussable,
    PhoneContact,
    log_call_of,
    subject_of,
)
from services.console.web.actions import actor_of
from services.console.web.security import protect
from services.console.web.workplace import CATEGORIES
from services.runtime import outbox
from services.runtime.identity import Identity, authorize, require_role
from services.runtime.logs import get_logger

if TYPE_CHECKING:
    from services.console.web.pages import Console

log = get_logger(__name__)

COMMAND = "log_call"


async def _customer_of(
    console: Console, identity: Identity, customer_id: str
) -> read_model.Customer | None:
    found = await read_model.customer(console.pool, customer_id)
    if found is not None:
        authorize(
            identity,
            company_code=found.company_code,
            collector_code=found.collector_code,
            segment=found.market,
        )
    return found


def phone_contacts(customer: read_model.Customer) -> list[PhoneContact]:
    return [
        PhoneContact(str(c["phone"]), str(c.get("role", "")), c.get("name"))
        for c in customer.contacts
        if c.get("phone")
    ]


async def _open_invoices(console: Console, customer_id: str) -> list[Discussable]:
    items, _ = await read_model.open_items(console.pool, customer_id, console.clock.now().date())
    return [
        Discussable(i.invoice_id, i.invoice_number, i.currency, i.open_amount, i.status)
        for i in items
    ]


def _currency_shown(invoices: list[Discussable]) -> str:
    """The promise's currency as the form states it: the open invoices' (several: each)."""
    return " / ".join(dict.fromkeys(i.currency for i in invoices)) or "—"


def _render_form(
    console: Console,
    request: Request,
    identity: Identity,
    customer: read_model.Customer,
    invoices: list[Discussable],
    status_code: int = 200,
    **values: Any,
) -> Response:
    return console.render(
        request,
        "customer_call.html",
        status_code=status_code,
        identity=identity,
        customer=customer,
        contacts=phone_contacts(customer),
        invoices=invoices,
        outcomes=OUTCOMES,
        categories=CATEGORIES,
        currency=_currency_shown(invoices),
        today=console.clock.now().date(),
        **{"command_id": console.new_command_id(), "chosen": [], **values},
    )


async def call_page(console: Console, request: Request, customer_id: str) -> Response:
    identity = await console.identity(request)
    found = await _customer_of(console, identity, customer_id)
    if found is None:
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    require_role(identity, "collector")
    invoices = await _open_invoices(console, found.customer_id)
    return _render_form(console, request, identity, found, invoices)


async def log_own_call(console: Console, request: Request, customer_id: str) -> Response:
    identity = await console.identity(request)
    form = await console.form(request)  # the anti-forgery token first
    chosen = [v for v in (await request.form()).getlist("invoice_id") if isinstance(v, str)]
    found = await _customer_of(console, identity, customer_id)
    if found is None:
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    require_role(identity, "collector")
    try:
        command_id = UUID(form.get("command_id", ""))
    except ValueError:
        return console.render(
            request, "refused.html", status_code=400, identity=identity, reason="form"
        )
    back = "/customers/" + quote(found.customer_id, safe="") + f"?sent={COMMAND}"
    if form.get("confirmed") == "yes" and await console.pool.fetchval(
        queries.SENT_COMMAND_EXISTS, command_id, found.customer_id
    ):
        # the same confirmation posted again: the command was sent, whatever changed since
        log.info("command_sent", command=COMMAND, command_id=str(command_id), again=True)
        return protect(RedirectResponse(back, status_code=303))
    now = console.clock.now()
    invoices = await _open_invoices(console, found.customer_id)
    subject, problems = subject_of(
        form, chosen, contacts=phone_contacts(found), open_invoices=invoices
    )
    built = log_call_of(
        form,
        command_id=command_id,
        customer_id=found.customer_id,
        reminder_id=None,  # a call of the collector's own, not a call reminder
        invoice_ids=subject.invoice_ids,
        currency=subject.currency or "EUR",  # no open invoice: no promise either
        actor=actor_of(identity),
        now=now,
        today=now.date(),
    )
    if isinstance(built, list) or problems:
        return _render_form(
            console,
            request,
            identity,
            found,
            invoices,
            status_code=422,
            problems=[*problems, *(built if isinstance(built, list) else [])],
            form=form,
            chosen=chosen,
            command_id=command_id,
        )
    values = {name: form.get(name, "").strip() for name in FIELDS}
    if form.get("confirmed") != "yes":
        return console.render(
            request,
            "customer_call_confirm.html",
            identity=identity,
            customer=found,
            subject=subject,
            values=values,
            scope="all" if subject.all_open else "chosen",
            command_id=command_id,
            call=built.payload,
        )
    facts: dict[str, object] = {"outcome": values["outcome"], "numbers": list(subject.numbers)}
    if subject.contact is not None:
        facts["called"] = subject.contact.label
    if values["note"]:
        facts["note"] = values["note"][:4000]
    async with console.pool.acquire() as connection, connection.transaction():
        recorded = await connection.fetchval(
            queries.RECORD_SENT_COMMAND,
            command_id,
            found.customer_id,
            COMMAND,
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
        command=COMMAND,
        command_id=str(command_id),
        customer_id=found.customer_id,
        subject=identity.subject,
        again=recorded is None,
    )
    return protect(RedirectResponse(back, status_code=303))
