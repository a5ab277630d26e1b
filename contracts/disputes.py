"""Disputes, promises to pay and payment plans: the temporary exits from dunning.

Commands come from the CRM, the customer portal and the HTTP API on
``disputes.commands.v1``; the disputes service decides and publishes what happened on
``disputes.events.v1``. A justified dispute [litige] stops reminders to the customer and
starts reminders to the internal owner who must solve it (sales, technical, order
administration [ADV], accounting) before a due date; when it is resolved the invoices
re-enter their scenario where they left it. A promise to pay or a payment plan
[échéancier] pauses reminders for its invoices until it is kept or broken.

Every event names the customer and the invoices it pauses or resumes.
"""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from contracts.actors import CommandActor
from contracts.dunning import Channel, InternalRole
from contracts.envelope import CompanyCode, Contract, CustomerId, Event
from contracts.erp import PhoneNumber
from contracts.ledger import InvoiceId, InvoiceIds, distinct_invoice_ids
from contracts.money import Money, PositiveMoney

DisputeCategory = Literal[
    "commercial", "quality", "delivery", "pricing", "administrative", "accounting"
]
RaisedBy = Literal["customer", "collector", "portal"]
DisputeOutcome = Literal["justified", "rejected", "settled_by_payment"]
PromiseChannel = Literal[Channel, "portal", "visit"]
PromiseKind = Literal["promise", "payment_announced"]
"""``promise``: the customer promised to pay by a date. ``payment_announced``: a payment
provider announced that the customer paid (a card payment on the portal); dunning waits for
the ERP's payment, and if it does not come in time the invoices resume with an alert, not a
broken promise in the customer's record."""
Firmness = Literal["gentle", "firm", "urgent"]

Actor = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, strip_whitespace=True),
    Field(description="Who did it: a user's login or email, or a system's name."),
]
Text = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
Note = Annotated[str, StringConstraints(max_length=4000)]


class DisputedInvoices(Contract):
    """The invoices a dispute is about, or the whole account."""

    customer_id: CustomerId
    invoice_ids: tuple[InvoiceId, ...] = Field(
        default=(), description="Empty only when the whole account is disputed."
    )
    whole_account: bool = Field(
        default=False,
        description="The whole account is disputed: invoices opened later are paused too.",
    )

    @model_validator(mode="after")
    def _names_invoices(self) -> DisputedInvoices:
        distinct_invoice_ids(self.invoice_ids)
        if not self.whole_account and not self.invoice_ids:
            raise ValueError("a dispute names its invoices or covers the whole account")
        return self


class Instalment(Contract):
    """One payment of a payment plan."""

    due_date: date
    amount: PositiveMoney


def _instalments_in_order(instalments: tuple[Instalment, ...]) -> None:
    for earlier, later in pairwise(instalments):
        if later.due_date <= earlier.due_date:
            raise ValueError(
                f"instalment due {later.due_date} does not come after the one due "
                f"{earlier.due_date}"
            )
    currencies = sorted({i.amount.currency for i in instalments})
    if len(currencies) > 1:
        raise ValueError(f"instalments mix currencies: {', '.join(currencies)}")


def _short_of(received: Money, due: PositiveMoney, what: str) -> None:
    if received.currency != due.currency:
        raise ValueError(f"the received amount is not in the {what}'s currency")
    if not 0 <= received.amount < due.amount:
        raise ValueError(f"received {received.amount} of {due.amount}: not a missed {what}")


AttachmentType = Literal["application/pdf", "image/png", "image/jpeg"]


class Attachment(Contract):
    """A document attached to a dispute (a delivery note, a photo), kept in the document
    store; its type was checked from its content, not from its name."""

    reference: Annotated[
        str, StringConstraints(min_length=1, max_length=1024, pattern=r"^[^\x00-\x1f\x7f]+$")
    ] = Field(description="Its key in the document store.")
    media_type: AttachmentType
    size: int = Field(ge=1, description="In bytes.")
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    file_name: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="The name it was sent with, for display only."
    )


