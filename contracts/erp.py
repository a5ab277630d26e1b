"""Inbound ERP events: customers, invoices, payments and credit notes.

ERP connectors publish these to the ``erp.*.v1`` topics, keyed by ``customer_id``. They are
the only input Relance trusts about money. Unknown top-level fields are rejected (a typo
in a connector must not silently lose data); ERP-specific attributes go in ``extra``.
Updates carry a ``version`` that grows with each change in the ERP, so that an older
update arriving late never overwrites a newer one.
"""

from __future__ import annotations

import zoneinfo
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    BeforeValidator,
    EmailStr,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_extra_types.country import CountryAlpha2

from contracts.envelope import CompanyCode, Contract, CustomerId, Event, ExtraAttributes
from contracts.money import PositiveAmount, PositiveMoney, refuse_binary_float

DocumentNumber = Annotated[
    str, StringConstraints(min_length=1, max_length=60, strip_whitespace=True)
]
Version = Annotated[int, Field(ge=0, description="Grows with each change in the ERP.")]
PhoneNumber = Annotated[
    str,
    StringConstraints(pattern=r"^\+[1-9][0-9]{6,14}$"),
    Field(description="E.164, e.g. +33612345678"),
]
LanguageCode = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z]{2}$"),
    Field(description="ISO 639-1 language of the customer's documents, e.g. fr."),
]

ContactRole = Literal["billing", "accounting", "buyer"]
CustomerType = Literal["business", "public_body", "consumer"]
Market = Literal["domestic", "export"]
PayerProfile = Literal[
    "negligent", "bad_payer", "insolvent", "administrative", "disputer", "automatic", "good_payer"
]
RiskRating = Literal["low", "medium", "high", "critical"]
PaymentMethod = Literal[
    "transfer", "direct_debit", "card", "cheque", "bill_of_exchange", "cash", "other"
]


AddressLine = Annotated[
    str,
    StringConstraints(min_length=1, max_length=38, strip_whitespace=True),
    Field(description="At most 38 characters, the postal standard (AFNOR NF Z10-011)."),
]


class PostalAddress(Contract):
    """Where letters go: up to four lines, then the postal code and town, then the country."""

    lines: tuple[AddressLine, ...] = Field(
        min_length=1,
        max_length=4,
        description=(
            "Company or person, then building, street, locality or PO box; without the postal "
            "code and town line."
        ),
    )
    postal_code: Annotated[str, StringConstraints(min_length=1, max_length=10)]
    town: Annotated[str, StringConstraints(min_length=1, max_length=30)]
    country: CountryAlpha2

    @property
    def last_line(self) -> str:
        """The postal code and town line, e.g. ``75002 PARIS``."""
        return f"{self.postal_code} {self.town}"


class Contact(Contract):
    role: ContactRole
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    email: EmailStr | None = None
    phone: PhoneNumber | None = None
    address: PostalAddress | None = Field(
        default=None, description="The postal address letters to this contact go to."
    )

    @model_validator(mode="after")
    def _reachable(self) -> Contact:
        if self.email is None and self.phone is None and self.address is None:
            raise ValueError("a contact needs an email, a phone number or a postal address")
        return self


class Segment(Contract):
    """The attributes that assign a customer to a dunning scenario."""

    customer_type: CustomerType = "business"
    market: Market = "domestic"
    risk_rating: RiskRating = "medium"
    payer_profile: PayerProfile | None = None
    tags: tuple[Annotated[str, StringConstraints(min_length=1, max_length=60)], ...] = ()


class CustomerPayload(Contract):
    customer_id: CustomerId
    version: Version
    company_code: CompanyCode
    name: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    country: CountryAlpha2
    time_zone: str = Field(description="IANA time zone, e.g. Europe/Paris.")
    language: LanguageCode = "fr"
    contacts: tuple[Contact, ...] = ()
    segment: Segment = Segment()
    extra: ExtraAttributes = Field(default_factory=dict)

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value


class CustomerUpserted(Event):
    event_type: Literal["erp.customer.upserted"] = "erp.customer.upserted"
    payload: CustomerPayload


MediaType = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z]+/[a-z0-9][a-z0-9.+-]{0,100}$"),
    Field(description="The copy's media type, e.g. application/pdf."),
]
Sha256 = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-f]{64}$", to_lower=True),
    Field(description="SHA-256 of the copy's bytes, 64 hexadecimal digits."),
]


class InvoiceDocument(Contract):
    """Where the ERP keeps the invoice's copy (its PDF): a key in the document store."""

    reference: Annotated[
        str, StringConstraints(min_length=1, max_length=1024, pattern=r"^[^\x00-\x1f\x7f]+$")
    ] = Field(
        description=(
            "The copy's key in the document store: an object key in the bucket, or a path "
            "on the ERP's document server."
        )
    )
    media_type: MediaType = "application/pdf"
    sha256: Sha256 | None = Field(
        default=None, description="When given, a copy whose bytes do not match is not served."
    )


PlatformReference = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
]
"""A reference of the public e-invoicing platform (a service code, a commitment number)."""

LateInterestRate = Annotated[
    Decimal,
    Field(ge=0, le=100, max_digits=7, decimal_places=4, allow_inf_nan=False),
    BeforeValidator(refuse_binary_float),
    PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^[0-9]{1,3}(\.[0-9]{1,4})?$",
            "description": "Percent a year, e.g. 12.50.",
        },
        mode="validation",
    ),
]
"""A yearly late-payment interest rate in percent, as an invoice or a contract states it."""


