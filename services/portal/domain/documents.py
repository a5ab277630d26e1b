"""Invoice copies: whether fetched bytes may be served, and under which file name (pure)."""

from __future__ import annotations

import hashlib
import hmac
import re

from services.portal.errors import DocumentAltered

EXTENSIONS = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "application/xml": "xml",
    "text/xml": "xml",
}


def check_copy(body: bytes, sha256: str | None) -> None:
    """Refuses a copy whose bytes do not match the digest the ERP published with it."""
    if sha256 is None:
        return
    actual = hashlib.sha256(body).hexdigest()
    if not hmac.compare_digest(actual, sha256.lower()):
        raise DocumentAltered(f"the copy's SHA-256 is {actual}, the ERP published {sha256}")


def file_name(invoice_number: str, media_type: str) -> str:
    """A safe download name: the invoice number's letters, digits, dots and dashes."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", invoice_number).strip("-.") or "invoice"
    return f"{stem}.{EXTENSIONS.get(media_type, 'bin')}"
