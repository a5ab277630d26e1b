"""Exceptions of the ingestion service.

::

    IngestionError
     └── Inapplicable         a valid ERP event that the ledger cannot apply (dead-lettered)
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