class InvoicePayload(Contract):
    """A whole invoice as the ERP knows it at ``version``."""

    company_code: CompanyCode
    customer_id: CustomerId
    invoice_number: DocumentNumber = Field(description="Unique per company.")
    version: Version
    issue_date: date
    due_date: date
    amount: PositiveMoney = Field(description="Total amount due, taxes included.")
    payment_terms: Annotated[str, StringConstraints(max_length=100)] | None = None
    purchase_order: Annotated[str, StringConstraints(max_length=100)] | None = None
    document: InvoiceDocument | None = Field(
        default=None,
        description="The invoice's copy, which the customer can download from the portal.",
    )
    service_code: PlatformReference | None = Field(
        default=None,
        description=(
            "For a public body: the code of the buyer's service that receives the invoice on "
            "the public e-invoicing platform (Chorus Pro's code service in France)."
        ),
    )
    commitment_number: PlatformReference | None = Field(
        default=None,
        description=(
            "For a public body: the buyer's commitment number (numéro d'engagement, the "
            "order's reference in its accounts), which the platform asks of the invoice."
        ),
    )
    late_interest_rate: LateInterestRate | None = Field(
        default=None,
        description=(
            "The late-payment interest rate the invoice or the customer's contract states, in "
            "percent a year (simple interest); it replaces the statutory rate. None: the "
            "statutory rate of the creditor's law applies."
        ),
    )
    extra: ExtraAttributes = Field(default_factory=dict)

    @model_validator(mode="after")
    def _due_after_issue(self) -> InvoicePayload:
        if self.due_date < self.issue_date:
            raise PydanticCustomError(
                "due_before_issue",
                "due date {due_date} is before issue date {issue_date}",
                {"due_date": str(self.due_date), "issue_date": str(self.issue_date)},
            )
        return self


class InvoiceIssued(Event):
    event_type: Literal["erp.invoice.issued"] = "erp.invoice.issued"
    # 2: the payload may name the invoice's copy (``document``); 3: a public body's platform
    # references (``service_code``, ``commitment_number``); 4: a contract's late-payment
    # interest rate (``late_interest_rate``)
    schema_version: int = Field(default=4, ge=1)
    payload: InvoicePayload


class InvoiceUpdated(Event):
    """A correction of an issued invoice (amount, due date...), as a full new version."""

    event_type: Literal["erp.invoice.updated"] = "erp.invoice.updated"
    # 2: the payload may name the invoice's copy (``document``); 3 and 4 as ``issued``
    schema_version: int = Field(default=4, ge=1)
    payload: InvoicePayload


class InvoiceCancellation(Contract):
    company_code: CompanyCode
    customer_id: CustomerId
    invoice_number: DocumentNumber
    version: Version
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class InvoiceCancelled(Event):
    event_type: Literal["erp.invoice.cancelled"] = "erp.invoice.cancelled"
    payload: InvoiceCancellation


class Allocation(Contract):
    """The part of a payment or credit note that the ERP applied to one invoice."""

    invoice_number: DocumentNumber
    amount: PositiveAmount


class PaymentPayload(Contract):
    payment_id: DocumentNumber = Field(description="Unique per company.")
    company_code: CompanyCode
    customer_id: CustomerId
    received_on: date
    amount: PositiveMoney
    method: PaymentMethod = "transfer"
    allocations: tuple[Allocation, ...] = Field(
        default=(),
        description=(
            "Explicit allocations. What they leave over is allocated by Relance: to the "
            "invoice named in `reference` first, then to the oldest due invoices."
        ),
    )
    reference: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="Remittance text, often an invoice number."
    )
    extra: ExtraAttributes = Field(default_factory=dict)

    @model_validator(mode="after")
    def _allocations_fit(self) -> PaymentPayload:
        allocated = sum((a.amount for a in self.allocations), Decimal(0))
        if allocated > self.amount.amount:
            raise ValueError(
                f"allocations total {allocated} exceeds the payment amount {self.amount.amount}"
            )
        return self


class PaymentReceived(Event):
    event_type: Literal["erp.payment.received"] = "erp.payment.received"
    payload: PaymentPayload


class CreditNotePayload(Contract):
    credit_note_number: DocumentNumber = Field(description="Unique per company.")
    company_code: CompanyCode
    customer_id: CustomerId
    issue_date: date
    amount: PositiveMoney
    invoice_number: DocumentNumber | None = Field(
        default=None,
        description="The invoice it reduces or cancels; none leaves a customer credit.",
    )
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None
    extra: ExtraAttributes = Field(default_factory=dict)


class CreditNoteIssued(Event):
    event_type: Literal["erp.credit_note.issued"] = "erp.credit_note.issued"
    payload: CreditNotePayload


ErpCustomerEvent = Annotated[CustomerUpserted, Field(discriminator="event_type")]
ErpInvoiceEvent = Annotated[
    InvoiceIssued | InvoiceUpdated | InvoiceCancelled, Field(discriminator="event_type")
]
ErpPaymentEvent = Annotated[PaymentReceived, Field(discriminator="event_type")]
ErpCreditNoteEvent = Annotated[CreditNoteIssued, Field(discriminator="event_type")]
