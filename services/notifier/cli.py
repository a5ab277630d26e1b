"""The collectors' commands for call tasks, mounted under ``relance call-tasks``::

    relance call-tasks list [--status open|closed] [--customer ID] [--json]
    relance call-tasks close TASK_ID --outcome promise_to_pay --date 2026-03-15 \\
        --amount 1400.00 --currency EUR --by eve [--note TEXT]
    relance call-tasks close TASK_ID --outcome dispute_raised --reason "missing PO" --by eve

They work on the notifier's tables like the HTTP API (``GET /call-tasks``, ``POST
/call-tasks/{id}/close``) and close a task the same way: ``call_task.closed`` goes out
through the outbox for the disputes service and the scheduler. The notifier's clock setting
(``RELANCE_NOTIFIER_CLOCK``) dates the closing, so a simulated run stays on its timeline.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError

from services.notifier.channels.phone.tasks import CallTasks
from services.notifier.errors import CallTaskConflict
from services.notifier.settings import NotifierSettings
from services.runtime.clock import clock_from_setting
from services.runtime.database import create_pool
from services.runtime.dead_letter import describe_validation_error
from services.runtime.settings import load

app = typer.Typer(no_args_is_help=True, help="Call tasks for the collectors.")
T = TypeVar("T")


async def _with_tasks(work: Callable[[CallTasks], Awaitable[T]]) -> T:
    settings = load(NotifierSettings)
    pool = await create_pool(settings.database, "notifier", max_size=2)
    try:
        return await work(CallTasks(pool, clock_from_setting(settings.clock)))
    finally:
        await pool.close()


@app.command("list")
def list_tasks(
    status: Annotated[str, typer.Option(help="open or closed")] = "open",
    customer: Annotated[str | None, typer.Option(help="only this customer")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List call tasks, oldest first."""
    if status not in {"open", "closed"}:
        raise typer.BadParameter("status is open or closed")
    tasks = asyncio.run(_with_tasks(lambda t: t.list(status, customer)))
    if as_json:
        typer.echo(json.dumps(tasks, indent=2, ensure_ascii=False))
        return
    for task in tasks:
        phones = ", ".join(str(c["phone"]) for c in task["contacts"] if c.get("phone"))
        typer.echo(
            f"{task['task_id']}  {task['created_at'][:10]}  {task['customer_id']:<12} "
            f"{task['customer_name'][:30]:<30}  {len(task['invoice_ids'])} invoice(s)  "
            f"{phones or 'no phone'}"
        )
    typer.echo(f"{len(tasks)} {status} task(s)")


@app.command("close")
def close_task(
    task_id: Annotated[uuid.UUID, typer.Argument(help="the task's id")],
    outcome: Annotated[
        str, typer.Option(help="promise_to_pay, dispute_raised, wrong_contact or no_answer")
    ],
    by: Annotated[str, typer.Option(help="who called")],
    date: Annotated[str | None, typer.Option(help="promised date, YYYY-MM-DD")] = None,
    amount: Annotated[str | None, typer.Option(help="promised amount, e.g. 1400.00")] = None,
    currency: Annotated[str, typer.Option(help="currency of the amount")] = "EUR",
    reason: Annotated[str | None, typer.Option(help="the dispute's reason")] = None,
    note: Annotated[str | None, typer.Option(help="free text")] = None,
) -> None:
    """Close a call task with its outcome; exits 1 on a refused outcome, 2 if unknown."""
    body: dict[str, Any] = {"outcome": outcome, "closed_by": by, "note": note}
    if date is not None:
        body["promised_date"] = date
    if amount is not None:
        body["promised_amount"] = {"amount": amount, "currency": currency}
    if reason is not None:
        body["dispute_reason"] = reason
    try:
        closed = asyncio.run(_with_tasks(lambda t: t.close(task_id, body)))
    except ValidationError as exc:
        typer.echo(f"refused: {describe_validation_error(exc)}", err=True)
        raise typer.Exit(1) from exc
    except CallTaskConflict as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(1) from exc
    if closed is None:
        typer.echo(f"no call task {task_id}", err=True)
        raise typer.Exit(2)
    typer.echo(f"closed {task_id}: {closed.outcome}")
