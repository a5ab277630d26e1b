"""Dunning actions: what the scheduler decided to do about a customer's overdue invoices.

The scheduler walks each invoice through its customer's dunning scenario [scénario de
relance]: an ordered list of steps anchored on the due date, growing firmer from the
preventive phase to level 1, level 2 and the formal notice [mise en demeure]. When steps of
several invoices of one customer fall due together they are grouped into one
``dunning.reminder.due``. When a scenario ends without payment, the case leaves the
amicable phase with a ``dunning.escalation.raised`` (litigation, collection agency or
doubtful debt). ``dunning.state.changed`` tells reporting where each invoice stands.
``dunning.sending.suspended`` and ``dunning.sending.resumed`` stop and restart everything
that reaches customers, for one company or for all: the scheduler stops deciding, the
notifier holds what it has queued, retries and fallbacks included.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Annotated, Final, Literal, get_args
from uuid import UUID

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from contracts.envelope import CompanyCode, Contract, CustomerId, Event
from contracts.erp import ContactRole, DocumentNumber, LanguageCode
from contracts.ledger import InvoiceId, distinct_invoice_ids
from contracts.money import PositiveMoney

DunningLevel = Literal["preventive", "level_1", "level_2", "formal_notice"]
"""The phases of the funnel, from the courteous preventive reminder to the formal notice."""

DUNNING_LEVELS: tuple[DunningLevel, ...] = get_args(DunningLevel)
"""The levels in increasing firmness; ``DUNNING_LEVELS.index(level)`` ranks them."""

Channel = Literal[
    "email",
    "interactive_email",
    "sms",
    "phone_call",
    "postal_letter",
    "registered_letter",
    "electronic_registered_letter",
]
"""How an action reaches its recipient. A ``phone_call`` becomes a call task for a collector;
a ``registered_letter`` is sent with acknowledgement of receipt [recommandé avec AR]; an
``electronic_registered_letter`` is its eIDAS equivalent [LRE]."""

InternalRole = Literal[
    "collector", "sales", "order_administration", "technical", "accounting_team", "manager"
]
"""People on the creditor's side: the credit controller, the sales rep, order administration
[ADV], a technician, the accounting team, the collection manager."""

RecipientRole = Literal[ContactRole, InternalRole]
"""A customer contact's role, or an internal role when the action asks a colleague for help."""

EscalationAction = Literal["litigation", "collection_agency", "doubtful_debt"]
PauseReason = Literal["dispute", "promise_to_pay", "payment_plan", "suspended", "hold", "proposal"]
"""Why an invoice is paused; ``hold``: a collector held it (or its customer) until
``paused_until``; ``proposal``: its step waits for a collector's confirmation."""

ScenarioId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, strip_whitespace=True),
    Field(description="The dunning scenario the action belongs to."),
]
StepName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, strip_whitespace=True),
    Field(description="The step of the scenario, unique within it."),
]
TemplateName = Annotated[str, StringConstraints(min_length=1, max_length=200)]


def _same_currency(amount: PositiveMoney, open_amount: PositiveMoney) -> None:
    if amount.currency != open_amount.currency:
        raise ValueError(
            f"open amount in {open_amount.currency} for an invoice in {amount.currency}"
        )


class DunnedInvoice(Contract):
    """One invoice an action is about, as the scheduler saw it when deciding."""

    invoice_id: InvoiceId
    invoice_number: DocumentNumber
    due_date: date
    amount: PositiveMoney
    open_amount: PositiveMoney
    days_overdue: int = Field(description="Days past the due date; negative before it.")

    @model_validator(mode="after")
    def _open_within_amount(self) -> DunnedInvoice:
        _same_currency(self.amount, self.open_amount)
        if self.open_amount.amount > self.amount.amount:
            raise ValueError(
                f"open amount {self.open_amount.amount} exceeds the invoice amount "
                f"{self.amount.amount} for {self.invoice_id}"
            )
        return self


def _distinct_invoices(invoices: tuple[DunnedInvoice, ...]) -> None:
    distinct_invoice_ids(tuple(i.invoice_id for i in invoices))


