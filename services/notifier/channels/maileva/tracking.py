"""Following Maileva's letters: deposit proofs, acknowledgements, postal statuses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from contracts.topics import NOTIFIER_DELIVERIES, Topic
from services.notifier.channels.maileva.client import (
    ACKNOWLEDGED,
    DELIVERED,
    HARD_RETURNS,
    PROVIDER,
    REPORT_NAMESPACE,
    RETURNED,
    MailevaClient,
)
from services.notifier.channels.tracking import LetterTracker, TrackedProvider, TrackingRecord
from services.runtime.clock import Clock
from services.runtime.database import Pool


def _base(client: MailevaClient, channel: str) -> str:
    product = "registered_mail" if channel == "registered_letter" else "mail"
    return f"{client.config.api_url.rstrip('/')}/{product}/v2"


async def poll(
    client: MailevaClient,
    session: aiohttp.ClientSession,
    row: Mapping[str, Any],
    record: TrackingRecord,
) -> int:
    """Ask Maileva about one letter; record its proofs and statuses; how many were new."""
    sending_id, recipient_id = str(row["provider_tracking_id"]).split("/", 1)
    sending_url = f"{_base(client, row['channel'])}/sendings/{sending_id}"
    recipient_url = f"{sending_url}/recipients/{recipient_id}"
    registered = row["channel"] == "registered_letter"
    stored = set(row["documents"] or ())
    new = 0
    sending = await client.call(session, "GET", sending_url)
    if sending.get("deposit_proof_url") and "deposit_proof" not in stored:
        proof = await client.call(session, "GET", f"{sending_url}/download_deposit_proof", raw=True)
        new += await record.document(row, "deposit_proof", proof, sending)
    statuses = await client.call(session, "GET", f"{recipient_url}/delivery_statuses")
    for status in statuses.get("delivery_statuses", ()):
        code = str(status.get("status", ""))
        outcome: str | None = None
        if code == ACKNOWLEDGED and registered:
            if "acknowledgement_of_receipt" not in stored:
                receipt = await client.call(
                    session,
                    "GET",
                    f"{recipient_url}/download_acknowledgement_of_receipt",
                    raw=True,
                )
                new += await record.document(row, "acknowledgement_of_receipt", receipt, status)
            outcome = "delivered"
        elif code == DELIVERED and not registered:
            outcome = "delivered"
        elif code in RETURNED:
            outcome = "bounced"
        elif not code:
            continue
        new += await record.report(
            row,
            code,
            status,
            outcome,
            bounce_kind="hard" if code in HARD_RETURNS else "soft",
            bounce_reason=f"Maileva {code}: {status.get('label', '')}".strip(),
        )
    return new


def tracked(client: MailevaClient) -> TrackedProvider:
    async def poll_letter(
        session: aiohttp.ClientSession, row: Mapping[str, Any], record: TrackingRecord
    ) -> int:
        return await poll(client, session, row, record)

    return TrackedProvider(
        name=PROVIDER,
        namespace=REPORT_NAMESPACE,
        final_codes=sorted(RETURNED | {ACKNOWLEDGED}),
        session=client.session,
        poll=poll_letter,
    )


class MailevaTracker(LetterTracker):
    """Polls Maileva for the letters not yet final; stores proofs, emits what happened."""

    def __init__(
        self,
        pool: Pool,
        clock: Clock,
        client: MailevaClient,
        *,
        interval_s: float = 3600.0,
        follow_days: int = 60,
        topic: Topic = NOTIFIER_DELIVERIES,
    ) -> None:
        self.client = client
        super().__init__(
            pool,
            clock,
            tracked(client),
            interval_s=interval_s,
            follow_days=follow_days,
            topic=topic,
        )
