"""The scheduler, as the console reads it: a campaign's dry run, a command's dry run (what a
*Send now* or a change of scenario would make go out), the library's catalogue (templates,
scenarios and steps to choose from) and the scenario library's versions.

``POST {RELANCE_CONSOLE_SCHEDULER_URL}/v1/campaigns/dry-run``, ``POST .../v1/commands/
{send_now|change_scenario}/dry-run``, ``GET .../v1/library/catalogue`` and ``GET .../v1/
library/versions[/{scenario_id}/{version}]`` with the console's machine key (``X-API-Key``,
role credit_manager at the scheduler). The catalogue is kept for a minute (a failure for
fifteen seconds, so that an unreachable scheduler does not slow every customer page down).
The console checks the reader's role and portfolio itself
before asking (the machine key sees every company); the scheduler checks them again on the
``launch_campaign`` command, which carries the person as its actor. Every failure is a
:class:`SchedulerUnavailable` with the scheduler's status and error code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from services.console.errors import SchedulerUnavailable
from services.console.settings import ConsoleSettings

CATALOGUE_KEPT_S = 60.0
CATALOGUE_FAILURE_KEPT_S = 15.0
REHEARSED = ("send_now", "change_scenario")


class SchedulerOperations:
    """Calls the scheduler's operators' routes."""

    def __init__(
        self,
        settings: ConsoleSettings,
        client: httpx.AsyncClient | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.base_url = (settings.scheduler_url or "").rstrip("/")
        self.key = settings.scheduler_api_key
        self.timeout_s = settings.scheduler_timeout_s
        self.client = client
        self.monotonic = monotonic
        self._catalogue: tuple[float, dict[str, Any] | None] | None = None

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

    async def rehearse(self, command: str, body: dict[str, Any]) -> dict[str, Any]:
        """What ``command`` (send_now or change_scenario) with this body would make go out
        now: the scheduler's dry run (nothing is written)."""
        if command not in REHEARSED:
            raise ValueError(f"no dry run of {command}")
        answer: dict[str, Any] = await self._call(
            "POST", f"/v1/commands/{command}/dry-run", json=body
        )
        return answer

    async def catalogue(self) -> dict[str, Any] | None:
        """The library's templates, scenarios and steps, or None when the scheduler is not
        configured or did not answer (the forms then offer a text field)."""
        if not self.configured:
            return None
        now = self.monotonic()
        if self._catalogue is not None:
            at, kept = self._catalogue
            if now - at < (CATALOGUE_KEPT_S if kept is not None else CATALOGUE_FAILURE_KEPT_S):
                return kept
        try:
            answer = await self._call("GET", "/v1/library/catalogue")
            found: dict[str, Any] | None = {
                "templates": [str(t) for t in answer["templates"]],
                "scenarios": list(answer["scenarios"]),
            }
        except (SchedulerUnavailable, KeyError, TypeError):
            found = None
        self._catalogue = (now, found)
        return found

    async def versions(self) -> list[dict[str, Any]]:
        answer = await self._call("GET", "/v1/library/versions")
        return list(answer["versions"])

    async def version(self, scenario_id: str, version: int) -> dict[str, Any]:
        answer: dict[str, Any] = await self._call(
            "GET", f"/v1/library/versions/{quote(scenario_id, safe='')}/{version}"
        )
        return answer