class OpenStatement(Contract):
    """The customer's whole open account when the reminder was decided [relevé de compte].

    Totals only: the notifier, which follows the ledger too, prints the lines at send time.
    """

    totals: tuple[PositiveMoney, ...] = Field(
        min_length=1, description="What the customer owes on all open invoices, per currency."
    )
    open_invoices: int = Field(ge=1, description="How many invoices are open, reminded or not.")

    @model_validator(mode="after")
    def _one_total_per_currency(self) -> OpenStatement:
        currencies = [t.currency for t in self.totals]
        if len(set(currencies)) != len(currencies):
            raise ValueError(f"one total per currency, not {', '.join(currencies)}")
        return self


class ProposalVersion(Contract):
    """One version of a proposal: the one a collector saw, or the one approved."""

    proposal_id: UUID
    version: int = Field(ge=1, description="1 when raised; one more after each edit.")


class Reminder(Contract):
    """One reminder to send: a step of the customer's scenario, for one or more invoices."""

    reminder_id: UUID = Field(
        description=(
            "Deterministic: derived from the customer, scenario, step and invoices, so that a "
            "scheduler that decides twice emits the same reminder and the notifier sends once."
        )
    )
    customer_id: CustomerId
    company_code: CompanyCode
    scenario_id: ScenarioId
    campaign_id: ScenarioId | None = Field(
        default=None,
        description=(
            "Set when an ad-hoc campaign [campagne de relance] sends it, in parallel with the "
            "customer's scenario; scenario_id then names the campaign's one-step scenario."
        ),
    )
    step_name: StepName
    level: DunningLevel
    channel: Channel
    recipient_role: RecipientRole
    template: TemplateName
    language: LanguageCode
    include_penalties: bool = Field(
        description="Whether the reminder states late-payment penalties and the 40 EUR indemnity."
    )
    escalating: bool = Field(
        description="Whether this is the action that moves the case to the next level."
    )
    scheduled_for: AwareDatetime = Field(
        description="When to send it: a business day, in the customer's sending window."
    )
    invoices: tuple[DunnedInvoice, ...] = Field(min_length=1)
    statement: OpenStatement | None = Field(
        default=None,
        description=(
            "The customer's full open statement (totals per currency), for the reminder to "
            "show beside the invoices it is about."
        ),
    )
    proposal: ProposalVersion | None = Field(
        default=None,
        description=(
            "Set when a collector approved a proposal: the notifier sends, byte for byte, the "
            "rendering of that version it previewed (after the send-time checks)."
        ),
    )

    @model_validator(mode="after")
    def _distinct(self) -> Reminder:
        _distinct_invoices(self.invoices)
        return self


class ReminderDue(Event):
    """A reminder is due to a customer (or to a colleague) for a group of invoices."""

    event_type: Literal["dunning.reminder.due"] = "dunning.reminder.due"
    payload: Reminder


class Escalation(Contract):
    """The amicable phase ended without payment: the case is handed over."""

    customer_id: CustomerId
    company_code: CompanyCode
    scenario_id: ScenarioId
    action: EscalationAction
    invoices: tuple[DunnedInvoice, ...] = Field(min_length=1)
    total_open: tuple[PositiveMoney, ...] = Field(
        min_length=1, description="The open amount of the invoices, one total per currency."
    )

    @model_validator(mode="after")
    def _totals_add_up(self) -> Escalation:
        _distinct_invoices(self.invoices)
        expected: defaultdict[str, Decimal] = defaultdict(Decimal)
        for invoice in self.invoices:
            expected[invoice.open_amount.currency] += invoice.open_amount.amount
        stated: dict[str, Decimal] = {}
        for total in self.total_open:
            if total.currency in stated:
                raise ValueError(f"two totals in {total.currency}")
            stated[total.currency] = total.amount
        if stated != dict(expected):
            raise ValueError(
                f"total open {stated} does not match the invoices' open amounts {dict(expected)}"
            )
        return self


class EscalationRaised(Event):
    """A case leaves the amicable phase: litigation, collection agency or doubtful debt."""

    event_type: Literal["dunning.escalation.raised"] = "dunning.escalation.raised"
    payload: Escalation


