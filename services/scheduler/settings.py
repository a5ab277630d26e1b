"""Settings of the scheduler service (environment prefix `RELANCE_SCHEDULER_`)."""

from __future__ import annotations

from datetime import time
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from contracts.dunning import Channel
from services.runtime.auth import AuthSettings
from services.runtime.settings import ServiceSettings
from services.scheduler.domain.library import DEFAULT_LIBRARY
from services.scheduler.domain.state import DEFAULT_FALLBACKS


class SchedulerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RELANCE_SCHEDULER_", extra="ignore")

    http_port: int = 8082
    auth: AuthSettings = Field(
        default_factory=AuthSettings,
        description="Who may use the HTTP commands API (`RELANCE_AUTH_*`, shared by every "
        "service): OpenID Connect, local accounts, machine keys. None: it refuses every request.",
    )
    scenarios_path: Path = DEFAULT_LIBRARY
    library_check_interval_s: float = Field(
        default=60.0,
        gt=0,
        description=(
            "How often the running scheduler checks its scenario folder (a new valid version "
            "is accepted, an invalid one refused while the running one stays) and adopts a "
            "library version accepted elsewhere (the CLI, another replica)."
        ),
    )
    library_watch_folder: bool = Field(
        default=True,
        description=(
            "Whether the periodic check reads the folder; without it, only `relance scheduler "
            "library reload` changes the library."
        ),
    )
    window_start: time = time(9, 0)
    window_end: time = time(18, 0)
    min_contact_gap_hours: float = Field(default=20.0, ge=0)
    tick_interval_s: float = Field(default=5.0, gt=0)
    # due invoices claimed per tick: 1,000 drains a large book with half the round trips of
    # 500 (docs/scenarios.md, *Performance*), a tick then holding its invoices about 0.3 s
    # (a payment for one of them waits that long in the tracker; the notifier's own check
    # suppresses the reminder meanwhile)
    tick_batch_size: int = Field(default=1000, ge=1)
    # three ticks at once since the tick's Python costs less than its statements: while one
    # tick decides, two wait on PostgreSQL (docs/scenarios.md, *Performance*, eighth round);
    # a tick then holds its invoices about 0.25-0.35 s at the median instead of 0.2-0.3
    tick_concurrency: int = Field(
        default=3,
        ge=1,
        description=(
            "Ticks (transactions) one replica runs side by side when much is due; each claims "
            "its own customers, so PostgreSQL writes one batch while Python decides the next."
        ),
    )
    tick_deciding_process: bool = Field(
        default=False,
        description=(
            "Whether a replica decides its ticks' batches (the contact rule, the events' text) "
            "in a process of its own, on another core than its claims and writes."
        ),
    )
    formal_notice_delay_days: int = Field(
        default=8,
        ge=0,
        description=(
            "Days after a formal notice was delivered (or deemed delivered) before an invoice "
            "may leave for litigation or a collection agency."
        ),
    )
    formal_notice_served_when_sent_channels: frozenset[Channel] = Field(
        default=frozenset({"email", "interactive_email", "phone_call"}),
        description=(
            "Channels with no delivery report: a formal notice sent on one is deemed delivered "
            "on its delivery.sent (elsewhere, on its delivery.delivered)."
        ),
    )
    formal_notice_served_when_sent_providers: frozenset[str] = Field(
        default=frozenset({"file_drop"}),
        description=(
            "Providers that never report a delivery (an in-house print room): a formal notice "
            "they sent is deemed delivered on its delivery.sent."
        ),
    )
    call_retry_business_days: int = Field(
        default=2, ge=1, description="Business days before a call not answered is tried again."
    )
    call_attempts: int = Field(
        default=3,
        ge=1,
        description="Calls tried (the first included) before the step's written channel.",
    )
    channel_fallbacks: dict[Channel, Channel] = Field(
        default_factory=lambda: dict(DEFAULT_FALLBACKS),  # type: ignore[arg-type]
        description=(
            "When a reminder fails for good or bounces hard on a channel, the same step is "
            "sent again on this channel (JSON map); a channel not listed has no fallback."
        ),
    )

    @field_validator("channel_fallbacks")
    @classmethod
    def _no_loop(cls, value: dict[str, str]) -> dict[str, str]:
        for start in value:
            seen, channel = {start}, start
            while channel in value:
                channel = value[channel]
                if channel in seen:
                    raise ValueError(f"channel fallbacks loop through {channel}")
                seen.add(channel)
        return value
