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

from aiohttp import web
from pydantic import ValidationError

from contracts.notifications import CallTaskClosed, ClosedCallTask
from contracts.topics import NOTIFIER_DELIVERIES, Topic
from services.notifier import queries
from services.runtime import outbox
from services.runtime.clock import Clock
from services.runtime.database import Pool

TASK_NAMESPACE = uuid.UUID("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d")
PROVIDER = "call_task"
FIXED_FIELDS = frozenset({"task_id", "reminder_id", "customer_id", "invoice_ids"})


def task_id_of(delivery_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(TASK_NAMESPACE, str(delivery_id))


class CallTaskConflict(Exception):
    """The task was already closed with another outcome."""


class CallTasks:
    def __init__(self, pool: Pool, clock: Clock, topic: Topic = NOTIFIER_DELIVERIES) -> None:
        self.pool = pool
        self.clock = clock
        self.topic = topic

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/call-tasks", self.list_route),
            web.post("/call-tasks/{task_id}/close", self.close_route),
        ]

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

    async def list_route(self, request: web.Request) -> web.Response:
        status = request.query.get("status", "open")
        if status not in {"open", "closed"}:
            return web.json_response({"error": "status is open or closed"}, status=400)
        tasks = await self.list(status, request.query.get("customer_id"))
        return web.json_response({"tasks": tasks})

    async def close_route(self, request: web.Request) -> web.Response:
        try:
            task_id = uuid.UUID(request.match_info["task_id"])
            body = await request.json()
        except ValueError:
            return web.json_response(
                {"error": "a task id and a JSON body are expected"}, status=400
            )
        if not isinstance(body, dict):
            return web.json_response({"error": "a JSON object is expected"}, status=400)
        try:
            closed = await self.close(task_id, body)
        except ValidationError as exc:
            errors = json.loads(exc.json(include_url=False))
            return web.json_response({"error": "invalid outcome", "details": errors}, status=422)
        except CallTaskConflict as exc:
            return web.json_response({"error": str(exc)}, status=409)
        if closed is None:
            return web.json_response({"error": f"no call task {task_id}"}, status=404)
        return web.json_response(closed.model_dump(mode="json"))
