"""Property-based: for any scenario, calendar and tick history, the scheduling rules hold.

An invoice is walked through its scenario by daily ticks (at a random hour) with the pure
rules the tick applies (:func:`due_now`, then the next position). Whatever the scenario,
country and due date: steps are taken in order and never before their date, never two the
same day, firmness never goes down, nothing follows the exit, a formal notice is never
skipped, and litigation or an agency comes only after a delivered formal notice and its delay,
whatever the outages.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.dunning import DUNNING_LEVELS
from services.runtime.business_days import SendingWindow, send_instant
from services.scheduler.domain.progress import (
    Debtor,
    Notice,
    Taken,
    due_now,
    exit_needs_notice,
    plan,
)
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
            # litigation and an agency need a formal notice step (check_scenario)
            "exit_action": draw(
                st.sampled_from(["litigation", "collection_agency", "doubtful_debt"])
                if ranks[-1] == DUNNING_LEVELS.index("formal_notice")
                else st.just("doubtful_debt")
            ),
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
    outage=st.tuples(st.integers(0, 140), st.integers(0, 120)),
    delivery_days=st.integers(0, 20) | st.none(),
)
def test_a_daily_walk_keeps_every_scheduling_rule(
    scenario: Scenario,
    country: str,
    due: date,
    open_amount: Decimal,
    hour: int,
    skip_days: set[int],
    outage: tuple[int, int],
    delivery_days: int | None,
) -> None:
    """``skip_days`` and ``outage`` (a start and a length, in days) are days with no tick;
    a formal notice is delivered ``delivery_days`` after it is sent (None: never)."""
    debtor = Debtor(country, ZONES[country], "business", SendingWindow())
    zone = ZoneInfo(ZONES[country])
    position = 0
    taken_days: list[date] = []
    ranks: list[int] = []
    exited = False
    notice = Notice(None, timedelta(days=8))
    notice_sent: datetime | None = None
    down = set(range(outage[0], outage[0] + outage[1])) | skip_days
    for day in range(300):
        now = datetime.combine(due + timedelta(days=day - 15), time(hour), zone).astimezone(UTC)
        delivered = (
            None
            if notice_sent is None or delivery_days is None
            else (notice_sent + timedelta(days=delivery_days))
        )
        if notice.at is None and delivered is not None and delivered <= now:
            notice = Notice(delivered, notice.delay)
        if day in down:
            continue  # an outage: no tick that day
        taken = due_now(
            scenario,
            position,
            due_date=due,
            open_amount=open_amount,
            debtor=debtor,
            now=now,
            notice=notice,
        )
        if taken is None:
            continue
        assert not exited, "nothing follows the exit"
        assert taken.position >= position, "steps are taken in order"
        if taken.step is not None or exit_needs_notice(scenario):
            # (a doubtful debt is no claim against the customer: it may pass over it)
            assert all(s.level != "formal_notice" for s in taken.skipped), "never skipped"
        if taken.step is None:
            exited = True
            assert now.date() >= due + timedelta(days=scenario.max_amicable_days - 1)
            if exit_needs_notice(scenario):
                assert notice.at is not None, "no litigation without a delivered formal notice"
                assert now >= notice.at + notice.delay, "nor before its delay"
            position = len(scenario.steps) + 1
            continue
        step = taken.step
        if step.level == "formal_notice":
            notice_sent = now
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
            scenario,
            position,
            due_date=due,
            open_amount=open_amount,
            debtor=debtor,
            not_before=now,
            notice=notice,
        )
        assert planned is None or planned.at >= now, "the next action is never in the past"
    notices = [
        i
        for i, s in enumerate(scenario.steps)
        if s.level == "formal_notice" and s.applies_to(open_amount, "business")
    ]
    if exit_needs_notice(scenario) and notices:
        assert notice_sent is not None, "every litigation-bound invoice gets its formal notice"
        if delivery_days is not None:
            assert exited, "and leaves once it was delivered and its delay passed"


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
    notice: Notice,
) -> Taken | None:
    """The definition, step by step: the latest applicable step whose instant has come (the
    earlier ones skipped) but never past a formal notice, or the exit once its own instant
    has come (and, for litigation or an agency, once no formal notice is left to send and the
    one sent was delivered ``notice.delay`` ago)."""
    if position > len(scenario.steps):
        return None
    applicable = [
        i
        for i in range(position, len(scenario.steps))
        if scenario.steps[i].applies_to(open_amount, debtor.customer_type)
    ]
    due_steps = [i for i in applicable if _instant_of(scenario, i, due, debtor) <= now]
    notices_left = [i for i in applicable if scenario.steps[i].level == "formal_notice"]
    served = notice.at is not None and notice.at + notice.delay <= now and not notices_left
    if _instant_of(scenario, len(scenario.steps), due, debtor) <= now and (
        served or not exit_needs_notice(scenario)
    ):
        return Taken(len(scenario.steps), None, tuple(scenario.steps[i] for i in due_steps))
    if not due_steps:
        return None
    notices_due = [i for i in due_steps if scenario.steps[i].level == "formal_notice"]
    latest = notices_due[0] if notices_due else due_steps[-1]
    skipped = tuple(scenario.steps[i] for i in due_steps if i < latest)
    return Taken(latest, scenario.steps[latest], skipped)


@settings(max_examples=300, deadline=None)
@given(
    scenario=scenarios(),
    position=st.integers(0, 6),
    country=st.sampled_from(sorted(ZONES)),
    due=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)),
    open_amount=st.sampled_from([Decimal("10"), Decimal("1200")]),
    days=st.integers(-20, 140),
    hour=st.integers(0, 23),
    noticed_days=st.integers(-20, 140) | st.none(),
)
def test_due_now_takes_what_the_definition_takes(
    scenario: Scenario,
    position: int,
    country: str,
    due: date,
    open_amount: Decimal,
    days: int,
    hour: int,
    noticed_days: int | None,
) -> None:
    # due_now stops at the first applicable step not yet due: steps come in offset order
    debtor = Debtor(country, ZONES[country], "business", SendingWindow())
    zone = ZoneInfo(ZONES[country])
    now = datetime.combine(due + timedelta(days=days), time(hour), zone)
    notice = Notice(
        None
        if noticed_days is None
        else datetime.combine(due + timedelta(days=noticed_days), time(10), zone)
    )
    assert due_now(
        scenario,
        position,
        due_date=due,
        open_amount=open_amount,
        debtor=debtor,
        now=now,
        notice=notice,
    ) == reference_due_now(scenario, position, due, open_amount, debtor, now, notice)
