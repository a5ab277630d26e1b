"""Carrying a call's outcome to the service that owns call tasks, the notifier.

Today the notifier closes a call task through its HTTP route
``POST /call-tasks/{task_id}/close`` (``services/notifier/channels/phone/tasks.py``), which
checks the caller's role and portfolio, records the closing identity as ``closed_by`` and
publishes ``call_task.closed`` through its outbox; the console learns the outcome from that
event like every other reader. :class:`NotifierCallTasks` is that route's client: it
forwards the signed-in person's own credential (the installation's token or the identity
provider's, which every service of the installation verifies), never a credential of the
console. It is the one place to change when the outcome travels as a command on
``dunning.commands.v1`` instead.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.console.errors import CallOutcomeRefused, CallOutcomeUnavailable


class NotifierClientSettings(BaseSettings):
    """Where the notifier's call-task routes are (``RELANCE_CONSOLE_NOTIFIER_*``)."""

    model_config = SettingsConfigDict(env_prefix="RELANCE_CONSOLE_NOTIFIER_", extra="ignore")

    url: str | None = Field(
        default=None,
        description="The notifier's base address, e.g. http://relance-notifier:8080; "
        "without it the outcome form is not offered.",
    )
    timeout_s: float = Field(default=5.0, gt=0, le=60)


class NotifierCallTasks:
    """The notifier's ``/call-tasks/{id}/close``, called with the reader's credential."""

    def __init__(self, settings: NotifierClientSettings) -> None:
        assert settings.url
        self.base = settings.url.rstrip("/")
        self.timeout_s = settings.timeout_s

    async def close(self, task_id: UUID, body: dict[str, Any], credential: str) -> None:
        """Close the task; raises :class:`CallOutcomeRefused` (the notifier said no: its
        status and message) or :class:`CallOutcomeUnavailable` (it could not be reached)."""
        url = f"{self.base}/call-tasks/{task_id}/close"
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.post(
                    url, json=body, headers={"Authorization": f"Bearer {credential}"}
                )
        except httpx.HTTPError as exc:
            raise CallOutcomeUnavailable(f"the notifier could not be reached: {exc!r}") from exc
        if response.status_code >= 500:
            raise CallOutcomeUnavailable(f"the notifier answered {response.status_code}")
        if response.status_code >= 400:
            raise CallOutcomeRefused(response.status_code, response.text[:500])
