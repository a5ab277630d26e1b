"""Documents a customer attaches to a dispute: what they are, read from their content.

A file's name and the type the browser declared prove nothing; its first bytes do. PDF
(``%PDF-``), PNG (its eight-byte signature) and JPEG (``FF D8 FF``) are accepted, anything
else is refused, as are empty files, files above the size limit and more than the
allowed number. Pure: the bytes in, the checked attachments (with their digest and their
key in the document store) or a field error out.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from contracts.disputes import AttachmentType
from services.portal.domain.forms import FieldError

SIGNATURES: tuple[tuple[bytes, AttachmentType], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
EXTENSIONS: dict[AttachmentType, str] = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
}


@dataclass(frozen=True)
class CheckedAttachment:
    file_name: str
    media_type: AttachmentType
    body: bytes
    sha256: str

    def reference(self, customer_id: str, dispute_id: str, number: int) -> str:
        """Its key in the document store: the customer's disputes, this dispute, in order."""
        customer = re.sub(r"[^A-Za-z0-9._-]+", "_", customer_id)
        extension = EXTENSIONS[self.media_type]
        return f"disputes/{customer}/{dispute_id}/{number}-{self.sha256[:16]}.{extension}"


def media_type_of(body: bytes) -> AttachmentType | None:
    for signature, media_type in SIGNATURES:
        if body.startswith(signature):
            return media_type
    return None


def display_name(file_name: str) -> str:
    """The name shown to the dispute's owner: no path, no control characters, 200 at most."""
    base = re.split(r"[\\/]", file_name)[-1]
    cleaned = re.sub(r"[\x00-\x1f\x7f]+", "", base).strip()
    return (cleaned or "document")[:200]


def check_attachments(
    files: Sequence[tuple[str, bytes]], max_bytes: int, max_count: int
) -> list[CheckedAttachment] | FieldError:
    if len(files) > max_count:
        return FieldError("attachment_too_many", {"max": max_count})
    checked = []
    for file_name, body in files:
        if len(body) > max_bytes:
            return FieldError(
                "attachment_too_large", {"name": display_name(file_name), "max": max_bytes // 2**20}
            )
        media_type = media_type_of(body)
        if media_type is None:
            return FieldError("attachment_type", {"name": display_name(file_name)})
        checked.append(
            CheckedAttachment(
                display_name(file_name), media_type, body, hashlib.sha256(body).hexdigest()
            )
        )
    return checked
