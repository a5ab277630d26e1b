"""Property-based: for any scenario, calendar and tick history, the scheduling rules hold.

An invoice is walked through its scenario by daily ticks (at a random hour) with the pure
rules the tick applies (:func:`due_now`, then the next position). Whatever the scenario,
country and due date: steps are taken in order and never before their date, never two the
same day, firmness never goes down, and nothing follows the exit.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.dunning import DUNNING_LEVELS
from services.runtime.business_days import SendingWindow, send_instant
from services.scheduler.domain.progress import Debtor, Taken, due_now, plan
from services.scheduler.domain.scenario import Scenario, check_scenario

ZONES = {
    "FR": "Europe/Paris",
    "DE": "Europe/Berlin",
    "GB": "Europe/London",
    "US": "America/New_York",
}


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    count = draw(st.integers(1, 5))
    offsets = sorted(draw(st.sets(st.integers(-10, 80), min_size=count, max_size=count)))
    ranks = sorted(draw(st.lists(st.integers(0, 3), min_size=count, max_size=count)))
    steps = [
        {
            "name": f"s{n}",
            "level": DUNNING_LEVELS[rank],
            "offset_days": offset,
            "channel": "email",
            "template": "t",
            "conditions": {"min_open_amount": draw(st.sampled_from([None, "50", "5000"]))},
        }
        for n, (offset, rank) in enumerate(zip(offsets, ranks, strict=True))
    ]
    scenario = Scenario.model_validate(
        {
            "id": "generated",
            "max_amicable_days": max(1, offsets[-1] + draw(st.integers(1, 30))),
            "exit_action": "litigation",
            "steps": steps,
        }
    )
    assert check_scenario(scenario, frozenset()) == []
    return scenario


@settings(max_examples=150, deadline=None)
@given(
    scenario=scenarios(),
    country=st.sampled_from(sorted(ZONES)),
    due=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)),
    open_amount=st.sampled_from([Decimal("10"), Decimal("1200")]),
    hour=st.integers(0, 23),
    skip_days=st.sets(st.integers(0, 140), max_size=40),
)
def test_a_daily_walk_keeps_every_scheduling_rule(
    scenario: Scenario,
    country: str,
    due: date,
    open_amount: Decimal,
    hour: int,
    skip_days: set[int],
) -> None:
    debtor = Debtor(country, ZONES[country], "business", SendingWindow())
    zone = ZoneInfo(ZONES[country])
    position = 0
    taken_days: list[date] = []
    ranks: list[int] = []
    exited = False
    for day in range(150):
        if day in skip_days:
            continue  # an outage: no tick that day
        now = datetime.combine(due + timedelta(days=day - 15), time(hour), zone).astimezone(UTC)
        taken = due_now(
            scenario,
            position,
            due_date=due,
            open_amount=open_amount,
            debtor=debtor,
            now=now,
        )
        if taken is None:
            continue
        assert not exited, "nothing follows the exit"
        assert taken.position >= position, "steps are taken in order"
        if taken.step is None:
            exited = True
            assert now.date() >= due + timedelta(days=scenario.max_amicable_days - 1)
            position = len(scenario.steps) + 1
            continue
        step = taken.step
        assert step.applies_to(open_amount, "business")
        local_day = now.astimezone(zone).date()
        assert local_day >= due + timedelta(days=step.offset_days), "never before its date"
        assert local_day not in taken_days, "never two steps the same day"
        assert all(s.rank <= step.rank for s in taken.skipped), "skipped steps are not firmer"
        assert not ranks or ranks[-1] <= step.rank, "firmness never goes down"
        taken_days.append(local_day)
        ranks.append(step.rank)
        position = taken.position + 1
        planned = plan(
            scenario, position, due_date=due, open_amount=open_amount, debtor=debtor, not_before=now
        )
        assert planned is None or planned.at >= now, "the next action is never in the past"


def _instant_of(scenario: Scenario, index: int, due: date, debtor: Debtor) -> datetime:
    offset = (
        scenario.steps[index].offset_days
        if index < len(scenario.steps)
        else scenario.max_amicable_days
    )
    return send_instant(
        due + timedelta(days=offset),
        country=debtor.country,
        time_zone=debtor.time_zone,
        window=debtor.window,
    )


def reference_due_now(
    scenario: Scenario,
    position: int,
    due: date,
    open_amount: Decimal,
    debtor: Debtor,
    now: datetime,
) -> Taken | None:
    """The definition, step by step: the latest applicable step whose instant has come (the
    earlier ones skipped), or the exit once its own instant has come."""
    if position > len(scenario.steps):
        return None
    applicable = [
        i
        for i in range(position, len(scenario.steps))
        if scenario.steps[i].applies_to(open_amount, debtor.customer_type)
    ]
    due_steps = [i for i in applicable if _instant_of(scenario, i, due, debtor) <= now]
    if _instant_of(scenario, len(scenario.steps), due, debtor) <= now:
        return Taken(len(scenario.steps), None, tuple(scenario.steps[i] for i in due_steps))
    if not due_steps:
        return None
    latest = due_steps[-1]
    return Taken(latest, scenario.steps[latest], tuple(scenario.steps[i] for i in due_steps[:-1]))


@settings(max_examples=300, deadline=None)
@given(
    scenario=scenarios(),
    position=st.integers(0, 6),
    country=st.sampled_from(sorted(ZONES)),
    due=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)),
    open_amount=st.sampled_from([Decimal("10"), Decimal("1200")]),
    days=st.integers(-20, 140),
    hour=st.integers(0, 23),
)
def test_due_now_takes_what_the_definition_takes(
    scenario: Scenario,
    position: int,
    country: str,
    due: date,
    open_amount: Decimal,
    days: int,
    hour: int,
) -> None:
    # due_now stops at the first applicable step not yet due: steps come in offset order
    debtor = Debtor(country, ZONES[country], "business", SendingWindow())
    now = datetime.combine(due + timedelta(days=days), time(hour), ZoneInfo(ZONES[country]))
    assert due_now(
        scenario, position, due_date=due, open_amount=open_amount, debtor=debtor, now=now
    ) == reference_due_now(scenario, position, due, open_amount, debtor, now)
