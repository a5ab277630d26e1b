"""Settings of the notifier service (environment prefix `RELANCE_NOTIFIER_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RELANCE_NOTIFIER_", extra="ignore")

    http_port: int = 8083
