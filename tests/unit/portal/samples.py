"""A customer's account for the portal's tests: one customer of FR01, invoices in two
currencies, a payment, a credit note, a dispute, a promise and a plan."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from contracts import disputes, erp, ledger
from contracts.envelope import Event
from contracts.money import Money, PositiveMoney

CUSTOMER = "C-2001"
COMPANY = "FR01"
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
TODAY = NOW.date()


def money(amount: str, currency: str = "EUR") -> PositiveMoney:
    return PositiveMoney(amount=Decimal(amount), currency=currency)


def customer(
    language: str = "fr", name: str = "Ateliers <Dupont> & Fils", version: int = 1
) -> Event:
    return ledger.LedgerCustomerUpserted(
        event_id=uuid.uuid4(),
        occurred_at=NOW,
        source="ingestion",
        payload=ledger.LedgerCustomer(
            customer_id=CUSTOMER,
            company_code=COMPANY,
            version=version,
            name=name,
            country="FR",
            time_zone="Europe/Paris",
            language=language,
        ),
    )


def invoice(number: str, amount: str, due: date, currency: str = "EUR") -> Event:
    return ledger.InvoiceOpened(
        event_id=uuid.uuid4(),
        occurred_at=NOW,
        source="ingestion",
        payload=ledger.OpenedInvoice(
            company_code=COMPANY,
            customer_id=CUSTOMER,
            invoice_id=f"{COMPANY}/{number}",
            invoice_number=number,
            issue_date=date(2026, 1, 1),
            due_date=due,
            amount=money(amount, currency),
            open_amount=money(amount, currency),
        ),
    )


def paid_in_part(number: str, before: str, after: str, cause: str = "payment") -> Event:
    return ledger.OpenAmountChanged(
        event_id=uuid.uuid4(),
        occurred_at=NOW,
        source="ingestion",
        payload=ledger.OpenAmountChange(
            company_code=COMPANY,
            customer_id=CUSTOMER,
            invoice_id=f"{COMPANY}/{number}",
            invoice_number=number,
            previous_open_amount=Money(amount=Decimal(before), currency="EUR"),
            open_amount=money(after),
            cause=cause,
            cause_document_id="PAY-7",
            due_date=date(2026, 1, 15),
            amount=money(before),
        ),
    )


def settled(number: str, paid: str, cause: str = "payment") -> Event:
    return ledger.InvoiceSettled(
        event_id=uuid.uuid4(),
        occurred_at=NOW,
        source="ingestion",
        payload=ledger.Settlement(
            company_code=COMPANY,
            customer_id=CUSTOMER,
            invoice_id=f"{COMPANY}/{number}",
            invoice_number=number,
            settled_on=date(2026, 2, 20),
            cause=cause,
            cause_document_id="CN-3",
            previous_open_amount=money(paid),
            amount=money(paid),
            issue_date=date(2026, 1, 1),
            due_date=date(2026, 1, 31),
        ),
    )


def dispute_opened(number: str) -> Event:
    return disputes.DisputeOpened(
        event_id=uuid.uuid4(),
        occurred_at=NOW,
        source="disputes",
        payload=disputes.OpenedDispute(
            customer_id=CUSTOMER,
            invoice_ids=(f"{COMPANY}/{number}",),
            owner_role="sales",
            due_date=date(2026, 3, 20),
            dispute_id=uuid.uuid4(),
            category="pricing",
            text="Wrong price",
            raised_by="customer",
        ),
    )


def promise_made(number: str, on: date) -> Event:
    return disputes.PromiseMade(
        event_id=uuid.uuid4(),
        occurred_at=NOW,
        source="disputes",
        payload=disputes.Promise(
            promise_id=uuid.uuid4(),
            customer_id=CUSTOMER,
            invoice_ids=(f"{COMPANY}/{number}",),
            promised_date=on,
            amount=money("300.00"),
            channel="phone_call",
            recorded_by="collector@example.com",
        ),
    )


def plan_agreed(number: str) -> Event:
    return disputes.PaymentPlanAgreed(
        event_id=uuid.uuid4(),
        occurred_at=NOW,
        source="disputes",
        payload=disputes.PaymentPlan(
            plan_id=uuid.uuid4(),
            customer_id=CUSTOMER,
            invoice_ids=(f"{COMPANY}/{number}",),
            agreed_on=date(2026, 2, 25),
            instalments=(
                disputes.Instalment(due_date=date(2026, 3, 31), amount=money("400.00")),
                disputes.Instalment(due_date=date(2026, 4, 30), amount=money("400.00")),
            ),
            agreed_by="collector@example.com",
        ),
    )


def account_events() -> list[Event]:
    """Six open invoices (one per status, one in USD), a payment and a credit note."""
    return [
        customer(),
        invoice("F-2026-001", "1200.00", date(2026, 1, 15)),  # part paid, overdue
        paid_in_part("F-2026-001", "1200.00", "700.00"),
        invoice("F-2026-002", "480.00", date(2026, 3, 31)),  # due
        erp_invoice(  # its copy, with the digest the ERP published
            "F-2026-002",
            "480.00",
            date(2026, 3, 31),
            reference="FR01/2026/F-2026-002.pdf",
            sha256=hashlib.sha256(COPY_OF_002).hexdigest(),
        ),
        invoice("F-2026-003", "950.00", date(2026, 2, 10)),  # in dispute
        dispute_opened("F-2026-003"),
        invoice("F-2026-004", "300.00", date(2026, 2, 1)),  # promised
        promise_made("F-2026-004", date(2026, 3, 15)),
        invoice("F-2026-005", "800.00", date(2026, 2, 5)),  # in a plan
        plan_agreed("F-2026-005"),
        invoice("US-2026-010", "2500.00", date(2026, 2, 27), currency="USD"),  # overdue
        invoice("F-2025-090", "150.00", date(2026, 1, 31)),
        settled("F-2025-090", "150.00", cause="credit_note"),
    ]


COPY_OF_002 = b"%PDF-1.7\n% the copy of F-2026-002\n%%EOF\n"


def erp_invoice(
    number: str,
    amount: str,
    due: date,
    *,
    reference: str | None,
    sha256: str | None = None,
    customer_id: str = CUSTOMER,
    version: int = 1,
) -> Event:
    """The ERP's invoice, naming its copy in the document store (``reference``)."""
    return erp.InvoiceIssued(
        event_id=uuid.uuid4(),
        occurred_at=NOW,
        source="erp-test",
        payload=erp.InvoicePayload(
            company_code=COMPANY,
            customer_id=customer_id,
            invoice_number=number,
            version=version,
            issue_date=date(2026, 1, 1),
            due_date=due,
            amount=money(amount),
            document=None
            if reference is None
            else erp.InvoiceDocument(reference=reference, sha256=sha256),
        ),
    )
