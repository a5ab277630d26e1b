"""Settings of the reporting service (environment prefix `RELANCE_REPORTING_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RELANCE_REPORTING_", extra="ignore")

    http_port: int = 8085
