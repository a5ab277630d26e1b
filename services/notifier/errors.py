"""The notifier's exceptions: one base, and the kinds of failure a delivery can meet.

::

    RelanceError                      (services.runtime.errors)
     └── NotifierError
          ├── TemplateConfigurationError  a template is missing or does not render at load
          ├── TemplateNotFound            no template for a reminder's name and language
          ├── CompanyConfigurationError   the companies file is unreadable or invalid
          ├── UnknownCompany              no creditor identity for a reminder's company
          ├── DeliveryError               a channel could not hand a message over (retryable?)
          ├── CipherError                 an AR24 reply that does not decrypt (also ValueError)
          ├── CallTaskConflict            a call task already closed with another outcome
          ├── UnknownParagraph            an edit rewrites a paragraph no template part offers
          └── ListeningLost               the dispatcher's listening connection closed
"""

from __future__ import annotations

from services.runtime.errors import RelanceError


class NotifierError(RelanceError):
    """Base of the notifier's errors."""


class TemplateConfigurationError(NotifierError):
    """A template is missing or does not render: a configuration error found at load time."""


class TemplateNotFound(NotifierError):
    """No template for a reminder's template name (or level) and language."""


class CompanyConfigurationError(NotifierError):
    """The companies file (the creditor identities) is unreadable or invalid."""


class UnknownCompany(NotifierError):
    """No creditor identity is configured for the company of a message."""

    def __init__(self, reason: str, *, company_code: str) -> None:
        super().__init__(reason)
        self.company_code = company_code


class DeliveryError(NotifierError):
    """A channel could not hand a message over to its provider."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class CipherError(NotifierError, ValueError):
    """An AR24 reply that does not decrypt (wrong key, date or truncated body)."""


class CallTaskConflict(NotifierError):
    """The task was already closed with another outcome."""


class UnknownParagraph(NotifierError):
    """An edit rewrites a paragraph the template does not offer to rewrite."""


class ListeningLost(NotifierError):
    """The dispatcher's listening connection closed (the server ended it, or it broke): the
    dispatcher listens again on a new one, and its lanes poll meanwhile."""