Attachments = Annotated[
    tuple[Attachment, ...],
    Field(max_length=5, description="Documents attached, at most five."),
]


# Commands ---------------------------------------------------------------------------------


class DisputeRequest(DisputedInvoices):
    dispute_id: UUID = Field(description="Chosen by the caller, so that a retried command is safe.")
    category: DisputeCategory
    text: Text = Field(description="The customer's complaint, in their words.")
    raised_by: RaisedBy
    attachments: Attachments = ()
    by: Actor | None = Field(
        default=None,
        description=(
            "On disputes.commands.v1, the authenticated identity that recorded it (a "
            "collector who logged the call); none: recorded as raised_by. The disputes API "
            "records its caller's identity instead."
        ),
    )


class OpenDispute(Event):
    """Open a dispute on invoices or on a whole account."""

    event_type: Literal["dispute.open"] = "dispute.open"
    # 2: the payload's attachments
    schema_version: int = Field(default=2, ge=1)
    payload: DisputeRequest


CorrectionKind = Literal["credit_note", "corrected_invoice"]


class ExpectedCorrection(Contract):
    """What a justified dispute waits for in the ledger, as its owner announced it."""

    kind: CorrectionKind = Field(description="A credit note, or a corrected invoice.")
    reference: Annotated[
        str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
    ] = Field(description="Its number or reference in the ERP, when known.")
    amount: PositiveMoney | None = Field(default=None, description="Its amount, when known.")


class DisputeResolution(Contract):
    dispute_id: UUID
    customer_id: CustomerId
    outcome: DisputeOutcome = Field(
        description=(
            "Justified: the creditor was wrong (a credit note follows); rejected: the invoices "
            "are due after all; settled_by_payment: the customer paid."
        )
    )
    by: Actor
    note: Note | None = None
    correction: ExpectedCorrection | None = Field(
        default=None,
        description=(
            "Justified: the credit note or corrected invoice expected, when the owner said "
            "which; never with another outcome."
        ),
    )

    @model_validator(mode="after")
    def _correction_when_justified(self) -> DisputeResolution:
        if self.correction is not None and self.outcome != "justified":
            raise ValueError("a correction is expected only when the dispute is justified")
        return self


class ResolveDispute(Event):
    """Close a dispute with its outcome; its invoices resume their scenario."""

    event_type: Literal["dispute.resolve"] = "dispute.resolve"
    payload: DisputeResolution


class DisputeAnswer(Contract):
    """A message added to a dispute's history by someone working on it (its owner through
    their link), with documents, without changing its state."""

    dispute_id: UUID
    customer_id: CustomerId
    answer_id: UUID = Field(description="Chosen by the caller, so that a retried command is safe.")
    by: Actor = Field(
        description="The authenticated identity: owner-link:<dispute id>:<owner role> when "
        "the owner answered through their link."
    )
    text: Note = Field(description="The message; may be empty when documents are attached.")
    attachments: Attachments = ()

    @model_validator(mode="after")
    def _something(self) -> DisputeAnswer:
        if not self.text.strip() and not self.attachments:
            raise ValueError("an answer needs a message or a document")
        return self


class AnswerDispute(Event):
    """Add a message or documents to an open dispute's history."""

    event_type: Literal["dispute.answer"] = "dispute.answer"
    payload: DisputeAnswer


class DisputeReopening(Contract):
    dispute_id: UUID
    customer_id: CustomerId
    by: Actor
    reason: Text


class ReopenDispute(Event):
    """Reopen a resolved dispute; its invoices are paused again."""

    event_type: Literal["dispute.reopen"] = "dispute.reopen"
    payload: DisputeReopening


