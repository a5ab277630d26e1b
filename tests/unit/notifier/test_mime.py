"""The MIME message written directly (``message_bytes``) against the one the standard
library builds and serialises (``build_message(...).as_bytes()``): the same bytes but the
random boundaries, and the same message when parsed back."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.notifier.composing.composer import EmailComposer
from services.notifier.composing.mime import (
    Attachment,
    build_message,
    header_line,
    message_bytes,
    with_attachments,
)
from services.notifier.composing.rendering import RenderedEmail
from services.notifier.reference_rates import RateBook
from services.notifier.settings import NotifierSettings
from tests.unit.notifier.samples import NOW, reminder
from tests.unit.notifier.test_rendering import CUSTOMER

PDF = Attachment("statement-2026-03-02.pdf", bytes(range(256)) * 40)
LONG_FR = "Sauf erreur de notre part, les factures ci-dessous sont échues et restent impayées. " * 3
MESSAGE_ID = "<reminder-7c4900fd-bb1e-4745-bd62-9425a35adbe6.interactive_email@relance.invalid>"


def _unbounded(content: bytes) -> bytes:
    return re.sub(rb"={15}\d+==", b"BOUNDARY", content)


def _both(**message: object) -> tuple[bytes, bytes]:
    """Both messages' bytes, boundaries aside; a message the standard library refuses (a
    header with a line break) is refused alike."""
    try:
        built = build_message(**message).as_bytes()  # type: ignore[arg-type]
    except ValueError as refused:
        with pytest.raises(ValueError, match=re.escape(str(refused))):
            message_bytes(**message)  # type: ignore[arg-type]
        return b"", b""
    written = message_bytes(**message)  # type: ignore[arg-type]
    return _unbounded(written), _unbounded(built)


@pytest.mark.parametrize(
    "subject",
    [
        "Overdue invoices",
        "Relance : factures échues impayées \N{EN DASH} Relance Démo France SAS",
        "Förmliche Zahlungsaufforderung " * 4,
        "a plain ASCII subject long enough to be folded by the policy, " * 2,
        "=?utf-8?q?looks_encoded?=",
    ],
)
@pytest.mark.parametrize("text", ["Bonjour,\n\nshort\n", "court, échu\n", LONG_FR, "x" * 200, ""])
@pytest.mark.parametrize("sender", ["relances@example.com", "Relance Démo <relances@example.com>"])
@pytest.mark.parametrize(
    "cc", [(), ("achats@acme.example",), tuple(f"c{i}@x.example" for i in range(9))]
)
@pytest.mark.parametrize(
    "attachments", [(), (PDF,), (PDF, Attachment("notes, été.txt", b"x", "text", "plain"))]
)
def test_written_like_the_standard_library(
    subject: str, text: str, sender: str, cc: tuple[str, ...], attachments: tuple[Attachment, ...]
) -> None:
    written, built = _both(
        sender=sender,
        to=("compta@acme.example",),
        cc=cc,
        rendered=RenderedEmail(subject, text, f"<html><body><p>{text}</p></body></html>"),
        message_id=MESSAGE_ID,
        sent_at=datetime(2026, 3, 2, 8, 0, tzinfo=timezone(timedelta(hours=1))),
        attachments=attachments,
    )
    assert written == built


@settings(max_examples=60, deadline=None)
@given(
    subject=st.text(st.characters(min_codepoint=32, max_codepoint=0x24F), max_size=120),
    text=st.text(max_size=400),
    local=st.from_regex(r"[a-z0-9_%+-]{1,30}(\.[a-z0-9]{1,10})?", fullmatch=True),
    offset=st.integers(-14 * 60, 14 * 60),
)
def test_any_subject_and_body(subject: str, text: str, local: str, offset: int) -> None:
    written, built = _both(
        sender="relances@example.com",
        to=(f"{local}@client.example",),
        cc=(),
        rendered=RenderedEmail(subject.strip() or "x", text, text),
        message_id=f"<reminder-{local}.email@relance.invalid>",
        sent_at=datetime(2026, 3, 2, 8, 0, tzinfo=timezone(timedelta(minutes=offset))),
        attachments=(PDF,),
    )
    assert written == built


ADDRESS = r"[a-zA-Z0-9_%+.-]{1,25}@[a-z0-9.-]{1,25}"


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(["From", "To", "Cc", "Subject", "Message-ID", "Date"]),
    value=st.one_of(
        st.from_regex(r"[!-~]{1,40}( [!-~]{1,40}){0,4}", fullmatch=True),
        st.from_regex(rf"{ADDRESS}(, {ADDRESS}){{0,4}}", fullmatch=True),
        st.from_regex(rf"<{ADDRESS}>", fullmatch=True),
        st.datetimes(timezones=st.timezones()).map(format_datetime),
    ),
)
@example(name="Date", value="Thu, 01 Jan 0099 00:00:00 +0000")  # the policy: 1999
def test_a_plain_header_as_the_policy_folds_it(name: str, value: str) -> None:
    try:
        parsed = policy.default.header_store_parse(name, value)[1]
        expected = policy.default.fold_binary(name, parsed)
    except Exception as exc:  # the policy refuses it: so does header_line, by the policy
        with pytest.raises(type(exc)):
            header_line(name, value)
        return
    assert header_line(name, value) == expected


@given(length=st.integers(1, 120))
def test_a_message_id_of_any_length(length: int) -> None:
    value = f"<{'r' * length}@relance.invalid>"
    parsed = policy.default.header_store_parse("Message-ID", value)[1]
    assert header_line("Message-ID", value) == policy.default.fold_binary("Message-ID", parsed)


def _meaning(message: EmailMessage) -> list[tuple[object, ...]]:
    """Every part's headers (decoded) and content, boundaries aside."""
    meaning: list[tuple[object, ...]] = []
    for part in message.walk():
        headers = tuple(
            (name, str(value))
            for name, value in part.items()
            if name != "Content-Type" or not part.is_multipart()
        )
        content = None if part.is_multipart() else part.get_content()
        meaning.append((part.get_content_type(), headers, part.get_filename(), content))
    return meaning


