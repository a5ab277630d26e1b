"""A collector's action on a customer page, as the command the scheduler will execute.

A pure function of the posted form: :func:`command_of` checks the form's fields and builds
the ``dunning.commands.v1`` event (``command.hold``, ``command.release``...) with the
actor the console authenticated, or returns what is wrong with the form. The scheduler
checks role and portfolio again and may still refuse (a date already past in the
customer's time zone, an invoice closed in the meantime): the console shows the command as
sent until the scheduler announces it executed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID, uuid5

from pydantic import ValidationError

from contracts import commands
from contracts.envelope import Event

Action = Literal["hold", "release", "send_now", "add_note", "skip_step", "change_scenario"]

LOWEST_ROLE: Mapping[str, Literal["collector", "credit_manager"]] = {
    "hold": "collector",
    "release": "collector",
    "send_now": "collector",
    "add_note": "collector",
    "skip_step": "collector",
    "change_scenario": "credit_manager",
}
"""The lowest role that may give each action (the scheduler checks it again)."""

FIELDS: Mapping[str, tuple[str, ...]] = {
    "hold": ("until", "reason", "invoice_id"),
    "release": ("invoice_id",),
    "send_now": ("template", "invoice_id"),
    "add_note": ("text", "invoice_id"),
    "skip_step": ("invoice_id", "step_name"),
    "change_scenario": ("scenario_id",),
}
"""The form fields each action reads (carried to its confirmation unchanged)."""

SOURCE = "console"
EVENT_NAMESPACE = UUID("0b6c5d1e-7f43-4b8e-9a2d-5c3e1f7a9b20")

EVENTS: Mapping[str, type[Event]] = {
    "hold": commands.HoldCommand,
    "release": commands.ReleaseCommand,
    "send_now": commands.SendNowCommand,
    "add_note": commands.AddNoteCommand,
    "skip_step": commands.SkipStepCommand,
    "change_scenario": commands.ChangeScenarioCommand,
}


@dataclass(frozen=True)
class FormProblem:
    """What is wrong with one field of the form (``field`` is the form field's name)."""

    field: str
    problem: Literal[
        "missing",
        "not_a_date",
        "not_after_today",
        "invalid",
        "unchanged",
        "mixed_currencies",
        "held",
    ]


def fields_of(action: str, form: Mapping[str, str]) -> dict[str, str]:
    """The action's own fields of the posted form, trimmed; empty ones left out."""
    values = {name: form.get(name, "").strip() for name in FIELDS[action]}
    return {name: value for name, value in values.items() if value}


def command_of(
    action: str,
    fields: Mapping[str, str],
    *,
    command_id: UUID,
    customer_id: str,
    actor: commands.CommandActor,
    now: datetime,
    today: date,
) -> Event | list[FormProblem]:
    """The command event of ``action`` with these fields, or what is wrong with them.

    The event id derives from ``command_id``: the same form posted twice is the same
    event, and the scheduler applies a ``command_id`` once.
    """
    problems: list[FormProblem] = []
    arguments: dict[str, object] = {}
    invoice = fields.get("invoice_id")
    if invoice:
        arguments["invoice_id"] = invoice
    if action == "hold":
        until = fields.get("until")
        if not until:
            problems.append(FormProblem("until", "missing"))
        else:
            try:
                day = date.fromisoformat(until)
            except ValueError:
                problems.append(FormProblem("until", "not_a_date"))
            else:
                if day <= today:
                    problems.append(FormProblem("until", "not_after_today"))
                arguments["until"] = day
        if not fields.get("reason"):
            problems.append(FormProblem("reason", "missing"))
        arguments["reason"] = fields.get("reason", "")
    elif action == "send_now":
        if fields.get("template"):
            arguments["template"] = fields["template"]
    elif action == "add_note":
        if not fields.get("text"):
            problems.append(FormProblem("text", "missing"))
        arguments["text"] = fields.get("text", "")
    elif action == "skip_step":
        if not invoice:
            problems.append(FormProblem("invoice_id", "missing"))
        if fields.get("step_name"):
            arguments["step_name"] = fields["step_name"]
    elif action == "change_scenario":
        if not fields.get("scenario_id"):
            problems.append(FormProblem("scenario_id", "missing"))
        arguments["scenario_id"] = fields.get("scenario_id", "")
    if problems:
        return problems
    return command_event(
        EVENTS[action],
        command_id=command_id,
        now=now,
        customer_id=customer_id,
        actor=actor,
        **arguments,
    )


def command_event(
    event_class: type[Event], *, command_id: UUID, now: datetime, **fields: Any
) -> Event | list[FormProblem]:
    """The command ``event_class`` with its payload built from ``fields``, or the form's
    problems when the contract refuses them; the event id derives from the command's."""
    payload_class = event_class.model_fields["payload"].annotation
    assert isinstance(payload_class, type)
    try:
        payload = payload_class(command_id=command_id, requested_at=now, **fields)
    except ValidationError as exc:
        return [
            FormProblem(str(error["loc"][0]) if error["loc"] else "form", "invalid")
            for error in exc.errors()
        ]
    return event_class.model_validate(
        {
            "event_id": uuid5(EVENT_NAMESPACE, str(command_id)),
            "occurred_at": now,
            "source": SOURCE,
            "payload": payload,
        }
    )


REHEARSED = ("send_now", "change_scenario")
"""The actions that may make something go out: their confirmation shows the scheduler's dry
run of the command and the messages as the notifier would render them. Hold, release, add
a note and skip a step send nothing (a hold's end lets the next step go at its own date,
which the customer page shows)."""


def rehearsal_of(
    action: str, fields: Mapping[str, str], *, customer_id: str, command_id: UUID
) -> dict[str, object] | None:
    """The body of the scheduler's dry run of this action, or None for an action that
    sends nothing. The command id is the form's: a template sent now is previewed with the
    reminder id the command will give it."""
    if action == "send_now":
        return {
            "customer_id": customer_id,
            "invoice_id": fields.get("invoice_id"),
            "template": fields.get("template"),
            "command_id": str(command_id),
        }
    if action == "change_scenario":
        return {
            "customer_id": customer_id,
            "scenario_id": fields.get("scenario_id", ""),
            "command_id": str(command_id),
        }
    return None


def unknown_choices(
    action: str, fields: Mapping[str, str], catalogue: Mapping[str, Any] | None
) -> list[FormProblem]:
    """A template or scenario that the scheduler's library does not have (``catalogue``,
    as ``GET /v1/library/catalogue`` answers it; None: not known, not checked here, the
    scheduler refuses it on execution)."""
    if catalogue is None:
        return []
    template = fields.get("template")
    if action == "send_now" and template and template not in catalogue.get("templates", ()):
        return [FormProblem("template", "invalid")]
    if action == "change_scenario" and fields.get("scenario_id"):
        scenarios = {s.get("scenario_id") for s in catalogue.get("scenarios", ())}
        if fields["scenario_id"] not in scenarios:
            return [FormProblem("scenario_id", "invalid")]
    return []