class Promise(Contract):
    """A customer's promise to pay an amount by a date, for some invoices."""

    promise_id: UUID = Field(description="Chosen by the caller, so that a retried command is safe.")
    customer_id: CustomerId
    invoice_ids: InvoiceIds
    promised_date: date
    amount: PositiveMoney
    channel: PromiseChannel = Field(description="How the customer made the promise.")
    recorded_by: Actor
    kind: PromiseKind = Field(
        default="promise",
        description=(
            "payment_announced: a provider announced the payment (promised_date is the day "
            "it was paid); the disputes service waits its own time for the ERP's payment."
        ),
    )


class RecordPromise(Event):
    """Record a customer's promise to pay an amount by a date, or a payment a provider
    announced (``kind``)."""

    event_type: Literal["promise.record"] = "promise.record"
    # 2: the payload's kind (promise, payment_announced)
    schema_version: int = Field(default=2, ge=1)
    payload: Promise


class PaymentPlan(Contract):
    """A payment plan [échéancier]: instalments the customer agreed to pay for some invoices."""

    plan_id: UUID = Field(description="Chosen by the caller, so that a retried command is safe.")
    customer_id: CustomerId
    invoice_ids: InvoiceIds
    agreed_on: date
    instalments: tuple[Instalment, ...] = Field(
        min_length=1, description="Due dates strictly increasing, one currency."
    )
    agreed_by: Actor

    @model_validator(mode="after")
    def _instalments(self) -> PaymentPlan:
        _instalments_in_order(self.instalments)
        return self


class AgreePaymentPlan(Event):
    """Record a payment plan [échéancier] agreed with the customer."""

    event_type: Literal["payment_plan.agree"] = "payment_plan.agree"
    payload: PaymentPlan


class FailedPayment(Contract):
    """A payment a provider announced, then reported failed, cancelled or charged back (a
    direct debit the bank refused)."""

    promise_id: UUID = Field(description="The ``payment_announced`` promise it recorded.")
    customer_id: CustomerId
    failed_on: date
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)] = Field(
        description="What the provider said, such as ``failed: insufficient_funds``."
    )
    recorded_by: Actor


class RecordPaymentFailure(Event):
    """The payment a provider announced failed: its invoices resume at once (a
    ``promise.broken`` of kind ``payment_announced``), the account's owner alerted."""

    event_type: Literal["promise.payment_failed"] = "promise.payment_failed"
    payload: FailedPayment


CallbackSlot = Literal["morning", "afternoon"]


class CallbackRequest(Contract):
    """A customer asks the person in charge of their account to call them back."""

    request_id: UUID = Field(description="Chosen by the caller, so that a retried command is safe.")
    customer_id: CustomerId
    company_code: CompanyCode
    phone: PhoneNumber
    on: date = Field(description="The day the customer wants to be called.")
    slot: CallbackSlot = Field(description="Morning (9:00 to 12:00) or afternoon (14:00 to 17:00).")
    invoice_ids: tuple[InvoiceId, ...] = Field(
        default=(), description="The invoices the customer wants to talk about, if chosen."
    )
    requested_by: Actor

    @model_validator(mode="after")
    def _distinct(self) -> CallbackRequest:
        distinct_invoice_ids(self.invoice_ids)
        return self


class RequestCallback(Event):
    """Record a customer's request to be called back (from the portal); the account's owner
    sees it in the disputes service's open call-back requests."""

    event_type: Literal["callback.request"] = "callback.request"
    payload: CallbackRequest


class CallbackClosure(Contract):
    """A collector called back as asked and logged the call."""

    request_id: UUID
    customer_id: CustomerId
    closed_by: Actor = Field(description="The authenticated identity that logged the call.")


class CloseCallback(Event):
    """Close a customer's call-back request: the call was made and logged (``log_call``)."""

    event_type: Literal["callback.close"] = "callback.close"
    payload: CallbackClosure


