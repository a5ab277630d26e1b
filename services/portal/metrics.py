"""The portal's own metrics, next to the runtime kit's (``service`` label on each)."""

from __future__ import annotations

from prometheus_client import Counter

COPIES = Counter(
    "relance_portal_invoice_copies",
    "Invoice copies asked for, by outcome (served, refused: not this link's invoice or no "
    "copy, missing in the store, altered, store_failed).",
    ["service", "outcome"],
)

WEBHOOKS = Counter(
    "relance_portal_payment_webhooks",
    "Payment providers' webhooks and events, by provider and outcome (refused: a signature "
    "that does not verify, nothing changed; malformed; announced, failed, fulfilled, "
    "ignored, unknown, repeated: what each GoCardless event did).",
    ["service", "provider", "outcome"],
)

ATTACHMENTS = Counter(
    "relance_portal_dispute_attachments",
    "Documents attached to disputes asked for on their owners' pages, by outcome (served, "
    "refused: not one of the link's dispute's documents, missing, altered, store_failed).",
    ["service", "outcome"],
)

STATEMENTS = Counter(
    "relance_portal_statements",
    "Statements of account served as PDF on customers' signed links.",
    ["service"],
)
