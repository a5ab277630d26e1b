"""Age buckets of the aged balance [balance âgée].

Days overdue are counted from the due date to the as-of date: zero or less is *not yet
due*; otherwise the first bucket whose upper edge is at least the days overdue, and past
the last edge the open-ended bucket ``over_<last edge>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise

from services.reporting.errors import ReportingError

DEFAULT_EDGES: tuple[int, ...] = (30, 60, 90, 120)
NOT_DUE = "not_due"


class InvalidBucketEdges(ReportingError):
    """Bucket edges must be positive whole days in strictly increasing order."""


@dataclass(frozen=True)
class AgingBucket:
    order: int
    label: str
    min_days: int | None  # None: no lower bound
    max_days: int | None  # None: no upper bound

    def holds(self, days_overdue: int) -> bool:
        above = self.min_days is None or days_overdue >= self.min_days
        below = self.max_days is None or days_overdue <= self.max_days
        return above and below


def buckets(edges: Sequence[int] = DEFAULT_EDGES) -> tuple[AgingBucket, ...]:
    """The buckets cut by ``edges`` (upper bounds in days overdue), not-due first."""
    if any(edge < 1 for edge in edges) or any(b <= a for a, b in pairwise(edges)):
        raise InvalidBucketEdges(f"invalid bucket edges: {list(edges)}")
    result = [AgingBucket(0, NOT_DUE, None, 0)]
    lower = 1
    for order, edge in enumerate(edges, start=1):
        result.append(AgingBucket(order, f"{lower}-{edge}", lower, edge))
        lower = edge + 1
    last = edges[-1] if edges else 0
    result.append(AgingBucket(len(edges) + 1, f"over_{last}", last + 1, None))
    return tuple(result)


def days_overdue(due_date: date, as_of: date) -> int:
    """Signed days from the due date to ``as_of``: negative while not yet due."""
    return (as_of - due_date).days


def bucket_of(days: int, edges: Sequence[int] = DEFAULT_EDGES) -> str:
    """The label of the bucket holding an item ``days`` overdue."""
    for bucket in buckets(edges):
        if bucket.holds(days):
            return bucket.label
    raise AssertionError(f"no bucket holds {days} days")  # buckets cover every integer
