"""The settings the disputes rules decide with, and the ids of the events they emit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from services.disputes.domain.routing import ReminderPolicy, Routing

SOURCE = "disputes"
EVENT_NAMESPACE = uuid.UUID("5a0f9e0c-3b7d-4f0e-8d0a-2c6e1b9f7d42")
OWNER_REMINDER_AT = time(9, 0)


def event_id(*parts: object) -> uuid.UUID:
    """Deterministic event ids: a replayed command or timer emits the same event."""
    return uuid.uuid5(EVENT_NAMESPACE, "/".join(str(p) for p in parts))


@dataclass(frozen=True)
class Policy:
    routing: Routing
    reminders: ReminderPolicy
    time_zone: str = "Europe/Paris"
    promise_grace_days: int = 2
    promise_max_days: int = 90
    instalment_grace_days: int = 2
    plan_first_within_days: int = 7
    announced_payment_days: int = 5
    plan_proposal_days: int = 5

    def owner_reminder_at(self, day: date) -> datetime:
        """When an owner reminder falls due on ``day``: the morning, in the service's zone."""
        return datetime.combine(day, OWNER_REMINDER_AT, tzinfo=ZoneInfo(self.time_zone))
