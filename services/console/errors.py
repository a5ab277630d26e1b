"""Errors of the console.

::

    RelanceError
     └── ConsoleError
          └── CsrfRefused   (web.security: a form without its token)
"""

from __future__ import annotations

from services.runtime.errors import RelanceError


class ConsoleError(RelanceError):
    """Base of every error the console raises on purpose."""


class CsrfRefused(ConsoleError):
    """The form was posted without its anti-forgery token, or with a wrong one."""
