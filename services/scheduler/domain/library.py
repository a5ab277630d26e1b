"""Loading a scenario library from YAML, with every problem located (file, scenario, step).

A library is a folder: ``templates.yaml`` lists the known templates, ``assignment.yaml``
maps customers to scenarios, and every other ``*.yaml`` file declares one scenario.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from services.scheduler.domain.assignment import Assignment
from services.scheduler.domain.scenario import Scenario, check_scenario
from services.scheduler.errors import InvalidScenarios, Problem

TEMPLATES_FILE = "templates.yaml"
ASSIGNMENT_FILE = "assignment.yaml"
DEFAULT_LIBRARY = Path(__file__).resolve().parents[3] / "scenarios"


@dataclass(frozen=True)
class Library:
    """The scenarios in force, with their versions, and every version an invoice may still
    refer to (``history``, by scenario id and version)."""

    scenarios: Mapping[str, Scenario]
    assignment: Assignment
    templates: frozenset[str]
    versions: Mapping[str, int] = field(default_factory=dict)
    history: Mapping[tuple[str, int], Scenario] = field(default_factory=dict)
    revision: int = 0  # the library's stored revision (0: read from a folder, not stored)

    def version_of(self, scenario_id: str) -> int | None:
        return self.versions.get(scenario_id)

    def scenario_at(self, scenario_id: str, version: int | None) -> Scenario | None:
        """A scenario as it was in ``version`` (the one in force for None or the current)."""
        if version is None or version == self.versions.get(scenario_id):
            return self.scenarios.get(scenario_id)
        return self.history.get((scenario_id, version))

    def versioned(
        self,
        versions: Mapping[str, int],
        history: Mapping[tuple[str, int], Scenario],
        revision: int,
    ) -> Library:
        return replace(self, versions=dict(versions), history=dict(history), revision=revision)


def _read(path: Path, problems: list[Problem]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        problems.append(Problem(path.name, f"cannot read YAML: {exc}"))
        return None


def _located(file: str, raw: Any, error: ValidationError) -> list[Problem]:
    scenario_id = raw.get("id") if isinstance(raw, dict) else None
    steps = raw.get("steps") if isinstance(raw, dict) else None
    found = []
    for detail in error.errors():
        loc = detail["loc"]
        step: int | None = None
        step_name: str | None = None
        rest = loc
        if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
            step = loc[1] + 1
            rest = loc[2:]
            if isinstance(steps, list) and isinstance(steps[loc[1]], dict):
                step_name = steps[loc[1]].get("name")
        field = ".".join(str(part) for part in rest)
        message = detail["msg"]
        if rest and rest[0] == "channel":
            message = f"unknown channel {detail.get('input')!r}: {message}"
        found.append(
            Problem(
                file,
                f"{field}: {message}" if field else message,
                str(scenario_id) if scenario_id else None,
                step,
                step_name,
            )
        )
    return found


def parse_scenario(
    file: str, raw: Any, templates: frozenset[str]
) -> tuple[Scenario | None, list[Problem]]:
    """Parse one scenario's YAML data; the problems are located in ``file``."""
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        return None, _located(file, raw, exc)
    problems = [
        Problem(
            file,
            message,
            scenario.id,
            index,
            scenario.steps[index - 1].name if index is not None else None,
        )
        for index, message in check_scenario(scenario, templates)
    ]
    return (None if problems else scenario), problems


def load_library(folder: Path = DEFAULT_LIBRARY) -> Library:
    """Load and validate a library; raise :class:`InvalidScenarios` listing every problem."""
    problems: list[Problem] = []
    raw_templates = _read(folder / TEMPLATES_FILE, problems)
    templates = frozenset(str(t) for t in (raw_templates or {}).get("templates", ()))
    scenarios: dict[str, Scenario] = {}
    declared: set[str] = set()  # ids of every scenario file, valid or not
    for path in sorted(folder.glob("*.yaml")):
        if path.name in (TEMPLATES_FILE, ASSIGNMENT_FILE):
            continue
        raw = _read(path, problems)
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            declared.add(raw["id"])
        scenario, found = parse_scenario(path.name, raw, templates)
        problems.extend(found)
        if scenario is None:
            continue
        if scenario.id in scenarios:
            problems.append(Problem(path.name, "scenario id declared twice", scenario.id))
        scenarios[scenario.id] = scenario
    assignment = Assignment()
    raw_assignment = _read(folder / ASSIGNMENT_FILE, problems)
    try:
        assignment = Assignment.model_validate(raw_assignment or {})
    except ValidationError as exc:
        problems.extend(
            Problem(ASSIGNMENT_FILE, str(e["loc"]) + ": " + e["msg"]) for e in exc.errors()
        )
    for scenario_id in sorted(assignment.scenario_ids() - set(scenarios) - declared):
        problems.append(Problem(ASSIGNMENT_FILE, f"unknown scenario {scenario_id!r}"))
    if problems:
        raise InvalidScenarios(problems)
    return Library(scenarios, assignment, templates)