class PlanProposal(Contract):
    """A payment plan the customer proposed on the portal, within the firm's rules; it
    waits for a credit manager's acceptance or refusal."""

    proposal_id: UUID = Field(
        description=(
            "Chosen by the caller, so that a retried command is safe; the plan's id once accepted."
        )
    )
    customer_id: CustomerId
    company_code: CompanyCode
    invoice_ids: InvoiceIds
    proposed_on: date = Field(description="The customer's day when they proposed it.")
    instalments: tuple[Instalment, ...] = Field(
        min_length=1, description="Due dates strictly increasing, one currency."
    )
    proposed_by: Actor

    @model_validator(mode="after")
    def _instalments(self) -> PlanProposal:
        _instalments_in_order(self.instalments)
        return self


class ProposePaymentPlan(Event):
    """Record a payment plan a customer proposed (from the portal): its invoices pause
    until a credit manager accepts or refuses it, or the wait is over."""

    event_type: Literal["payment_plan.propose"] = "payment_plan.propose"
    payload: PlanProposal


class PlanDecision(Contract):
    """A credit manager's answer to a proposed payment plan."""

    proposal_id: UUID
    customer_id: CustomerId
    actor: CommandActor = Field(
        description="The authenticated identity that decided (a credit manager or above)."
    )
    requested_at: AwareDatetime


class PlanRefusal(PlanDecision):
    reason: Text = Field(description="Why, told to the customer.")


class AcceptPaymentPlan(Event):
    """Accept a proposed payment plan: it becomes an agreed plan (``payment_plan.agreed``),
    confirmed to the customer in writing."""

    event_type: Literal["payment_plan.accept"] = "payment_plan.accept"
    payload: PlanDecision


class RefusePaymentPlan(Event):
    """Refuse a proposed payment plan with a reason: its invoices resume."""

    event_type: Literal["payment_plan.refuse"] = "payment_plan.refuse"
    payload: PlanRefusal


DisputeCommand = Annotated[
    OpenDispute
    | ResolveDispute
    | AnswerDispute
    | ReopenDispute
    | RecordPromise
    | AgreePaymentPlan
    | RequestCallback
    | RecordPaymentFailure
    | ProposePaymentPlan
    | AcceptPaymentPlan
    | RefusePaymentPlan
    | CloseCallback,
    Field(discriminator="event_type"),
]


# Events -----------------------------------------------------------------------------------


class Ownership(Contract):
    """Who must solve a dispute, and by when."""

    owner_role: InternalRole
    owner: Actor | None = Field(default=None, description="The person, when one is named.")
    due_date: date = Field(description="When the owner must have solved it.")


class OpenedDispute(DisputedInvoices, Ownership):
    """A dispute, routed to the service that can solve it."""

    dispute_id: UUID
    category: DisputeCategory
    text: Text
    raised_by: RaisedBy
    attachments: Attachments = ()


class DisputeOpened(Event):
    """A dispute was opened: reminders to the customer stop for its invoices."""

    event_type: Literal["dispute.opened"] = "dispute.opened"
    # 2: the payload's attachments
    schema_version: int = Field(default=2, ge=1)
    payload: OpenedDispute


class ResolvedDispute(DisputedInvoices):
    dispute_id: UUID
    outcome: DisputeOutcome
    by: Actor
    note: Note | None = None
    correction: ExpectedCorrection | None = Field(
        default=None, description="Justified: the credit note or corrected invoice expected."
    )


class DisputeResolved(Event):
    """A dispute was resolved: its invoices resume their scenario where they left it."""

    event_type: Literal["dispute.resolved"] = "dispute.resolved"
    payload: ResolvedDispute


class AnsweredDispute(DisputeAnswer):
    """The message or documents, recorded in the dispute's history."""


class DisputeAnswered(Event):
    """Someone working on a dispute (its owner) answered: a message, documents, or both."""

    event_type: Literal["dispute.answered"] = "dispute.answered"
    payload: AnsweredDispute


class ReopenedDispute(DisputedInvoices, Ownership):
    dispute_id: UUID
    by: Actor
    reason: Text


