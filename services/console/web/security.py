"""What keeps the pages safe: the session cookie, the anti-forgery token, the headers.

- The session is the installation's own signed token (see :mod:`services.runtime.auth`)
  in a cookie that scripts cannot read (HttpOnly), sent only to this site (SameSite=Strict)
  and only over HTTPS (Secure, with the ``__Host-`` prefix that pins it to this host).
- Every form carries the value of a second such cookie as a hidden field
  (double-submit); a POST without it, or with another value, is refused with 403.
- Every answer carries a strict Content-Security-Policy: no script at all, styles only
  from this site, no framing; the pages need no JavaScript. The one thing they frame is a
  message's HTML, served by this site under a policy of its own that makes it a sandbox
  (:func:`protect_message`).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping

from fastapi import Request, Response

from services.console.errors import CsrfRefused

CSRF_FIELD = "csrf_token"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "frame-src 'self'",  # a message's HTML, served apart under MESSAGE_POLICY
    )
)

# A message's HTML (an email as the customer will read it), shown in a frame of the console's
# own pages and served with its own policy: a sandbox (an opaque origin, no script, no form,
# no popup, no navigation of the page around it) that loads nothing but its inline styles
# and inline images, framed by this site only.
MESSAGE_POLICY = "; ".join(
    (
        "sandbox",
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src data:",
        "form-action 'none'",
        "base-uri 'none'",
        "frame-ancestors 'self'",
    )
)

HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class Cookies:
    """The console's two cookies and how they are set."""

    def __init__(self, secure: bool, session_lifetime_s: int) -> None:
        self.secure = secure
        self.session_lifetime_s = session_lifetime_s
        prefix = "__Host-" if secure else ""
        self.session = f"{prefix}relance-console-session"
        self.csrf = f"{prefix}relance-console-csrf"
        self.language = f"{prefix}relance-console-language"
        self.pending = f"{prefix}relance-console-oidc"

    def _set(self, response: Response, name: str, value: str, max_age: int | None) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="strict",
        )

    def set_session(self, response: Response, token: str) -> None:
        self._set(response, self.session, token, self.session_lifetime_s)

    def clear_session(self, response: Response) -> None:
        response.delete_cookie(
            self.session, path="/", secure=self.secure, httponly=True, samesite="strict"
        )

    def set_pending(self, response: Response, value: str) -> None:
        """The OpenID Connect sign-in under way; Lax, since the provider brings the browser
        back from its own site with a top-level GET."""
        response.set_cookie(
            self.pending,
            value,
            max_age=600,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )

    def clear_pending(self, response: Response) -> None:
        response.delete_cookie(
            self.pending, path="/", secure=self.secure, httponly=True, samesite="lax"
        )

    def set_language(self, response: Response, language: str) -> None:
        self._set(response, self.language, language, 365 * 24 * 3600)

    def csrf_token(self, request: Request) -> tuple[str, bool]:
        """The request's anti-forgery token, and whether it is new (to be set as a cookie)."""
        current = request.cookies.get(self.csrf)
        if current and 20 <= len(current) <= 100:
            return current, False
        return new_csrf_token(), True

    def set_csrf(self, response: Response, token: str) -> None:
        self._set(response, self.csrf, token, None)

    def check_csrf(self, request: Request, submitted: object) -> None:
        """Raise :class:`CsrfRefused` unless the form's token matches the cookie's."""
        expected = request.cookies.get(self.csrf)
        if not expected or not isinstance(submitted, str) or not submitted:
            raise CsrfRefused("the form has no anti-forgery token")
        if not hmac.compare_digest(expected.encode(), submitted.encode()):
            raise CsrfRefused("the form's anti-forgery token does not match")


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def protect(response: Response, cache: bool = False) -> Response:
    """Add the security headers to ``response``; pages are never cached."""
    for name, value in HEADERS.items():
        response.headers[name] = value
    if not cache:
        response.headers["Cache-Control"] = "no-store"
    return response


def protect_message(response: Response) -> Response:
    """The headers of a message's HTML shown in a frame: its sandboxing policy, framed by
    this site only, never cached, and sending no referrer from its links."""
    for name, value in HEADERS.items():
        response.headers[name] = value
    response.headers["Content-Security-Policy"] = MESSAGE_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response
