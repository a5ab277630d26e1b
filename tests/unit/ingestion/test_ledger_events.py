"""Ledger events written straight as JSON are the bytes the contract models dump.

For generated values (ids with quotes and accents, amounts with up to four decimals,
several currencies, instants in UTC or in other zones, ERP extra attributes), each writer
of :mod:`services.ingestion.domain.ledger_events` gives the bytes of the event built by
validating its ``contracts.ledger`` model and dumping it; for values that break a rule of
the contract (an open amount above the invoice's, a payment that raises it, a negative
balance), the writer refuses them exactly when the model does.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts import erp, ledger
from contracts.envelope import Event
from contracts.money import Money, PositiveMoney
from contracts.topics import LEDGER_EVENTS
from services.ingestion.domain import ledger_events
from services.runtime import json_text
from services.runtime.records import OutgoingRecord

REFUSALS = "must be positive|is before issue date|exceeds|cannot be|cannot lead|lowers|raises"
ZONES = ["Europe/Paris", "America/St_Johns", "Asia/Kolkata", "UTC"]


def _text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc", "Zl", "Zp"]),
        min_size=1,
        max_size=max_size,
    ).filter(lambda s: s == s.strip())


companies = _text(40)
customers = _text(100)
numbers = _text(60)
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999999999"), places=2) | (
    st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("99999999999999"), places=4)
)
signed = amounts | amounts.map(lambda a: -a) | st.just(Decimal("0.00"))
currencies = st.sampled_from(["EUR", "USD", "JPY", "CHF"])
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1))
instants = st.builds(
    lambda moment, zone: moment.astimezone(ZoneInfo(zone)),
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
    ),
    st.sampled_from(ZONES),
).filter(
    # A local time that occurs twice (the hour repeated when clocks go back) never equals
    # an instant of another zone (PEP 495), so the round trip through an offset would
    # compare unequal although the instant is the same: keep unambiguous local times.
    lambda moment: moment.replace(fold=1 - moment.fold).utcoffset() == moment.utcoffset()
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
extras = st.dictionaries(st.text(max_size=8), json_values, max_size=3)
# an invoice's contractual late-payment rate, percent a year, as the contract allows
late_interest_rates = (
    st.none()
    | st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=2)
    | st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=4)
)


def _compare(
    event_class: Callable[..., Event],
    event_type: str,
    build_model: Callable[[], Any],
    write: Callable[[], str],
    customer_id: str,
    cause: uuid.UUID,
    occurred_at: datetime,
) -> None:
    """The writer's record equals the model's, or both refuse the values."""
    event_id = ledger_events.event_id_of(cause, 1)
    try:
        expected = event_class(
            event_id=event_id,
            occurred_at=occurred_at,
            source=ledger_events.SOURCE,
            payload=build_model(),
        )
    except ValidationError:
        with pytest.raises(ValueError, match=REFUSALS):
            write()
        return
    record = ledger_events.record(
        LEDGER_EVENTS.name, event_type, cause, occurred_at, customer_id, write()
    )
    assert record.event_id == str(expected.event_id)  # the id's text, as str() writes it
    assert record._replace(event_id=record.event_uuid) == OutgoingRecord.of(LEDGER_EVENTS, expected)
    assert LEDGER_EVENTS.parse(record.value) == expected


@settings(max_examples=300, deadline=None)
@given(
    company=companies,
    customer=customers,
    number=numbers,
    issue=dates,
    due=dates,
    currency=currencies,
    amount=amounts,
    open_amount=amounts,
    purchase_order=st.none() | _text(100),
    terms=st.none() | _text(100),
    service_code=st.none() | _text(100),
    commitment_number=st.none() | _text(100),
    late_interest_rate=late_interest_rates,
    extra=extras,
    cause=st.uuids(),
    at=instants,
)
def test_an_opened_invoice_is_the_models_dump(
    company: str,
    customer: str,
    number: str,
    issue: date,
    due: date,
    currency: str,
    amount: Decimal,
    open_amount: Decimal,
    purchase_order: str | None,
    terms: str | None,
    service_code: str | None,
    commitment_number: str | None,
    late_interest_rate: Decimal | None,
    extra: dict[str, Any],
    cause: uuid.UUID,
    at: datetime,
) -> None:
    _compare(
        ledger.InvoiceOpened,
        ledger_events.INVOICE_OPENED,
        lambda: ledger.OpenedInvoice(
            company_code=company,
            customer_id=customer,
            invoice_id=ledger.invoice_id_of(company, number),
            invoice_number=number,
            issue_date=issue,
            due_date=due,
            amount=PositiveMoney(amount=amount, currency=currency),
            open_amount=PositiveMoney(amount=open_amount, currency=currency),
            purchase_order=purchase_order,
            payment_terms=terms,
            service_code=service_code,
            commitment_number=commitment_number,
            late_interest_rate=late_interest_rate,
            extra=extra,
        ),
        lambda: ledger_events.invoice_opened(
            company_code=company,
            customer_id=customer,
            invoice_number=number,
            issue_date=issue,
            due_date=due,
            currency=currency,
            amount=amount,
            open_amount=open_amount,
            purchase_order=purchase_order,
            payment_terms=terms,
            extra=extra,
            service_code=service_code,
            commitment_number=commitment_number,
            late_interest_rate=late_interest_rate,
        ),
        customer,
        cause,
        at,
    )


@settings(max_examples=300, deadline=None)
@given(
    company=companies,
    customer=customers,
    number=numbers,
    currency=currencies,
    before=signed,
    after=amounts,
    amount=amounts,
    cause_kind=st.sampled_from(
        ["payment", "credit_note", "correction", "reversal", "credit_balance"]
    ),
    document=numbers,
    due=dates,
    value_date=dates,
    cause=st.uuids(),
    at=instants,
)
def test_an_open_amount_change_is_the_models_dump(
    company: str,
    customer: str,
    number: str,
    currency: str,
    before: Decimal,
    after: Decimal,
    amount: Decimal,
    cause_kind: ledger.OpenAmountCause,
    document: str,
    due: date,
    value_date: date,
    cause: uuid.UUID,
    at: datetime,
) -> None:
    _compare(
        ledger.OpenAmountChanged,
        ledger_events.OPEN_AMOUNT_CHANGED,
        lambda: ledger.OpenAmountChange(
            company_code=company,
            customer_id=customer,
            invoice_id=ledger.invoice_id_of(company, number),
            invoice_number=number,
            previous_open_amount=Money(amount=before, currency=currency),
            open_amount=PositiveMoney(amount=after, currency=currency),
            cause=cause_kind,
            cause_document_id=document,
            due_date=due,
            amount=PositiveMoney(amount=amount, currency=currency),
            value_date=value_date,
        ),
        lambda: ledger_events.open_amount_changed(
            company_code=company,
            customer_id=customer,
            invoice_number=number,
            currency=currency,
            previous_open_amount=before,
            open_amount=after,
            cause=cause_kind,
            cause_document_id=document,
            due_date=due,
            amount=amount,
            value_date=value_date,
        ),
        customer,
        cause,
        at,
    )


@settings(max_examples=300, deadline=None)
@given(
    company=companies,
    customer=customers,
    number=numbers,
    currency=currencies,
    settled_on=dates,
    cause_kind=st.sampled_from(["payment", "credit_note", "correction", "credit_balance"]),
    document=numbers,
    before=amounts,
    amount=amounts,
    issue=dates,
    due=dates,
    cause=st.uuids(),
    at=instants,
)
def test_a_settlement_is_the_models_dump(
    company: str,
    customer: str,
    number: str,
    currency: str,
    settled_on: date,
    cause_kind: ledger.SettlementCause,
    document: str,
    before: Decimal,
    amount: Decimal,
    issue: date,
    due: date,
    cause: uuid.UUID,
    at: datetime,
) -> None:
    _compare(
        ledger.InvoiceSettled,
        ledger_events.INVOICE_SETTLED,
        lambda: ledger.Settlement(
            company_code=company,
            customer_id=customer,
            invoice_id=ledger.invoice_id_of(company, number),
            invoice_number=number,
            settled_on=settled_on,
            cause=cause_kind,
            cause_document_id=document,
            previous_open_amount=PositiveMoney(amount=before, currency=currency),
            amount=PositiveMoney(amount=amount, currency=currency),
            issue_date=issue,
            due_date=due,
        ),
        lambda: ledger_events.invoice_settled(
            company_code=company,
            customer_id=customer,
            invoice_number=number,
            currency=currency,
            settled_on=settled_on,
            cause=cause_kind,
            cause_document_id=document,
            previous_open_amount=before,
            amount=amount,
            issue_date=issue,
            due_date=due,
        ),
        customer,
        cause,
        at,
    )


@settings(max_examples=200, deadline=None)
@given(
    company=companies,
    customer=customers,
    number=numbers,
    currency=currencies,
    before=signed,
    reason=st.none() | _text(500),
    cause=st.uuids(),
    at=instants,
)
def test_a_cancellation_is_the_models_dump(
    company: str,
    customer: str,
    number: str,
    currency: str,
    before: Decimal,
    reason: str | None,
    cause: uuid.UUID,
    at: datetime,
) -> None:
    _compare(
        ledger.LedgerInvoiceCancelled,
        ledger_events.INVOICE_CANCELLED,
        lambda: ledger.Cancellation(
            company_code=company,
            customer_id=customer,
            invoice_id=ledger.invoice_id_of(company, number),
            invoice_number=number,
            previous_open_amount=Money(amount=before, currency=currency),
            reason=reason,
        ),
        lambda: ledger_events.invoice_cancelled(
            company_code=company,
            customer_id=customer,
            invoice_number=number,
            currency=currency,
            previous_open_amount=before,
            reason=reason,
        ),
        customer,
        cause,
        at,
    )


@settings(max_examples=300, deadline=None)
@given(
    company=companies,
    customer=customers,
    currency=currencies,
    balance=signed | st.just(Decimal("100000000000000")),
    delta=signed,
    cause_kind=st.sampled_from(["payment", "credit_note", "allocation", "reversal", "refund"]),
    document=numbers,
    cause=st.uuids(),
    at=instants,
)
def test_a_credit_balance_change_is_the_models_dump(
    company: str,
    customer: str,
    currency: str,
    balance: Decimal,
    delta: Decimal,
    cause_kind: ledger.CreditBalanceCause,
    document: str,
    cause: uuid.UUID,
    at: datetime,
) -> None:
    _compare(
        ledger.CreditBalanceChanged,
        ledger_events.CREDIT_BALANCE_CHANGED,
        lambda: ledger.CreditBalanceChange(
            company_code=company,
            customer_id=customer,
            currency=currency,
            balance=balance,
            delta=delta,
            cause=cause_kind,
            cause_document_id=document,
        ),
        lambda: ledger_events.credit_balance_changed(
            company_code=company,
            customer_id=customer,
            currency=currency,
            balance=balance,
            delta=delta,
            cause=cause_kind,
            cause_document_id=document,
        ),
        customer,
        cause,
        at,
    )


@settings(max_examples=50)
@given(
    causes=st.lists(
        st.tuples(st.uuids(), instants, st.integers(1, 200), st.integers(0, 80)), max_size=4
    )
)
def test_records_have_the_uuid5_ids_of_their_cause_and_rank(
    causes: list[tuple[uuid.UUID, datetime, int, int]],
) -> None:
    """Ids from the batch-wise loop are uuid5 values (ranks above the cached counters too),
    and each record's envelope names its id and its cause's instant as the model dumps them."""
    written = ledger_events.records(
        LEDGER_EVENTS.name,
        [
            (cause, at, first, [(ledger_events.INVOICE_CANCELLED, "C1", "{}")] * count)
            for cause, at, first, count in causes
        ],
    )
    expected = [
        (uuid.uuid5(ledger_events.LEDGER_NAMESPACE, f"{cause}:{rank}"), at)
        for cause, at, first, count in causes
        for rank in range(first, first + count)
    ]
    assert len(written) == len(expected)
    for record, (event_id, at) in zip(written, expected, strict=True):
        assert record.event_id == str(event_id)
        as_uuid = record.event_uuid
        assert as_uuid == event_id
        assert as_uuid is not None
        assert (as_uuid.version, as_uuid.variant) == (5, uuid.RFC_4122)
        assert record.value.startswith(
            json_text.envelope(
                event_id, ledger_events.INVOICE_CANCELLED, json_text.instant_once(at), "ingestion"
            ).encode()
        )


def test_a_rule_the_arithmetic_could_break_is_refused_with_its_reason() -> None:
    with pytest.raises(ValueError, match="a payment lowers the open amount"):
        ledger_events.open_amount_changed(
            company_code="FR01",
            customer_id="C1",
            invoice_number="F1",
            currency="EUR",
            previous_open_amount=Decimal("10"),
            open_amount=Decimal("20"),
            cause="payment",
            cause_document_id="P1",
            due_date=date(2026, 1, 1),
            amount=Decimal("50"),
            value_date=date(2026, 1, 2),
        )


def _any_text(max_size: int) -> st.SearchStrategy[str]:
    """Text with control characters, quotes and backslashes as well (not surrogates)."""
    return st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"])
        | st.sampled_from('"\\\n\x00\x1f\x7f\u2028,:{}'),
        max_size=max_size,
    )


@settings(max_examples=400, deadline=None)
@given(
    company=companies,
    customer=customers,
    number=numbers,
    version=st.integers(min_value=0, max_value=10**15),
    issue=dates,
    days=st.integers(min_value=0, max_value=400),
    currency=currencies,
    amount=amounts,
    purchase_order=st.none() | _any_text(100),
    terms=st.none() | _any_text(100),
    service_code=st.none() | _text(100),
    commitment_number=st.none() | _text(100),
    late_interest_rate=late_interest_rates,
    extra=extras,
)
def test_an_invoices_texts_are_its_dump_without_version_and_its_opened_payload(
    company: str,
    customer: str,
    number: str,
    version: int,
    issue: date,
    days: int,
    currency: str,
    amount: Decimal,
    purchase_order: str | None,
    terms: str | None,
    service_code: str | None,
    commitment_number: str | None,
    late_interest_rate: Decimal | None,
    extra: dict[str, Any],
) -> None:
    payload = erp.InvoicePayload(
        company_code=company,
        customer_id=customer,
        invoice_number=number,
        version=version,
        issue_date=issue,
        due_date=issue + timedelta(days=days),
        amount=PositiveMoney(amount=amount, currency=currency),
        payment_terms=terms,
        purchase_order=purchase_order,
        service_code=service_code,
        commitment_number=commitment_number,
        late_interest_rate=late_interest_rate,
        extra=extra,
    )
    content, opened = ledger_events.invoice_texts(payload)
    assert content == payload.model_dump_json(exclude={"version"}).encode()
    assert opened == ledger_events.invoice_opened(
        company_code=payload.company_code,
        customer_id=payload.customer_id,
        invoice_number=payload.invoice_number,
        issue_date=payload.issue_date,
        due_date=payload.due_date,
        currency=currency,
        amount=payload.amount.amount,
        open_amount=payload.amount.amount,
        purchase_order=payload.purchase_order,
        payment_terms=payload.payment_terms,
        extra=payload.extra,
        service_code=payload.service_code,
        commitment_number=payload.commitment_number,
        late_interest_rate=payload.late_interest_rate,
    )


def test_an_invoice_with_its_document_leaves_the_digests_text_to_pydantic() -> None:
    payload = erp.InvoicePayload.model_validate(
        {
            "company_code": "FR01",
            "customer_id": "C1",
            "invoice_number": "F1",
            "version": 1,
            "issue_date": "2026-01-02",
            "due_date": "2026-02-01",
            "amount": {"amount": "12.50", "currency": "EUR"},
            "document": {"reference": "invoices/F1.pdf"},
        }
    )
    content, opened = ledger_events.invoice_texts(payload)
    assert content is None
    assert json.loads(opened)["invoice_number"] == "F1"
