"""Call tasks: a reminder on the ``phone_call`` channel becomes a task for a collector.

The task carries the customer, their contacts and a suggested script (the reminder's text,
with the statement of open items). Collectors list open tasks and close them with the
outcome of the call through the HTTP API; closing publishes ``call_task.closed``, which the
disputes service (a promise to pay, a dispute raised) and the scheduler act upon. Closing a
closed task again with the same outcome is a no-op; with another outcome it is refused.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from contracts.notifications import CallTaskClosed, ClosedCallTask
from contracts.topics import NOTIFIER_DELIVERIES, Topic
from services.notifier import queries
from services.notifier.errors import CallTaskConflict
from services.runtime import outbox
from services.runtime.clock import Clock
from services.runtime.database import Pool

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

    def routes(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route("/call-tasks", self.list_route, methods=["GET"])
        router.add_api_route("/call-tasks/{task_id}/close", self.close_route, methods=["POST"])
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

    async def close(self, task_id: uuid.UUID, outcome: dict[str, Any]) -> ClosedCallTask | None:
        """Close the task; None if it does not exist. Raises ValidationError, CallTaskConflict."""
        now = self.clock.now()
        async with self.pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(queries.CALL_TASK_FOR_UPDATE, task_id)
            if row is None:
                return None
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

    async def list_route(self, request: Request) -> Response:
        status = request.query_params.get("status", "open")
        if status not in {"open", "closed"}:
            return JSONResponse({"error": "status is open or closed"}, status_code=400)
        tasks = await self.list(status, request.query_params.get("customer_id"))
        return JSONResponse({"tasks": tasks})

    async def close_route(self, request: Request) -> Response:
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
            closed = await self.close(task_id, body)
        except ValidationError as exc:
            errors = json.loads(exc.json(include_url=False))
            return JSONResponse({"error": "invalid outcome", "details": errors}, status_code=422)
        except CallTaskConflict as exc:
            return JSONResponse({"error": str(exc)}, status_code=409)
        if closed is None:
            return JSONResponse({"error": f"no call task {task_id}"}, status_code=404)
        return JSONResponse(closed.model_dump(mode="json"))
