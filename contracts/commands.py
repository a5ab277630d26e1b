"""Collectors' commands on a customer or an invoice, and the audit of what they did.

People who run collections steer the stream with commands on ``dunning.commands.v1``: hold a
customer or an invoice until a date, release it, send the next step (or a chosen template)
now, change a customer's scenario, skip an invoice's next step, add a note, log a call with
its outcome. The console, the CRM, operators (``relance scheduler hold ...``) and the
scheduler's HTTP commands API (``POST /v1/commands/<name>``) produce them; the scheduler
executes them.

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
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field, StringConstraints, model_validator
from pydantic_extra_types.country import CountryAlpha2

from contracts.actors import Code, CommandActor
from contracts.disputes import DisputeCategory
from contracts.dunning import (
    ActorRole,
    Channel,
    CommandExecuted,
    CommandName,
    DunningLevel,
    ExecutedCommand,
    InvoiceSnapshot,
    ProposalAttachment,
    ProposalVersion,
    RecipientRole,
    ScenarioId,
    StepName,
    TemplateName,
)
from contracts.envelope import CompanyCode, Contract, CustomerId, Event
from contracts.erp import ContactRole, CustomerType, Market, PayerProfile, RiskRating
from contracts.ledger import InvoiceId
from contracts.money import PositiveMoney

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
    "held",  # send now (or an approval) while a hold stands: release it first
    "unknown_reminder",  # a call logged against a reminder that is not this customer's call
    "unknown_proposal",
    "already_decided",  # the proposal was approved, skipped or postponed before
    "stale_proposal",  # the proposal was edited since the version the collector saw
    "invalid_edit",  # an edit naming a channel the step cannot use, or nothing to change
    "already_suspended",  # a suspension of a scope already suspended
    "not_suspended",  # a resumption of a scope not suspended
    "invalid_campaign",  # a campaign the library cannot send (unknown template, bad range)
    "selection_changed",  # a launch whose recipients are no longer those of its dry run
]
"""Why the scheduler dead-lettered a command (the dead letter's ``reason``)."""

Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


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


class ProposalCommand(CommandBase):
    """A decision on a proposal, citing the version the collector saw."""

    proposal_id: UUID
    version: int = Field(
        ge=1,
        description=(
            "The version the collector saw: refused (stale_proposal) when it was edited since, "
            "(already_decided) when someone decided it first."
        ),
    )


class ApproveProposal(ProposalCommand):
    pass


class EditProposal(ProposalCommand):
    paragraphs: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=100)],
        Annotated[str, StringConstraints(min_length=1, max_length=4000)],
    ] = Field(
        default_factory=dict,
        description=(
            "Editable paragraphs rewritten, by the name the template gives them (the notifier "
            "refuses a paragraph its template does not mark as editable)."
        ),
    )
    channel: Channel | None = Field(default=None, description="Another channel for the step.")
    recipient_role: ContactRole | None = Field(
        default=None, description="Another of the customer's contacts, by role."
    )
    attachments: tuple[ProposalAttachment, ...] | None = Field(
        default=None,
        max_length=10,
        description=(
            "Files added to the email (uploaded to the notifier first, POST "
            "/proposals/{proposal_id}/attachments); none: unchanged, empty: none any more."
        ),
    )


class PostponeProposal(ProposalCommand):
    until: date = Field(
        description="The day the step is proposed again, in the customer's time zone."
    )


class SkipProposal(ProposalCommand):
    reason: Text


class ApproveProposals(Contract):
    """Many proposals approved at once, of any customers; each is decided on its own."""

    command_id: UUID = Field(
        description="Chosen by the producer: a command sent twice is applied once."
    )
    actor: CommandActor
    requested_at: AwareDatetime
    proposals: tuple[ProposalVersion, ...] = Field(min_length=1, max_length=500)

    @property
    def partition_key(self) -> str:
        """The record key: the actor, since the proposals may be of several customers."""
        return self.actor.subject


