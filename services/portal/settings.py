"""Settings of the portal (environment prefix ``RELANCE_PORTAL_``; the links' keys are the
kit's ``RELANCE_LINKS_*``, shared with the notifier that mints the links)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from services.portal.documents import DocumentStoreSettings
from services.portal.domain.plans import PlanRules
from services.portal.gocardless import GoCardlessSettings
from services.runtime.settings import ServiceSettings
from services.runtime.signed_links import SignedLinkSettings


class StripeSettings(BaseSettings):
    """Stripe Checkout (``RELANCE_STRIPE_*``); without a secret key the portal offers no
    online payment."""

    model_config = SettingsConfigDict(env_prefix="RELANCE_STRIPE_", extra="ignore")

    api_base: str = Field(
        default="https://api.stripe.com", description="Stripe's API (a stand-in in tests)."
    )
    checkout_origin: str = Field(
        default="https://checkout.stripe.com",
        description="Where Checkout's pages are, allowed as a form target by the CSP.",
    )
    secret_key: SecretStr | None = Field(default=None, description="The API's secret key.")
    webhook_secrets: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        default=(),
        description="The webhook endpoint's signing secrets (``whsec_...``), separated by "
        "commas (or a JSON list); two during a rotation.",
    )
    tolerance_s: int = Field(
        default=300, ge=1, description="How old (or early) a webhook's signature may be."
    )
    timeout_s: float = Field(default=10.0, gt=0)
    max_webhook_bytes: int = Field(default=262_144, ge=1024)

    @field_validator("webhook_secrets", mode="before")
    @classmethod
    def _listed(cls, value: object) -> object:
        if isinstance(value, str):
            if value.strip().startswith("["):
                return tuple(json.loads(value))
            return tuple(secret.strip() for secret in value.split(",") if secret.strip())
        return value

    @model_validator(mode="after")
    def _webhooks_verifiable(self) -> StripeSettings:
        if self.secret_key is not None and not self.webhook_secrets:
            raise ValueError(
                "RELANCE_STRIPE_SECRET_KEY is set but RELANCE_STRIPE_WEBHOOK_SECRETS is empty: "
                "no payment could be confirmed"
            )
        return self


class PortalSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RELANCE_PORTAL_", extra="ignore")

    http_port: int = 8086
    links: SignedLinkSettings = Field(default_factory=SignedLinkSettings)
    stripe: StripeSettings = Field(default_factory=StripeSettings)
    documents: DocumentStoreSettings = Field(default_factory=DocumentStoreSettings)
    gocardless: GoCardlessSettings = Field(default_factory=GoCardlessSettings)
    company_names: dict[str, str] = Field(
        default_factory=dict,
        description="The invoicing companies' names by company code (JSON map), shown on "
        "the pages; a company not listed is shown by its code.",
    )
    companies_file: Path | None = Field(
        default=None,
        description="The companies file the notifier reads (same YAML format): each page "
        "shows its customer's invoicing company's legal name, logo, address, registration "
        "and VAT numbers and colours.",
    )
    recent_days: int = Field(
        default=60, ge=1, description="How far back payments and credit notes are listed."
    )
    max_promise_days: int = Field(
        default=90, ge=1, description="How far ahead a customer may announce a payment."
    )
    max_form_bytes: int = Field(
        default=16_384, ge=1024, description="Larger request bodies are refused (413)."
    )
    max_attachments: int = Field(
        default=3, ge=0, le=5, description="Most documents attached to one dispute."
    )
    max_attachment_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1024, description="Largest document attached to a dispute."
    )
    plan_rules: PlanRules = Field(
        default_factory=PlanRules,
        description="The rules of payment plans customers propose (JSON: max_instalments, "
        "first_within_days, min_instalment, max_days).",
    )
    company_plan_rules: dict[str, PlanRules] = Field(
        default_factory=dict,
        description="Rules of an invoicing company's own, by company code (JSON map); the "
        "others follow plan_rules.",
    )
    requests_per_minute: int = Field(
        default=30,
        ge=1,
        description="Most requests a minute for one link from one address (429 beyond).",
    )