class DisputeReopened(Event):
    """A resolved dispute was reopened: its invoices are paused again."""

    event_type: Literal["dispute.reopened"] = "dispute.reopened"
    payload: ReopenedDispute


CorrectionCause = Literal["credit_note", "correction", "settled", "cancelled"]


class ReceivedCorrection(Contract):
    """The ledger shows the correction a justified dispute waited for, on some invoices."""

    dispute_id: UUID
    customer_id: CustomerId
    invoice_ids: InvoiceIds
    cause: CorrectionCause = Field(
        description=(
            "What the ledger showed: a credit note or a correction moving the open amount, "
            "or the invoice settled or cancelled."
        )
    )


class DisputeCorrectionReceived(Event):
    """A justified dispute's credit note or correction reached the ledger for these invoices.

    Until then the invoices of a dispute resolved as justified stay paused; from then on
    they resume their scenario where they left it.
    """

    event_type: Literal["dispute.correction_received"] = "dispute.correction_received"
    payload: ReceivedCorrection


class OwnerReminder(DisputedInvoices, Ownership):
    """A reminder to the owner of a dispute, firmer each time it is still open."""

    reminder_id: UUID = Field(description="Deterministic, like a dunning reminder's.")
    dispute_id: UUID
    firmness: Firmness
    escalated_to_manager: bool = Field(description="Whether the owner's manager is copied.")
    channel: Channel = "email"


class DisputeOwnerReminderDue(Event):
    """The owner of a dispute is reminded to solve it."""

    event_type: Literal["dispute.owner_reminder.due"] = "dispute.owner_reminder.due"
    payload: OwnerReminder


class PromiseMade(Event):
    """The customer promised to pay: reminders for these invoices pause until the date."""

    event_type: Literal["promise.made"] = "promise.made"
    # 2: the payload's kind (promise, payment_announced)
    schema_version: int = Field(default=2, ge=1)
    payload: Promise


class PromiseRecord(Contract):
    """A customer's promises so far, for the broken-promise rate and payer-profile hints."""

    kept: int = Field(ge=0)
    broken: int = Field(ge=0)


class KeptPromise(Contract):
    promise_id: UUID
    customer_id: CustomerId
    invoice_ids: InvoiceIds
    kept_on: date
    customer_record: PromiseRecord | None = Field(
        default=None, description="The customer's kept and broken promises, this one included."
    )
    kind: PromiseKind = Field(
        default="promise", description="payment_announced: the ERP confirmed the payment."
    )


class PromiseKept(Event):
    """The promised amount arrived in time."""

    event_type: Literal["promise.kept"] = "promise.kept"
    # 2: the payload's kind
    schema_version: int = Field(default=2, ge=1)
    payload: KeptPromise


class BrokenPromise(Contract):
    promise_id: UUID
    customer_id: CustomerId
    invoice_ids: InvoiceIds
    promised_date: date
    amount: PositiveMoney = Field(description="What was promised.")
    received: Money = Field(description="What arrived by the promised date, perhaps nothing.")
    customer_record: PromiseRecord | None = Field(
        default=None, description="The customer's kept and broken promises, this one included."
    )
    kind: PromiseKind = Field(
        default="promise",
        description=(
            "payment_announced: the payment a provider announced did not reach the ERP in "
            "time; the invoices resume and the collector is alerted. It does not count in "
            "the customer's promise record."
        ),
    )
    announced_by: Actor | None = Field(
        default=None,
        description="payment_announced: the provider and its payment (``stripe:<session>``, "
        "``gocardless:<payment>``), for the alert to the account's owner.",
    )
    failure: str | None = Field(
        default=None,
        max_length=500,
        description="payment_announced: what the provider said when the payment failed; "
        "none when the ERP's payment simply did not come in time.",
    )

    @model_validator(mode="after")
    def _short(self) -> BrokenPromise:
        _short_of(self.received, self.amount, "promise")
        return self


