"""The notifier's exceptions: one base, and the kinds of failure a delivery can meet."""

from __future__ import annotations

from services.runtime.errors import RelanceError


class NotifierError(RelanceError):
    """Base of the notifier's errors."""


class TemplateConfigurationError(NotifierError):
    """A template is missing or does not render: a configuration error found at load time."""


class TemplateNotFound(NotifierError):
    """No template for a reminder's template name (or level) and language."""


class DeliveryError(NotifierError):
    """A channel could not hand a message over to its provider."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
