"""The portal's own metrics, next to the runtime kit's (``service`` label on each)."""

from __future__ import annotations

from prometheus_client import Counter

COPIES = Counter(
    "relance_portal_invoice_copies",
    "Invoice copies asked for, by outcome (served, refused: not this link's invoice or no "
    "copy, missing in the store, altered, store_failed).",
    ["service", "outcome"],
)

ATTACHMENTS = Counter(
    "relance_portal_dispute_attachments",
    "Documents attached to disputes asked for on their owners' pages, by outcome (served, "
    "refused: not one of the link's dispute's documents, missing, altered, store_failed).",
    ["service", "outcome"],
)
