"""Postal and registered letters for an in-house print room, dropped in a folder."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from datetime import datetime
from pathlib import Path

from contracts.dunning import DunnedInvoice, Reminder
from services.notifier.channels.adapter import Outgoing, Receipt
from services.notifier.channels.letters.document import letter_pdf, postal_address_of
from services.notifier.composing.composer import CustomerView, EmailComposer
from services.notifier.errors import DeliveryError


class FileDropAdapter:
    """Letters for an in-house print room: the PDF and a JSON manifest in a folder.

    The letter is the reminder's text followed by the statement; the manifest names the
    customer and the postal address of the contact in the reminder's role (else the billing
    contact; ``null`` when the ERP sent none, and the print room uses its own), the channel
    (a registered letter is sent with acknowledgement of receipt) and the PDF's SHA-256.
    Files are written under a temporary name and renamed, so the print room never reads half
    a file; the manifest is written last.
    """

    provider = "file_drop"

    def __init__(self, composer: EmailComposer, directory: Path) -> None:
        self.composer = composer
        self.directory = directory

    def prepare(
        self,
        reminder: Reminder,
        invoices: tuple[DunnedInvoice, ...],
        customer: CustomerView,
        now: datetime,
    ) -> Outgoing:
        pdf, subject, language = letter_pdf(self.composer, reminder, invoices, customer, now)
        name = f"reminder-{reminder.reminder_id}-{reminder.channel}"
        manifest = {
            "reminder_id": str(reminder.reminder_id),
            "customer_id": reminder.customer_id,
            "customer_name": customer.name,
            "postal_address": postal_address_of(customer, reminder.recipient_role),
            "channel": reminder.channel,
            "acknowledgement_of_receipt": reminder.channel == "registered_letter",
            "language": language,
            "subject": subject,
            "document": f"{name}.pdf",
            "sha256": hashlib.sha256(pdf).hexdigest(),
            "prepared_at": now.isoformat(),
        }
        return Outgoing(pdf, (reminder.customer_id,), name, manifest)

    async def send(self, outgoing: Outgoing) -> Receipt:
        try:
            await asyncio.to_thread(self._write, outgoing)
        except OSError as exc:
            raise DeliveryError(f"file drop: {exc}", retryable=True) from exc
        return Receipt(outgoing.tracking_id, f"dropped in {self.directory}")

    def _write(self, outgoing: Outgoing) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = str(outgoing.tracking_id)
        _write_atomically(self.directory / f"{name}.pdf", outgoing.content)
        manifest = json.dumps(outgoing.message, ensure_ascii=False, indent=2).encode()
        _write_atomically(self.directory / f"{name}.json", manifest)


def _write_atomically(path: Path, content: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
