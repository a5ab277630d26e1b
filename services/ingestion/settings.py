"""Settings of the ingestion service (environment prefix `RELANCE_INGESTION_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class IngestionSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RELANCE_INGESTION_", extra="ignore")

    http_port: int = 8081
    # Larger batches than the kit's default: a batch costs about twenty round trips to
    # PostgreSQL and one transaction whatever its size, and ingestion meets month-end
    # volumes (bench.ingestion: 2,000-record batches ran about 25% slower than 5,000).
    batch_max_records: int = Field(default=5000, ge=1)
    outbox_batch_size: int = Field(default=5000, ge=1)
    # A backlog in the ERP's order: payments applied before the invoices they pay become
    # credit, and the ledger carries more events (services.runtime.time_order).
    time_order: bool = True
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
    unmatched_cash_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="How often the unmatched-cash gauges (count, oldest age) are measured.",
    )
