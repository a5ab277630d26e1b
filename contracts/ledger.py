"""The ledger: customers and invoices as Relance knows them, after ingestion.

Ingestion turns the ERPs' documents into these normalized facts on ``ledger.events.v1``.
They are what every other service trusts about money: an invoice is *opened*, its *open
amount changes* (a payment, a credit note, a correction, a reversal), and it ends either
*settled* (open amount down to zero) or *cancelled*. Money a customer paid beyond what
it owed becomes a *credit balance*.

One fact, one event: a change that brings the open amount to zero is published as
``ledger.invoice.settled`` alone, never as an ``open_amount_changed`` to zero followed by a
settlement. A reversal that reopens a settled invoice is an ``open_amount_changed`` whose
previous open amount is zero.

Every change of an open amount carries the day it takes effect: a settlement its
``settled_on``, an ``open_amount_changed`` (from schema version 2) its ``value_date``, so
that a payment published after its value date (the next morning's bank import) still counts
from that date in past balances.

Money ingestion cannot match yet (a payment or credit note naming an invoice not seen yet)
is public too: ``ledger.unmatched_cash.recorded`` when it is parked, and
``ledger.unmatched_cash.cleared`` when it is matched, released by an operator or
dead-lettered.
"""

from __future__ import annotations

import zoneinfo
from collections import Counter
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator
from pydantic_extra_types.country import CountryAlpha2

from contracts.envelope import CompanyCode, Contract, CustomerId, Event, ExtraAttributes
from contracts.erp import (
    Contact,
    DocumentNumber,
    LanguageCode,
    LateInterestRate,
    PlatformReference,
    Segment,
    Version,
)
from contracts.money import Amount, CurrencyCode, Money, NonNegativeAmount, PositiveMoney


def invoice_id_of(company_code: str, invoice_number: str) -> str:
    """The stable id of an invoice across Relance: ``<company code>/<invoice number>``."""
    return f"{company_code}/{invoice_number}"


InvoiceId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=120, strip_whitespace=True),
    Field(description="Stable id of an invoice across Relance, e.g. FR01/INV-2024-0042."),
]


def distinct_invoice_ids(invoice_ids: tuple[str, ...]) -> tuple[str, ...]:
    """Return ``invoice_ids`` unchanged; raise ``ValueError`` naming any listed twice."""
    repeated = sorted(i for i, count in Counter(invoice_ids).items() if count > 1)
    if repeated:
        raise ValueError(f"invoice ids listed more than once: {', '.join(repeated)}")
    return invoice_ids


InvoiceIds = Annotated[
    tuple[InvoiceId, ...],
    Field(min_length=1, description="The invoices concerned, each once; at least one."),
    AfterValidator(distinct_invoice_ids),
]
"""At least one invoice, none twice."""


def _known_time_zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r}") from exc
    return value


TimeZoneName = Annotated[
    str, Field(description="IANA time zone, e.g. Europe/Paris."), AfterValidator(_known_time_zone)
]
DocumentId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=120, strip_whitespace=True),
    Field(description="The ERP document that caused the change: payment id, credit note..."),
]

OpenAmountCause = Literal["payment", "credit_note", "correction", "reversal", "credit_balance"]
SettlementCause = Literal["payment", "credit_note", "correction", "credit_balance"]
CreditBalanceCause = Literal["payment", "credit_note", "allocation", "reversal", "refund"]


def _same_currency(*amounts: Money | PositiveMoney) -> None:
    currencies = sorted({m.currency for m in amounts})
    if len(currencies) > 1:
        raise ValueError(f"amounts of one invoice mix currencies: {', '.join(currencies)}")


class LedgerCustomer(Contract):
    """A customer, normalized from the ERP's master data at ``version``."""

    customer_id: CustomerId
    company_code: CompanyCode
    version: Version
    name: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    country: CountryAlpha2
    time_zone: TimeZoneName
    language: LanguageCode
    contacts: tuple[Contact, ...] = ()
    segment: Segment = Segment()
    extra: ExtraAttributes = Field(default_factory=dict)


class LedgerCustomerUpserted(Event):
    """A customer was created or changed; the payload is the whole customer."""

    event_type: Literal["ledger.customer.upserted"] = "ledger.customer.upserted"
    payload: LedgerCustomer


