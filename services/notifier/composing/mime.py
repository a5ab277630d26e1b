"""MIME messages: text, HTML and attachments, under a deterministic Message-ID.

The Message-ID is derived from the reminder and the channel, so a message sent again after
a crash carries the same id and mail systems (and the proof archive) can recognise it.
"""

from __future__ import annotations

import binascii
import functools
import random
import re
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy, quoprimime
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


# Writing the message's bytes directly. Building an EmailMessage and serialising it parses
# every header as it is set (22 a message with the statement) and folds each again when
# written: a third of a composing worker's time. ``message_bytes`` writes the same bytes
# (but the random MIME boundaries) as ``build_message(...).as_bytes()``, the structure
# from fixed lines and the bodies with the standard library's own heuristics, and gives
# only the headers that vary to ``email.policy.default`` when they are not plain (a
# non-ASCII subject or name, a line too long): ``tests/unit/notifier/test_mime.py`` checks
# the two against each other.

_POLICY = policy.default
_MAX_LINE = 78  # the default policy's max_line_length
_BASE64_BYTES_PER_LINE = _MAX_LINE // 4 * 3
_WORD = r"[A-Za-z0-9_%+-]+"
_ADDRESS = rf"{_WORD}(?:\.{_WORD})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
_ADDRESSES = re.compile(rf"{_ADDRESS}(?:, {_ADDRESS})*")
_MESSAGE_ID = re.compile(rf"<{_ADDRESS}>")
_UNSTRUCTURED = re.compile(r"[!-<>-~]+(?: [!-<>-~]+)*")  # printable ASCII words, no '='
# years from 1900: the policy reads a year below 100 (0099) as 1999 and writes that date, so
# such a value goes through the policy as any other
_DATE = re.compile(
    r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} (?:19|[2-9]\d)\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}"
)
_PLAIN = {
    "From": _ADDRESSES,
    "To": _ADDRESSES,
    "Cc": _ADDRESSES,
    "Subject": _UNSTRUCTURED,
    "Message-ID": _MESSAGE_ID,
    "Date": _DATE,
}
_FILENAME = re.compile(r"[A-Za-z0-9_.-]{1,40}")
_MEDIA_NAME = re.compile(r"[a-z0-9.+-]{1,30}")


@functools.lru_cache(maxsize=256)
def _folded(name: str, value: str) -> bytes:
    """The header as ``email.policy.default`` writes it: parsed, then folded."""
    header = _POLICY.header_store_parse(name, value)[1]
    return _POLICY.fold_binary(name, header)


def header_line(name: str, value: str) -> bytes:
    """``name: value`` as the default policy writes it, without parsing a plain one."""
    plain = _PLAIN.get(name)
    if plain is not None and plain.fullmatch(value):
        if len(name) + 2 + len(value) <= _MAX_LINE:
            return f"{name}: {value}\n".encode("ascii")
        if plain is _MESSAGE_ID and 1 + len(value) <= _MAX_LINE:
            return f"{name}:\n {value}\n".encode("ascii")  # one token: on a line of its own
    return _folded(name, value)


def _text_body(text: str) -> tuple[str, bytes]:
    """The body's transfer encoding and bytes, as ``EmailMessage.set_content(text)`` chooses
    them under the default policy (``email.contentmanager``'s heuristics: 7bit or 8bit when
    every line is short enough, else quoted-printable or base64, whichever is shorter)."""
    lines = text.encode("utf-8").splitlines()
    if max((len(line) for line in lines), default=0) <= _MAX_LINE:
        # 8bit when not ASCII: the default policy's cte_type
        return ("7bit" if text.isascii() else "8bit"), b"\n".join(lines) + b"\n"
    sniff = b"\n".join(lines[:10]) + b"\n"
    sniff_qp = quoprimime.body_encode(sniff.decode("latin-1"), _MAX_LINE)
    if len(sniff_qp) > len(binascii.b2a_base64(sniff)):
        return "base64", _base64(b"\n".join(lines) + b"\n")
    if len(lines) <= 10:
        return "quoted-printable", sniff_qp.encode("ascii")
    body = b"\n".join(lines) + b"\n"
    return "quoted-printable", quoprimime.body_encode(body.decode("latin-1"), _MAX_LINE).encode(
        "ascii"
    )


def _base64(content: bytes) -> bytes:
    """Lines of 76 characters, as ``email.contentmanager`` encodes bytes under the default
    policy."""
    return b"".join(
        binascii.b2a_base64(content[at : at + _BASE64_BYTES_PER_LINE])
        for at in range(0, len(content), _BASE64_BYTES_PER_LINE)
    )


