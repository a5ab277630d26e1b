"""Signed links for a dispute's internal owner (sales, order administration...): scoped to
one dispute, without an account or an API key.

The same keys as the customers' links (``RELANCE_LINKS_KEYS``, rotation included) but
another salt, so a customer's link never opens a dispute and a dispute's link never opens
an account; a link older than ``RELANCE_LINKS_VALID_DAYS`` is expired. A link is
``<base_url>/portal/dispute/<token>``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from services.runtime.clock import Clock
from services.runtime.errors import ConfigurationError
from services.runtime.signed_links import (
    CustomerLinks,
    LinkExpired,
    LinkTampered,
    SignedLinkSettings,
)

SALT = "relance.portal.dispute-owner"


def _signer_on(clock: Clock) -> type[TimestampSigner]:
    class ClockedSigner(TimestampSigner):
        """``itsdangerous``'s timestamp signer, reading the injected clock."""

        def get_timestamp(self) -> int:
            return int(clock.now().timestamp())

    return ClockedSigner


class DisputeLinks:
    """Mints and checks the links to one dispute's owner page."""

    def __init__(self, settings: SignedLinkSettings, clock: Clock) -> None:
        CustomerLinks(settings, clock)  # the same checks of the keys
        self.settings = settings
        self.clock = clock
        self.valid_for = timedelta(days=settings.valid_days)
        self._serializer: URLSafeTimedSerializer = URLSafeTimedSerializer(
            [key.get_secret_value() for key in settings.keys],
            salt=SALT,
            signer=_signer_on(clock),
        )

    def token(self, dispute_id: uuid.UUID) -> str:
        token: Any = self._serializer.dumps({"d": str(dispute_id)})
        return str(token)

    def url(self, dispute_id: uuid.UUID) -> str:
        if not self.settings.base_url:
            raise ConfigurationError("no base URL for links (RELANCE_LINKS_BASE_URL)")
        return f"{self.settings.base_url.rstrip('/')}/portal/dispute/{self.token(dispute_id)}"

    def check(self, token: str) -> uuid.UUID:
        """The dispute ``token`` opens; raises :class:`LinkExpired` or :class:`LinkTampered`."""
        try:
            body, signed = self._serializer.loads(
                token, max_age=int(self.valid_for.total_seconds()), return_timestamp=True
            )
        except SignatureExpired as exc:
            raise LinkExpired() from exc
        except BadSignature as exc:
            raise LinkTampered() from exc
        if not isinstance(body, dict) or not isinstance(body.get("d"), str):
            raise LinkTampered()
        if signed.astimezone(UTC) > self.clock.now() + timedelta(minutes=5):
            raise LinkTampered()
        try:
            return uuid.UUID(body["d"])
        except ValueError as exc:
            raise LinkTampered() from exc
