"""Exceptions of the ingestion service.

::

    IngestionError
     ├── Inapplicable         a valid ERP event that the ledger cannot apply (dead-lettered)
     └── NotUnmatched         an operator named a document that is not waiting for invoices
"""

from __future__ import annotations

from services.runtime.errors import RelanceError


class IngestionError(RelanceError):
    """Ingestion failed."""


class Inapplicable(IngestionError):
    """A valid ERP event that the ledger cannot apply; ``reason`` is machine-readable."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class NotUnmatched(IngestionError):
    """No payment or credit note with this company, kind and id is waiting for invoices."""
