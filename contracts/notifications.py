"""What became of each reminder: deliveries and call tasks, from the notifier.

The notifier turns a ``dunning.reminder.due`` (or a dispute owner reminder) into a
*delivery* on one channel through a provider (SMTP, SMS, postal and registered-letter
services) and reports its fate: ``sent`` to the provider, ``delivered`` (with the
provider's proof where the channel gives one), ``bounced``, ``failed`` (retryable or not),
or ``suppressed`` before sending because the invoices were settled or disputed meanwhile.
The history of deliveries is the proof of good faith if a case ever goes to court.

A reminder on the ``phone_call`` channel becomes a call task for a collector; closing it
records the outcome of the call, e.g. a promise to pay that the disputes service then tracks.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from contracts.dunning import Channel
from contracts.envelope import Contract, CustomerId, Event
from contracts.ledger import InvoiceId, InvoiceIds, distinct_invoice_ids
from contracts.money import PositiveMoney

ProviderName = Annotated[str, StringConstraints(min_length=1, max_length=100)]
ProviderTrackingId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=300),
    Field(description="The provider's id for the message: SMTP Message-ID, SMS sid, AR number."),
]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
SuppressionReason = Literal[
    "invoice_settled", "invoice_disputed", "paused", "opted_out", "suspended"
]
CallOutcome = Literal["promise_to_pay", "dispute_raised", "wrong_contact", "no_answer"]
BounceKind = Literal["hard", "soft"]


class Delivery(Contract):
    """What every delivery event says: which reminder, on which channel, for which invoices."""

    delivery_id: UUID = Field(description="One delivery of a reminder on one channel.")
    reminder_id: UUID = Field(
        description="The reminder delivered: a dunning reminder or a dispute owner reminder."
    )
    customer_id: CustomerId
    invoice_ids: tuple[InvoiceId, ...] = Field(
        description=(
            "The invoices the reminder is about. Empty only for an owner reminder about a "
            "dispute on a whole account that had no open invoice."
        )
    )
    channel: Channel
    at: AwareDatetime = Field(description="When the notifier learnt the outcome.")

    @model_validator(mode="after")
    def _distinct(self) -> Delivery:
        distinct_invoice_ids(self.invoice_ids)
        return self


class ProviderDelivery(Delivery):
    """A delivery handed to a provider."""

    provider: ProviderName
    provider_tracking_id: ProviderTrackingId | None = None


class DeliverySent(Event):
    """The provider accepted the message (an email queued, a letter posted)."""

    event_type: Literal["delivery.sent"] = "delivery.sent"
    payload: ProviderDelivery


class DeliveryDelivered(Event):
    """The provider confirmed delivery: acknowledgement of receipt, SMS delivery report."""

    event_type: Literal["delivery.delivered"] = "delivery.delivered"
    payload: ProviderDelivery


class Bounce(ProviderDelivery):
    """The recipient's side refused the message."""

    kind: BounceKind = Field(description="Hard: the address is wrong; soft: try again later.")
    reason: Reason


class DeliveryBounced(Event):
    """The message bounced; a hard bounce means the contact must be corrected."""

    event_type: Literal["delivery.bounced"] = "delivery.bounced"
    payload: Bounce


class Failure(Delivery):
    """The notifier could not hand the message over."""

    provider: ProviderName | None = None
    reason: Reason
    retryable: bool = Field(description="Whether the notifier will try again by itself.")
    attempt: int = Field(default=1, ge=1)


class DeliveryFailed(Event):
    """Sending failed: a provider error, a missing contact, a template that does not render."""

    event_type: Literal["delivery.failed"] = "delivery.failed"
    payload: Failure


class Suppression(Delivery):
    """The reminder was not sent, on purpose."""

    reason: SuppressionReason


class DeliverySuppressed(Event):
    """Not sent: the invoices were settled or disputed since, or reminders are paused."""

    event_type: Literal["delivery.suppressed"] = "delivery.suppressed"
    payload: Suppression


class ClosedCallTask(Contract):
    """The outcome of a collector's call, to be confirmed to the customer in writing."""

    task_id: UUID
    reminder_id: UUID
    customer_id: CustomerId
    invoice_ids: InvoiceIds
    outcome: CallOutcome
    promised_date: date | None = Field(default=None, description="With a promise to pay.")
    promised_amount: PositiveMoney | None = Field(
        default=None, description="With a promise to pay."
    )
    dispute_reason: Reason | None = Field(default=None, description="With a dispute raised.")
    closed_by: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    note: Annotated[str, StringConstraints(max_length=4000)] | None = None

    @model_validator(mode="after")
    def _outcome_details(self) -> ClosedCallTask:
        promised = self.promised_date is not None or self.promised_amount is not None
        if self.outcome == "promise_to_pay":
            if self.promised_date is None or self.promised_amount is None:
                raise ValueError("a promise to pay needs a promised date and amount")
        elif promised:
            raise ValueError(f"a promised date or amount with outcome {self.outcome}")
        if self.outcome == "dispute_raised":
            if self.dispute_reason is None:
                raise ValueError("a dispute raised needs its reason")
        elif self.dispute_reason is not None:
            raise ValueError(f"a dispute reason with outcome {self.outcome}")
        return self


class CallTaskClosed(Event):
    """A collector closed a call task with its outcome."""

    event_type: Literal["call_task.closed"] = "call_task.closed"
    payload: ClosedCallTask


class ProposalRendering(Contract):
    """A proposal rendered exactly as it would be sent, stored for the collector's preview."""

    proposal_id: UUID
    version: int = Field(ge=1)
    customer_id: CustomerId
    channel: Channel
    rendered: bool = Field(description="False when it could not be rendered (see reason).")
    digest: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = Field(
        default=None, description="SHA-256 of the bytes that would go to the provider."
    )
    media_type: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    size: int | None = Field(default=None, ge=0)
    recipients: tuple[Annotated[str, StringConstraints(max_length=320)], ...] = ()
    preview_path: Annotated[str, StringConstraints(min_length=1, max_length=300)] | None = Field(
        default=None,
        description="Where the notifier serves the bytes (authenticated, collector or above).",
    )
    reason: Reason | None = Field(default=None, description="Why it could not be rendered.")
    at: AwareDatetime


class ProposalRendered(Event):
    """A proposal's preview is ready: what the provider would receive, byte for byte."""

    event_type: Literal["notifier.proposal.rendered"] = "notifier.proposal.rendered"
    payload: ProposalRendering


DeliveryEvent = Annotated[
    DeliverySent
    | DeliveryDelivered
    | DeliveryBounced
    | DeliveryFailed
    | DeliverySuppressed
    | CallTaskClosed
    | ProposalRendered,
    Field(discriminator="event_type"),
]
