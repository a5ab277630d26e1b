"""Settings of the notifier service (environment prefix `RELANCE_NOTIFIER_`)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from contracts.dunning import DunningLevel, InternalRole
from services.notifier.composing.rendering import DEFAULT_TEMPLATES
from services.runtime.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RELANCE_NOTIFIER_", extra="ignore")

    http_port: int = 8083

    # Email over SMTP; with no host the email channel reports itself unavailable.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls", description="STARTTLS on 587, implicit TLS on 465, or none."
    )
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_s: float = Field(default=30.0, gt=0)
    smtp_cafile: Path | None = None
    email_from: str = "relances@example.com"
    message_id_domain: str = Field(
        default="relance.invalid", description="Right-hand side of the deterministic Message-ID."
    )
    cc_other_contacts_levels: tuple[DunningLevel, ...] = Field(
        default=("level_2", "formal_notice"),
        description="Levels at which the customer's other contacts are copied.",
    )

    # SMS through Twilio; with no account the SMS channel reports itself unavailable.
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    sms_from: str | None = Field(default=None, description="The sending number, E.164.")
    sms_status_callback_url: str | None = Field(
        default=None,
        description="The public URL of POST /sms/status, as Twilio signs it.",
    )
    twilio_base_url: str | None = Field(
        default=None, description="Another base URL for Twilio's API (a test double)."
    )

    bounce_webhook_token: SecretStr | None = Field(
        default=None,
        description=(
            "Shared token of POST /email/bounces (header X-Relance-Token), where the mail "
            "system posts delivery status notifications; none disables the endpoint."
        ),
    )

    # Interactive email: the reminder with a personal link to the customer's page.
    portal_base_url: str | None = Field(
        default=None,
        description="The public URL under which /portal/... of this service is reachable.",
    )
    portal_secret: SecretStr | None = Field(
        default=None, description="Signs the personal links (at least 16 characters)."
    )
    portal_link_days: int = Field(default=30, ge=1, le=365)

    # Letters dropped for the in-house print room (postal and registered letters).
    letters_drop_dir: Path | None = None

    # Postal and registered letters through Maileva's API; when configured, Maileva sends
    # the letters and the file drop is not used for them.
    maileva_api_url: str | None = Field(
        default=None,
        description="https://api.maileva.com, or https://api.sandbox.maileva.net to test.",
    )
    maileva_auth_url: str = (
        "https://connexion.maileva.com/auth/realms/services/protocol/openid-connect/token"
    )
    maileva_client_id: str | None = None
    maileva_client_secret: SecretStr | None = None
    maileva_username: str | None = None
    maileva_password: SecretStr | None = None
    maileva_notification_email: str | None = Field(
        default=None, description="Where Maileva sends deposit proofs and notifications."
    )
    maileva_poll_interval_s: float = Field(
        default=3600.0, gt=0, description="How often letters in transit are followed up."
    )

    # Electronic registered letters [LRE] through AR24's API; with no API URL, token,
    # private key and sender account the channel reports itself unavailable.
    ar24_api_url: str | None = Field(
        default=None,
        description="https://app.ar24.fr/api, or https://sandbox.ar24.fr/api to test.",
    )
    ar24_token: SecretStr | None = None
    ar24_private_key: SecretStr | None = Field(
        default=None, description="Signs each call and decrypts AR24's replies."
    )
    ar24_sender_user_id: str | None = Field(
        default=None, description="The AR24 account (`id_user`) the letters are sent from."
    )
    ar24_eidas: bool = Field(
        default=True,
        description="eIDAS-qualified letters (equivalent to a paper registered letter; they "
        "need the sender's OTP key); false sends AR24's simple, non-qualified LRE.",
    )
    ar24_otp_secret: SecretStr | None = Field(
        default=None,
        description="The sender's OTP key (base32) that AR24 posted to the sender, for eIDAS.",
    )
    ar24_timeout_s: float = Field(default=60.0, gt=0, description="AR24's own timeout is 60 s.")
    ar24_poll_interval_s: float = Field(
        default=3600.0, gt=0, description="How often letters not yet final are followed up."
    )

    # Rendering
    templates_dir: Path = DEFAULT_TEMPLATES
    fallback_language: str = "en"
    creditor_name: str = "Relance Demo SAS"
    creditor_address: tuple[str, ...] = ("1 rue de la Paix", "75002 Paris", "France")
    creditor_email: str = "relances@example.com"
    creditor_phone: str | None = None
    creditor_registration: str | None = None
    creditor_iban: str | None = None
    creditor_bic: str | None = None
    ecb_rate_percent: Decimal = Field(
        default=Decimal("2.15"), description="The ECB refinancing rate of the current half-year."
    )
    penalty_margin_points: Decimal = Decimal(10)
    recovery_indemnity_eur: Decimal = Decimal(40)

    # Dispatching
    dispatch_interval_s: float = Field(default=1.0, gt=0)
    max_attempts: int = Field(default=8, ge=1)
    retry_base_s: float = Field(default=30.0, gt=0)
    retry_max_s: float = Field(default=3600.0, gt=0)
    channel_rates_per_s: dict[str, float] = Field(
        default_factory=lambda: {"email": 20.0, "sms": 5.0},
        description=(
            "Most sends a second per channel and process; a channel not listed is not limited."
        ),
    )
    internal_addresses: dict[InternalRole, str] = Field(
        default_factory=dict,
        description="Where a dispute's owner is reminded, by internal role (JSON map); "
        "`manager` is copied when a reminder is escalated.",
    )
    internal_language: str = Field(
        default="fr", description="The language of internal notices (owner reminders)."
    )
    sending_lease_s: float = Field(
        default=300.0, gt=0, description="After this, a delivery left 'sending' is retried."
    )
