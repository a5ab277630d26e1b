"""Exceptions of the portal.

::

    RelanceError
     └── PortalError            the portal failed
          ├── PageRefused       a request answered with an error page (status, message key)
          ├── BodyTooLarge      a request's body is larger than allowed (413)
          ├── PaymentRefused    a checkout or a payment webhook cannot be used (400)
          │    └── SignatureRefused  a webhook whose signature does not verify (400)
          ├── ProviderFailed    the payment provider did not answer as expected (502)
          ├── DocumentMissing   the document store has no such copy
          ├── DocumentStoreFailed  the document store did not answer as expected (502)
          ├── DocumentAltered   a copy whose bytes do not match the ERP's digest (502)
          └── BrandingError     the companies file cannot be used for the pages (at start)

Links that do not verify raise the kit's ``LinkExpired`` and ``LinkTampered``
(``services/runtime/signed_links.py``); the pages turn them into 410 and 403.
"""

from __future__ import annotations

from services.runtime.errors import RelanceError


class PortalError(RelanceError):
    """The portal failed."""


class PageRefused(PortalError):
    """This request is refused."""

    def __init__(self, status: int, title_key: str, text_key: str, language: str) -> None:
        super().__init__(f"{status} {title_key}")
        self.status = status
        self.title_key = title_key
        self.text_key = text_key
        self.language = language


class BodyTooLarge(PortalError):
    """The request's body is larger than allowed."""


class PaymentRefused(PortalError):
    """A checkout or a payment webhook cannot be used."""


class SignatureRefused(PaymentRefused):
    """A payment webhook's signature does not verify."""


class ProviderFailed(PortalError):
    """The payment provider did not answer as expected."""


class DocumentMissing(PortalError):
    """The document store has no such copy."""


class DocumentStoreFailed(PortalError):
    """The document store did not answer as expected."""


class DocumentAltered(PortalError):
    """The copy's bytes do not match the digest the ERP published."""


class BrandingError(PortalError):
    """The companies file cannot be used for the pages."""