def test_the_composed_email_parses_back_to_the_same_message() -> None:
    composer = EmailComposer.load(NotifierSettings(), RateBook())
    for language in ("fr", "de", "en"):
        item = reminder("INV-1", "INV-2", language=language)
        composed = composer.compose(item, item.invoices, CUSTOMER, NOW)
        parsed = message_from_bytes(composed.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        parts = list(parsed.walk())
        pdf = parts[-1].get_content()
        built = build_message(
            sender=composer.settings.email.sender,
            to=composed.recipients.to,
            cc=composed.recipients.cc,
            rendered=_rendered(parts),
            message_id=composed.message_id,
            sent_at=NOW,
            attachments=(Attachment(str(parts[-1].get_filename()), pdf),),
        )
        before = message_from_bytes(built.as_bytes(), policy=policy.default)
        assert isinstance(before, EmailMessage)
        assert _meaning(parsed) == _meaning(before)
        assert [p.get_content_type() for p in parts] == [
            "multipart/mixed",
            "multipart/alternative",
            "text/plain",
            "text/html",
            "application/pdf",
        ]
        assert parsed["Message-ID"].strip() == composed.message_id
        assert parsed["Subject"] == _rendered(parts).subject
        assert pdf.startswith(b"%PDF")
        assert max(len(line) for line in composed.content.split(b"\n")) <= 998
        assert composed.content.isascii()


def _rendered(parts: list[EmailMessage]) -> RenderedEmail:
    return RenderedEmail(str(parts[0]["Subject"]), parts[2].get_content(), parts[3].get_content())


def test_files_added_as_add_attachment_adds_them() -> None:
    message = {
        "sender": "relances@example.com",
        "to": ("compta@acme.example",),
        "cc": (),
        "rendered": RenderedEmail("Relance", "Bonjour\n", "<p>Bonjour</p>"),
        "message_id": MESSAGE_ID,
        "sent_at": datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        "attachments": (PDF,),
    }
    files = (
        Attachment("contrat signé.pdf", b"%PDF-1.4 signed"),
        Attachment("notes.txt", b"a line\n", "text", "plain"),
    )
    written = with_attachments(message_bytes(**message), files)  # type: ignore[arg-type]
    built = build_message(**message)  # type: ignore[arg-type]
    for file in files:
        built.add_attachment(
            file.content, maintype=file.maintype, subtype=file.subtype, filename=file.filename
        )
    assert _unbounded(written) == _unbounded(built.as_bytes())
