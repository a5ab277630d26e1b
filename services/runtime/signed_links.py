"""Signed links to a customer's account page: minted by the notifier, checked by the portal.

A link is ``<base_url>/portal/<token>``. The token carries the customer's id and the
invoicing company's code, and the instant it was signed, with an HMAC (``itsdangerous``'s
``URLSafeTimedSerializer``). There is one link per customer and company: the token names no
reminder, so every email to that customer from that company leads to the same account.

Keys rotate: ``RELANCE_LINKS_KEYS`` lists them separated by commas, oldest first; the last
key signs, every key in the list verifies. To rotate, append a new key, deploy, and drop
the oldest once the links it signed have expired. A link older than
``RELANCE_LINKS_VALID_DAYS`` is expired (:class:`LinkExpired`, the portal answers 410); a
link whose signature does not verify with any key is refused (:class:`LinkTampered`, 403).
Revoking the links of one customer and company is the portal's business (its revocation
list): it compares :attr:`CustomerLink.signed_at` with the revocation's instant.

A dispute's internal owner (sales, order administration...) gets a link too, scoped to that
one dispute (:class:`DisputeLinks`): the same keys, another salt, so a customer's link never
opens a dispute and a dispute's link never opens an account. It is
``<base_url>/portal/dispute/<token>``.

Both services import this module; neither imports the other.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from services.runtime.clock import Clock
from services.runtime.errors import ConfigurationError, RelanceError

SALT = "relance.portal.customer-account"
DISPUTE_SALT = "relance.portal.dispute-owner"
MIN_KEY_LENGTH = 32


class LinkRefused(RelanceError):
    """This link to the customer's account is not valid."""


class LinkTampered(LinkRefused):
    """This link was changed, or signed with a key that is no longer accepted."""


class LinkExpired(LinkRefused):
    """This link has expired."""

    def __init__(self, customer_id: str | None = None, company_code: str | None = None) -> None:
        super().__init__()
        # Who the expired link was for (its signature verified), to answer in their language.
        self.customer_id = customer_id
        self.company_code = company_code


class SignedLinkSettings(BaseSettings):
    """Keys and lifetime of the customers' links (``RELANCE_LINKS_*``), the same for the
    service that mints links (notifier) and the one that checks them (portal)."""

    model_config = SettingsConfigDict(env_prefix="RELANCE_LINKS_", extra="ignore")

    keys: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        default=(),
        description="Signing keys, oldest first, separated by commas; the last one signs.",
    )
    base_url: str | None = Field(
        default=None, description="Where the portal is reached from the internet."
    )
    valid_days: int = Field(default=45, ge=1, le=366)

    @field_validator("keys", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(key.strip() for key in value.split(",") if key.strip())
        return value

    @property
    def configured(self) -> bool:
        return bool(self.keys) and bool(self.base_url)


@dataclass(frozen=True)
class CustomerLink:
    """Who a valid link is for, and when it was signed."""

    customer_id: str
    company_code: str
    signed_at: datetime


def _signer_on(clock: Clock) -> type[TimestampSigner]:
    class ClockedSigner(TimestampSigner):
        """``itsdangerous``'s timestamp signer, reading the injected clock."""

        def get_timestamp(self) -> int:
            return int(clock.now().timestamp())

    return ClockedSigner


class CustomerLinks:
    """Mints and checks the signed links to customers' accounts."""

    def __init__(self, settings: SignedLinkSettings, clock: Clock) -> None:
        if not settings.keys:
            raise ConfigurationError("no signing key for customer links (RELANCE_LINKS_KEYS)")
        for position, key in enumerate(settings.keys):
            # checked here rather than by the settings model, whose errors show the input
            if len(key.get_secret_value()) < MIN_KEY_LENGTH:
                raise ConfigurationError(
                    f"RELANCE_LINKS_KEYS: key {position} has fewer than {MIN_KEY_LENGTH} characters"
                )
        self.settings = settings
        self.clock = clock
        self.valid_for = timedelta(days=settings.valid_days)
        self._serializer: URLSafeTimedSerializer = URLSafeTimedSerializer(
            [key.get_secret_value() for key in settings.keys],
            salt=SALT,
            signer=_signer_on(clock),
        )

    def token(self, customer_id: str, company_code: str) -> str:
        token: Any = self._serializer.dumps({"c": customer_id, "e": company_code})
        return str(token)

    def url(self, customer_id: str, company_code: str) -> str:
        if not self.settings.base_url:
            raise ConfigurationError("no base URL for customer links (RELANCE_LINKS_BASE_URL)")
        base = self.settings.base_url.rstrip("/")
        return f"{base}/portal/{self.token(customer_id, company_code)}"

    def expires_at(self, signed_at: datetime) -> datetime:
        return signed_at + self.valid_for

    def check(self, token: str) -> CustomerLink:
        """Who ``token`` is for; raises :class:`LinkExpired` or :class:`LinkTampered`."""
        now = self.clock.now()
        try:
            body, signed = self._serializer.loads(
                token, max_age=int(self.valid_for.total_seconds()), return_timestamp=True
            )
        except SignatureExpired as exc:
            body = self._serializer.load_payload(exc.payload) if exc.payload else None
            if isinstance(body, dict):
                raise LinkExpired(str(body.get("c")), str(body.get("e"))) from exc
            raise LinkExpired() from exc
        except BadSignature as exc:
            raise LinkTampered() from exc
        if not isinstance(body, dict) or not {"c", "e"} <= body.keys():
            raise LinkTampered()
        signed_at = signed.astimezone(UTC)
        if signed_at > now + timedelta(minutes=5):  # signed in the future: not ours
            raise LinkTampered()
        return CustomerLink(str(body["c"]), str(body["e"]), signed_at)


class DisputeLinks:
    """Mints (notifier) and checks (portal) the links to one dispute's owner page."""

    def __init__(self, settings: SignedLinkSettings, clock: Clock) -> None:
        CustomerLinks(settings, clock)  # the same checks of the keys
        self.settings = settings
        self.clock = clock
        self.valid_for = timedelta(days=settings.valid_days)
        self._serializer: URLSafeTimedSerializer = URLSafeTimedSerializer(
            [key.get_secret_value() for key in settings.keys],
            salt=DISPUTE_SALT,
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

    def form_token(self, dispute_id: uuid.UUID) -> str:
        """The hidden field the owner page's forms carry (a CSRF token): an HMAC of the
        dispute under its own salt, so only a page this portal served can post."""
        signer = TimestampSigner(
            [key.get_secret_value() for key in self.settings.keys], salt=DISPUTE_SALT + ".form"
        )
        return signer.get_signature(str(dispute_id).encode()).decode()

    def check_form_token(self, dispute_id: uuid.UUID, value: str) -> bool:
        signer = TimestampSigner(
            [key.get_secret_value() for key in self.settings.keys], salt=DISPUTE_SALT + ".form"
        )
        return signer.verify_signature(str(dispute_id).encode(), value.encode())