LoggedCallOutcome = Literal[
    "answered", "no_answer", "wrong_contact", "promise_to_pay", "dispute_raised"
]
"""What came of a call: ``answered`` (spoken to, nothing agreed), ``no_answer``,
``wrong_contact`` (the number reaches someone else), ``promise_to_pay`` (with a date and an
amount), ``dispute_raised`` (with the customer's reason)."""


class LogCall(CommandBase):
    invoice_ids: tuple[InvoiceId, ...] = Field(
        default=(),
        max_length=1000,
        description="The invoices discussed; none: the customer's open invoices.",
    )
    outcome: LoggedCallOutcome
    reminder_id: UUID | None = Field(
        default=None,
        description=(
            "The call reminder (a call task) this call answers: its follow-up applies (call "
            "again, the written channel, correct the contact); none: a call of the "
            "collector's own."
        ),
    )
    promised_date: date | None = Field(default=None, description="With a promise to pay.")
    promised_amount: PositiveMoney | None = Field(
        default=None, description="With a promise to pay."
    )
    dispute_reason: Text | None = Field(default=None, description="With a dispute raised.")
    dispute_category: DisputeCategory | None = Field(
        default=None, description="With a dispute raised (default: commercial)."
    )
    note: Annotated[str, StringConstraints(min_length=1, max_length=4000)] | None = Field(
        default=None,
        description="Kept by the scheduler with the call, out of the audit event.",
    )

    @model_validator(mode="after")
    def _outcome_details(self) -> LogCall:
        promised = self.promised_date is not None or self.promised_amount is not None
        if self.outcome == "promise_to_pay":
            if self.promised_date is None or self.promised_amount is None:
                raise ValueError("a promise to pay needs a promised date and amount")
        elif promised:
            raise ValueError(f"a promised date or amount with outcome {self.outcome}")
        if self.outcome == "dispute_raised":
            if self.dispute_reason is None:
                raise ValueError("a dispute raised needs its reason")
        elif self.dispute_reason is not None or self.dispute_category is not None:
            raise ValueError(f"a dispute reason or category with outcome {self.outcome}")
        if len(set(self.invoice_ids)) != len(self.invoice_ids):
            raise ValueError("an invoice is named twice")
        return self


# Operators' commands: sending suspended and resumed, campaigns launched ---------------------

ALL_COMPANIES = "*"
"""The record key of an operator command that concerns every company."""


class OperatorCommandBase(Contract):
    """What every operator command carries: no customer, a scope of companies. Only a
    credit manager or an administrator may give one, for companies of their portfolio (every
    company: a portfolio that covers every customer)."""

    command_id: UUID = Field(
        description="Chosen by the producer: a command sent twice is applied once."
    )
    actor: CommandActor
    requested_at: AwareDatetime


class SuspendSending(OperatorCommandBase):
    company_code: CompanyCode | None = Field(
        default=None, description="The company whose customers are held; none: every company."
    )
    reason: Text

    @property
    def partition_key(self) -> str:
        return self.company_code or ALL_COMPANIES


class ResumeSending(OperatorCommandBase):
    company_code: CompanyCode | None = Field(
        default=None, description="The scope suspended; none: the suspension of every company."
    )

    @property
    def partition_key(self) -> str:
        return self.company_code or ALL_COMPANIES


class CampaignStepSpec(Contract):
    """What a campaign sends: one step, now."""

    name: StepName
    level: DunningLevel
    channel: Channel
    recipient: RecipientRole = "billing"
    template: TemplateName
    include_penalties: bool = False


class CampaignCustomers(Contract):
    """Conditions on a customer (as the assignment rules'); an empty list matches anything."""

    payer_profile: tuple[PayerProfile, ...] = ()
    customer_type: tuple[CustomerType, ...] = ()
    market: tuple[Market, ...] = ()
    country: tuple[CountryAlpha2, ...] = ()
    risk_rating: tuple[RiskRating, ...] = ()
    any_tag: tuple[Code, ...] = ()


