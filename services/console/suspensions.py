"""Sending suspended and resumed, as the console's read model keeps them: the projection of
``dunning.sending.suspended`` / ``resumed`` and the suspensions in force that the
Operations page lists (and offers to resume)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts import dunning
from services.console import queries
from services.runtime.database import Pool

Statement = tuple[str, tuple[Any, ...]]


def suspended(event: dunning.SendingSuspended) -> list[Statement]:
    s = event.payload
    return [
        (queries.SENDING_SUSPENDED, (s.suspension_id, s.company_code, s.by, s.reason, s.at)),
    ]


def resumed(event: dunning.SendingResumed) -> list[Statement]:
    r = event.payload
    return [(queries.SENDING_RESUMED, (r.suspension_id, r.by, r.at))]


@dataclass(frozen=True)
class Suspension:
    """A suspension in force: ``company_code`` None covers every company."""

    suspension_id: Any
    company_code: str | None
    suspended_by: str
    reason: str
    suspended_at: datetime


async def in_force(pool: Pool) -> list[Suspension]:
    rows = await pool.fetch(queries.SUSPENSIONS_IN_FORCE)
    return [
        Suspension(
            r["suspension_id"],
            r["company_code"],
            r["suspended_by"],
            r["reason"],
            r["suspended_at"],
        )
        for r in rows
    ]
