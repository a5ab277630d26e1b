"""What every letter channel sends: the letter's PDF and the addressee's postal address."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts.dunning import DunnedInvoice, Reminder
from services.notifier.composing.composer import CustomerView, EmailComposer
from services.notifier.composing.statement_pdf import statement_pdf


def letter_pdf(
    composer: EmailComposer,
    reminder: Reminder,
    invoices: tuple[DunnedInvoice, ...],
    customer: CustomerView,
    now: datetime,
) -> tuple[bytes, str, str]:
    """A letter's PDF (the reminder's text, then the statement), its subject and language."""
    composed = composer.render_reminder(reminder, invoices, customer, now)
    statement = composer.account_statement(reminder, invoices, customer, now) or composed.statement
    pdf = statement_pdf(
        creditor=composer.creditor_for(reminder.company_code),
        customer_name=customer.name,
        customer_id=reminder.customer_id,
        language=composed.language,
        statement=statement,
        created_at=now,
        letter=composed.text,
    )
    return pdf, composed.subject, composed.language


def postal_address_of(customer: CustomerView, role: str) -> dict[str, Any] | None:
    """The postal address of the contact in ``role``, else of the billing contact."""
    with_address = [c for c in customer.contacts if c.get("address")]
    for wanted in (role, "billing"):
        for contact in with_address:
            if contact.get("role") == wanted:
                return {"name": contact.get("name"), **contact["address"]}
    return None
