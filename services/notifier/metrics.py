"""The notifier's own metrics."""

from __future__ import annotations

from prometheus_client import Counter

DELIVERIES = Counter(
    "relance_notifier_deliveries_total",
    "Deliveries by channel and outcome (sent, retried, failed, suppressed).",
    ["service", "channel", "outcome"],
)

SUSPENSION_DELIVERIES = Counter(
    "relance_notifier_suspension_deliveries_total",
    "Deliveries held when a suspension starts and released when it is lifted.",
    ["service", "outcome"],
)

WINDOW_WAITS = Counter(
    "relance_notifier_window_waits_total",
    "Deliveries and notices claimed outside the customer's sending window, pushed to its next "
    "instant.",
    ["service", "channel"],
)

FINAL_CHECK_REFUSALS = Counter(
    "relance_notifier_final_check_refusals_total",
    "Deliveries sent back to the claim by the final check right before the provider call.",
    ["service", "channel"],
)

UNKNOWN_COMPANIES = Counter(
    "relance_notifier_unknown_company_total",
    "Deliveries failed because their company has no creditor identity configured.",
    ["service", "company_code"],
)

LISTENER_ERRORS = Counter(
    "relance_notifier_dispatcher_listener_errors_total",
    "Errors of the dispatcher's listening connection (lost, refused, broken), by type: each "
    "discards the connection and listens again after a backoff; the lanes poll meanwhile.",
    ["service", "error"],
)
