"""Suspending and resuming sending, for one company or for every company.

A suspension is recorded (``sending_suspension``: who, when, why; who resumed and when) and
announced as ``dunning.sending.suspended`` / ``dunning.sending.resumed`` through the outbox,
in the same transaction, so that the notifier holds what it has queued. While a suspension
covers a company, the tick claims none of its customers (``queries.CLAIM_DUE_CUSTOMERS``) and
campaigns that would reach it are refused; its timers wait. After the resumption the first
tick takes them as after an outage: one reminder per customer, the latest step due (the
earlier ones skipped, except the formal notice, see :mod:`services.scheduler.domain.progress`),
the minimum gap kept, scheduled in the customer's sending window.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.dunning import (
    ActorRole,
    SendingResumed,
    SendingSuspended,
    Suspension,
    SuspensionLifted,
)
from contracts.topics import DUNNING_ACTIONS
from services.runtime.database import Connection
from services.runtime.outbox import OutgoingRecord, enqueue
from services.scheduler import queries
from services.scheduler.errors import SuspensionRefused
from services.scheduler.outgoing import SOURCE


@dataclass(frozen=True)
class Holding:
    """A suspension in force: ``company_code`` None covers every company."""

    suspension_id: uuid.UUID
    company_code: str | None
    by: str
    reason: str
    at: datetime

    @classmethod
    def of(cls, row: Any) -> Holding:
        return cls(
            row["suspension_id"],
            row["company_code"],
            row["suspended_by"],
            row["reason"],
            row["suspended_at"],
        )

    def covers(self, company_code: str) -> bool:
        return self.company_code is None or self.company_code == company_code


def suspended_among(holding: Iterable[Holding], company_codes: Sequence[str]) -> list[Holding]:
    """The suspensions that cover any of ``company_codes`` (none given: every company)."""
    return [
        h
        for h in holding
        if not company_codes or h.company_code is None or h.company_code in company_codes
    ]


async def holding(connection: Connection) -> list[Holding]:
    return [Holding.of(r) for r in await connection.fetch(queries.HOLDING_SUSPENSIONS)]


async def suspend(
    connection: Connection,
    *,
    company_code: str | None,
    by: str,
    reason: str,
    now: datetime,
    role: ActorRole | None = None,
) -> Suspension:
    """Record a suspension and announce it, in the caller's transaction (``role``: the one
    ``by`` acted with, for the audit; none: an operator at the command line)."""
    suspension = Suspension(
        suspension_id=uuid.uuid4(),
        company_code=company_code,
        by=by,
        reason=reason,
        at=now,
        role=role,
    )
    recorded = await connection.fetchval(
        queries.SUSPEND, suspension.suspension_id, company_code, by, reason, now
    )
    if recorded is None:
        raise SuspensionRefused(f"sending is already suspended for {_scope(company_code)}")
    event = SendingSuspended(
        event_id=uuid.uuid4(), occurred_at=now, source=SOURCE, payload=suspension
    )
    await enqueue(connection, [OutgoingRecord.of(DUNNING_ACTIONS, event)])
    return suspension


async def resume(
    connection: Connection,
    *,
    company_code: str | None,
    by: str,
    now: datetime,
    role: ActorRole | None = None,
) -> SuspensionLifted:
    """End the suspension of that scope and announce it, in the caller's transaction."""
    suspension_id = await connection.fetchval(queries.RESUME, company_code, by, now)
    if suspension_id is None:
        raise SuspensionRefused(f"sending is not suspended for {_scope(company_code)}")
    lifted = SuspensionLifted(
        suspension_id=suspension_id, company_code=company_code, by=by, at=now, role=role
    )
    event = SendingResumed(event_id=uuid.uuid4(), occurred_at=now, source=SOURCE, payload=lifted)
    await enqueue(connection, [OutgoingRecord.of(DUNNING_ACTIONS, event)])
    return lifted


def _scope(company_code: str | None) -> str:
    return "every company" if company_code is None else f"company {company_code}"
