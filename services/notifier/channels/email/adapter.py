"""The email channel's adapter: the composed MIME message, handed to SMTP."""

from __future__ import annotations

from datetime import date, datetime
from email.message import EmailMessage

from contracts.dunning import DunnedInvoice, Reminder
from services.notifier.channels.adapter import Outgoing, Receipt
from services.notifier.channels.email.smtp import SmtpChannel
from services.notifier.composing.composer import CustomerView, EmailComposer


class EmailAdapter:
    """Email over SMTP, with the PDF statement attached."""

    provider = "smtp"

    def __init__(self, composer: EmailComposer, smtp: SmtpChannel) -> None:
        self.composer = composer
        self.smtp = smtp

    def prepare(
        self,
        reminder: Reminder,
        invoices: tuple[DunnedInvoice, ...],
        customer: CustomerView,
        now: datetime,
    ) -> Outgoing:
        composed = self.composer.compose(
            reminder, invoices, customer, now, portal=self.portal(reminder, now)
        )
        recipients = (*composed.recipients.to, *composed.recipients.cc)
        return Outgoing(
            composed.message.as_bytes(), recipients, composed.message_id, composed.message
        )

    def portal(self, reminder: Reminder, now: datetime) -> tuple[str, date] | None:
        """The customer's personal link and its last valid day; none in a plain email."""
        return None

    async def send(self, outgoing: Outgoing) -> Receipt:
        if isinstance(outgoing.message, bytes):  # an approved proposal, as it was previewed
            reply = await self.smtp.send_bytes(outgoing.message, outgoing.recipients)
            return Receipt(outgoing.tracking_id, reply)
        assert isinstance(outgoing.message, EmailMessage)
        reply = await self.smtp.send(outgoing.message)
        return Receipt(outgoing.tracking_id, reply)