class OpenedInvoice(Contract):
    """An invoice that is due from the customer, with what remains to be paid."""

    company_code: CompanyCode
    customer_id: CustomerId
    invoice_id: InvoiceId
    invoice_number: DocumentNumber
    issue_date: date
    due_date: date
    amount: PositiveMoney = Field(description="Total amount due, taxes included.")
    open_amount: PositiveMoney = Field(
        description=(
            "What remains to be paid. Ingestion opens every invoice at its amount: documents "
            "and credit that arrived before it are applied by the events that follow, each "
            "with its value date (older producers opened it with what remained due)."
        )
    )
    purchase_order: Annotated[str, StringConstraints(max_length=100)] | None = None
    payment_terms: Annotated[str, StringConstraints(max_length=100)] | None = None
    service_code: PlatformReference | None = Field(
        default=None,
        description="A public body's service on the e-invoicing platform (schema version 2).",
    )
    commitment_number: PlatformReference | None = Field(
        default=None,
        description="A public body's commitment number for the invoice (schema version 2).",
    )
    late_interest_rate: LateInterestRate | None = Field(
        default=None,
        description=(
            "The late-payment interest rate, percent a year, the invoice or its contract "
            "states, as first issued (schema version 3); none: the statutory rate applies."
        ),
    )
    extra: ExtraAttributes = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> OpenedInvoice:
        if self.due_date < self.issue_date:
            raise ValueError(f"due date {self.due_date} is before issue date {self.issue_date}")
        _same_currency(self.amount, self.open_amount)
        if self.open_amount.amount > self.amount.amount:
            raise ValueError(
                f"open amount {self.open_amount.amount} exceeds the invoice amount "
                f"{self.amount.amount}"
            )
        return self


class InvoiceOpened(Event):
    """An invoice entered the ledger with an open amount: dunning may start."""

    event_type: Literal["ledger.invoice.opened"] = "ledger.invoice.opened"
    # 2: a public body's platform references (``service_code``, ``commitment_number``);
    # 3: a contract's late-payment interest rate (``late_interest_rate``)
    schema_version: int = Field(default=3, ge=1)
    payload: OpenedInvoice