class NextStep(Contract):
    """The step an invoice's next action takes, as its scenario states it."""

    step_name: StepName
    level: DunningLevel
    channel: Channel = Field(
        description=(
            "The step's channel; a delivery that fails may still fall back to another one."
        )
    )


class InvoiceDunningState(Contract):
    """Where one invoice stands in its scenario."""

    customer_id: CustomerId
    company_code: CompanyCode
    invoice_id: InvoiceId
    scenario_id: ScenarioId
    step_name: StepName | None = Field(description="The last step taken; none before the first.")
    level: DunningLevel | None = Field(description="The level reached; none before the first step.")
    paused: bool
    pause_reason: PauseReason | None = None
    last_action_at: AwareDatetime | None = None
    next_action_at: AwareDatetime | None = Field(
        default=None, description="None when paused or when the scenario has ended."
    )
    paused_until: AwareDatetime | None = Field(
        default=None,
        description=(
            "For a hold: the instant dunning may resume (nothing may reach the customer about "
            "this invoice before it, queued deliveries included)."
        ),
    )
    next_step: NextStep | None = Field(
        default=None,
        description=(
            "The step the next action (at next_action_at) takes: its name, level and channel. "
            "None when there is no next action (paused, held, ended), when the next action is "
            "the scenario's exit (an escalation), and in a version 1 event, which did not say."
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> InvoiceDunningState:
        if self.paused != (self.pause_reason is not None):
            raise ValueError("a pause reason is given if and only if the invoice is paused")
        if (self.step_name is None) != (self.level is None):
            raise ValueError("step name and level are given together")
        if (
            self.last_action_at is not None
            and self.next_action_at is not None
            and self.next_action_at < self.last_action_at
        ):
            raise ValueError("the next action is before the last one")
        if self.next_step is not None and self.next_action_at is None:
            raise ValueError("a next step is given only with the next action's instant")
        return self


class DunningStateChanged(Event):
    """An invoice moved in its scenario, was paused or resumed; for reporting.

    Version 2 adds ``next_step`` (the step the next action takes); a version 1 event has none.
    """

    event_type: Literal["dunning.state.changed"] = "dunning.state.changed"
    schema_version: int = Field(default=2, ge=1)
    payload: InvoiceDunningState


SUSPENSION_KEY_ALL = "*"
"""The record key of a suspension of every company; a company's suspension is keyed by its
code."""


class Suspension(Contract):
    """Sending stopped: nothing reaches a customer of the scope until it is resumed."""

    suspension_id: UUID = Field(description="Names the suspension; its resumption cites it.")
    company_code: CompanyCode | None = Field(
        default=None, description="The company whose customers are held; none: every company."
    )
    by: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="The authenticated identity of the person who suspended."
    )
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    at: AwareDatetime
    role: ActorRole | None = Field(
        default=None,
        description="The role the person acted with (none: an operator at the command line).",
    )

    @property
    def partition_key(self) -> str:
        """The record key: the company's code, or ``*`` for every company."""
        return self.company_code or SUSPENSION_KEY_ALL


class SuspensionLifted(Contract):
    """Sending resumed for the scope of a suspension."""

    suspension_id: UUID
    company_code: CompanyCode | None = None
    by: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    at: AwareDatetime
    role: ActorRole | None = Field(
        default=None,
        description="The role the person acted with (none: an operator at the command line).",
    )

    @property
    def partition_key(self) -> str:
        """The record key: the company's code, or ``*`` for every company."""
        return self.company_code or SUSPENSION_KEY_ALL


class SendingSuspended(Event):
    """Everything that reaches customers of a company (or of all) stops until resumed."""

    event_type: Literal["dunning.sending.suspended"] = "dunning.sending.suspended"
    payload: Suspension


class SendingResumed(Event):
    """A suspension ends: what was held is checked again and sent in the sending window."""

    event_type: Literal["dunning.sending.resumed"] = "dunning.sending.resumed"
    payload: SuspensionLifted


# Audit of collectors' commands (contracts.commands) ---------------------------------------

ActorRole = Literal["viewer", "collector", "credit_manager", "administrator"]
"""The roles of Relance's identities, ordered: each includes the ones before it."""

CommandName = Literal[
    "hold",
    "release",
    "send_now",
    "change_scenario",
    "skip_step",
    "add_note",
    "approve_proposal",
    "edit_proposal",
    "postpone_proposal",
    "skip_proposal",
    "log_call",
]
ActorSubject = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class InvoiceSnapshot(Contract):
    """An invoice's place as a command found it or left it."""

    invoice_id: InvoiceId
    scenario_id: ScenarioId | None
    next_step: StepName | None = Field(description="None when no step is left.")
    held_until: AwareDatetime | None = None
    next_action_at: AwareDatetime | None = None


class ExecutedCommand(Contract):
    """One executed command: who, when, what, and the state before and after."""

    command_id: UUID
    command: CommandName
    customer_id: CustomerId
    company_code: CompanyCode
    actor_subject: ActorSubject
    actor_role: ActorRole
    requested_at: AwareDatetime
    executed_at: AwareDatetime
    invoice_id: InvoiceId | None = None
    detail: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "The command's own arguments (until, reason, template, scenario, step); a note's "
            "length, not its text, which this topic would keep for ever."
        ),
    )
    before: tuple[InvoiceSnapshot, ...] = ()
    after: tuple[InvoiceSnapshot, ...] = ()

    @model_validator(mode="after")
    def _same_invoices(self) -> ExecutedCommand:
        if {s.invoice_id for s in self.before} != {s.invoice_id for s in self.after}:
            raise ValueError("before and after name the same invoices")
        return self


