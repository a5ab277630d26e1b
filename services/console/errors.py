"""Errors of the console.

::

    RelanceError
     └── ConsoleError
          ├── CsrfRefused   (web.security: a form without its token)
          ├── SignInNeeded  (web.pages: no valid session; the browser goes to sign-in)
          ├── SignInFailed  (web.oidc: the identity provider could not be used)
          └── PreviewUnavailable (notifier: a proposal's rendering could not be fetched)
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
