"""Reminders, customers and ledger facts for the notifier's tests."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from contracts import disputes, dunning, erp, ledger
from contracts.dunning import Channel, DunningLevel, RecipientRole
from contracts.money import Money, PositiveMoney

CUSTOMER = "C-1001"
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def eur(amount: str) -> PositiveMoney:
    return PositiveMoney(amount=Decimal(amount), currency="EUR")


def dunned(
    number: str, open_amount: str = "700.00", due: date = date(2026, 1, 31)
) -> dunning.DunnedInvoice:
    return dunning.DunnedInvoice(
        invoice_id=f"FR01/{number}",
        invoice_number=number,
        due_date=due,
        amount=eur("1200.00"),
        open_amount=eur(open_amount),
        days_overdue=(NOW.date() - due).days,
    )


def reminder(
    *numbers: str,
    reminder_id: uuid.UUID | None = None,
    level: DunningLevel = "level_2",
    channel: Channel = "email",
    language: str = "fr",
    include_penalties: bool = True,
    template: str = "reminder_firm",
    role: RecipientRole = "billing",
) -> dunning.Reminder:
    return dunning.Reminder(
        reminder_id=reminder_id or uuid.uuid4(),
        customer_id=CUSTOMER,
        company_code="FR01",
        scenario_id="smb-domestic",
        step_name="d+30-email",
        level=level,
        channel=channel,
        recipient_role=role,
        template=template,
        language=language,
        include_penalties=include_penalties,
        escalating=False,
        scheduled_for=NOW,
        invoices=tuple(dunned(n) for n in (numbers or ("INV-1",))),
    )


def reminder_due(payload: dunning.Reminder) -> dunning.ReminderDue:
    return dunning.ReminderDue(
        event_id=uuid.uuid4(), occurred_at=NOW, source="scheduler", payload=payload
    )


def customer_upserted(version: int = 1) -> ledger.LedgerCustomerUpserted:
    return ledger.LedgerCustomerUpserted(
        event_id=uuid.uuid4(),
        occurred_at=NOW,
        source="ingestion",
        payload=ledger.LedgerCustomer(
            customer_id=CUSTOMER,
            company_code="FR01",
            version=version,
            name="ACME <Industrie> SAS",
            country="FR",
            time_zone="Europe/Paris",
            language="fr",
            contacts=(
                erp.Contact(role="billing", name="Claire Martin", email="compta@acme.example"),
                erp.Contact(role="buyer", name="Paul Durand", email="achats@acme.example"),
                erp.Contact(role="accounting", phone="+33612345678"),
            ),
        ),
    )


def invoice_opened(number: str, amount: str = "1200.00") -> ledger.InvoiceOpened:
    return ledger.InvoiceOpened(
        event_id=uuid.uuid4(),
        occurred_at=NOW,
        source="ingestion",
        payload=ledger.OpenedInvoice(
            company_code="FR01",
            customer_id=CUSTOMER,
            invoice_id=f"FR01/{number}",
            invoice_number=number,
            issue_date=date(2026, 1, 1),
            due_date=date(2026, 1, 31),
            amount=eur(amount),
            open_amount=eur(amount),
        ),
    )


def invoice_settled(number: str) -> ledger.InvoiceSettled:
    return ledger.InvoiceSettled(
        event_id=uuid.uuid4(),
        occurred_at=NOW,
        source="ingestion",
        payload=ledger.Settlement(
            company_code="FR01",
            customer_id=CUSTOMER,
            invoice_id=f"FR01/{number}",
            invoice_number=number,
            settled_on=NOW.date(),
            cause="payment",
            cause_document_id="PAY-1",
            previous_open_amount=eur("700.00"),
            amount=eur("1200.00"),
            issue_date=date(2026, 1, 1),
            due_date=date(2026, 1, 31),
        ),
    )


def open_amount_changed(number: str) -> ledger.OpenAmountChanged:
    return ledger.OpenAmountChanged(
        event_id=uuid.uuid4(),
        occurred_at=NOW,
        source="ingestion",
        payload=ledger.OpenAmountChange(
            company_code="FR01",
            customer_id=CUSTOMER,
            invoice_id=f"FR01/{number}",
            invoice_number=number,
            previous_open_amount=Money(amount=Decimal(0), currency="EUR"),
            open_amount=eur("700.00"),
            cause="reversal",
            cause_document_id="REV-1",
            due_date=date(2026, 1, 31),
            amount=eur("1200.00"),
        ),
    )


def dispute_opened(number: str) -> disputes.DisputeOpened:
    return disputes.DisputeOpened(
        event_id=uuid.uuid4(),
        occurred_at=NOW,
        source="disputes",
        payload=disputes.OpenedDispute(
            customer_id=CUSTOMER,
            invoice_ids=(f"FR01/{number}",),
            owner_role="sales",
            due_date=date(2026, 3, 20),
            dispute_id=uuid.uuid4(),
            category="pricing",
            text="The price is wrong",
            raised_by="customer",
        ),
    )