class OpenAmountChange(Contract):
    """The open amount of an invoice moved, and it is still open afterwards.

    A payment, a credit note or the customer's credit balance (money that arrived before the
    invoice, since schema version 2) lowers it, a reversal (a payment rejected by the bank, a
    credit note withdrawn) raises it, a correction of the invoice may do either or move only
    the due date.
    """

    company_code: CompanyCode
    customer_id: CustomerId
    invoice_id: InvoiceId
    invoice_number: DocumentNumber
    previous_open_amount: Money = Field(description="Zero when a reversal reopens the invoice.")
    open_amount: PositiveMoney = Field(description="What remains to be paid now.")
    cause: OpenAmountCause
    cause_document_id: DocumentId
    due_date: date = Field(description="The due date now; a correction may have moved it.")
    amount: PositiveMoney = Field(description="The invoice total now; a correction may change it.")
    value_date: date | None = Field(
        default=None,
        description=(
            "The day the change takes effect: the value date of the payment or credit note, "
            "the day of a correction or reversal. Since schema version 2; absent from "
            "version 1 events, whose change takes effect on the (UTC) day it occurred."
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> OpenAmountChange:
        _same_currency(self.previous_open_amount, self.open_amount, self.amount)
        if self.previous_open_amount.amount < 0:
            raise ValueError("the previous open amount cannot be negative")
        if self.open_amount.amount > self.amount.amount:
            raise ValueError(
                f"open amount {self.open_amount.amount} exceeds the invoice amount "
                f"{self.amount.amount}"
            )
        before, after = self.previous_open_amount.amount, self.open_amount.amount
        if self.cause in ("payment", "credit_note", "credit_balance") and not after < before:
            raise ValueError(f"a {self.cause} lowers the open amount, not {before} to {after}")
        if self.cause == "reversal" and not after > before:
            raise ValueError(f"a reversal raises the open amount, not {before} to {after}")
        return self


class OpenAmountChanged(Event):
    """A partial payment, a credit note, a correction or a reversal; the invoice stays open."""

    event_type: Literal["ledger.invoice.open_amount_changed"] = "ledger.invoice.open_amount_changed"
    # 2: the payload carries its value date
    schema_version: int = Field(default=2, ge=1)
    payload: OpenAmountChange


class Settlement(Contract):
    """The invoice's open amount reached zero: a final exit from dunning."""

    company_code: CompanyCode
    customer_id: CustomerId
    invoice_id: InvoiceId
    invoice_number: DocumentNumber
    settled_on: date = Field(description="Value date of the settling document; feeds the DSO.")
    cause: SettlementCause
    cause_document_id: DocumentId
    previous_open_amount: PositiveMoney = Field(
        description=(
            "What the settling document paid; at most the invoice amount but for a "
            "correction, which may lower the total below what was still owed."
        )
    )
    amount: PositiveMoney = Field(description="The invoice total now.")
    issue_date: date
    due_date: date

    @model_validator(mode="after")
    def _consistent(self) -> Settlement:
        _same_currency(self.previous_open_amount, self.amount)
        # a correction that lowers the total to what was paid or less settles an invoice
        # that owed more than its new total (200 owing 140, corrected to 50)
        if self.cause != "correction" and self.previous_open_amount.amount > self.amount.amount:
            raise ValueError("the previous open amount exceeds the invoice amount")
        return self


class InvoiceSettled(Event):
    """Paid in full or cancelled by a credit note: reminders for it stop for good."""

    event_type: Literal["ledger.invoice.settled"] = "ledger.invoice.settled"
    payload: Settlement


class Cancellation(Contract):
    """The ERP cancelled the invoice; it was never due."""

    company_code: CompanyCode
    customer_id: CustomerId
    invoice_id: InvoiceId
    invoice_number: DocumentNumber
    previous_open_amount: Money
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None

    @model_validator(mode="after")
    def _not_negative(self) -> Cancellation:
        if self.previous_open_amount.amount < 0:
            raise ValueError("the previous open amount cannot be negative")
        return self


class LedgerInvoiceCancelled(Event):
    """An invoice was cancelled in the ERP; reminders for it stop for good."""

    event_type: Literal["ledger.invoice.cancelled"] = "ledger.invoice.cancelled"
    payload: Cancellation


class CreditBalanceChange(Contract):
    """The customer's unallocated credit in one currency moved."""

    company_code: CompanyCode
    customer_id: CustomerId
    currency: CurrencyCode
    balance: NonNegativeAmount = Field(description="The credit balance after the change.")
    delta: Amount = Field(description="Positive when credit grows, negative when it is used.")
    cause: CreditBalanceCause
    cause_document_id: DocumentId

    @model_validator(mode="after")
    def _consistent(self) -> CreditBalanceChange:
        if self.delta == 0:
            raise ValueError("a credit balance change cannot be zero")
        if self.balance - self.delta < 0:
            raise ValueError(
                f"a delta of {self.delta} cannot lead to a balance of {self.balance}: "
                "the balance before would be negative"
            )
        return self


class CreditBalanceChanged(Event):
    """An overpayment or a credit note left unallocated, or such credit was used."""

    event_type: Literal["ledger.customer.credit_balance_changed"] = (
        "ledger.customer.credit_balance_changed"
    )
    payload: CreditBalanceChange


UnmatchedKind = Literal["payment", "credit_note"]
UnmatchedOutcome = Literal["matched", "released", "dead_lettered"]


class UnmatchedCash(Contract):
    """A payment or credit note that names invoices the ledger has not seen yet.

    Ingestion holds it (nothing of it is applied, not even as credit balance) until the last
    invoice it names arrives, an operator releases it, or an operator dead-letters it.
    """

    company_code: CompanyCode
    customer_id: CustomerId
    kind: UnmatchedKind
    document_id: DocumentId
    amount: PositiveMoney
    value_date: date = Field(description="The document's value date (received on, issued on).")
    awaiting: Annotated[
        tuple[DocumentNumber, ...],
        Field(min_length=1, description="The invoice numbers it names that are not known yet."),
    ]


class UnmatchedCashRecorded(Event):
    """Money arrived that cannot be matched yet: it waits for its invoices."""

    event_type: Literal["ledger.unmatched_cash.recorded"] = "ledger.unmatched_cash.recorded"
    payload: UnmatchedCash


class UnmatchedCashClearance(Contract):
    """What became of unmatched money."""

    company_code: CompanyCode
    customer_id: CustomerId
    kind: UnmatchedKind
    document_id: DocumentId
    outcome: UnmatchedOutcome = Field(
        description=(
            "matched: the invoices it named arrived and it was applied; released: an operator "
            "had it applied without the invoices still missing (to the customer's other open "
            "invoices, then credit balance); dead_lettered: an operator or a failed match sent "
            "it to the dead-letter topic, nothing of it applied."
        )
    )
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class UnmatchedCashCleared(Event):
    """Unmatched money was matched, released or dead-lettered: it no longer waits."""

    event_type: Literal["ledger.unmatched_cash.cleared"] = "ledger.unmatched_cash.cleared"
    payload: UnmatchedCashClearance


LedgerEvent = Annotated[
    LedgerCustomerUpserted
    | InvoiceOpened
    | OpenAmountChanged
    | InvoiceSettled
    | LedgerInvoiceCancelled
    | CreditBalanceChanged
    | UnmatchedCashRecorded
    | UnmatchedCashCleared,
    Field(discriminator="event_type"),
]
