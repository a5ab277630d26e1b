from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID, uuid4

from contracts import commands, dunning
from contracts.topics import DUNNING_COMMANDS
from services.console.domain.commands import (
    REHEARSED,
    FormProblem,
    command_of,
    fields_of,
    rehearsal_of,
    unknown_choices,
)
from services.console.domain.timeline import entry_of
from services.console.web.actions import actor_of
from services.runtime.identity import Identity, Portfolio

NOW = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
COMMAND_ID = UUID("7d4c9a52-1a2b-4c3d-8e9f-0a1b2c3d4e5f")
CAMILLE = Identity(
    "local:camille",
    "Camille Laurent",
    frozenset({"collector"}),
    Portfolio.of(collector_codes=["C12"]),
)


def build(action: str, form: dict[str, str]) -> object:
    return command_of(
        action,
        fields_of(action, form),
        command_id=COMMAND_ID,
        customer_id="C-1001",
        actor=actor_of(CAMILLE),
        now=NOW,
        today=NOW.date(),
    )


def test_a_hold_carries_the_signed_in_actor_date_and_reason() -> None:
    event = build("hold", {"until": "2026-03-31", "reason": " credit note pending ", "x": "y"})
    assert isinstance(event, commands.HoldCommand)
    hold = event.payload
    assert (hold.until, hold.reason, hold.command_id) == (
        date(2026, 3, 31),
        "credit note pending",
        COMMAND_ID,
    )
    assert hold.actor.subject == "local:camille"
    assert hold.actor.roles == ("collector",)
    assert hold.actor.collector_codes == ("C12",)
    assert DUNNING_COMMANDS.key(event) == b"C-1001"


def test_the_same_form_is_the_same_event() -> None:
    first = build("release", {})
    again = build("release", {})
    assert isinstance(first, commands.ReleaseCommand)
    assert isinstance(again, commands.ReleaseCommand)
    assert first.event_id == again.event_id


def test_a_hold_needs_a_date_after_today_and_a_reason() -> None:
    assert build("hold", {"until": "2026-03-16"}) == [
        FormProblem("until", "not_after_today"),
        FormProblem("reason", "missing"),
    ]
    assert build("hold", {"until": "31/03/2026", "reason": "r"}) == [
        FormProblem("until", "not_a_date")
    ]


def test_each_action_checks_its_own_fields() -> None:
    assert build("add_note", {}) == [FormProblem("text", "missing")]
    assert build("skip_step", {}) == [FormProblem("invoice_id", "missing")]
    assert build("change_scenario", {}) == [FormProblem("scenario_id", "missing")]
    skip = build("skip_step", {"invoice_id": "FR01/F-1", "step_name": "second_reminder"})
    assert isinstance(skip, commands.SkipStepCommand)
    assert skip.payload.step_name == "second_reminder"
    sent = build("send_now", {"template": "statement"})
    assert isinstance(sent, commands.SendNowCommand)
    assert sent.payload.template == "statement"


def test_an_executed_command_is_worded_on_the_timeline() -> None:
    executed = dunning.CommandExecuted(
        event_id=uuid4(),
        occurred_at=NOW,
        source="scheduler",
        payload=dunning.ExecutedCommand(
            command_id=COMMAND_ID,
            command="skip_step",
            customer_id="C-1001",
            company_code="FR01",
            actor_subject="oidc:7f3a",
            actor_role="collector",
            requested_at=NOW,
            executed_at=NOW,
            invoice_id="FR01/INV-1",
            detail={"step": "second_reminder"},
        ),
    )
    entry = entry_of(executed)
    assert entry is not None
    assert (entry.customer_id, entry.kind) == ("C-1001", "command.skip_step")
    assert entry.facts == {"by": "oidc:7f3a", "number": "INV-1", "step": "second_reminder"}


def test_only_actions_that_send_have_a_dry_run_and_their_choices_are_checked() -> None:
    body = rehearsal_of(
        "send_now",
        {"invoice_id": "FR01/F1", "template": "reminder_firm"},
        customer_id="C-1001",
        command_id=COMMAND_ID,
    )
    assert body == {
        "customer_id": "C-1001",
        "invoice_id": "FR01/F1",
        "template": "reminder_firm",
        "command_id": str(COMMAND_ID),
    }
    assert rehearsal_of("hold", {}, customer_id="C-1001", command_id=COMMAND_ID) is None
    assert set(REHEARSED) == {"send_now", "change_scenario"}
    catalogue = {"templates": ["reminder_firm"], "scenarios": [{"scenario_id": "negligent"}]}
    assert unknown_choices("send_now", {"template": "reminder_firm"}, catalogue) == []
    assert unknown_choices("send_now", {}, catalogue) == []  # the next step
    assert unknown_choices("send_now", {"template": "typo"}, catalogue) == [
        FormProblem("template", "invalid")
    ]
    assert unknown_choices("change_scenario", {"scenario_id": "nope"}, catalogue) == [
        FormProblem("scenario_id", "invalid")
    ]
    assert unknown_choices("send_now", {"template": "typo"}, None) == []  # the scheduler checks
