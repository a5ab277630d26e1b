"""What comes next for an open invoice, as the customer's open items say it.

A pure decision on the scheduler's announced state (``dunning.state.changed``): a hold
until a day, another pause (a dispute, a promise, a plan, a proposal waiting for a
collector, sending suspended), or the next action's instant with the step it takes (its
name, level and channel, from version 2 of the event); a timer without a step is the
scenario's exit or an older event that did not name it; no timer and no pause, nothing is
planned (the scenario ended, or a delivery is awaited).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

NextKind = Literal["step", "dated", "held", "paused", "none"]


@dataclass(frozen=True)
class NextAction:
    """``step``: a step on the day ``on``; ``dated``: an action on ``on`` whose step is not
    named; ``held``: a collector's hold (until the day ``until`` when known); ``paused``:
    another pause (``reason``); ``none``: nothing planned. Days are the instants' UTC days,
    as the header's holds (the read model keeps no customer's time zone; sending windows
    fall within the day)."""

    kind: NextKind
    on: date | None = None
    step_name: str | None = None
    level: str | None = None
    channel: str | None = None
    reason: str | None = None
    until: date | None = None


NOTHING = NextAction("none")


def next_action_of(
    *,
    pause_reason: str | None,
    paused_until: datetime | None,
    next_action_at: datetime | None,
    next_step_name: str | None,
    next_level: str | None,
    next_channel: str | None,
) -> NextAction:
    """The next action of an open invoice from the scheduler's last state of it."""
    if pause_reason == "hold":
        return NextAction("held", until=_day(paused_until))
    if pause_reason is not None:
        return NextAction("paused", reason=pause_reason, until=_day(paused_until))
    if next_action_at is None:
        return NOTHING
    if next_step_name is not None and next_level is not None and next_channel is not None:
        return NextAction(
            "step",
            next_action_at.date(),
            step_name=next_step_name,
            level=next_level,
            channel=next_channel,
        )
    return NextAction("dated", next_action_at.date())


def _day(instant: datetime | None) -> date | None:
    return None if instant is None else instant.date()