def _text_part(subtype: str, text: str, *, first: bool) -> bytes:
    cte, body = _text_body(text)
    # the first part's MIME-Version stays on the message when it becomes multipart
    version = b"" if first else b"MIME-Version: 1.0\n"
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\nContent-Transfer-Encoding: {cte}\n'.encode(
            "ascii"
        )
        + version
        + b"\n"
        + body
    )


def _attachment_part(attachment: Attachment) -> bytes:
    return (
        f"Content-Type: {attachment.maintype}/{attachment.subtype}\n"
        "Content-Transfer-Encoding: base64\n"
        f'Content-Disposition: attachment; filename="{attachment.filename}"\n'
        "MIME-Version: 1.0\n\n".encode("ascii")
        + _base64(attachment.content)
    )


def _boundary(parts: Sequence[bytes]) -> str:
    """A random boundary that no part contains, as ``email.generator`` draws it."""
    while True:
        # not a secret: unique within the message, as the standard library draws it
        boundary = "=" * 15 + f"{random.randrange(sys.maxsize):019d}" + "=="  # noqa: S311
        marker = f"--{boundary}".encode("ascii")
        if not any(marker in part for part in parts):
            return boundary


def _multipart(subtype: str, parts: Sequence[bytes]) -> tuple[bytes, bytes]:
    """The multipart's Content-Type line(s) and its body."""
    boundary = _boundary(parts)
    header = f'Content-Type: multipart/{subtype}; boundary="{boundary}"'
    if len(header) > _MAX_LINE:
        header = f'Content-Type: multipart/{subtype};\n boundary="{boundary}"'
    delimiter = f"--{boundary}".encode("ascii")
    body = delimiter + b"\n" + (b"\n" + delimiter + b"\n").join(parts) + b"\n" + delimiter
    return (header + "\n").encode("ascii"), body + b"--\n"


def writable(attachments: Sequence[Attachment]) -> bool:
    """Whether :func:`message_bytes` writes these attachments itself (plain names)."""
    return all(
        _FILENAME.fullmatch(a.filename)
        and _MEDIA_NAME.fullmatch(a.maintype)
        and _MEDIA_NAME.fullmatch(a.subtype)
        for a in attachments
    )


def message_bytes(
    *,
    sender: str,
    to: Sequence[str],
    cc: Sequence[str],
    rendered: RenderedEmail,
    message_id: str,
    sent_at: datetime,
    attachments: Sequence[Attachment] = (),
) -> bytes:
    """The bytes of :func:`build_message`'s message (``as_bytes()``, line ends ``\\n``; SMTP
    sends them with CRLF), but for the MIME boundaries, written without building it."""
    if not writable(attachments):
        message = build_message(
            sender=sender,
            to=to,
            cc=cc,
            rendered=rendered,
            message_id=message_id,
            sent_at=sent_at,
            attachments=attachments,
        )
        return message.as_bytes()
    headers = [header_line("From", sender), header_line("To", ", ".join(to))]
    if cc:
        headers.append(header_line("Cc", ", ".join(cc)))
    headers += [
        header_line("Subject", rendered.subject),
        header_line("Message-ID", message_id),
        header_line("Date", format_datetime(sent_at)),
        b"MIME-Version: 1.0\n",
    ]
    alternative = (
        _text_part("plain", rendered.text, first=True),
        _text_part("html", rendered.html, first=False),
    )
    content_type, body = _multipart("alternative", alternative)
    if attachments:
        parts = (content_type + b"\n" + body, *(_attachment_part(a) for a in attachments))
        content_type, body = _multipart("mixed", parts)
    return b"".join(headers) + content_type + b"\n" + body


_MIXED_END = re.compile(rb"\n--(={15}\d{19}==)--\n\Z")


def with_attachments(content: bytes, attachments: Sequence[Attachment]) -> bytes:
    """``content`` (:func:`message_bytes`' multipart/mixed message) with ``attachments``
    added after its own, as ``EmailMessage.add_attachment`` adds them."""
    end = _MIXED_END.search(content)
    if end is None:
        raise ValueError("not a multipart/mixed message written by message_bytes")
    delimiter = b"\n--" + end.group(1) + b"\n"
    added = []
    for attachment in attachments:
        part = EmailMessage()
        part.set_content(
            attachment.content,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
        )
        added.append(delimiter + part.as_bytes())
    return content[: end.start()] + b"".join(added) + content[end.start() :]
