"""Exceptions of the runtime kit.

::

    RelanceError
     ├── ConfigurationError      settings or files that cannot work
     │    └── EmptySendingWindow a sending window that ends before it starts (*, ValueError)
     ├── TransientError          worth retrying: the database or the broker is unavailable
     │    └── WriteConflict      a concurrent transaction wrote the same key first: retry
     ├── MigrationError          a schema migration failed
     ├── SupervisedTaskFailed    a background task of a service stopped; the service stops
     ├── DeadLetterLimitExceeded too many records dead-lettered; the consumer stopped
     ├── DlqError                bad input to ``relance dlq`` (unknown topic, no such record)
     ├── LatePaymentError        late-payment rules given bad input (``late_payment``)
     │    ├── NoReferenceRate    no reference rate known for a half-year of the claim
     │    └── InvalidInterestRatesFile  a reference rates file with bad lines (``reference_rates``)
     ├── LinkRefused             a customer's signed link does not open (``signed_links``)
     │    ├── LinkTampered       changed, or signed with a key no longer listed: 403
     │    └── LinkExpired        older than its lifetime: 410
     └── AuthError               an HTTP request's credentials (``identity``, ``auth``)
          ├── Unauthenticated    no valid credential: 401 with ``WWW-Authenticate: Bearer``
          ├── Refused            the role or the portfolio does not allow it: 403, counted
          ├── SignInThrottled    too many failed sign-ins: 429
          └── IdentityProviderUnavailable  the provider's keys cannot be fetched: 503

``RelanceError`` is also the runtime kit's own base. Each service has its base right under
it (``IngestionError``, ``SchedulerError``, ``NotifierError``, ``DisputesError``,
``ReportingError``, ``PortalError``), and every exception a service defines sits under that
base; the tree at the top of each service's ``errors.py`` lists them.

Adapters translate driver exceptions into these with ``raise ... from exc``. A docstring is
the message of each class when it is raised without one. A broken invariant in the code
itself (a bug, not bad input) raises a built-in ``ValueError`` or ``TypeError`` and crashes.
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


class WriteConflict(TransientError):
    """A concurrent transaction wrote the same key first; the work is retried and reads it."""


class MigrationError(RelanceError):
    """A schema migration failed."""


class SupervisedTaskFailed(RelanceError):
    """A background task of the service stopped."""


class DeadLetterLimitExceeded(RelanceError):
    """Too many records are being dead-lettered; the consumer stopped to protect the topic."""


class EmptySendingWindow(ConfigurationError, ValueError):
    """A sending window that ends before it starts."""


class DlqError(RelanceError):
    """Bad input to ``relance dlq``: an unknown topic, a position that holds no dead letter."""


class LatePaymentError(RelanceError, ValueError):
    """Late-payment interest or indemnity asked with inputs the rules cannot work with."""


class NoReferenceRate(LatePaymentError):
    """No reference interest rate is known for a half-year the claim runs through."""
