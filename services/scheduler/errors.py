"""The scheduler's exceptions: one base, so that callers can catch them all.

::

    RelanceError
     └── SchedulerError             the scheduler failed
          ├── InvalidScenarios      scenario or campaign files that cannot be applied (*)
          ├── CampaignRefused       the campaign cannot run now (sending is suspended)
          ├── SuspensionRefused     nothing to suspend or resume (already so for that scope)
          ├── CommandRejected       a collector's command refused or not applicable; its
          │                         ``reason`` is the dead letter's (contracts.commands)
          └── InvalidState          a stored state breaks a rule of its event's contract
                                    (a ValueError, as the contract model's own refusal is)

(*) also a ``ConfigurationError``: a wrong library or setting is a wrong setup. A docstring
is the message of each class when it is raised without one. Validators of pydantic models
(settings, the library's rules) raise ``ValueError``, which pydantic reports as a
``ValidationError`` naming the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.runtime.errors import ConfigurationError, RelanceError


class SchedulerError(RelanceError):
    """The scheduler failed."""


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


class InvalidScenarios(SchedulerError, ConfigurationError):
    """Scenario files that cannot be applied; ``problems`` says where and why."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class CampaignRefused(SchedulerError):
    """The campaign cannot run now (sending is suspended)."""


class SuspensionRefused(SchedulerError):
    """Sending is already suspended, or not suspended, for that scope."""


class CommandRejected(SchedulerError):
    """A collector's command cannot be executed; ``reason`` says why, for its dead letter."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


class InvalidState(SchedulerError, ValueError):
    """A stored dunning state breaks a rule of the contract its event follows."""
