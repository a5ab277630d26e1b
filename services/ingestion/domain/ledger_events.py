"""Ledger events serialised once, straight from the ledger's rows, into outbox records.

A batch of 5,000 ERP events emits about 7,000 ledger events. Building each as a pydantic
model (with the nested money models) and dumping it took about 40% of ingestion's CPU, the
largest single cost of a batch; writing the JSON straight from the values takes a fraction
of it. Each payload is written in its contract's field order and formats (``ledger.py``:
``OpenedInvoice``, ``OpenAmountChange``, ``Settlement``, ``Cancellation``,
``CreditBalanceChange``; the unit tests check, for generated values, that the bytes are the
ones the models dump). The values come from validated ERP documents and the ledger's own
rows; ``open_amount_changed`` is written at its schema version 2 (with its value date).
The contract's rules that the ledger's arithmetic could break (an open amount above
the invoice's, a payment that raises it, a negative credit balance) are checked here as the
models check them, and raise ``ValueError``: a bug, which stops the batch. Customers and
unmatched cash, rarer, still go through their models (:func:`customer_upserted`,
:func:`unmatched_cash_recorded`, :func:`unmatched_cash_cleared`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal

import pydantic_core

from contracts import erp, ledger
from contracts.ledger import invoice_id_of
from contracts.money import PositiveMoney
from services.runtime import json_text
from services.runtime.json_text import day, money, optional_string, string
from services.runtime.records import Headers, OutgoingRecord

SOURCE = "ingestion"
LEDGER_NAMESPACE = uuid.UUID("0b6f5a52-6d1e-4f0c-9a57-1f1f6c3e2a10")

CUSTOMER_UPSERTED = "ledger.customer.upserted"
INVOICE_OPENED = "ledger.invoice.opened"
OPEN_AMOUNT_CHANGED = "ledger.invoice.open_amount_changed"
INVOICE_SETTLED = "ledger.invoice.settled"
INVOICE_CANCELLED = "ledger.invoice.cancelled"
CREDIT_BALANCE_CHANGED = "ledger.customer.credit_balance_changed"
UNMATCHED_CASH_RECORDED = "ledger.unmatched_cash.recorded"
UNMATCHED_CASH_CLEARED = "ledger.unmatched_cash.cleared"

# event types written at another schema version than the envelope writer's 1
_SCHEMA_VERSIONS = {OPEN_AMOUNT_CHANGED: 2, INVOICE_OPENED: 3}

_HEADERS = {
    event_type: (("event_type", event_type.encode()),)
    for event_type in (
        CUSTOMER_UPSERTED,
        INVOICE_OPENED,
        OPEN_AMOUNT_CHANGED,
        INVOICE_SETTLED,
        INVOICE_CANCELLED,
        CREDIT_BALANCE_CHANGED,
        UNMATCHED_CASH_RECORDED,
        UNMATCHED_CASH_CLEARED,
    )
}
_LARGEST = Decimal(10) ** 14  # an Amount has at most 14 digits before the point
_NAMESPACE_HASH = hashlib.sha1(LEDGER_NAMESPACE.bytes, usedforsecurity=False)


Caused = list[tuple[str, str, str]]
"""The ledger events of one ERP event, in order: (event type, customer id, payload text)."""

Cause = tuple[uuid.UUID, datetime, int, Caused]
"""An ERP event's id and instant, the rank of the first of the ledger events that follow
among those it caused (1 unless some were written already), and those ledger events."""


def event_id_of(cause_id: uuid.UUID, counter: int) -> uuid.UUID:
    """The id of the ``counter``-th ledger event caused by the ERP event ``cause_id``.

    ``uuid5(LEDGER_NAMESPACE, f"{cause_id}:{counter}")``: the same id on every replay, so
    downstream dedupes by it. :func:`records` computes the same values batch-wise.
    """
    return uuid.uuid5(LEDGER_NAMESPACE, f"{cause_id}:{counter}")


_to_json = pydantic_core.to_json
# the RFC 4122 variant's hex digit for each hex digit of the hash: its top two bits 10
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


_COUNTED = 64
_COUNTERS = [str(n).encode() for n in range(_COUNTED)]


def records(topic: str, causes: Iterable[Cause]) -> list[OutgoingRecord]:
    """The outbox records of the ledger events of ``causes``, in order, for ``topic``.

    The ``n``-th ledger event caused by an ERP event has the id
    :func:`event_id_of` ``(cause, n)`` and occurred when its cause did (its ``Cause`` gives
    the rank of its first ledger event). A batch's records are written in one loop: per ERP
    event the hash state of the ids' common prefix (the namespace and ``"{cause}:"``) and
    the instant's JSON; per ledger event a copy of that state, its SHA-1, and the id's text
    written from the hash's hex digits (a version-5 UUID is the hash's first 16 bytes with
    the version digit set to 5 and the variant's two bits to 10: ``str(uuid5(...))``), the
    envelope's fixed parts made once per event type. The cause and the instant are written
    by pydantic's own serializer (the envelope's fields are a ``UUID`` and an
    ``AwareDatetime``): the same bytes as the model's dump. The record carries the id as
    that text, which the outbox's ``COPY`` writes into its ``uuid`` column (no ``UUID``
    object is made, nor its bytes read back through Python).
    """
    written: list[OutgoingRecord] = []
    append = written.append
    start = _NAMESPACE_HASH.copy
    to_json = _to_json
    counters = _COUNTERS
    pieces = _PIECES
    variant = _VARIANT
    new = tuple.__new__  # an OutgoingRecord without its __new__ (a Python function)
    for cause_id, occurred_at, first, caused in causes:
        prefix = start()
        prefix.update(to_json(cause_id)[1:-1])
        prefix.update(b":")
        at = to_json(occurred_at).decode()
        for counter, (event_type, customer_id, payload) in enumerate(caused, first):
            state = prefix.copy()
            state.update(counters[counter] if counter < _COUNTED else str(counter).encode())
            h = state.hexdigest()
            event_id = f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{variant[h[16]]}{h[17:20]}-{h[20:32]}"
            before_at, after_at, headers = pieces[event_type]
            value = f'{{"event_id":"{event_id}"{before_at}{at}{after_at}{payload}}}'
            append(
                new(
                    OutgoingRecord, (topic, customer_id.encode(), value.encode(), headers, event_id)
                )
            )
    return written


def record(
    topic: str,
    event_type: str,
    cause_id: uuid.UUID,
    occurred_at: datetime,
    customer_id: str,
    payload: str,
) -> OutgoingRecord:
    """The record of the first ledger event of ``cause_id`` (:func:`records` of one)."""
    return records(topic, [(cause_id, occurred_at, 1, [(event_type, customer_id, payload)])])[0]


def _envelope_pieces(event_type: str) -> tuple[str, str, Headers]:
    """What :func:`json_text.envelope` writes between the id's JSON and the instant's, and
    after the instant's up to the payload; and the record's headers."""
    marker_id, marker_at = "\x00id\x00", "\x00at\x00"
    head = json_text.envelope(marker_id, event_type, marker_at, SOURCE)
    version = _SCHEMA_VERSIONS.get(event_type)
    if version is not None:
        head = head.replace('"schema_version":1,', f'"schema_version":{version},', 1)
    prefix, rest = head.split(f'"{marker_id}"')
    assert prefix == '{"event_id":', prefix
    before_at, after_at = rest.split(f'"{marker_at}"')
    return before_at, after_at, _HEADERS[event_type]


_PIECES = {event_type: _envelope_pieces(event_type) for event_type in _HEADERS}


def _head(company_code: str, customer_id: str, invoice_number: str) -> str:
    return (
        f'{{"company_code":{string(company_code)},"customer_id":{string(customer_id)},'
        f'"invoice_id":{string(invoice_id_of(company_code, invoice_number))},'
        f'"invoice_number":{string(invoice_number)},'
    )


def _positive(what: str, value: Decimal) -> None:
    if not value > 0:
        raise ValueError(f"the {what} must be positive, not {value}")


def customer_upserted(customer: ledger.LedgerCustomer) -> str:
    return customer.model_dump_json()


def invoice_opened(
    *,
    company_code: str,
    customer_id: str,
    invoice_number: str,
    issue_date: date,
    due_date: date,
    currency: str,
    amount: Decimal,
    open_amount: Decimal,
    purchase_order: str | None,
    payment_terms: str | None,
    extra: Mapping[str, object],
    service_code: str | None = None,
    commitment_number: str | None = None,
    late_interest_rate: Decimal | None = None,
) -> str:
    """The payload of ``ledger.invoice.opened`` (``OpenedInvoice``, schema version 3: a
    public body's platform references, a contract's late-payment interest rate)."""
    _positive("amount", amount)
    _positive("open amount", open_amount)
    if due_date < issue_date:
        raise ValueError(f"due date {due_date} is before issue date {issue_date}")
    if open_amount > amount:
        raise ValueError(f"open amount {open_amount} exceeds the invoice amount {amount}")
    extra_json = pydantic_core.to_json(extra).decode() if extra else "{}"
    return (
        f"{_head(company_code, customer_id, invoice_number)}"
        f'"issue_date":{day(issue_date)},"due_date":{day(due_date)},'
        f'"amount":{money(amount, currency)},"open_amount":{money(open_amount, currency)},'
        f'"purchase_order":{optional_string(purchase_order)},'
        f'"payment_terms":{optional_string(payment_terms)},'
        f'"service_code":{optional_string(service_code)},'
        f'"commitment_number":{optional_string(commitment_number)},'
        f'"late_interest_rate":{_optional_rate(late_interest_rate)},"extra":{extra_json}}}'
    )


# the fields of an ERP invoice in the order pydantic dumps them; :func:`invoice_texts` writes
# them by hand, and leaves it to pydantic if the contract ever has other fields
_INVOICE_FIELDS = (
    "company_code",
    "customer_id",
    "invoice_number",
    "version",
    "issue_date",
    "due_date",
    "amount",
    "payment_terms",
    "purchase_order",
    "document",
    "service_code",
    "commitment_number",
    "late_interest_rate",
    "extra",
)
_INVOICE_WRITTEN = tuple(erp.InvoicePayload.model_fields) == _INVOICE_FIELDS


def invoice_texts(p: erp.InvoicePayload) -> tuple[bytes | None, str]:
    """An ERP invoice's JSON without its version, and its ``ledger.invoice.opened`` payload.

    The first is what the invoice's content digest hashes: the bytes of
    ``p.model_dump_json(exclude={"version"})`` (None when the invoice carries a document,
    or the contract other fields: the caller asks pydantic then). The second is
    :func:`invoice_opened` of the invoice opened at its whole amount. Both are written from
    the same pieces in one pass: pydantic's serializer took 2.7 µs per invoice for the
    first, and the keyword call and helpers of :func:`invoice_opened` as much again for the
    second; unit tests compare both with the models' bytes for generated invoices.
    """
    money_ = p.amount
    amount = money_.amount
    if not amount > 0:
        raise ValueError(f"the amount must be positive, not {amount}")
    issue_date, due_date = p.issue_date, p.due_date
    if due_date < issue_date:
        raise ValueError(f"due date {due_date} is before issue date {issue_date}")
    company_code, customer_id, invoice_number = p.company_code, p.customer_id, p.invoice_number
    company, customer, number = string(company_code), string(customer_id), string(invoice_number)
    dates = f'"issue_date":"{issue_date.isoformat()}","due_date":"{due_date.isoformat()}",'
    money_text = f'{{"amount":"{amount:f}","currency":{string(money_.currency)}}}'
    terms, purchase_order = p.payment_terms, p.purchase_order
    terms_text = "null" if terms is None else string(terms)
    order_text = "null" if purchase_order is None else string(purchase_order)
    service_code, commitment_number, rate = (
        p.service_code,
        p.commitment_number,
        p.late_interest_rate,
    )
    platform = (
        f'"service_code":{"null" if service_code is None else string(service_code)},'
        f'"commitment_number":'
        f"{'null' if commitment_number is None else string(commitment_number)},"
        f'"late_interest_rate":{"null" if rate is None else _optional_rate(rate)},'
    )
    extra = p.extra
    extra_text = _to_json(extra).decode() if extra else "{}"
    opened = (
        f'{{"company_code":{company},"customer_id":{customer},'
        f'"invoice_id":{string(invoice_id_of(company_code, invoice_number))},'
        f'"invoice_number":{number},'
        f'{dates}"amount":{money_text},"open_amount":{money_text},'
        f'"purchase_order":{order_text},"payment_terms":{terms_text},'
        f'{platform}"extra":{extra_text}}}'
    )
    if p.document is not None or not _INVOICE_WRITTEN:
        return None, opened
    content = (
        f'{{"company_code":{company},"customer_id":{customer},"invoice_number":{number},'
        f'{dates}"amount":{money_text},"payment_terms":{terms_text},'
        f'"purchase_order":{order_text},"document":null,{platform}"extra":{extra_text}}}'
    )
    return content.encode(), opened


def _optional_rate(rate: Decimal | None) -> str:
    return "null" if rate is None else f'"{rate:f}"'


def open_amount_changed(
    company_code: str,
    customer_id: str,
    invoice_number: str,
    currency: str,
    previous_open_amount: Decimal,
    open_amount: Decimal,
    cause: ledger.OpenAmountCause,
    cause_document_id: str,
    due_date: date,
    amount: Decimal,
    value_date: date,
) -> str:
    """The payload of ``ledger.invoice.open_amount_changed`` (``OpenAmountChange``).

    Called positionally by the book (eleven keywords cost about a microsecond more, paid
    for most payments), and written in one f-string, the currency's JSON made once.
    """
    before, after = previous_open_amount, open_amount
    if not (after > 0 and amount > 0):
        _positive("open amount", after)
        _positive("amount", amount)
    if before < 0:
        raise ValueError("the previous open amount cannot be negative")
    if after > amount:
        raise ValueError(f"open amount {after} exceeds the invoice amount {amount}")
    if cause in _LOWERING and not after < before:
        raise ValueError(f"a {cause} lowers the open amount, not {before} to {after}")
    if cause == "reversal" and not after > before:
        raise ValueError(f"a reversal raises the open amount, not {before} to {after}")
    in_currency = f',"currency":{string(currency)}}}'
    return (
        f'{{"company_code":{string(company_code)},"customer_id":{string(customer_id)},'
        f'"invoice_id":{string(invoice_id_of(company_code, invoice_number))},'
        f'"invoice_number":{string(invoice_number)},'
        f'"previous_open_amount":{{"amount":"{before:f}"{in_currency},'
        f'"open_amount":{{"amount":"{after:f}"{in_currency},"cause":"{cause}",'
        f'"cause_document_id":{string(cause_document_id)},'
        f'"due_date":"{due_date.isoformat()}",'
        f'"amount":{{"amount":"{amount:f}"{in_currency},'
        f'"value_date":"{value_date.isoformat()}"}}'
    )


_LOWERING = frozenset({"payment", "credit_note", "credit_balance"})


def invoice_settled(
    company_code: str,
    customer_id: str,
    invoice_number: str,
    currency: str,
    settled_on: date,
    cause: ledger.SettlementCause,
    cause_document_id: str,
    previous_open_amount: Decimal,
    amount: Decimal,
    issue_date: date,
    due_date: date,
) -> str:
    """The payload of ``ledger.invoice.settled`` (``Settlement``); positionally, in one
    f-string, as :func:`open_amount_changed`."""
    if not (previous_open_amount > 0 and amount > 0):
        _positive("previous open amount", previous_open_amount)
        _positive("amount", amount)
    if previous_open_amount > amount and cause != "correction":
        raise ValueError("the previous open amount exceeds the invoice amount")
    in_currency = f',"currency":{string(currency)}}}'
    return (
        f'{{"company_code":{string(company_code)},"customer_id":{string(customer_id)},'
        f'"invoice_id":{string(invoice_id_of(company_code, invoice_number))},'
        f'"invoice_number":{string(invoice_number)},'
        f'"settled_on":"{settled_on.isoformat()}","cause":"{cause}",'
        f'"cause_document_id":{string(cause_document_id)},'
        f'"previous_open_amount":{{"amount":"{previous_open_amount:f}"{in_currency},'
        f'"amount":{{"amount":"{amount:f}"{in_currency},'
        f'"issue_date":"{issue_date.isoformat()}","due_date":"{due_date.isoformat()}"}}'
    )


def invoice_cancelled(
    *,
    company_code: str,
    customer_id: str,
    invoice_number: str,
    currency: str,
    previous_open_amount: Decimal,
    reason: str | None,
) -> str:
    """The payload of ``ledger.invoice.cancelled`` (``Cancellation``)."""
    if previous_open_amount < 0:
        raise ValueError("the previous open amount cannot be negative")
    return (
        f"{_head(company_code, customer_id, invoice_number)}"
        f'"previous_open_amount":{money(previous_open_amount, currency)},'
        f'"reason":{optional_string(reason)}}}'
    )


def credit_balance_changed(
    company_code: str,
    customer_id: str,
    currency: str,
    balance: Decimal,
    delta: Decimal,
    cause: ledger.CreditBalanceCause,
    cause_document_id: str,
) -> str:
    """The payload of ``ledger.customer.credit_balance_changed`` (``CreditBalanceChange``).

    Called positionally by the book, as :func:`open_amount_changed` is: a payment that
    arrives before its invoice becomes credit, and the invoice is then paid from it, two
    changes of the balance per payment when payments run ahead of invoices.
    """
    if delta == 0:
        raise ValueError("a credit balance change cannot be zero")
    if balance < 0:
        raise ValueError(f"a credit balance cannot be negative, not {balance}")
    if balance - delta < 0:
        raise ValueError(
            f"a delta of {delta} cannot lead to a balance of {balance}: "
            "the balance before would be negative"
        )
    if balance >= _LARGEST:
        raise ValueError(f"a credit balance of {balance} exceeds what an amount can hold")
    return (
        f'{{"company_code":{string(company_code)},"customer_id":{string(customer_id)},'
        f'"currency":{string(currency)},"balance":"{balance:f}","delta":"{delta:f}",'
        f'"cause":"{cause}","cause_document_id":{string(cause_document_id)}}}'
    )


def unmatched_cash_recorded(
    *,
    company_code: str,
    customer_id: str,
    kind: ledger.UnmatchedKind,
    document_id: str,
    currency: str,
    amount: Decimal,
    value_date: date,
    awaiting: tuple[str, ...],
) -> str:
    """The payload of ``ledger.unmatched_cash.recorded`` (``UnmatchedCash``)."""
    return ledger.UnmatchedCash(
        company_code=company_code,
        customer_id=customer_id,
        kind=kind,
        document_id=document_id,
        amount=PositiveMoney(amount=amount, currency=currency),
        value_date=value_date,
        awaiting=awaiting,
    ).model_dump_json()


def unmatched_cash_cleared(
    *,
    company_code: str,
    customer_id: str,
    kind: ledger.UnmatchedKind,
    document_id: str,
    outcome: ledger.UnmatchedOutcome,
    reason: str | None = None,
) -> str:
    """The payload of ``ledger.unmatched_cash.cleared`` (``UnmatchedCashClearance``)."""
    return ledger.UnmatchedCashClearance(
        company_code=company_code,
        customer_id=customer_id,
        kind=kind,
        document_id=document_id,
        outcome=outcome,
        reason=reason,
    ).model_dump_json()
