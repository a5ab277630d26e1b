"""Settings of the ingestion service (environment prefix `RELANCE_INGESTION_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class IngestionSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RELANCE_INGESTION_", extra="ignore")

    http_port: int = 8081
    company_codes: tuple[str, ...] = Field(
        default=(),
        description=(
            "The creditor company codes this installation serves, as a JSON list, e.g. "
            '["FR01", "DE02"]. Events of any other company are dead-lettered with reason '
            "`unknown_company`. Empty accepts every company."
        ),
    )
    apply_credit: bool = Field(
        default=True,
        description=(
            "Pay a newly issued invoice from the customer's credit balance in its company and "
            "currency (payments that arrived before the invoice, over-payments, credit notes "
            "without an invoice). Off leaves credit for the accountants to allocate."
        ),
    )
