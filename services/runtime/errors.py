"""Exceptions of the runtime kit.

::

    RelanceError
     ├── ConfigurationError      settings or files that cannot work
     ├── TransientError          worth retrying: the database or the broker is unavailable
     ├── MigrationError          a schema migration failed
     └── SupervisedTaskFailed    a background task of a service stopped; the service stops

Adapters translate driver exceptions into these with ``raise ... from exc``. A docstring is
the message of each class when it is raised without one.
"""

from __future__ import annotations


class RelanceError(Exception):
    """Relance failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


class ConfigurationError(RelanceError):
    """The configuration cannot work."""


class TransientError(RelanceError):
    """A dependency is unavailable for now; retrying may succeed."""


class MigrationError(RelanceError):
    """A schema migration failed."""


class SupervisedTaskFailed(RelanceError):
    """A background task of the service stopped."""
