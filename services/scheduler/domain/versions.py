"""Versions of scenarios, and where an invoice under way stands in a new version.

A scenario's steps have identities (``Step.id``, its name unless given), and each accepted
change of a scenario is a new version (a number, stored with its content). An invoice's
progress is the identity of its next step and the version that identity was read in
(``InvoiceState.next_step``, ``scenario_version``), never a list index, so that a new
version moves no invoice under way by accident:

- its next step still exists: the invoice stays heading for it, wherever the step now stands
  (steps inserted before it are not taken; steps removed before it change nothing);
- its next step was removed: it heads for the next step after it, in the version it was
  read in, that still exists (none: only the exit is left);
- only the exit was left: only the exit is left.

A step moved from behind the invoice to after its next step (a reorder) is ahead of it in
the new version, and is taken there: :func:`retaken` names such steps, which the dry run
shows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from services.scheduler.domain.scenario import Scenario
from services.scheduler.errors import InvalidState


def digest(scenario: Scenario) -> str:
    """The content digest of a scenario: equal digests, equal scenarios."""
    canonical = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def followed_position(old: Scenario | None, new: Scenario, next_step: str | None) -> int:
    """The position in ``new`` of an invoice whose next step was ``next_step`` of ``old``
    (None: only the exit left); the rule of the module's docstring."""
    if next_step is None:
        return len(new.steps)
    index = new.index_of(next_step)
    if index is not None:
        return index
    where = None if old is None else old.index_of(next_step)
    if old is None or where is None:
        raise InvalidState(
            f"step {next_step!r} of scenario {new.id!r} is in no version the scheduler knows"
        )
    for later in old.step_ids[where + 1 :]:
        index = new.index_of(later)
        if index is not None:
            return index
    return len(new.steps)


def followed_step(old: Scenario | None, new: Scenario, next_step: str | None) -> str | None:
    """The identity of the step of ``new`` the invoice heads for (None: only the exit)."""
    return new.id_at(followed_position(old, new, next_step))


def retaken(old: Scenario, new: Scenario, next_step: str | None) -> tuple[str, ...]:
    """Steps behind the invoice in ``old`` that lie ahead of it in ``new`` (a reorder): it
    will take them again."""
    where = old.index_of(next_step)
    if where is None:
        return ()
    behind = set(old.step_ids[:where])
    ahead = new.step_ids[followed_position(old, new, next_step) :]
    return tuple(step_id for step_id in ahead if step_id in behind)


@dataclass(frozen=True)
class ScenarioChange:
    """One scenario between two libraries: added, changed, removed or unchanged."""

    scenario_id: str
    kind: str  # added, changed, removed, unchanged
    version_before: int | None
    version_after: int | None


def changes(
    before: Mapping[str, Scenario],
    versions_before: Mapping[str, int],
    after: Mapping[str, Scenario],
) -> tuple[ScenarioChange, ...]:
    """What a new set of scenarios changes, scenario by scenario, with the version each
    would get (a changed or added scenario: one more than the last it had)."""
    found = []
    for scenario_id in sorted(set(before) | set(after)):
        old, new = before.get(scenario_id), after.get(scenario_id)
        version = versions_before.get(scenario_id)
        if new is None:
            found.append(ScenarioChange(scenario_id, "removed", version, None))
        elif old is None:
            found.append(ScenarioChange(scenario_id, "added", version, (version or 0) + 1))
        elif digest(old) != digest(new):
            found.append(ScenarioChange(scenario_id, "changed", version, (version or 0) + 1))
        else:
            found.append(ScenarioChange(scenario_id, "unchanged", version, version))
    return tuple(found)