class PromiseBroken(Event):
    """The promised date passed without the amount: the invoices resume, firmer."""

    event_type: Literal["promise.broken"] = "promise.broken"
    # 2: the payload's kind
    schema_version: int = Field(default=2, ge=1)
    payload: BrokenPromise


class PaymentPlanAgreed(Event):
    """A payment plan was agreed: its invoices pause while instalments are paid."""

    event_type: Literal["payment_plan.agreed"] = "payment_plan.agreed"
    payload: PaymentPlan


class MissedInstalment(Contract):
    plan_id: UUID
    customer_id: CustomerId
    invoice_ids: InvoiceIds
    instalment_number: int = Field(ge=1, description="1 for the first instalment.")
    due_date: date
    amount: PositiveMoney
    received: Money = Field(description="What arrived by the due date, perhaps nothing.")

    @model_validator(mode="after")
    def _short(self) -> MissedInstalment:
        _short_of(self.received, self.amount, "instalment")
        return self


class PaymentPlanInstalmentMissed(Event):
    """An instalment was not paid in full by its due date."""

    event_type: Literal["payment_plan.instalment_missed"] = "payment_plan.instalment_missed"
    payload: MissedInstalment


class BrokenPaymentPlan(Contract):
    plan_id: UUID
    customer_id: CustomerId
    invoice_ids: InvoiceIds
    broken_on: date
    reason: Text


class PaymentPlanBroken(Event):
    """The plan is off: its invoices resume their scenario."""

    event_type: Literal["payment_plan.broken"] = "payment_plan.broken"
    payload: BrokenPaymentPlan


class CompletedPaymentPlan(Contract):
    plan_id: UUID
    customer_id: CustomerId
    invoice_ids: InvoiceIds
    completed_on: date


class PaymentPlanCompleted(Event):
    """Every instalment was paid."""

    event_type: Literal["payment_plan.completed"] = "payment_plan.completed"
    payload: CompletedPaymentPlan


class ProposedPaymentPlan(PlanProposal):
    answer_by: AwareDatetime = Field(
        description="When the proposal lapses (refused as expired) if nobody decided it."
    )


class PaymentPlanProposed(Event):
    """A customer proposed a payment plan: its invoices pause while it waits for a credit
    manager's decision."""

    event_type: Literal["payment_plan.proposed"] = "payment_plan.proposed"
    payload: ProposedPaymentPlan


class RefusedPaymentPlan(Contract):
    proposal_id: UUID
    customer_id: CustomerId
    company_code: CompanyCode
    invoice_ids: InvoiceIds
    refused_on: date
    by: Actor = Field(description="The credit manager, or the disputes service when it lapsed.")
    reason: Text
    expired: bool = Field(default=False, description="Nobody decided in time: the proposal lapsed.")


class PaymentPlanRefused(Event):
    """A proposed payment plan was refused (or lapsed): its invoices resume where they
    stopped, and the customer is told why."""

    event_type: Literal["payment_plan.refused"] = "payment_plan.refused"
    payload: RefusedPaymentPlan


class CallbackRequested(Event):
    """A customer asked to be called back (recorded by the disputes service): a call task
    for the collectors, shown on the console's My day. It pauses nothing."""

    event_type: Literal["callback.requested"] = "callback.requested"
    payload: CallbackRequest


DisputeEvent = Annotated[
    DisputeOpened
    | DisputeResolved
    | DisputeAnswered
    | DisputeReopened
    | DisputeCorrectionReceived
    | DisputeOwnerReminderDue
    | PromiseMade
    | PromiseKept
    | PromiseBroken
    | PaymentPlanAgreed
    | PaymentPlanInstalmentMissed
    | PaymentPlanBroken
    | PaymentPlanCompleted
    | PaymentPlanProposed
    | PaymentPlanRefused
    | CallbackRequested,
    Field(discriminator="event_type"),
]
