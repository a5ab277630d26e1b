"""What comes next for an open invoice, from the scheduler's last state of it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.console.domain.next_action import NOTHING, NextAction, next_action_of

AT = datetime(2026, 3, 12, 9, tzinfo=UTC)
UNTIL = datetime(2026, 3, 30, tzinfo=UTC)


def state(**changes: object) -> NextAction:
    values: dict[str, object] = {
        "pause_reason": None,
        "paused_until": None,
        "next_action_at": AT,
        "next_step_name": "firm",
        "next_level": "level_2",
        "next_channel": "email",
    }
    values.update(changes)
    return next_action_of(**values)  # type: ignore[arg-type]


def test_the_step_its_level_and_channel_at_the_next_actions_instant() -> None:
    assert state() == NextAction(
        "step", date(2026, 3, 12), step_name="firm", level="level_2", channel="email"
    )


def test_a_timer_without_a_step_is_dated_only() -> None:
    # the scenario's exit, or a version 1 event that did not name the step
    assert state(next_step_name=None, next_level=None, next_channel=None) == NextAction(
        "dated", date(2026, 3, 12)
    )


def test_a_hold_and_the_other_pauses_say_so() -> None:
    held = state(pause_reason="hold", paused_until=UNTIL, next_action_at=None)
    assert held == NextAction("held", until=date(2026, 3, 30))
    assert state(pause_reason="hold", next_action_at=None).until is None
    disputed = state(pause_reason="dispute", next_action_at=None)
    assert (disputed.kind, disputed.reason) == ("paused", "dispute")


def test_nothing_planned_without_a_timer_or_a_pause() -> None:
    assert state(next_action_at=None) == NOTHING
