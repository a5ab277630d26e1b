"""Following AR24's letters: the proofs of deposit, receipt, refusal, negligence, bounce."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from contracts.topics import NOTIFIER_DELIVERIES, Topic
from services.notifier.channels.ar24.client import (
    FINAL,
    PROOFS,
    PROVIDER,
    REPORT_NAMESPACE,
    Ar24Client,
    outcome_of,
)
from services.notifier.channels.tracking import LetterTracker, TrackedProvider, TrackingRecord
from services.notifier.errors import DeliveryError
from services.runtime.clock import Clock
from services.runtime.database import Pool


async def poll(
    client: Ar24Client,
    session: aiohttp.ClientSession,
    row: Mapping[str, Any],
    record: TrackingRecord,
) -> int:
    """Ask AR24 about one letter; record its proofs and status; how many were new."""
    mail = await client.call(
        session,
        "GET",
        "mail",
        {"id": str(row["provider_tracking_id"]), "id_user": client.config.sender_user_id},
    )
    if not isinstance(mail, Mapping):
        raise DeliveryError("AR24 GET /mail/: no mail object", retryable=True)
    stored = set(row["documents"] or ())
    new = 0
    for kind, field in PROOFS:  # proofs first: a final report waits for its proof
        url = mail.get(field)
        if url and kind not in stored:
            content = await client.download(session, str(url))
            detail = {k: mail.get(k) for k in ("id", "status", "date", "ts_ev_date", "is_eidas")}
            new += await record.document(row, kind, content, detail)
    code, outcome = outcome_of(mail)
    detail = {
        k: mail.get(k)
        for k in ("status", "ts_ev_date", "view_date", "refused_date", "negligence_date")
    }
    return new + await record.report(
        row,
        code,
        detail,
        outcome,
        bounce_reason="AR24: the notification email of the LRE bounced",
    )


def tracked(client: Ar24Client) -> TrackedProvider:
    async def poll_letter(
        session: aiohttp.ClientSession, row: Mapping[str, Any], record: TrackingRecord
    ) -> int:
        return await poll(client, session, row, record)

    return TrackedProvider(
        name=PROVIDER,
        namespace=REPORT_NAMESPACE,
        final_codes=FINAL,
        session=client.session,
        poll=poll_letter,
    )


class Ar24Tracker(LetterTracker):
    """Polls AR24 for the letters not yet final; stores proofs, emits what happened."""

    def __init__(
        self,
        pool: Pool,
        clock: Clock,
        client: Ar24Client,
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
