"""Collectors' commands on a customer or an invoice, and the audit of what they did.

People who run collections steer the stream with commands on ``dunning.commands.v1``: hold a
customer or an invoice until a date, release it, send the next step (or a chosen template)
now, change a customer's scenario, skip an invoice's next step, add a note. The console, the
CRM and operators (``relance scheduler hold ...``) produce them; the scheduler executes them.

Every command carries a ``command_id`` chosen by its producer (a retried command is applied
once), the authenticated ``actor`` that asked (never free text typed in a form: the identity
the producer authenticated) and ``requested_at``. The scheduler checks the actor's role and
portfolio itself: a command it refuses or cannot apply is dead-lettered with a reason
(:data:`CommandRejection`).

Each executed command is announced as a ``dunning.command.executed`` on
``dunning.actions.v1``: who, when, what, and the state before and after, for the audit trail
(reporting keeps a view of it without personal data).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field, StringConstraints

from contracts.dunning import (
    ActorRole,
    CommandExecuted,
    CommandName,
    ExecutedCommand,
    InvoiceSnapshot,
    ScenarioId,
    StepName,
    TemplateName,
)
from contracts.envelope import Contract, CustomerId, Event
from contracts.ledger import InvoiceId

CommandRejection = Literal[
    "forbidden",  # the actor's role or portfolio does not allow it (counted)
    "unknown_customer",
    "unknown_invoice",
    "unknown_scenario",
    "unknown_step",
    "unknown_template",
    "hold_date_past",  # a hold must end after today, in the customer's time zone
    "not_held",  # a release of what no hold holds
    "invoice_closed",  # settled, cancelled or escalated: nothing left to steer
    "no_step_left",  # send now or skip a step with no step left in the scenario
    "suspended",  # sending is suspended for the customer's company
    "held",  # send now while a hold stands: release it first
]
"""Why the scheduler dead-lettered a command (the dead letter's ``reason``)."""

Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Subject = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class CommandActor(Contract):
    """The authenticated identity that asked, as the producer authenticated it."""

    subject: Subject = Field(
        description="Stable and unique: oidc:<sub>, local:<login>, api-key:<role>, operator:<name>."
    )
    roles: tuple[ActorRole, ...] = Field(min_length=1)
    kind: Literal["person", "machine"] = "person"
    company_codes: tuple[Code, ...] = Field(default=(), description="The actor's portfolio.")
    collector_codes: tuple[Code, ...] = ()
    segments: tuple[Code, ...] = ()
    everything: bool = Field(
        default=False, description="The portfolio covers every customer (an administrator's)."
    )


class CommandBase(Contract):
    """What every command carries."""

    command_id: UUID = Field(
        description="Chosen by the producer: a command sent twice is applied once."
    )
    customer_id: CustomerId
    actor: CommandActor
    requested_at: AwareDatetime


class Hold(CommandBase):
    invoice_id: InvoiceId | None = Field(
        default=None, description="The invoice held; none: the whole customer."
    )
    until: date = Field(
        description=(
            "The day dunning may resume, in the customer's time zone: the next applicable "
            "step goes out from that day on, in the sending window."
        )
    )
    reason: Text


class Release(CommandBase):
    invoice_id: InvoiceId | None = Field(
        default=None, description="The invoice released; none: the customer's own hold."
    )


class SendNow(CommandBase):
    invoice_id: InvoiceId | None = Field(
        default=None, description="Only this invoice's next step; none: the customer's."
    )
    template: TemplateName | None = Field(
        default=None,
        description=(
            "A template of the library to send instead of the next step (a statement, say); "
            "the invoices' progress does not move."
        ),
    )


class ChangeScenario(CommandBase):
    scenario_id: ScenarioId = Field(
        description=(
            "The customer's scenario from now on, for its invoices under way and later ones; "
            "each invoice keeps its place by step name."
        )
    )


class SkipStep(CommandBase):
    invoice_id: InvoiceId
    step_name: StepName | None = Field(
        default=None,
        description="The step expected next, as a guard: refused if the invoice moved since.",
    )


class AddNote(CommandBase):
    invoice_id: InvoiceId | None = None
    text: Annotated[str, StringConstraints(min_length=1, max_length=4000)]


class HoldCommand(Event):
    """Stop dunning a customer (or one invoice) until a date, with a reason."""

    event_type: Literal["command.hold"] = "command.hold"
    payload: Hold


class ReleaseCommand(Event):
    """Lift a hold before its date: dunning resumes at the next applicable step."""

    event_type: Literal["command.release"] = "command.release"
    payload: Release


class SendNowCommand(Event):
    """Send the next step (or a chosen template) at the next instant of the sending window."""

    event_type: Literal["command.send_now"] = "command.send_now"
    payload: SendNow


class ChangeScenarioCommand(Event):
    """Move a customer to another scenario, effective at once."""

    event_type: Literal["command.change_scenario"] = "command.change_scenario"
    payload: ChangeScenario


class SkipStepCommand(Event):
    """Move one invoice past its next step without sending it."""

    event_type: Literal["command.skip_step"] = "command.skip_step"
    payload: SkipStep


class AddNoteCommand(Event):
    """Keep a note on a customer (or one of its invoices)."""

    event_type: Literal["command.add_note"] = "command.add_note"
    payload: AddNote


CollectorCommand = Annotated[
    HoldCommand
    | ReleaseCommand
    | SendNowCommand
    | ChangeScenarioCommand
    | SkipStepCommand
    | AddNoteCommand,
    Field(discriminator="event_type"),
]

__all__ = [
    "ActorRole",
    "CommandExecuted",
    "CommandName",
    "ExecutedCommand",
    "InvoiceSnapshot",
]
