"""Errors of the console.

::

    RelanceError
     └── ConsoleError
          ├── CsrfRefused   (web.security: a form without its token)
          ├── SignInNeeded  (web.pages: no valid session; the browser goes to sign-in)
          ├── SignInFailed  (web.oidc: the identity provider could not be used)
          ├── CallOutcomeRefused      (call_outcomes: the notifier refused the outcome)
          └── CallOutcomeUnavailable  (call_outcomes: the notifier could not be reached)
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


class CallOutcomeRefused(ConsoleError):
    """The notifier refused the call's outcome (a task closed with another outcome, a
    portfolio it does not cover, a field it rejects)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"refused with {status}: {detail}")
        self.status = status
        self.detail = detail


class CallOutcomeUnavailable(ConsoleError):
    """The notifier could not be reached to record the call's outcome."""