class CampaignSelection(Contract):
    """Which customers and invoices a campaign reaches; every condition given must hold."""

    company_codes: tuple[CompanyCode, ...] = Field(
        default=(), description="The companies selected; none: every company."
    )
    customers: CampaignCustomers = CampaignCustomers()
    min_days_overdue: int | None = Field(default=None, ge=-365, le=3650)
    max_days_overdue: int | None = Field(default=None, ge=-365, le=3650)
    min_open_amount: Decimal | None = Field(default=None, ge=0)
    min_customer_total: Decimal | None = Field(
        default=None,
        ge=0,
        description="The selected invoices of a customer total at least this in one currency.",
    )


class CampaignSpec(Contract):
    """An ad-hoc campaign, as its YAML file declares it (``relance scheduler campaign``)."""

    id: ScenarioId
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    step: CampaignStepSpec
    select: CampaignSelection = CampaignSelection()


Fingerprint = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class LaunchCampaign(OperatorCommandBase):
    campaign: CampaignSpec
    fingerprint: Fingerprint = Field(
        description=(
            "The fingerprint of the recipients the dry run showed (POST "
            "/v1/campaigns/dry-run): the launch is refused (selection_changed) when the "
            "campaign would now reach other customers or invoices."
        )
    )

    @property
    def partition_key(self) -> str:
        return f"campaign:{self.campaign.id}"


class SuspendSendingCommand(Event):
    """Stop sending to the customers of one company (or of all) until resumed, with a reason."""

    event_type: Literal["command.suspend_sending"] = "command.suspend_sending"
    payload: SuspendSending


class ResumeSendingCommand(Event):
    """End a suspension: held reminders are checked again and sent in the sending window."""

    event_type: Literal["command.resume_sending"] = "command.resume_sending"
    payload: ResumeSending


class LaunchCampaignCommand(Event):
    """Send a campaign's step now to the recipients its dry run showed."""

    event_type: Literal["command.launch_campaign"] = "command.launch_campaign"
    payload: LaunchCampaign


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


class ApproveProposalCommand(Event):
    """Send a proposal as it was previewed (the version cited)."""

    event_type: Literal["command.approve_proposal"] = "command.approve_proposal"
    payload: ApproveProposal


class EditProposalCommand(Event):
    """Rewrite a proposal's editable paragraphs, channel or recipient: a new version."""

    event_type: Literal["command.edit_proposal"] = "command.edit_proposal"
    payload: EditProposal


class PostponeProposalCommand(Event):
    """Propose the step again on a later day; the invoices wait until then."""

    event_type: Literal["command.postpone_proposal"] = "command.postpone_proposal"
    payload: PostponeProposal


class SkipProposalCommand(Event):
    """Do not send the proposal: its invoices move past the step."""

    event_type: Literal["command.skip_proposal"] = "command.skip_proposal"
    payload: SkipProposal


class ApproveProposalsCommand(Event):
    """Approve a list of proposals; each one that cannot be approved is refused alone."""

    event_type: Literal["command.approve_proposals"] = "command.approve_proposals"
    payload: ApproveProposals


class LogCallCommand(Event):
    """Log a call with its outcome; a promise or a dispute goes on to the disputes service."""

    event_type: Literal["command.log_call"] = "command.log_call"
    payload: LogCall


CollectorCommand = Annotated[
    HoldCommand
    | ReleaseCommand
    | SendNowCommand
    | ChangeScenarioCommand
    | SkipStepCommand
    | AddNoteCommand
    | ApproveProposalCommand
    | EditProposalCommand
    | PostponeProposalCommand
    | SkipProposalCommand
    | ApproveProposalsCommand
    | LogCallCommand
    | SuspendSendingCommand
    | ResumeSendingCommand
    | LaunchCampaignCommand,
    Field(discriminator="event_type"),
]

__all__ = [
    "ActorRole",
    "CommandActor",
    "CommandExecuted",
    "CommandName",
    "ExecutedCommand",
    "InvoiceSnapshot",
]
