"""Metrics of the ingestion service, next to the kit's (every series has a ``service`` label)."""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge

DOCUMENTS = Counter(
    "relance_ingestion_events_total",
    "ERP events by what became of them: applied, unchanged (same content again), parked "
    "(waiting for an invoice), rejected (dead-lettered), unparked (applied once the invoice came).",
    ["service", "outcome"],
)
UNMATCHED = Gauge(
    "relance_ingestion_unmatched_documents",
    "Payments and credit notes parked because an invoice they name has not arrived.",
    ["service"],
)
UNMATCHED_OLDEST = Gauge(
    "relance_ingestion_unmatched_oldest_parked_timestamp_seconds",
    "When the oldest unmatched payment or credit note was parked (Unix time; 0 when none).",
    ["service"],
)


def record_unmatched(service: str, count: int, oldest: float | None) -> None:
    """Set the unmatched-cash gauges after a batch; the age is computed at scrape time."""
    UNMATCHED.labels(service).set(count)
    UNMATCHED_OLDEST.labels(service).set(oldest or 0)
    UNMATCHED_AGE.labels(service).set_function(
        lambda: 0.0 if not oldest else max(time.time() - oldest, 0.0)
    )


UNMATCHED_AGE = Gauge(
    "relance_ingestion_unmatched_oldest_age_seconds",
    "Age of the oldest unmatched payment or credit note, at scrape time (0 when none).",
    ["service"],
)
