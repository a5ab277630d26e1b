"""Builders of ERP events for the ingestion tests."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from contracts import erp
from contracts.money import PositiveMoney

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
_tick = iter(range(10**9))


def _envelope() -> dict[str, object]:
    return {
        "event_id": uuid.uuid4(),
        "occurred_at": AT + timedelta(seconds=next(_tick)),
        "source": "test-erp",
    }


def money(amount: str, currency: str = "EUR") -> PositiveMoney:
    return PositiveMoney(amount=Decimal(amount), currency=currency)


def customer(
    customer_id: str = "C1", version: int = 1, name: str = "Dupont SA", company: str = "FR01"
) -> erp.CustomerUpserted:
    return erp.CustomerUpserted(
        **_envelope(),
        payload=erp.CustomerPayload(
            customer_id=customer_id,
            version=version,
            company_code=company,
            name=name,
            country="FR",
            time_zone="Europe/Paris",
        ),
    )


def invoice(
    number: str,
    amount: str = "100.00",
    *,
    customer_id: str = "C1",
    version: int = 1,
    currency: str = "EUR",
    due: date = date(2026, 2, 1),
    company: str = "FR01",
    updated: bool = False,
) -> erp.InvoiceIssued | erp.InvoiceUpdated:
    payload = erp.InvoicePayload(
        company_code=company,
        customer_id=customer_id,
        invoice_number=number,
        version=version,
        issue_date=date(2026, 1, 2),
        due_date=due,
        amount=money(amount, currency),
    )
    if updated:
        return erp.InvoiceUpdated(**_envelope(), payload=payload)
    return erp.InvoiceIssued(**_envelope(), payload=payload)


def cancellation(number: str, *, customer_id: str = "C1", version: int = 2) -> erp.InvoiceCancelled:
    return erp.InvoiceCancelled(
        **_envelope(),
        payload=erp.InvoiceCancellation(
            company_code="FR01", customer_id=customer_id, invoice_number=number, version=version
        ),
    )


def payment(
    payment_id: str,
    amount: str,
    *,
    customer_id: str = "C1",
    currency: str = "EUR",
    allocations: tuple[tuple[str, str], ...] = (),
    reference: str | None = None,
    company: str = "FR01",
) -> erp.PaymentReceived:
    return erp.PaymentReceived(
        **_envelope(),
        payload=erp.PaymentPayload(
            payment_id=payment_id,
            company_code=company,
            customer_id=customer_id,
            received_on=date(2026, 2, 10),
            amount=money(amount, currency),
            allocations=tuple(
                erp.Allocation(invoice_number=n, amount=Decimal(a)) for n, a in allocations
            ),
            reference=reference,
        ),
    )


def credit_note(
    number: str, amount: str, invoice_number: str | None = None, *, customer_id: str = "C1"
) -> erp.CreditNoteIssued:
    return erp.CreditNoteIssued(
        **_envelope(),
        payload=erp.CreditNotePayload(
            credit_note_number=number,
            company_code="FR01",
            customer_id=customer_id,
            issue_date=date(2026, 2, 12),
            amount=money(amount),
            invoice_number=invoice_number,
        ),
    )


def with_new_id(
    event: erp.InvoiceIssued | erp.InvoiceUpdated,
) -> erp.InvoiceIssued | erp.InvoiceUpdated:
    """The same document sent again by the ERP under a new event id."""
    return event.model_copy(update={"event_id": uuid.uuid4()})
