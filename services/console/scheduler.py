"""The scheduler, as the console's Operations page reads it: a campaign's dry run and the
scenario library's versions.

``POST {RELANCE_CONSOLE_SCHEDULER_URL}/v1/campaigns/dry-run`` and ``GET .../v1/library/
versions[/{scenario_id}/{version}]`` with the console's machine key (``X-API-Key``, role
credit_manager at the scheduler). The console checks the reader's role and portfolio itself
before asking (the machine key sees every company); the scheduler checks them again on the
``launch_campaign`` command, which carries the person as its actor. Every failure is a
:class:`SchedulerUnavailable` with the scheduler's status and error code.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from services.console.errors import SchedulerUnavailable
from services.console.settings import ConsoleSettings


class SchedulerOperations:
    """Calls the scheduler's operators' routes."""

    def __init__(self, settings: ConsoleSettings, client: httpx.AsyncClient | None = None):
        self.base_url = (settings.scheduler_url or "").rstrip("/")
        self.key = settings.scheduler_api_key
        self.timeout_s = settings.scheduler_timeout_s
        self.client = client

    @property
    def configured(self) -> bool:
        return bool(self.base_url)

    async def _call(self, method: str, path: str, **options: Any) -> Any:
        if not self.configured:
            raise SchedulerUnavailable("no scheduler address (RELANCE_CONSOLE_SCHEDULER_URL)")
        headers = {"X-API-Key": self.key.get_secret_value()} if self.key else {}
        url = f"{self.base_url}{path}"
        try:
            if self.client is not None:
                response = await self.client.request(
                    method, url, headers=headers, timeout=self.timeout_s, **options
                )
            else:
                async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                    response = await client.request(method, url, headers=headers, **options)
        except httpx.HTTPError as exc:
            raise SchedulerUnavailable(
                f"the scheduler did not answer: {type(exc).__name__}"
            ) from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200:
            error = body.get("error", "") if isinstance(body, dict) else ""
            detail = body.get("detail", "") if isinstance(body, dict) else ""
            raise SchedulerUnavailable(
                f"the scheduler answered {response.status_code}: {str(detail)[:300]}",
                response.status_code,
                str(error),
            )
        return body

    async def dry_run(self, campaign: dict[str, Any], offset: int, limit: int) -> dict[str, Any]:
        answer: dict[str, Any] = await self._call(
            "POST",
            "/v1/campaigns/dry-run",
            json=campaign,
            params={"offset": offset, "limit": limit},
        )
        return answer

    async def versions(self) -> list[dict[str, Any]]:
        answer = await self._call("GET", "/v1/library/versions")
        return list(answer["versions"])

    async def version(self, scenario_id: str, version: int) -> dict[str, Any]:
        answer: dict[str, Any] = await self._call(
            "GET", f"/v1/library/versions/{quote(scenario_id, safe='')}/{version}"
        )
        return answer
