"""Settings of the disputes service (environment prefix `RELANCE_DISPUTES_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class DisputesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RELANCE_DISPUTES_", extra="ignore")

    http_port: int = 8084
