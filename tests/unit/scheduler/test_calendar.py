"""Business days, sending windows and the progress of an invoice through its scenario."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.dunning import DUNNING_LEVELS
from services.runtime.business_days import SendingWindow, is_business_day, send_instant
from services.scheduler.domain.library import load_library
from services.scheduler.domain.progress import Debtor, Notice, due_now, plan

LIBRARY = load_library()
PARIS = Debtor(country="FR", time_zone="Europe/Paris")
ZONES = {
    "FR": "Europe/Paris",
    "DE": "Europe/Berlin",
    "US": "America/New_York",
    "JP": "Asia/Tokyo",
    "GB": "Europe/London",
    "BR": "America/Sao_Paulo",
    "AU": "Australia/Sydney",
}


def test_christmas_and_weekends_are_not_business_days_in_france() -> None:
    assert not is_business_day(date(2026, 12, 25), "FR")
    assert not is_business_day(date(2026, 11, 28), "FR")  # a Saturday
    assert is_business_day(date(2026, 11, 23), "FR")


def test_a_step_on_a_french_holiday_moves_to_the_next_business_day() -> None:
    # 1 May 2026 is a Friday and a public holiday: the next business day is Monday 4 May.
    at = send_instant(
        date(2026, 5, 1), country="FR", time_zone="Europe/Paris", window=SendingWindow()
    )
    assert at == datetime(2026, 5, 4, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))


def test_not_before_inside_the_window_is_kept_and_after_it_moves_a_day() -> None:
    zone = ZoneInfo("Europe/Paris")
    window = SendingWindow(time(9), time(18))
    inside = datetime(2026, 11, 23, 14, 30, tzinfo=zone)
    late = datetime(2026, 11, 23, 19, 0, tzinfo=zone)
    assert (
        send_instant(
            date(2026, 11, 20),
            country="FR",
            time_zone="Europe/Paris",
            window=window,
            not_before=inside,
        )
        == inside
    )
    assert send_instant(
        date(2026, 11, 20), country="FR", time_zone="Europe/Paris", window=window, not_before=late
    ) == datetime(2026, 11, 24, 9, 0, tzinfo=zone)


def test_an_unknown_country_still_skips_weekends() -> None:
    at = send_instant(date(2026, 11, 28), country="AQ", time_zone="UTC", window=SendingWindow())
    assert at == datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("UTC"))


@settings(max_examples=300, deadline=None)
@given(
    day=st.dates(date(2024, 1, 1), date(2030, 12, 31)),
    country=st.sampled_from(sorted(ZONES)),
    start_hour=st.integers(0, 22),
    length=st.integers(1, 10),
    gap_minutes=st.one_of(st.none(), st.integers(-10_000, 20_000)),
)
def test_send_instant_is_a_business_day_in_the_window_and_never_early(
    day: date, country: str, start_hour: int, length: int, gap_minutes: int | None
) -> None:
    zone = ZoneInfo(ZONES[country])
    window = SendingWindow(time(start_hour), time(min(start_hour + length, 23), 59))
    not_before = (
        None
        if gap_minutes is None
        else datetime.combine(day, time(12), tzinfo=UTC) + timedelta(minutes=gap_minutes)
    )
    at = send_instant(
        day, country=country, time_zone=ZONES[country], window=window, not_before=not_before
    )
    local = at.astimezone(zone)
    assert is_business_day(local.date(), country)
    assert local.date() >= day
    assert window.start <= local.time().replace(tzinfo=None) < window.end
    if not_before is not None:
        assert at >= not_before
    # and it is the first such instant: day by day from the later of the two dates
    first = max(day, day if not_before is None else not_before.astimezone(zone).date())
    while True:
        start = datetime.combine(first, window.start, tzinfo=zone)
        candidate = start if not_before is None else max(start, not_before)
        end = datetime.combine(first, window.end, tzinfo=zone)
        if is_business_day(first, country) and candidate < end:
            break
        first += timedelta(days=1)
    assert at == candidate


def test_plan_starts_with_the_preventive_step_before_the_due_date() -> None:
    negligent = LIBRARY.scenarios["negligent"]
    first = plan(negligent, 0, due_date=date(2026, 11, 30), open_amount=Decimal(100), debtor=PARIS)
    assert first is not None
    assert first.step is not None
    assert (first.step.name, first.at.date()) == ("courtesy", date(2026, 11, 25))


def test_after_an_outage_only_the_latest_due_step_is_taken() -> None:
    negligent = LIBRARY.scenarios["negligent"]
    now = datetime(2026, 12, 30, 12, tzinfo=UTC)  # 30 days late: courtesy, friendly, call, firm due
    taken = due_now(
        negligent, 0, due_date=date(2026, 11, 30), open_amount=Decimal(100), debtor=PARIS, now=now
    )
    assert taken is not None
    assert taken.step is not None
    assert taken.step.name == "firm"
    assert [s.name for s in taken.skipped] == ["courtesy", "friendly", "call"]


def test_past_the_amicable_phase_the_formal_notice_comes_before_the_exit() -> None:
    negligent = LIBRARY.scenarios["negligent"]
    notice = len(negligent.steps) - 1
    assert negligent.steps[notice].level == "formal_notice"
    now = datetime(2027, 3, 1, tzinfo=UTC)
    due = {"due_date": date(2026, 11, 30), "open_amount": Decimal(100), "debtor": PARIS}
    taken = due_now(negligent, 2, now=now, **due)  # type: ignore[arg-type]
    assert taken is not None
    assert taken.step is not None
    assert taken.step.level == "formal_notice"  # a catch-up sends it, never skips it
    # sent but not delivered yet: the exit waits, with no timer
    past = len(negligent.steps)
    assert due_now(negligent, past, now=now, **due) is None  # type: ignore[arg-type]
    assert plan(negligent, past, **due) is None  # type: ignore[arg-type]
    delivered = Notice(datetime(2027, 2, 25, tzinfo=UTC), timedelta(days=8))
    assert due_now(negligent, past, now=now, notice=delivered, **due) is None  # type: ignore[arg-type]
    planned = plan(negligent, past, notice=delivered, **due)  # type: ignore[arg-type]
    assert planned is not None
    assert planned.at >= datetime(2027, 3, 5, tzinfo=UTC)
    later = datetime(2027, 3, 6, 12, tzinfo=UTC)
    taken = due_now(negligent, past, now=later, notice=delivered, **due)  # type: ignore[arg-type]
    assert taken is not None
    assert taken.step is None
    assert taken.position == len(negligent.steps)
    assert (
        plan(
            negligent,
            len(negligent.steps) + 1,
            due_date=date(2026, 11, 30),
            open_amount=Decimal(1),
            debtor=PARIS,
        )
        is None
    )


def test_a_step_whose_conditions_fail_is_passed_over() -> None:
    scenario = LIBRARY.scenarios["negligent"].model_copy(deep=True)
    steps = list(scenario.steps)
    steps[0] = steps[0].model_copy(
        update={
            "conditions": steps[0].conditions.model_copy(update={"min_open_amount": Decimal(500)})
        }
    )
    scenario = scenario.model_copy(update={"steps": tuple(steps)})
    planned = plan(scenario, 0, due_date=date(2026, 11, 30), open_amount=Decimal(100), debtor=PARIS)
    assert planned is not None
    assert planned.step is not None
    assert planned.step.name == "friendly"


@settings(max_examples=200, deadline=None)
@given(
    scenario_id=st.sampled_from(sorted(LIBRARY.scenarios)),
    due=st.dates(date(2025, 1, 1), date(2029, 12, 31)),
    country=st.sampled_from(sorted(ZONES)),
    tick_hours=st.lists(st.integers(1, 24 * 20), min_size=1, max_size=40),
)
def test_walking_a_scenario_never_goes_down_nor_early(
    scenario_id: str, due: date, country: str, tick_hours: list[int]
) -> None:
    scenario = LIBRARY.scenarios[scenario_id]
    debtor = Debtor(country=country, time_zone=ZONES[country])
    now = datetime.combine(due - timedelta(days=15), time(0), tzinfo=UTC)
    position, last_rank, last_at = 0, -1, None
    for hours in tick_hours:
        now += timedelta(hours=hours)
        planned = plan(
            scenario,
            position,
            due_date=due,
            open_amount=Decimal(50),
            debtor=debtor,
            not_before=last_at,
        )
        if planned is None:
            break
        taken = due_now(
            scenario, position, due_date=due, open_amount=Decimal(50), debtor=debtor, now=now
        )
        if taken is None:
            continue
        local = now.astimezone(ZoneInfo(debtor.time_zone))
        if taken.step is not None:
            rank = DUNNING_LEVELS.index(taken.step.level)
            assert rank >= last_rank
            assert local.date() >= due + timedelta(days=taken.step.offset_days)
            last_rank = rank
        else:
            assert local.date() >= due + timedelta(days=scenario.max_amicable_days)
        position, last_at = taken.position + 1, now


def test_a_resumed_invoice_takes_the_step_where_it_stopped_without_catch_up() -> None:
    negligent = LIBRARY.scenarios["negligent"]
    now = datetime(2026, 12, 30, 12, tzinfo=UTC)  # friendly, call and firm all fell due
    taken = due_now(
        negligent,
        1,
        due_date=date(2026, 11, 30),
        open_amount=Decimal(100),
        debtor=PARIS,
        now=now,
        resumed=True,
    )
    assert taken is not None
    assert taken.step is not None
    assert (taken.step.name, taken.skipped) == ("friendly", ())
    early = datetime(2026, 12, 1, 12, tzinfo=UTC)
    assert (
        due_now(
            negligent,
            1,
            due_date=date(2026, 11, 30),
            open_amount=Decimal(100),
            debtor=PARIS,
            now=early,
            resumed=True,
        )
        is None
    )
