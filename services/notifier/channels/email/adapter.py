"""The email channel's adapter: the composed MIME message, handed to SMTP."""

from __future__ import annotations

from datetime import date, datetime
from email.utils import parseaddr

from contracts.dunning import DunnedInvoice, Reminder
from services.notifier.channels.adapter import Outgoing, Receipt
from services.notifier.channels.email.smtp import SmtpChannel
from services.notifier.composing.composer import CustomerView, EmailComposer
from services.notifier.composing.workers import ComposedBytes, ComposingWorkers


class EmailAdapter:
    """Email over SMTP, with the PDF statement attached."""

    provider = "smtp"

    def __init__(self, composer: EmailComposer, smtp: SmtpChannel) -> None:
        self.composer = composer
        self.smtp = smtp
        # the envelope's sender, as SMTP takes it from the From header of a composed message
        self.sender = parseaddr(composer.settings.email.sender)[1]

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
        message = ComposedBytes(composed.content, recipients, composed.message_id)
        return Outgoing(composed.content, recipients, composed.message_id, message)

    async def prepare_in(
        self,
        workers: ComposingWorkers,
        reminder: Reminder,
        invoices: tuple[DunnedInvoice, ...],
        customer: CustomerView,
        now: datetime,
    ) -> Outgoing:
        """:meth:`prepare`, composed by a worker process: the same bytes but the MIME
        boundaries. The company is checked here first, so that an unknown one is counted and
        logged by the service."""
        self.composer.creditor_for(reminder.company_code)
        composed = await workers.compose(
            reminder, invoices, customer, now, self.portal(reminder, now)
        )
        return Outgoing(composed.content, composed.recipients, composed.message_id, composed)

    def portal(self, reminder: Reminder, now: datetime) -> tuple[str, date] | None:
        """The customer's personal link and its last valid day; none in a plain email."""
        return None

    async def send(self, outgoing: Outgoing) -> Receipt:
        if isinstance(outgoing.message, bytes):  # an approved proposal, as it was previewed
            reply = await self.smtp.send_bytes(outgoing.message, outgoing.recipients)
            return Receipt(outgoing.tracking_id, reply)
        # composed here or by a worker process: its bytes, from the configured sender
        assert isinstance(outgoing.message, ComposedBytes)
        reply = await self.smtp.send_from(outgoing.content, self.sender, outgoing.recipients)
        return Receipt(outgoing.tracking_id, reply)
