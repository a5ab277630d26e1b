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
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import pydantic_core

from contracts import ledger
from contracts.ledger import invoice_id_of
from contracts.money import PositiveMoney
from services.runtime import json_text
from services.runtime.json_text import day, money, optional_string, string
from services.runtime.records import OutgoingRecord

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


def event_id_of(cause_id: uuid.UUID, counter: int) -> uuid.UUID:
    """The id of the ``counter``-th ledger event caused by the ERP event ``cause_id``.

    ``uuid5(LEDGER_NAMESPACE, f"{cause_id}:{counter}")``, computed from a copy of the
    namespace's hash state: the same id on every replay, so downstream dedupes by it.
    """
    return event_id_and_text(cause_state(cause_id), counter)[0]


def cause_state(cause_id: uuid.UUID) -> Any:
    """The hash state of ``LEDGER_NAMESPACE`` and ``"{cause_id}:"``, the ids' common prefix.

    Computed once per ERP event: formatting a ``UUID`` as text is slow in pure Python.
    """
    state = _NAMESPACE_HASH.copy()
    state.update(f"{cause_id}:".encode())
    return state


_VERSION_5_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_VERSION_5_SET = (0x8000 << 48) | (5 << 76)
_new_object = object.__new__
_set_slot = object.__setattr__
_UUID = uuid.UUID
_UNKNOWN = uuid.SafeUUID.unknown


_COUNTED = 64
_COUNTERS = [str(n).encode() for n in range(_COUNTED)]


def event_id_and_text(cause: Any, counter: int) -> tuple[uuid.UUID, str]:
    """:func:`event_id_of` from :func:`cause_state`, and the id as text.

    The same value as ``uuid.UUID(bytes=digest[:16], version=5)`` (the variant and version
    bits set as that constructor sets them), built without its checks, and the text
    ``str(UUID)`` writes: at two ledger events per ERP event the constructor and ``str``
    were 4 µs of the 6 the id cost.
    """
    digest = cause.copy()
    digest.update(_COUNTERS[counter] if counter < _COUNTED else str(counter).encode())
    value = (int.from_bytes(digest.digest()[:16]) & _VERSION_5_CLEAR) | _VERSION_5_SET
    event_id = _new_object(_UUID)
    _set_slot(event_id, "int", value)
    _set_slot(event_id, "is_safe", _UNKNOWN)
    hex_ = f"{value:032x}"
    return event_id, f"{hex_[:8]}-{hex_[8:12]}-{hex_[12:16]}-{hex_[16:20]}-{hex_[20:]}"


def record(
    topic: str,
    event_type: str,
    event_id: uuid.UUID,
    occurred_at: str,
    customer_id: str,
    payload: str,
    event_id_text: str | None = None,
) -> OutgoingRecord:
    """An outbox record of a ledger event whose payload is the JSON text ``payload``.

    ``occurred_at`` is written by :func:`services.runtime.json_text.instant_once`;
    ``event_id_text``, if given, is ``str(event_id)`` (:func:`event_id_and_text`).
    """
    # the envelope as json_text.envelope writes it, from two pieces made once per event type
    before_at, after_at = _ENVELOPES[event_type]
    text = str(event_id) if event_id_text is None else event_id_text
    value = f'{{"event_id":"{text}{before_at}{occurred_at}{after_at}{payload}}}'
    return OutgoingRecord(
        topic, customer_id.encode(), value.encode(), _HEADERS[event_type], event_id
    )


def _envelope_pieces(event_type: str) -> tuple[str, str]:
    """What :func:`json_text.envelope` writes between the id and the instant, and after it."""
    marker_id, marker_at = "\x00id\x00", "\x00at\x00"
    head = json_text.envelope(marker_id, event_type, marker_at, SOURCE)
    version = _SCHEMA_VERSIONS.get(event_type)
    if version is not None:
        head = head.replace('"schema_version":1,', f'"schema_version":{version},', 1)
    prefix, rest = head.split(marker_id)
    assert prefix == '{"event_id":"', prefix
    before_at, after_at = rest.split(marker_at)
    return before_at, after_at


_ENVELOPES = {event_type: _envelope_pieces(event_type) for event_type in _HEADERS}


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


def _optional_rate(rate: Decimal | None) -> str:
    return "null" if rate is None else f'"{rate:f}"'


def open_amount_changed(
    *,
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
    """The payload of ``ledger.invoice.open_amount_changed`` (``OpenAmountChange``)."""
    before, after = previous_open_amount, open_amount
    _positive("open amount", after)
    _positive("amount", amount)
    if before < 0:
        raise ValueError("the previous open amount cannot be negative")
    if after > amount:
        raise ValueError(f"open amount {after} exceeds the invoice amount {amount}")
    if cause in ("payment", "credit_note", "credit_balance") and not after < before:
        raise ValueError(f"a {cause} lowers the open amount, not {before} to {after}")
    if cause == "reversal" and not after > before:
        raise ValueError(f"a reversal raises the open amount, not {before} to {after}")
    return (
        f"{_head(company_code, customer_id, invoice_number)}"
        f'"previous_open_amount":{money(before, currency)},'
        f'"open_amount":{money(after, currency)},"cause":"{cause}",'
        f'"cause_document_id":{string(cause_document_id)},"due_date":{day(due_date)},'
        f'"amount":{money(amount, currency)},"value_date":{day(value_date)}}}'
    )


def invoice_settled(
    *,
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
    """The payload of ``ledger.invoice.settled`` (``Settlement``)."""
    _positive("previous open amount", previous_open_amount)
    _positive("amount", amount)
    if previous_open_amount > amount:
        raise ValueError("the previous open amount exceeds the invoice amount")
    return (
        f"{_head(company_code, customer_id, invoice_number)}"
        f'"settled_on":{day(settled_on)},"cause":"{cause}",'
        f'"cause_document_id":{string(cause_document_id)},'
        f'"previous_open_amount":{money(previous_open_amount, currency)},'
        f'"amount":{money(amount, currency)},'
        f'"issue_date":{day(issue_date)},"due_date":{day(due_date)}}}'
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
    *,
    company_code: str,
    customer_id: str,
    currency: str,
    balance: Decimal,
    delta: Decimal,
    cause: ledger.CreditBalanceCause,
    cause_document_id: str,
) -> str:
    """The payload of ``ledger.customer.credit_balance_changed`` (``CreditBalanceChange``)."""
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