class CommandExecuted(Event):
    """A collector's command was executed: the audit trail of operator actions."""

    event_type: Literal["dunning.command.executed"] = "dunning.command.executed"
    payload: ExecutedCommand


# Proposals: steps that wait for a collector's confirmation ----------------------------------

OnTimeout = Literal["send", "hold", "skip"]
"""What becomes of a proposal nobody decided in time: sent as proposed, kept waiting (the
invoices stay paused until someone decides), or skipped (the invoices move past the step)."""

ProposalDecision = Literal["approved", "skipped", "postponed", "withdrawn"]
"""How a proposal ended: a collector (or its timeout) approved or skipped it, a collector
postponed it to a date (the step is proposed again then), or nothing was left to propose
(the invoices were settled, cancelled or moved to another scenario)."""


class ProposalAttachment(Contract):
    """A file a collector adds to a proposal's email (uploaded to the notifier first)."""

    filename: Annotated[
        str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^/\\\x00-\x1f]+$")
    ]
    media_type: Annotated[
        str, StringConstraints(pattern=r"^[a-z0-9.+-]+/[a-z0-9.+-]+$", max_length=100)
    ]
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] = Field(
        description="The uploaded bytes' SHA-256, as the notifier's upload answered it."
    )


class Proposal(Contract):
    """A reminder the scheduler would send, waiting for a collector's decision."""

    proposal_id: UUID
    version: int = Field(ge=1, description="1 when raised; one more after each edit.")
    customer_id: CustomerId
    reminder: Reminder = Field(
        description=(
            "What would be sent, to whom and on which channel, as the notifier will send it "
            "(its ``reminder_id`` is the one the approved reminder keeps)."
        )
    )
    confirm_role: ActorRole = Field(
        description="The least role that may decide it (a formal notice may need a credit manager)."
    )
    deadline: AwareDatetime = Field(
        description="When the step's on_timeout policy applies if nobody decided."
    )
    remind_owner_at: AwareDatetime = Field(
        description="When the collectors are reminded that it waits (a business day before)."
    )
    on_timeout: OnTimeout
    paragraphs: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=100)],
        Annotated[str, StringConstraints(min_length=1, max_length=4000)],
    ] = Field(
        default_factory=dict,
        description=(
            "The editable paragraphs a collector rewrote, by the name the template gives them; "
            "the others read as the template has them."
        ),
    )
    attachments: tuple[ProposalAttachment, ...] = Field(
        default=(), max_length=10, description="Files added to the email, in this order."
    )
    edited_by: ActorSubject | None = Field(
        default=None, description="Who made this version, when it is an edit."
    )

    @model_validator(mode="after")
    def _one_customer(self) -> Proposal:
        if self.reminder.customer_id != self.customer_id:
            raise ValueError("a proposal's reminder is to the proposal's customer")
        if self.remind_owner_at > self.deadline:
            raise ValueError("the owner is reminded before the deadline")
        return self


