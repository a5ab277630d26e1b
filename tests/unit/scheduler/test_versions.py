"""Step identities and versions: where an invoice under way stands in a new version.

Whatever the edit (steps inserted, removed, reordered), an invoice heads for the same step
when it still exists, else for the next step after it (in the version it was read in) that
still exists; an invoice with only the exit left keeps only the exit.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.scheduler.domain.library import load_library
from services.scheduler.domain.scenario import Scenario, check_scenario
from services.scheduler.domain.versions import (
    changes,
    digest,
    followed_position,
    followed_step,
    retaken,
)
from services.scheduler.errors import InvalidState

NEGLIGENT = load_library().scenarios["negligent"]


def scenario(step_ids: list[str]) -> Scenario:
    steps: list[dict[str, Any]] = [
        {
            "id": step_id,
            "name": f"name of {step_id}",
            "level": "level_1",
            "offset_days": index,
            "channel": "email",
            "template": "reminder_friendly",
        }
        for index, step_id in enumerate(step_ids)
    ]
    return Scenario.model_validate(
        {"id": "s", "max_amicable_days": 300, "exit_action": "doubtful_debt", "steps": steps}
    )


@st.composite
def edits(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """An old list of step ids and a new one: some removed, some inserted, some reordered."""
    old = [f"s{i}" for i in range(draw(st.integers(1, 8)))]
    kept = [s for s in old if draw(st.booleans())]
    if draw(st.booleans()):
        kept = draw(st.permutations(kept))
    new = list(kept)
    for n in range(draw(st.integers(0, 4))):
        new.insert(draw(st.integers(0, len(new))), f"new{n}")
    if not new:
        new = ["only"]
    return old, new


@given(edits(), st.data())
def test_an_invoice_keeps_its_next_step_or_takes_the_next_surviving_one(
    edit: tuple[list[str], list[str]], data: st.DataObject
) -> None:
    old_ids, new_ids = edit
    old, new = scenario(old_ids), scenario(new_ids)
    position = data.draw(st.integers(0, len(old_ids)))  # len: only the exit is left
    heading = old.id_at(position)

    landed = followed_step(old, new, heading)

    if heading is None:
        assert landed is None  # only the exit was left: only the exit is left
    elif heading in new_ids:
        assert landed == heading  # the same step, wherever it now stands
    else:
        survivors = [s for s in old_ids[position + 1 :] if s in new_ids]
        assert landed == (survivors[0] if survivors else None)
    # never a step inserted by the edit, unless it is where the invoice already heads
    assert landed is None or landed in old_ids


@given(edits(), st.data())
def test_without_a_reorder_no_step_behind_the_invoice_comes_back_ahead(
    edit: tuple[list[str], list[str]], data: st.DataObject
) -> None:
    old_ids, new_ids = edit
    in_order = [s for s in new_ids if s in old_ids]
    if in_order != [s for s in old_ids if s in new_ids]:
        return  # reordered: retaken says which steps come back (tested below)
    old, new = scenario(old_ids), scenario(new_ids)
    position = data.draw(st.integers(0, len(old_ids)))
    assert retaken(old, new, old.id_at(position)) == ()


def test_a_step_moved_from_behind_to_ahead_is_named_as_taken_again() -> None:
    old, new = scenario(["a", "b", "c"]), scenario(["b", "a", "c"])
    assert followed_step(old, new, "b") == "b"
    assert retaken(old, new, "b") == ("a",)


def test_the_same_version_maps_every_position_to_itself() -> None:
    for position in range(len(NEGLIGENT.steps) + 1):
        heading = NEGLIGENT.id_at(position)
        assert followed_position(NEGLIGENT, NEGLIGENT, heading) == position


def test_a_step_in_no_known_version_is_a_bug_not_a_guess() -> None:
    with pytest.raises(InvalidState, match="in no version"):
        followed_position(None, NEGLIGENT, "ghost")


def test_a_step_id_defaults_to_its_name_and_survives_a_rename() -> None:
    first = NEGLIGENT.steps[0]
    assert first.id == first.name == "courtesy"
    renamed = first.model_copy(update={"name": "gentle_courtesy"})
    edited = NEGLIGENT.model_copy(update={"steps": (renamed, *NEGLIGENT.steps[1:])})
    assert followed_step(NEGLIGENT, edited, "courtesy") == "courtesy"
    explicit = Scenario.model_validate(
        {
            **NEGLIGENT.model_dump(),
            "steps": [{**NEGLIGENT.steps[0].model_dump(), "id": "c1", "name": "courtesy"}],
        }
    )
    assert explicit.steps[0].id == "c1"


def test_two_steps_with_one_identity_are_refused() -> None:
    raw = NEGLIGENT.model_dump()
    raw["steps"][1]["id"] = "courtesy"  # the first step's id, by its name
    problems = check_scenario(Scenario.model_validate(raw), frozenset())
    assert (2, "step id 'courtesy' is used twice (an id defaults to the step's name): each step "
            "needs its own identity") in problems  # fmt: skip


def test_changes_give_each_changed_scenario_its_next_version() -> None:
    library = load_library()
    edited = dict(library.scenarios)
    negligent = edited["negligent"]
    edited["negligent"] = negligent.model_copy(update={"description": "edited"})
    del edited["export"]
    edited["seasonal"] = negligent.model_copy(update={"id": "seasonal"})
    versions = dict.fromkeys(library.scenarios, 1) | {"negligent": 3}
    found = {c.scenario_id: c for c in changes(library.scenarios, versions, edited)}
    assert (found["negligent"].kind, found["negligent"].version_after) == ("changed", 4)
    assert (found["export"].kind, found["export"].version_after) == ("removed", None)
    assert (found["seasonal"].kind, found["seasonal"].version_after) == ("added", 1)
    assert (found["consumer"].kind, found["consumer"].version_after) == ("unchanged", 1)
    assert digest(negligent) != digest(edited["negligent"])
