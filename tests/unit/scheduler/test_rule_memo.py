"""The remembered rules answer exactly as the rules: for any scenario, amount, debtor and
instant, whatever was asked before (another amount of the same class, an equal scenario that
is another object, a scenario that took the place of a collected one)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from services.runtime.business_days import SendingWindow
from services.scheduler.domain import progress, rule_memo
from services.scheduler.domain.progress import Debtor, Notice
from services.scheduler.domain.scenario import Scenario
from tests.unit.scheduler.test_progress_properties import ZONES, scenarios

AMOUNTS = [Decimal(v) for v in ("0.01", "10", "49.99", "50", "50.00", "1200", "4999.99", "5000")]


@settings(max_examples=300, deadline=None)
@given(
    scenario=scenarios(),
    position=st.integers(0, 6),
    country=st.sampled_from(sorted(ZONES)),
    customer_type=st.sampled_from(["business", "consumer"]),
    due=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)),
    amounts=st.lists(st.sampled_from(AMOUNTS), min_size=1, max_size=4),
    days=st.integers(-20, 140),
    hour=st.integers(0, 23),
    resumed=st.booleans(),
    noticed_days=st.integers(-20, 140) | st.none(),
)
def test_remembered_answers_are_the_rules_answers(
    scenario: Scenario,
    position: int,
    country: str,
    customer_type: str,
    due: date,
    amounts: list[Decimal],
    days: int,
    hour: int,
    resumed: bool,
    noticed_days: int | None,
) -> None:
    debtor = Debtor(country, ZONES[country], customer_type, SendingWindow())  # type: ignore[arg-type]
    zone = ZoneInfo(ZONES[country])
    now = datetime.combine(due + timedelta(days=days), time(hour), zone)
    notice = Notice(
        None
        if noticed_days is None
        else datetime.combine(due + timedelta(days=noticed_days), time(10), zone)
    )
    equal = Scenario.model_validate(scenario.model_dump())  # equal, another object
    for asked in (scenario, equal):
        for open_amount in amounts:  # the first ones warm the memo for the later ones
            assert rule_memo.due_now(
                asked,
                position,
                due_date=due,
                open_amount=open_amount,
                debtor=debtor,
                now=now,
                resumed=resumed,
                notice=notice,
            ) == progress.due_now(
                asked,
                position,
                due_date=due,
                open_amount=open_amount,
                debtor=debtor,
                now=now,
                resumed=resumed,
                notice=notice,
            )
            assert rule_memo.plan(
                asked,
                position,
                due_date=due,
                open_amount=open_amount,
                debtor=debtor,
                not_before=now,
                notice=notice,
            ) == progress.plan(
                asked,
                position,
                due_date=due,
                open_amount=open_amount,
                debtor=debtor,
                not_before=now,
                notice=notice,
            )


def test_amounts_of_one_class_pass_the_same_conditions() -> None:
    scenario = Scenario.model_validate(
        {
            "id": "thresholds",
            "max_amicable_days": 60,
            "exit_action": "doubtful_debt",
            "steps": [
                {"name": "a", "level": "level_1", "offset_days": 3, "channel": "email",
                 "template": "t", "conditions": {"min_open_amount": "50"}},
                {"name": "b", "level": "level_2", "offset_days": 10, "channel": "email",
                 "template": "t", "conditions": {"min_open_amount": "5000"}},
            ],
        }
    )  # fmt: skip
    classes = [rule_memo.amount_class(scenario, a) for a in AMOUNTS]
    assert classes == [0, 0, 0, 1, 1, 1, 1, 2]


def test_a_scenario_in_a_collected_ones_place_is_not_answered_for_by_it() -> None:
    """A memo keyed by ``id`` alone would answer for the scenario whose address a new one
    reuses: each hit checks that it is the very scenario asked about."""
    debtor = Debtor("FR", "Europe/Paris")
    now = datetime.combine(date(2026, 12, 20), time(10), ZoneInfo("Europe/Paris"))

    def made(offset: int) -> Scenario:
        return Scenario.model_validate(
            {
                "id": "reused",
                "max_amicable_days": 90,
                "exit_action": "doubtful_debt",
                "steps": [
                    {"name": "a", "level": "level_1", "offset_days": offset,
                     "channel": "email", "template": "t"},
                ],
            }
        )  # fmt: skip

    asked = {"due_date": date(2026, 12, 1), "open_amount": Decimal(100), "debtor": debtor}
    early = made(3)
    rule_memo._due.clear()
    assert rule_memo.due_now(early, 0, now=now, **asked) is not None  # type: ignore[arg-type]
    late = made(60)
    [(key, answer)] = rule_memo._due.items()
    rule_memo._due[(id(late), *key[1:])] = answer  # as if late had early's address
    assert rule_memo.due_now(late, 0, now=now, **asked) is None  # type: ignore[arg-type]
    assert rule_memo.due_now(early, 0, now=now, **asked) is not None  # type: ignore[arg-type]
