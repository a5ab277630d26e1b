"""What ends a run of ledger events in the disputes handler: every command (a command
missing from ``COMMANDS`` would be skipped like a fact the service ignores)."""

from __future__ import annotations

import typing

from contracts import ledger, notifications
from contracts.topics import DISPUTE_COMMANDS, LEDGER_EVENTS
from services.disputes.handler import COMMANDS
from services.disputes.ledger_run import RUN_EVENTS


def _members(union: object) -> set[type]:
    (inner, *_) = typing.get_args(union)  # Annotated[Union[...], discriminator]
    return set(typing.get_args(inner))


def test_every_command_and_a_call_outcome_end_a_run() -> None:
    commands = _members(DISPUTE_COMMANDS.union)
    assert len(commands) >= 12
    assert commands | {notifications.CallTaskClosed} == set(COMMANDS)


def test_a_run_takes_ledger_events_only_and_not_every_one() -> None:
    facts = _members(LEDGER_EVENTS.union)
    assert set(RUN_EVENTS) < facts
    assert ledger.CreditBalanceChanged in facts - set(RUN_EVENTS)  # ignored: skipped
