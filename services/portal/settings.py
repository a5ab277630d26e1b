"""Settings of the portal (environment prefix ``RELANCE_PORTAL_``; the links' keys are the
kit's ``RELANCE_LINKS_*``, shared with the notifier that mints the links)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings
from services.runtime.signed_links import SignedLinkSettings


class PortalSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RELANCE_PORTAL_", extra="ignore")

    http_port: int = 8086
    links: SignedLinkSettings = Field(default_factory=SignedLinkSettings)
    company_names: dict[str, str] = Field(
        default_factory=dict,
        description="The invoicing companies' names by company code (JSON map), shown on "
        "the pages; a company not listed is shown by its code.",
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
    requests_per_minute: int = Field(
        default=30,
        ge=1,
        description="Most requests a minute for one link from one address (429 beyond).",
    )
