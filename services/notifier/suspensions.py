"""Sending suspensions: recorded from ``dunning.actions.v1``, lifted on resume.

While a company (or every company) is suspended, nothing of it reaches a customer: the
dispatcher's claim skips its deliveries (pending ones, retries, fallbacks, campaign
deliveries) and the notices loop its customers' notices, so no attempt is consumed. On
resume the deliveries that fell due meanwhile are released without a burst
(:func:`services.notifier.domain.sending_time.release_schedule`): each customer's one after
the other, the minimum gap apart, each at an instant of the customer's sending window on a
business day; when each is claimed it is checked again like any other (settled, disputed,
promised, in a plan, held or opted out: dropped with its reason).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from contracts.dunning import Suspension, SuspensionLifted
from services.notifier import queries
from services.notifier.domain.sending_time import Held, Place, release_schedule
from services.notifier.metrics import SUSPENSION_DELIVERIES
from services.runtime.business_days import SendingWindow
from services.runtime.consumer import UnitOfWork
from services.runtime.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class ReleaseRules:
    """How held deliveries are released: the sending window, the gap, the default place."""

    window: SendingWindow = field(default_factory=SendingWindow)
    min_gap: timedelta = timedelta(hours=20)
    default_place: Place = field(default_factory=lambda: Place("FR", "Europe/Paris"))


async def suspend(work: UnitOfWork, suspension: Suspension) -> None:
    recorded = await work.connection.fetchval(
        queries.RECORD_SUSPENSION,
        suspension.suspension_id,
        suspension.company_code,
        suspension.by,
        suspension.reason,
        suspension.at,
    )
    if recorded is None:
        return  # a replayed event
    held = int(await work.connection.fetchval(queries.COUNT_IN_SCOPE, suspension.company_code) or 0)
    SUSPENSION_DELIVERIES.labels("notifier", "held").inc(held)
    log.warning(
        "sending_suspended",
        suspension_id=str(suspension.suspension_id),
        company_code=suspension.company_code or "*",
        by=suspension.by,
        reason=suspension.reason,
        held=held,
    )


async def resume(work: UnitOfWork, lifted: SuspensionLifted, rules: ReleaseRules) -> None:
    connection = work.connection
    row = await connection.fetchrow(
        queries.LIFT_SUSPENSION, lifted.suspension_id, lifted.by, lifted.at
    )
    if row is None:
        return  # unknown or already lifted: a replay
    now = work.clock.now()
    rows = await connection.fetch(queries.HELD_DUE, row["company_code"], now)
    places = {
        r["customer_id"]: (
            Place(r["country"], r["time_zone"])
            if r["country"] and r["time_zone"]
            else rules.default_place
        )
        for r in rows
    }
    last_contact = {r["customer_id"]: r["last_contact"] for r in rows if r["last_contact"]}
    schedule = release_schedule(
        (Held(r["delivery_id"], r["customer_id"], r["next_attempt_at"]) for r in rows),
        now,
        places,
        last_contact,
        rules.window,
        rules.min_gap,
    )
    await connection.execute(queries.RELEASE_AT, list(schedule), list(schedule.values()), now)
    await connection.execute(queries.SET_RELEASED, lifted.suspension_id, len(schedule))
    SUSPENSION_DELIVERIES.labels("notifier", "released").inc(len(schedule))
    log.warning(
        "sending_resumed",
        suspension_id=str(lifted.suspension_id),
        company_code=row["company_code"] or "*",
        suspended_by=row["suspended_by"],
        suspended_at=row["suspended_at"].isoformat(),
        reason=row["reason"],
        resumed_by=lifted.by,
        released=len(schedule),
    )
