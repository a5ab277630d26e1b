"""Steps to confirm as pure decisions: which steps wait (step, scenario, segment), the
deadline in the customer's business days, the version guard, and the library's fields."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from contracts.erp import Segment
from services.runtime.business_days import SendingWindow, is_business_day
from services.scheduler.cli import app
from services.scheduler.domain.assignment import Match
from services.scheduler.domain.library import DEFAULT_LIBRARY, load_library, parse_scenario
from services.scheduler.domain.proposals import (
    Confirmation,
    confirmation,
    deadline,
    decidable,
    postpone_instant,
)
from services.scheduler.domain.state import Customer, Policy
from services.scheduler.errors import CommandRejected

LIBRARY = load_library()
NEGLIGENT = LIBRARY.scenarios["negligent"]
FRIENDLY = NEGLIGENT.steps[1]
NOTICE = NEGLIGENT.steps[-1]
PARIS = Customer("C1", "FR01", "FR", "Europe/Paris", "fr", Segment(), None)
WINDOW = SendingWindow()
POLICY = Policy(LIBRARY, WINDOW, timedelta(hours=72))


def test_nothing_waits_in_the_repository_s_library() -> None:
    for scenario in LIBRARY.scenarios.values():
        for step in scenario.steps:
            assert confirmation(POLICY, PARIS, scenario, step, {}) is None


def test_a_step_a_scenario_or_a_segment_asks_for_confirmation() -> None:
    step = FRIENDLY.model_copy(update={"confirm": True})
    assert confirmation(POLICY, PARIS, NEGLIGENT, step, {}) == Confirmation("collector", "hold", 3)

    scenario = NEGLIGENT.model_copy(
        update={"confirm": True, "on_timeout": "send", "timeout_business_days": 5}
    )
    notice = NOTICE.model_copy(update={"confirm_role": "credit_manager"})
    assert confirmation(POLICY, PARIS, scenario, notice, {}) == Confirmation(
        "credit_manager", "send", 5
    )
    opted_out = FRIENDLY.model_copy(update={"confirm": False})
    assert confirmation(POLICY, PARIS, scenario, opted_out, {}) is None

    big = Match(min_outstanding=Decimal("10000"))
    assignment = LIBRARY.assignment.model_copy(update={"confirm": (big,)})
    segmented = dataclasses.replace(
        POLICY, library=dataclasses.replace(LIBRARY, assignment=assignment)
    )
    assert confirmation(segmented, PARIS, NEGLIGENT, FRIENDLY, {"EUR": Decimal("9999")}) is None
    assert confirmation(
        segmented, PARIS, NEGLIGENT, FRIENDLY, {"EUR": Decimal("10000")}
    ) == Confirmation("collector", "hold", 3)


def test_the_library_reads_the_confirmation_fields_and_refuses_a_wrong_policy(
    tmp_path: Path,
) -> None:
    raw = {
        "id": "careful",
        "max_amicable_days": 60,
        "exit_action": "doubtful_debt",
        "confirm": True,
        "on_timeout": "skip",
        "steps": [
            {
                "name": "notice",
                "level": "formal_notice",
                "offset_days": 30,
                "channel": "registered_letter",
                "template": "formal_notice",
                "confirm_role": "credit_manager",
                "timeout_business_days": 2,
            }
        ],
    }
    scenario, problems = parse_scenario("careful.yaml", raw, frozenset({"formal_notice"}))
    assert problems == []
    assert scenario is not None
    assert (scenario.confirm, scenario.on_timeout) == (True, "skip")
    assert (scenario.steps[0].confirm_role, scenario.steps[0].timeout_business_days) == (
        "credit_manager",
        2,
    )
    wrong = {**raw, "on_timeout": "later"}
    _, problems = parse_scenario("careful.yaml", wrong, frozenset({"formal_notice"}))
    assert [p.message.split(":")[0] for p in problems] == ["on_timeout"]
    assert DEFAULT_LIBRARY.is_dir()


def test_a_deadline_counts_whole_business_days_of_the_customer_s_calendar() -> None:
    paris = ZoneInfo("Europe/Paris")
    # raised Thursday 24 December 2026: Friday 25 (Christmas) and the weekend do not count
    raised = datetime(2026, 12, 24, 10, tzinfo=paris)
    due = deadline(PARIS, WINDOW, raised, 2)
    assert due.remind_at == datetime(2026, 12, 29, 9, tzinfo=paris)  # Mon 28, Tue 29
    assert due.at == datetime(2026, 12, 30, 9, tzinfo=paris)


@given(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),
    st.integers(min_value=1, max_value=10),
)
def test_a_deadline_is_a_business_morning_after_the_reminder(raised: datetime, days: int) -> None:
    raised = raised.replace(tzinfo=UTC)
    due = deadline(PARIS, WINDOW, raised, days)
    local = due.at.astimezone(ZoneInfo("Europe/Paris"))
    assert is_business_day(local.date(), "FR")
    assert (local.hour, local.minute) == (9, 0)
    assert raised <= due.remind_at < due.at
    assert due.at - raised >= timedelta(days=days)


def test_a_decision_cites_the_current_version_of_a_pending_proposal() -> None:
    proposal_id = uuid.uuid4()
    decidable("pending", 2, 2, proposal_id)
    with pytest.raises(CommandRejected) as stale:
        decidable("pending", 2, 1, proposal_id)
    assert stale.value.reason == "stale_proposal"
    with pytest.raises(CommandRejected) as decided:
        decidable("approved", 2, 2, proposal_id)
    assert decided.value.reason == "already_decided"


def test_a_proposal_is_postponed_to_a_later_day_s_window() -> None:
    now = datetime(2026, 12, 4, 10, tzinfo=UTC)
    assert postpone_instant(PARIS, WINDOW, date(2026, 12, 5), now) == datetime(
        2026, 12, 7, 9, tzinfo=ZoneInfo("Europe/Paris")
    )  # a Saturday: the Monday morning
    with pytest.raises(CommandRejected) as past:
        postpone_instant(PARIS, WINDOW, date(2026, 12, 4), now)
    assert past.value.reason == "hold_date_past"


def test_the_operator_s_proposal_commands_refuse_malformed_arguments() -> None:
    runner = CliRunner()
    bad_id = runner.invoke(app, ["approve-proposal", "C1", "not-a-uuid", "--version", "1"])
    assert (bad_id.exit_code, "a proposal id is a UUID" in bad_id.output) == (2, True)
    proposal = str(uuid.uuid4())
    bad_paragraph = runner.invoke(
        app, ["edit-proposal", "C1", proposal, "--version", "1", "--paragraph", "opening"]
    )
    assert bad_paragraph.exit_code == 2
    assert "--paragraph is NAME=TEXT" in bad_paragraph.output
    bad_day = runner.invoke(
        app, ["postpone-proposal", "C1", proposal, "--version", "1", "--until", "Monday"]
    )
    assert bad_day.exit_code == 2
