"""Settings of the ingestion service (environment prefix `RELANCE_INGESTION_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class IngestionSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RELANCE_INGESTION_", extra="ignore")

    http_port: int = 8081
