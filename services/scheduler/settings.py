"""Settings of the scheduler service (environment prefix `RELANCE_SCHEDULER_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class SchedulerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RELANCE_SCHEDULER_", extra="ignore")

    http_port: int = 8082
