"""Settings of the scheduler service (environment prefix `RELANCE_SCHEDULER_`)."""

from __future__ import annotations

from datetime import time
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings
from services.scheduler.domain.library import DEFAULT_LIBRARY


class SchedulerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RELANCE_SCHEDULER_", extra="ignore")

    http_port: int = 8082
    scenarios_path: Path = DEFAULT_LIBRARY
    window_start: time = time(9, 0)
    window_end: time = time(18, 0)
    min_contact_gap_hours: float = Field(default=20.0, ge=0)
    tick_interval_s: float = Field(default=5.0, gt=0)
    tick_batch_size: int = Field(default=500, ge=1)
