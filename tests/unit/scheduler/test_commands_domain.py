"""Collectors' commands as pure decisions: a scenario change's mapping by step name, the end
of a hold, a skipped step; and the operator's command line building a command."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts import commands
from contracts.dunning import DUNNING_LEVELS
from contracts.erp import Segment
from services.scheduler.cli import command_event, operator
from services.scheduler.domain.commands import hold_instant, mapped_position
from services.scheduler.domain.library import load_library
from services.scheduler.domain.state import Customer
from services.scheduler.errors import CommandRejected

LIBRARY = load_library()
NEGLIGENT = LIBRARY.scenarios["negligent"]  # courtesy, friendly, call, firm, registered, notice
BAD_PAYER = LIBRARY.scenarios["bad_payer"]  # heads_up, firm, call, registered, formal_notice
PARIS = Customer("C1", "FR01", "FR", "Europe/Paris", "fr", Segment(), None)


def names(scenario_id: str) -> list[str]:
    return [s.name for s in LIBRARY.scenarios[scenario_id].steps]


def test_a_step_keeps_its_place_by_name() -> None:
    assert mapped_position(NEGLIGENT, BAD_PAYER, names("negligent").index("call")) == 2
    assert mapped_position(NEGLIGENT, BAD_PAYER, names("negligent").index("firm")) == 1


def test_a_missing_name_maps_to_the_first_step_at_its_level_or_firmer() -> None:
    # friendly (level_1) is not in bad_payer: its first level_1 step is "firm"
    assert mapped_position(NEGLIGENT, BAD_PAYER, 1) == names("bad_payer").index("firm")
    # courtesy (preventive): bad_payer's heads_up is preventive
    assert mapped_position(NEGLIGENT, BAD_PAYER, 0) == 0


def test_past_every_step_stays_past_every_step_and_no_scenario_starts_at_the_first() -> None:
    assert mapped_position(NEGLIGENT, BAD_PAYER, len(NEGLIGENT.steps)) == len(BAD_PAYER.steps)
    assert mapped_position(None, BAD_PAYER, 0) == 0


@given(
    old=st.sampled_from(sorted(LIBRARY.scenarios)),
    new=st.sampled_from(sorted(LIBRARY.scenarios)),
    data=st.data(),
)
def test_a_change_never_heads_for_a_gentler_step(old: str, new: str, data: st.DataObject) -> None:
    before = LIBRARY.scenarios[old]
    after = LIBRARY.scenarios[new]
    position = data.draw(st.integers(0, len(before.steps) - 1))
    mapped = mapped_position(before, after, position)
    heading = before.steps[position]
    if mapped < len(after.steps):
        target = after.steps[mapped]
        assert target.name == heading.name or target.rank >= DUNNING_LEVELS.index(heading.level)


def test_a_hold_ends_at_midnight_of_its_day_in_the_customers_zone() -> None:
    now = datetime(2026, 11, 27, 10, tzinfo=UTC)
    assert hold_instant(PARIS, date(2026, 12, 10), now) == datetime(
        2026, 12, 10, tzinfo=ZoneInfo("Europe/Paris")
    )
    with pytest.raises(CommandRejected) as refused:
        hold_instant(PARIS, date(2026, 11, 27), now)
    assert refused.value.reason == "hold_date_past"


def test_the_operator_is_an_administrator_machine_identity() -> None:
    event = command_event(
        commands.HoldCommand,
        commands.Hold,
        customer_id="C1",
        actor=operator("alice"),
        until=date(2026, 12, 10),
        reason="ERP migration",
    )
    assert isinstance(event, commands.HoldCommand)
    actor = event.payload.actor
    assert (actor.subject, actor.roles, actor.kind, actor.everything) == (
        "operator:alice",
        ("administrator",),
        "machine",
        True,
    )
