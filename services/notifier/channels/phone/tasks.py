"""Call tasks: a reminder on the ``phone_call`` channel becomes a task for a collector.

The task carries the customer, their contacts and a suggested script (the reminder's text,
with the statement of open items). Collectors list open tasks and close them with the
outcome of the call through the HTTP API; closing publishes ``call_task.closed``, which the
disputes service (a promise to pay, a dispute raised) and the scheduler act upon. Closing a
closed task again with the same outcome is a no-op; with another outcome it is refused.

The routes need the role ``collector``: a collector lists the tasks in their portfolio (by
the company of the task's invoices) and may close only those (403 ``portfolio`` otherwise);
``closed_by`` is the authenticated identity, whatever the body says.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from contracts.notifications import CallTaskClosed, ClosedCallTask
from contracts.topics import NOTIFIER_DELIVERIES, Topic
from services.notifier import queries
from services.notifier.errors import CallTaskConflict
from services.runtime import outbox
from services.runtime.auth import Authenticator, guarded_router
from services.runtime.clock import Clock
from services.runtime.database import Pool
from services.runtime.identity import Identity, authorize_invoices, covers_invoices

TASK_NAMESPACE = uuid.UUID("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d")
PROVIDER = "call_task"
FIXED_FIELDS = frozenset({"task_id", "reminder_id", "customer_id", "invoice_ids"})


def task_id_of(delivery_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(TASK_NAMESPACE, str(delivery_id))


class CallTasks:
    def __init__(self, pool: Pool, clock: Clock, topic: Topic = NOTIFIER_DELIVERIES) -> None:
        self.pool = pool
        self.clock = clock
        self.topic = topic

    def routes(self, auth: Authenticator) -> APIRouter:
        router = guarded_router()
        collector: Identity = Depends(auth.require("collector"))

        async def list_tasks(request: Request, identity: Identity = collector) -> Response:
            return await self.list_route(request, identity)

        async def close_task(request: Request, identity: Identity = collector) -> Response:
            return await self.close_route(request, identity)

        router.add_api_route("/call-tasks", list_tasks, methods=["GET"])
        router.add_api_route("/call-tasks/{task_id}/close", close_task, methods=["POST"])
        return router

    async def list(
        self, status: str = "open", customer_id: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(queries.CALL_TASKS, status, customer_id, limit)
        return [
            {
                "task_id": str(r["task_id"]),
                "reminder_id": str(r["reminder_id"]),
                "customer_id": r["customer_id"],
                "customer_name": r["customer_name"],
                "invoice_ids": list(r["invoice_ids"]),
                "contacts": json.loads(r["contacts"]),
                "script": r["script"],
                "status": r["status"],
                "created_at": r["created_at"].isoformat(),
                "closed_at": r["closed_at"].isoformat() if r["closed_at"] else None,
                "outcome": json.loads(r["outcome"]) if r["outcome"] else None,
            }
            for r in rows
        ]

    async def close(
        self, task_id: uuid.UUID, outcome: dict[str, Any], identity: Identity | None = None
    ) -> ClosedCallTask | None:
        """Close the task; None if it does not exist. Raises ValidationError, CallTaskConflict,
        and Refused when ``identity`` (who closes it through the API) may not."""
        now = self.clock.now()
        async with self.pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(queries.CALL_TASK_FOR_UPDATE, task_id)
            if row is None:
                return None
            if identity is not None:
                authorize_invoices(identity, row["invoice_ids"])
                outcome = {**outcome, "closed_by": identity.actor}
            closed = ClosedCallTask(
                task_id=task_id,
                reminder_id=row["reminder_id"],
                customer_id=row["customer_id"],
                invoice_ids=tuple(row["invoice_ids"]),
                **{k: v for k, v in outcome.items() if k not in FIXED_FIELDS},
            )
            recorded = closed.model_dump(mode="json")
            if row["status"] == "closed":
                if json.loads(row["outcome"]) != recorded:
                    raise CallTaskConflict(f"call task {task_id} is already closed")
                return closed
            await connection.execute(queries.CLOSE_CALL_TASK, task_id, now, recorded)
            event = CallTaskClosed(
                event_id=uuid.uuid5(TASK_NAMESPACE, f"{task_id}/closed"),
                occurred_at=now,
                source="notifier",
                payload=closed,
            )
            await outbox.enqueue(connection, [outbox.OutgoingRecord.of(self.topic, event)])
            return closed

    async def list_route(self, request: Request, identity: Identity) -> Response:
        status = request.query_params.get("status", "open")
        if status not in {"open", "closed"}:
            return JSONResponse({"error": "status is open or closed"}, status_code=400)
        tasks = await self.list(status, request.query_params.get("customer_id"))
        shown = [t for t in tasks if covers_invoices(identity, t["invoice_ids"])]
        return JSONResponse({"tasks": shown})

    async def close_route(self, request: Request, identity: Identity) -> Response:
        try:
            task_id = uuid.UUID(request.path_params["task_id"])
            body = await request.json()
        except ValueError:
            return JSONResponse(
                {"error": "a task id and a JSON body are expected"}, status_code=400
            )
        if not isinstance(body, dict):
            return JSONResponse({"error": "a JSON object is expected"}, status_code=400)
        try:
            closed = await self.close(task_id, body, identity)
        except ValidationError as exc:
            errors = json.loads(exc.json(include_url=False))
            return JSONResponse({"error": "invalid outcome", "details": errors}, status_code=422)
        except CallTaskConflict as exc:
            return JSONResponse({"error": str(exc)}, status_code=409)
        if closed is None:
            return JSONResponse({"error": f"no call task {task_id}"}, status_code=404)
        return JSONResponse(closed.model_dump(mode="json"))
