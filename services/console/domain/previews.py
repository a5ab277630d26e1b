"""What a collector reads of a proposal's rendering: a pure function of its bytes.

The notifier serves the exact bytes it would hand the provider (``GET
/proposals/{id}/{version}``): an email as ``message/rfc822``, a text message as the
provider's JSON request, a letter as ``application/pdf``. :func:`preview_of` reads them into
a :class:`Preview`: the subject, sender and recipients, the text the customer will read (the
plain body, else the HTML body's text), the HTML body (shown in a sandboxed frame) and
whether a PDF goes with it (offered as a download). Nothing here is trusted markup: the page
escapes the text, and the HTML is served only inside a frame that runs no script.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from html.parser import HTMLParser

PDF = "application/pdf"
MAX_TEXT = 100_000


@dataclass(frozen=True)
class Preview:
    """A rendering as the collector reads it."""

    media_type: str
    subject: str | None = None
    sender: str | None = None
    recipients: str | None = None
    text: str = ""
    html: str | None = None
    pdf_name: str | None = None  # a PDF goes with it (the letter itself, or attached)


class _Text(HTMLParser):
    """The text of an HTML body, paragraphs on their own lines, scripts and styles left out."""

    SKIPPED = frozenset({"script", "style", "head", "title"})
    BREAKS = frozenset({"p", "br", "div", "tr", "li", "h1", "h2", "h3", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self.skipping += 1
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED and self.skipping:
            self.skipping -= 1
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)

    def text(self) -> str:
        lines = (" ".join(line.split()) for line in "".join(self.parts).splitlines())
        return "\n".join(line for line in lines if line)


def text_of_html(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return parser.text()


def _email(content: bytes) -> Preview:
    message = BytesParser(policy=policy.default).parsebytes(content)
    assert isinstance(message, EmailMessage)
    plain = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    html = html_part.get_content() if html_part is not None else None
    text = text_of_html(html) if plain is None and html else ""
    if plain is not None:
        text = plain.get_content()
    pdf_name = None
    for part in message.iter_attachments():
        if part.get_content_type() == PDF:
            pdf_name = part.get_filename() or "document.pdf"
            break
    return Preview(
        media_type="message/rfc822",
        subject=str(message.get("Subject", "")) or None,
        sender=str(message.get("From", "")) or None,
        recipients=str(message.get("To", "")) or None,
        text=text[:MAX_TEXT],
        html=html,
        pdf_name=pdf_name,
    )


def preview_of(media_type: str, content: bytes) -> Preview:
    """The collector's reading of the rendered ``content``."""
    kind = media_type.split(";", 1)[0].strip().lower()
    if kind == "message/rfc822":
        return _email(content)
    if kind == PDF:
        return Preview(media_type=PDF, pdf_name="letter.pdf")
    if kind == "application/json":
        try:
            request = json.loads(content)
        except ValueError:
            request = {}
        if isinstance(request, dict):
            return Preview(
                media_type=kind,
                recipients=str(request.get("to", "")) or None,
                text=str(request.get("body", ""))[:MAX_TEXT],
            )
    return Preview(media_type=kind, text=content.decode("utf-8", "replace")[:MAX_TEXT])


def pdf_of(media_type: str, content: bytes) -> tuple[str, bytes] | None:
    """The PDF of a rendering: the letter itself, or the first PDF attached to an email."""
    kind = media_type.split(";", 1)[0].strip().lower()
    if kind == PDF:
        return "letter.pdf", content
    if kind != "message/rfc822":
        return None
    message = BytesParser(policy=policy.default).parsebytes(content)
    assert isinstance(message, EmailMessage)
    for part in message.iter_attachments():
        if part.get_content_type() == PDF:
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return part.get_filename() or "document.pdf", payload
    return None
