"""Settings of the disputes service (environment prefix `RELANCE_DISPUTES_`).

The HTTP API is never open by default: with no API key, identity provider or local
account configured it refuses every request (``401``) and says why in its answer and in
the log at start.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from contracts.disputes import DisputeCategory
from contracts.dunning import InternalRole
from services.disputes.domain.roles import ApiRole, parse_keys
from services.disputes.domain.routing import (
    DEFAULT_DUE_DAYS,
    DEFAULT_OWNERS,
    ReminderPolicy,
    Routing,
)
from services.runtime.auth import AuthSettings
from services.runtime.errors import ConfigurationError
from services.runtime.settings import ServiceSettings


class DisputesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RELANCE_DISPUTES_", extra="ignore")

    http_port: int = 8084
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8094, ge=0, le=65535, description="The HTTP API's port.")
    api_keys: SecretStr = Field(
        default=SecretStr(""),
        description="Accepted API keys (or bearer tokens) and the role each grants, as "
        "`role:key,role:key` (roles: reader, portal, collector, manager; keys of at least 16 "
        "characters). Empty: the API refuses every request.",
    )
    auth: AuthSettings = Field(
        default_factory=AuthSettings,
        description="People (OpenID Connect, local accounts) and machine keys beside "
        "`api_keys` (`RELANCE_AUTH_*`, shared by every service).",
    )
    time_zone: str = Field(
        default="Europe/Paris",
        description="Where days begin and end for customers whose time zone is not known yet.",
    )
    owners: dict[DisputeCategory, InternalRole] = Field(
        default_factory=lambda: dict(DEFAULT_OWNERS),
        description="Which internal role solves a dispute of each category.",
    )
    due_days: dict[DisputeCategory, int] = Field(
        default_factory=lambda: dict(DEFAULT_DUE_DAYS),
        description="Days the owner has to solve a dispute of each category.",
    )
    owner_reminder_every_days: int = Field(default=3, ge=1)
    firm_after_days: int = Field(default=5, ge=1, description="Days overdue before firm.")
    urgent_after_days: int = Field(default=10, ge=1, description="Days overdue before urgent.")
    manager_after_days: int = Field(
        default=15, ge=1, description="Days overdue before the owner's manager is copied."
    )
    owner_people: dict[DisputeCategory, str] = Field(
        default_factory=dict, description="A named owner per category, when there is one."
    )
    promise_max_days: int = Field(
        default=90, ge=1, description="The furthest a promised date may be; beyond, a plan."
    )
    plan_first_within_days: int = Field(
        default=7,
        ge=0,
        description="A plan starts with an immediate partial payment, due within these days.",
    )
    promise_grace_days: int = Field(
        default=2, ge=0, description="Days after the promised date before a promise is broken."
    )
    announced_payment_days: int = Field(
        default=5,
        ge=1,
        le=60,
        description="Days a payment announced by a provider (a card payment on the portal) "
        "pauses its invoices while the ERP's payment is awaited; then they resume, with an "
        "alert.",
    )
    plan_proposal_days: int = Field(
        default=5,
        ge=1,
        le=60,
        description="Days a payment plan proposed by a customer pauses its invoices while it "
        "waits for a credit manager's decision; then it lapses and they resume.",
    )
    instalment_grace_days: int = Field(
        default=2, ge=0, description="Days after an instalment's due date before it is missed."
    )
    call_dispute_category: DisputeCategory = Field(
        default="commercial",
        description="The category of a dispute a collector records as a call's outcome.",
    )
    tick_interval_s: float = Field(default=5.0, gt=0)
    tick_batch_size: int = Field(default=200, ge=1)

    def routing(self) -> Routing:
        return Routing(
            owners={**DEFAULT_OWNERS, **self.owners},
            due_days={**DEFAULT_DUE_DAYS, **self.due_days},
            people=dict(self.owner_people),
        )

    def reminder_policy(self) -> ReminderPolicy:
        return ReminderPolicy(
            every_days=self.owner_reminder_every_days,
            firm_after_days=self.firm_after_days,
            urgent_after_days=self.urgent_after_days,
            manager_after_days=self.manager_after_days,
        )

    def secret_keys(self) -> dict[str, ApiRole]:
        """The configured keys by secret; a malformed entry is a configuration error."""
        try:
            return parse_keys(self.api_keys.get_secret_value())
        except ValueError as exc:
            raise ConfigurationError(f"RELANCE_DISPUTES_API_KEYS: {exc}") from exc
