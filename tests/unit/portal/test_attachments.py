"""Documents attached to a dispute: their type read from their content, sizes, counts."""

from __future__ import annotations

from services.portal.domain.attachments import (
    CheckedAttachment,
    check_attachments,
    display_name,
    media_type_of,
)
from services.portal.domain.forms import FieldError

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


def test_the_type_is_read_from_the_content_not_the_name() -> None:
    assert media_type_of(PDF) == "application/pdf"
    assert media_type_of(PNG) == "image/png"
    assert media_type_of(JPEG) == "image/jpeg"
    assert media_type_of(b"<html><script>alert(1)</script>") is None
    assert media_type_of(b"MZ\x90\x00") is None  # a Windows program
    assert media_type_of(b"") is None
    refused = check_attachments([("facture.pdf", b"<html>not a pdf</html>")], 1024, 3)
    assert refused == FieldError("attachment_type", {"name": "facture.pdf"})


def test_accepted_documents_carry_their_digest_and_a_key_under_the_dispute() -> None:
    checked = check_attachments([("bon.pdf", PDF), ("photo.png", PNG)], 1024, 3)
    assert isinstance(checked, list)
    assert [(a.file_name, a.media_type) for a in checked] == [
        ("bon.pdf", "application/pdf"),
        ("photo.png", "image/png"),
    ]
    first: CheckedAttachment = checked[0]
    assert len(first.sha256) == 64
    assert first.reference("C/../1", "d-1", 1) == f"disputes/C_.._1/d-1/1-{first.sha256[:16]}.pdf"


def test_too_large_or_too_many_documents_are_refused() -> None:
    assert check_attachments([("big.pdf", PDF + b"x" * 2048)], 1024, 3) == FieldError(
        "attachment_too_large", {"name": "big.pdf", "max": 0}
    )
    assert check_attachments([("a.pdf", PDF)] * 4, 1024, 3) == FieldError(
        "attachment_too_many", {"max": 3}
    )
    assert check_attachments([], 1024, 3) == []


def test_a_file_name_is_shown_without_its_path_or_control_characters() -> None:
    assert display_name("C:\\Users\\anna\\bon 7.pdf") == "bon 7.pdf"
    assert display_name("../../etc/passwd") == "passwd"
    assert display_name("a\x00b\nc.pdf") == "abc.pdf"
    assert display_name("") == "document"
    assert len(display_name("x" * 500)) == 200
