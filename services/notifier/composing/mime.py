"""MIME messages: text, HTML and attachments, under a deterministic Message-ID.

The Message-ID is derived from the reminder and the channel, so a message sent again after
a crash carries the same id and mail systems (and the proof archive) can recognise it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from services.notifier.composing.rendering import RenderedEmail


def message_id_of(reminder_id: uuid.UUID, channel: str, domain: str) -> str:
    return f"<reminder-{reminder_id}.{channel}@{domain}>"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "pdf"


def build_message(
    *,
    sender: str,
    to: Sequence[str],
    cc: Sequence[str],
    rendered: RenderedEmail,
    message_id: str,
    sent_at: datetime,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = rendered.subject
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(sent_at)
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    for attachment in attachments:
        message.add_attachment(
            attachment.content,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
        )
    return message
