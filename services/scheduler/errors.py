"""The scheduler's exceptions: one base, so that callers can catch them all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.runtime.errors import ConfigurationError


class SchedulerError(ConfigurationError):
    """Base of every error the scheduler raises on purpose (a wrong library is a wrong setup)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a scenario file, located as precisely as known."""

    file: str
    message: str
    scenario: str | None = None
    step: int | None = None  # 1-based index of the step in its scenario
    step_name: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.scenario is not None:
            where.append(f"scenario {self.scenario!r}")
        if self.step is not None:
            label = f"step {self.step}"
            if self.step_name:
                label += f" ({self.step_name!r})"
            where.append(label)
        return f"{': '.join(where)}: {self.message}"


class InvalidScenarios(SchedulerError):
    """Scenario files that cannot be applied; ``problems`` says where and why."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
