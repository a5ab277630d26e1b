"""Settings of the reporting service (environment prefix `RELANCE_REPORTING_`)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from services.reporting.domain.aging import DEFAULT_EDGES, buckets
from services.runtime.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RELANCE_REPORTING_", extra="ignore")

    http_port: int = 8085
    reporting_currency: str = Field(
        default="EUR", pattern=r"^[A-Z]{3}$", description="Currency totals are converted to."
    )
    bucket_edges: tuple[int, ...] = Field(
        default=DEFAULT_EDGES,
        description="Upper edges, in days overdue, of the aged balance's buckets after "
        "'not yet due'; one open-ended bucket follows the last.",
    )
    bi_role: str = Field(default="relance_bi", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    bi_password: SecretStr | None = Field(
        default=None,
        description="Password of the read-only BI role; without one the role cannot log in.",
    )
    refresh_interval_s: float = Field(
        default=3600.0, gt=0, description="How often the DSO table and today's snapshot refresh."
    )
    dso_months: int = Field(default=13, ge=1, description="Months of DSO kept up to date.")
    aging_roll_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="How often the maintained aged balance checks whether the day changed.",
    )

    unmatched_alert_days: int = Field(
        default=7,
        ge=1,
        description="Age in days after which unmatched cash (a payment or credit note waiting "
        "for its invoice) is flagged in the unmatched_cash view.",
    )

    @field_validator("bucket_edges")
    @classmethod
    def _valid_edges(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        buckets(value)
        return value
