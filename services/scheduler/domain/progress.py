"""Where an invoice goes next in its scenario, and when.

The functions here work on a position: the index of the next step to take in the
scenario's version in force (``len(steps)`` means only the exit is left). An invoice stores
its next step's identity, never the index; :func:`services.scheduler.domain.state.position_of`
finds the index by identity (:mod:`services.scheduler.domain.versions`). :func:`plan`
computes the next step's send instant; :func:`due_now` answers, at a tick, which step to
take now. After an outage several steps may have fallen
due: only the latest applicable one is taken, the earlier ones are recorded as skipped;
a formal notice [mise en demeure] is never skipped.

No litigation without a formal notice: a scenario whose exit is litigation or a collection
agency leaves the amicable phase only once its formal notice step was delivered (or deemed
delivered: :class:`Notice`) and ``Notice.delay`` (8 days by default) has passed since. An
invoice whose exit falls due earlier takes the formal notice instead (a catch-up after an
outage, an invoice first seen past the scenario's end) or waits for it to be delivered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Final

from contracts.dunning import DUNNING_LEVELS, DunningLevel
from contracts.erp import CustomerType
from services.runtime.business_days import SendingWindow, send_instant
from services.scheduler.domain.scenario import EXITS_AFTER_NOTICE, Scenario, Step


@dataclass(frozen=True)
class Debtor:
    """What the rules need to know about the customer."""

    country: str
    time_zone: str
    customer_type: CustomerType = "business"
    window: SendingWindow = field(default_factory=SendingWindow)


FORMAL_NOTICE: Final = "formal_notice"
DEFAULT_NOTICE_DELAY: Final = timedelta(days=8)


@dataclass(frozen=True)
class Notice:
    """An invoice's formal notice: when it was delivered or deemed delivered (None: not yet),
    and how long the customer is given after it before the exit."""

    at: datetime | None = None
    delay: timedelta = DEFAULT_NOTICE_DELAY


NO_NOTICE = Notice()


def exit_needs_notice(scenario: Scenario) -> bool:
    return scenario.exit_action in EXITS_AFTER_NOTICE


def _notice_step(
    scenario: Scenario, start: int, open_amount: Decimal, debtor: Debtor
) -> int | None:
    """The last applicable formal-notice step (from ``start``), or None."""
    found = None
    for i in _applicable(scenario, start, open_amount, debtor):
        if scenario.steps[i].level == FORMAL_NOTICE:
            found = i
    return found


@dataclass(frozen=True)
class Planned:
    """The next action of an invoice: a step (``step is None``: the exit) and its instant."""

    position: int
    step: Step | None
    at: datetime


@dataclass(frozen=True)
class Taken:
    """What a tick does for one invoice: the step to take (None: the exit) and skipped ones."""

    position: int
    step: Step | None
    skipped: tuple[Step, ...]


def _applicable(scenario: Scenario, start: int, open_amount: Decimal, debtor: Debtor) -> list[int]:
    return [
        i
        for i in range(start, len(scenario.steps))
        if scenario.steps[i].applies_to(open_amount, debtor.customer_type)
    ]


def _instant(
    scenario: Scenario, position: int, due_date: date, debtor: Debtor, not_before: datetime | None
) -> datetime:
    offset = (
        scenario.steps[position].offset_days
        if position < len(scenario.steps)
        else scenario.max_amicable_days
    )
    return send_instant(
        due_date + timedelta(days=offset),
        country=debtor.country,
        time_zone=debtor.time_zone,
        window=debtor.window,
        not_before=not_before,
    )


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
    """The next action from ``position`` on, or None when the scenario is over (exit taken)
    or its exit waits for a formal notice to be delivered."""
    steps = scenario.steps
    if position > len(steps):
        return None
    nxt = next(
        (
            i
            for i in range(position, len(steps))
            if steps[i].applies_to(open_amount, debtor.customer_type)
        ),
        len(steps),
    )
    step = steps[nxt] if nxt < len(steps) else None
    if step is None and exit_needs_notice(scenario):
        if notice.at is None:
            return None  # nothing to do until the formal notice is delivered
        after_notice = notice.at + notice.delay
        not_before = after_notice if not_before is None else max(not_before, after_notice)
    return Planned(nxt, step, _instant(scenario, nxt, due_date, debtor, not_before))


def firmer_position(
    scenario: Scenario,
    position: int,
    last_level: DunningLevel | None,
    *,
    open_amount: Decimal,
    debtor: Debtor,
) -> int:
    """The position of the first applicable step from ``position`` firmer than ``last_level``.

    Where a broken promise, a broken payment plan or a rejected dispute resumes: never back,
    and never at the level the customer already had (``len(steps)``: only the exit is left).
    Before any step was taken, the position stays.
    """
    if last_level is None or position >= len(scenario.steps):
        return position
    last_rank = DUNNING_LEVELS.index(last_level)
    for index in _applicable(scenario, position, open_amount, debtor):
        if scenario.steps[index].rank > last_rank:
            return index
    return len(scenario.steps)


def resumed_step(
    scenario: Scenario, position: int, *, open_amount: Decimal, debtor: Debtor
) -> Taken | None:
    """What a resumed invoice takes when its timer fires: the first applicable step from
    ``position``, whatever its own date (None when only the exit is left)."""
    applicable = _applicable(scenario, position, open_amount, debtor)
    if not applicable:
        return None
    first = applicable[0]
    return Taken(first, scenario.steps[first], ())


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
    """The step to take at ``now`` (the latest one due), or None when nothing is due.

    ``resumed``: the invoice comes back from a pause; it takes the step where it stopped
    (the first applicable one from ``position``), skipping nothing. A formal notice due is
    never skipped, and an exit that needs one waits for it (the module's docstring).
    """
    if position > len(scenario.steps):
        return None
    if resumed:
        applicable = _applicable(scenario, position, open_amount, debtor)
        if applicable:
            first = applicable[0]
            if _instant(scenario, first, due_date, debtor, None) > now:
                return None
            return Taken(first, scenario.steps[first], ())
    # Steps come in increasing offset order and the exit after the last one (check_scenario),
    # and a later date never sends earlier: the steps due now are the applicable ones up to
    # the first that is not, and the exit is due only if every step is.
    due: list[int] = []
    for i in range(position, len(scenario.steps)):
        if not scenario.steps[i].applies_to(open_amount, debtor.customer_type):
            continue
        if _instant(scenario, i, due_date, debtor, None) > now:
            break
        due.append(i)
    else:
        exit_due = _instant(scenario, len(scenario.steps), due_date, debtor, None) <= now
        if exit_due and (
            not exit_needs_notice(scenario)
            or _notice_served(scenario, position, open_amount, debtor, notice, now)
        ):
            return Taken(len(scenario.steps), None, tuple(scenario.steps[i] for i in due))
    if not due:
        return None
    # the latest step due, or the first formal notice due: a catch-up never passes over it
    latest = next((i for i in due if scenario.steps[i].level == FORMAL_NOTICE), due[-1])
    return Taken(
        latest, scenario.steps[latest], tuple(scenario.steps[i] for i in due if i < latest)
    )


def _notice_served(
    scenario: Scenario,
    position: int,
    open_amount: Decimal,
    debtor: Debtor,
    notice: Notice,
    now: datetime,
) -> bool:
    """Whether the exit may be taken: the formal notice was delivered, its delay is over, and
    no formal notice is still ahead of ``position``."""
    if _notice_step(scenario, position, open_amount, debtor) is not None:
        return False  # still to send (a catch-up takes it, see due_now)
    return notice.at is not None and notice.at + notice.delay <= now
