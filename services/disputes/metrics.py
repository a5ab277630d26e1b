"""The disputes service's own metrics, next to the runtime kit's (``service`` label on each)."""

from __future__ import annotations

from prometheus_client import Counter

COMMANDS = Counter(
    "relance_disputes_commands",
    "Commands applied or rejected, by command, way in (kafka, http) and outcome.",
    ["service", "command", "via", "outcome"],
)
REJECTIONS = Counter(
    "relance_disputes_rejections",
    "Commands rejected, by reason.",
    ["service", "reason"],
)
EVENTS = Counter(
    "relance_disputes_events",
    "Events published, by event type.",
    ["service", "event_type"],
)

ANNOUNCED_PAYMENTS_UNCONFIRMED = Counter(
    "relance_disputes_announced_payments_unconfirmed",
    "Payments a provider announced whose ERP payment did not arrive in time: their invoices "
    "resumed dunning. Alerted on (RelanceAnnouncedPaymentUnconfirmed).",
    ["service"],
)
