"""Routing a dispute to the service that can solve it, and chasing its owner.

Each category has an owner role and a number of days to solve it. While a dispute is open
past its due date the owner is reminded every few days, firmer as the delay grows, and the
owner's manager is copied past a limit.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from contracts.disputes import DisputeCategory, Firmness
from contracts.dunning import InternalRole

DEFAULT_OWNERS: Mapping[DisputeCategory, InternalRole] = {
    "commercial": "sales",
    "pricing": "sales",
    "quality": "technical",
    "delivery": "order_administration",
    "administrative": "order_administration",
    "accounting": "accounting_team",
}
DEFAULT_DUE_DAYS: Mapping[DisputeCategory, int] = {
    "commercial": 10,
    "pricing": 7,
    "quality": 15,
    "delivery": 7,
    "administrative": 5,
    "accounting": 5,
}
OWNER_REMINDER_NAMESPACE = uuid.UUID("0b6f3f5e-6a53-4c1e-a7c9-5b2d8e4f9a11")
SATURDAY = 5


@dataclass(frozen=True)
class Route:
    owner_role: InternalRole
    owner: str | None
    due_date: date


@dataclass(frozen=True)
class Routing:
    owners: Mapping[DisputeCategory, InternalRole]
    due_days: Mapping[DisputeCategory, int]
    people: Mapping[DisputeCategory, str] = field(default_factory=dict)

    def route(self, category: DisputeCategory, opened_on: date) -> Route:
        return Route(
            owner_role=self.owners[category],
            owner=self.people.get(category),
            due_date=opened_on + timedelta(days=self.due_days[category]),
        )


@dataclass(frozen=True)
class ReminderPolicy:
    every_days: int = 3
    firm_after_days: int = 5
    urgent_after_days: int = 10
    manager_after_days: int = 15

    def firmness(self, days_overdue: int) -> Firmness:
        if days_overdue >= self.urgent_after_days:
            return "urgent"
        if days_overdue >= self.firm_after_days:
            return "firm"
        return "gentle"

    def escalated_to_manager(self, days_overdue: int) -> bool:
        return days_overdue >= self.manager_after_days

    def first_day(self, due_date: date) -> date:
        """The first reminder: the first working day after the due date."""
        return working_day(due_date + timedelta(days=1))

    def next_day(self, reminded_on: date) -> date:
        return working_day(reminded_on + timedelta(days=self.every_days))


def working_day(day: date) -> date:
    """``day``, or the Monday after when it falls on a weekend (owners are colleagues)."""
    while day.weekday() >= SATURDAY:
        day += timedelta(days=1)
    return day


def owner_reminder_id(dispute_id: uuid.UUID, opening: int, number: int) -> uuid.UUID:
    """Deterministic: the ``number``-th reminder of the ``opening``-th opening of a dispute."""
    return uuid.uuid5(OWNER_REMINDER_NAMESPACE, f"{dispute_id}/{opening}/{number}")
