"""Metrics of the ingestion service, next to the kit's (every series has a ``service`` label)."""

from __future__ import annotations

from prometheus_client import Counter

DOCUMENTS = Counter(
    "relance_ingestion_events_total",
    "ERP events by what became of them: applied, unchanged (same content again), parked "
    "(waiting for an invoice), rejected (dead-lettered), unparked (applied once the invoice came).",
    ["service", "outcome"],
)