class ProposalRaised(Event):
    """A step waits for a collector's confirmation (raised, or a new version after an edit)."""

    event_type: Literal["dunning.proposal.raised"] = "dunning.proposal.raised"
    payload: Proposal


class ProposalDecided(Contract):
    """The end of a proposal."""

    proposal_id: UUID
    version: int = Field(ge=1)
    customer_id: CustomerId
    company_code: CompanyCode
    decision: ProposalDecision
    by: ActorSubject = Field(
        description="The collector who decided, or ``timeout`` when the step's policy did."
    )
    at: AwareDatetime
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)] | None = Field(
        default=None, description="Why it was skipped or withdrawn."
    )
    postponed_until: date | None = None
    reminder_id: UUID | None = Field(default=None, description="The reminder sent, when approved.")


class ProposalClosed(Event):
    """A proposal was approved, skipped, postponed or withdrawn: nobody decides it any more."""

    event_type: Literal["dunning.proposal.decided"] = "dunning.proposal.decided"
    payload: ProposalDecided


class CampaignRun(Contract):
    """An ad-hoc campaign sent: who launched it, when, what, and whom it reached."""

    campaign_id: ScenarioId
    template: TemplateName
    step_name: StepName
    level: DunningLevel
    channel: Channel
    company_codes: tuple[CompanyCode, ...] = Field(
        default=(), description="The companies it selected; none: every company."
    )
    by: ActorSubject = Field(description="The operator who launched it.")
    at: AwareDatetime
    role: ActorRole | None = Field(
        default=None,
        description="The role the person acted with (none: an operator at the command line).",
    )
    customers_reached: int = Field(ge=0)
    invoices_reached: int = Field(ge=0)
    skipped: dict[str, int] = Field(
        default_factory=dict, description="Customers left out, by reason (already reached...)."
    )

    @property
    def partition_key(self) -> str:
        return f"campaign:{self.campaign_id}"


class CampaignLaunched(Event):
    """An operator sent a campaign (the audit of it; its reminders follow as reminder.due)."""

    event_type: Literal["dunning.campaign.launched"] = "dunning.campaign.launched"
    payload: CampaignRun


# Audit of the scenario library's changes ----------------------------------------------------

LIBRARY_KEY: Final = "library"
"""The record key of library changes: one partition keeps them in order."""
ScenarioChangeKind = Literal["added", "changed", "removed"]


class ScenarioVersionChange(Contract):
    """One scenario of an accepted library change, with its versions before and after."""

    scenario_id: ScenarioId
    change: ScenarioChangeKind
    version_before: int | None = Field(default=None, ge=1, description="None: added.")
    version_after: int | None = Field(default=None, ge=1, description="None: removed.")


class LibraryChange(Contract):
    """An accepted change of the scenario library: who, when, what, versions before and
    after, and what it did to the invoices under way."""

    revision_before: int | None = Field(
        default=None, ge=1, description="The library revision replaced (None: the first one)."
    )
    revision: int = Field(ge=1)
    changed_by: ActorSubject
    changed_at: AwareDatetime
    scenarios: tuple[ScenarioVersionChange, ...] = ()
    assignment_changed: bool = False
    templates_changed: bool = False
    invoices_moved: int = Field(
        default=0, ge=0, description="Invoices whose next step changed (a step removed)."
    )
    invoices_reassigned: int = Field(
        default=0, ge=0, description="Invoices of removed scenarios, assigned again by the rules."
    )

    @property
    def partition_key(self) -> str:
        return LIBRARY_KEY


class LibraryChanged(Event):
    """A new version of the scenario library was accepted and is in force."""

    event_type: Literal["dunning.library.changed"] = "dunning.library.changed"
    payload: LibraryChange


DunningEvent = Annotated[
    ReminderDue
    | EscalationRaised
    | DunningStateChanged
    | SendingSuspended
    | SendingResumed
    | CommandExecuted
    | ProposalRaised
    | ProposalClosed
    | CampaignLaunched
    | LibraryChanged,
    Field(discriminator="event_type"),
]
