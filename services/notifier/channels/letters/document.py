"""What every letter channel sends: the letter's PDF and the addressee's postal address."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts.dunning import DunnedInvoice, Reminder
from services.notifier.composing import letter_pdf as layout
from services.notifier.composing.composer import CustomerView, EmailComposer

REGISTERED_CHANNELS = frozenset({"registered_letter"})  # paper: the mention over the address


def letter_pdf(
    composer: EmailComposer,
    reminder: Reminder,
    invoices: tuple[DunnedInvoice, ...],
    customer: CustomerView,
    now: datetime,
) -> tuple[bytes, str, str]:
    """A letter's PDF (the letter in the creditor company's layout, then the statement),
    its subject and language. The text is the template set's letter text (``medium``
    ``letter``): a letter's salutation and closing, no email phrases."""
    address = postal_address_of(customer, reminder.recipient_role)
    contact = address.get("name") if address else None
    composed = composer.render_reminder(
        reminder, invoices, customer, now, contact_name=contact, medium="letter"
    )
    statement = composer.account_statement(reminder, invoices, customer, now) or composed.statement
    creditor = composer.creditor_for(reminder.company_code)
    subject = composed.subject
    suffix = f" \u2013 {creditor.name}"  # subjects end with an en dash and the company
    if subject.endswith(suffix):  # the letterhead names the company already
        subject = subject[: -len(suffix)]
    pdf = layout.letter_pdf(
        creditor=creditor,
        customer_name=customer.name,
        customer_id=reminder.customer_id,
        recipient=layout.Recipient.of(customer.name, address),
        language=composed.language,
        subject=subject,
        text=composed.text,
        statement=statement,
        registered=reminder.channel in REGISTERED_CHANNELS,
        created_at=now,
        invoice_numbers=tuple(i.invoice_number for i in invoices),
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
