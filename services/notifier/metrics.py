"""The notifier's own metrics."""

from __future__ import annotations

from prometheus_client import Counter

DELIVERIES = Counter(
    "relance_notifier_deliveries_total",
    "Deliveries by channel and outcome (sent, retried, failed, suppressed).",
    ["service", "channel", "outcome"],
)
