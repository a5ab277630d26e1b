"""Errors of the console.

::

    RelanceError
     └── ConsoleError
          ├── CsrfRefused   (web.security: a form without its token)
          ├── SignInNeeded  (web.pages: no valid session; the browser goes to sign-in)
          ├── SignInFailed  (web.oidc: the identity provider could not be used)
          ├── PreviewUnavailable (notifier: a proposal's rendering could not be fetched)
          └── SchedulerUnavailable (scheduler: a dry run or the library could not be read)
"""

from __future__ import annotations

from services.runtime.errors import RelanceError


class ConsoleError(RelanceError):
    """Base of every error the console raises on purpose."""


class CsrfRefused(ConsoleError):
    """The form was posted without its anti-forgery token, or with a wrong one."""


class SignInFailed(ConsoleError):
    """The identity provider's answer could not open a session."""


class SignInNeeded(ConsoleError):
    """No valid session: the browser is sent to the sign-in page."""


class PreviewUnavailable(ConsoleError):
    """The notifier did not serve a proposal's rendering (not configured, not rendered yet,
    refused, or away)."""


class SchedulerUnavailable(ConsoleError):
    """The scheduler did not answer an operators' route (not configured, refused, or away);
    ``status`` is its HTTP status (0: no answer) and ``error`` its error code, if any."""

    def __init__(self, detail: str, status: int = 0, error: str = "") -> None:
        self.status = status
        self.error = error
        super().__init__(detail)
