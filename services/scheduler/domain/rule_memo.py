"""The per-invoice answers of the scenario rules, remembered for the tick's hot path.

:func:`~services.scheduler.domain.progress.due_now` and
:func:`~services.scheduler.domain.progress.plan` are pure, and a book's invoices share few
of their inputs: a handful of scenarios, positions and debtors (country, time zone, customer
type, window), a tick's one ``now``, and due dates that many invoices share (month ends, the
ERP's runs). They were a sixth of a tick's Python time. The functions here answer as those
do and remember each answer under its inputs, with two changes to the key that keep it
exact:

- the scenario by identity (a library version replaces its scenarios whole, they are
  frozen), checked on every hit, so that a reused ``id`` never answers for another one;
- the open amount by the class of amounts every step's condition treats alike: a step
  applies from its ``min_open_amount`` on, so two amounts with as many of the scenario's
  thresholds at or below them pass the same conditions (and the rules read the amount
  nowhere else).

Bounded: the memo is emptied whenever it grows past :data:`MAX_ENTRIES` answers.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, datetime
from decimal import Decimal
from typing import Final, TypeVar

from services.scheduler.domain import progress
from services.scheduler.domain.progress import NO_NOTICE, Debtor, Notice, Planned, Taken
from services.scheduler.domain.scenario import Scenario

MAX_ENTRIES: Final = 100_000

_thresholds: dict[int, tuple[Scenario, tuple[Decimal, ...]]] = {}
T = TypeVar("T")

_due: dict[tuple[object, ...], tuple[Scenario, Taken | None]] = {}
_planned: dict[tuple[object, ...], tuple[Scenario, Planned | None]] = {}


def amount_class(scenario: Scenario, open_amount: Decimal) -> int:
    """How many of ``scenario``'s amount thresholds ``open_amount`` reaches: amounts of one
    class pass the same step conditions."""
    known = _thresholds.get(id(scenario))
    if known is None or known[0] is not scenario:
        if len(_thresholds) >= MAX_ENTRIES:
            _thresholds.clear()
        minimums = {
            step.conditions.min_open_amount
            for step in scenario.steps
            if step.conditions.min_open_amount is not None
        }
        known = (scenario, tuple(sorted(minimums)))
        _thresholds[id(scenario)] = known
    thresholds = known[1]
    return bisect_right(thresholds, open_amount) if thresholds else 0


def due_now(
    scenario: Scenario,
    position: int,
    *,
    due_date: date,
    open_amount: Decimal,
    debtor: Debtor,
    now: datetime,
    resumed: bool = False,
    notice: Notice = NO_NOTICE,
) -> Taken | None:
    """:func:`services.scheduler.domain.progress.due_now`, remembered."""
    key = (
        id(scenario),
        position,
        due_date,
        amount_class(scenario, open_amount),
        debtor,
        now,
        resumed,
        notice,
    )
    known = _due.get(key)
    if known is not None and known[0] is scenario:
        return known[1]
    taken = progress.due_now(
        scenario,
        position,
        due_date=due_date,
        open_amount=open_amount,
        debtor=debtor,
        now=now,
        resumed=resumed,
        notice=notice,
    )
    return _remember(_due, key, scenario, taken)


def plan(
    scenario: Scenario,
    position: int,
    *,
    due_date: date,
    open_amount: Decimal,
    debtor: Debtor,
    not_before: datetime | None = None,
    notice: Notice = NO_NOTICE,
) -> Planned | None:
    """:func:`services.scheduler.domain.progress.plan`, remembered."""
    key = (
        id(scenario),
        position,
        due_date,
        amount_class(scenario, open_amount),
        debtor,
        not_before,
        notice,
    )
    known = _planned.get(key)
    if known is not None and known[0] is scenario:
        return known[1]
    planned = progress.plan(
        scenario,
        position,
        due_date=due_date,
        open_amount=open_amount,
        debtor=debtor,
        not_before=not_before,
        notice=notice,
    )
    return _remember(_planned, key, scenario, planned)


def _remember(
    cache: dict[tuple[object, ...], tuple[Scenario, T]],
    key: tuple[object, ...],
    scenario: Scenario,
    answer: T,
) -> T:
    """Keep ``answer`` under ``key`` with its scenario (checked by identity on a hit), the
    cache emptied when full."""
    if len(cache) >= MAX_ENTRIES:
        cache.clear()
    cache[key] = (scenario, answer)
    return answer
