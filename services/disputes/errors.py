"""The disputes service's exceptions.

::

    RelanceError
     └── DisputesError
          ├── CommandRejected        a valid command that cannot be applied to the current state
          │    ├── NotFound          it names a dispute the service does not know
          │    └── VersionConflict   it was based on another version of the dispute
          └── ApiError               an HTTP request refused before any command (api.py)

A rejected command changes nothing: on Kafka it is dead-lettered with ``reason`` (and
counted), over HTTP it is answered with a 4xx and ``{"error": reason, "detail": ...}``.
"""

from __future__ import annotations

from services.runtime.errors import RelanceError


class DisputesError(RelanceError):
    """The disputes service failed."""


class CommandRejected(DisputesError):
    """The command cannot be applied."""

    status = 409

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


class NotFound(CommandRejected):
    """No such dispute."""

    status = 404


class VersionConflict(CommandRejected):
    """The dispute changed since the caller read it."""

    status = 409
