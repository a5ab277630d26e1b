"""Settings of the notifier service (environment prefix `RELANCE_NOTIFIER_`)."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.dunning import DunningLevel, InternalRole
from services.notifier.composing.companies import CompanyIdentity, load_companies
from services.notifier.composing.rendering import DEFAULT_TEMPLATES
from services.runtime.auth import AuthSettings
from services.runtime.business_days import SendingWindow
from services.runtime.settings import ServiceSettings
from services.runtime.signed_links import SignedLinkSettings


def _prefixed(group: str) -> SettingsConfigDict:
    return SettingsConfigDict(
        env_prefix=f"RELANCE_NOTIFIER_{group}_", extra="ignore", validate_by_name=True
    )


def _env(name: str) -> str:
    """The environment variable of a field whose name does not follow its group's prefix
    (kept from when the notifier's settings were flat)."""
    return f"RELANCE_NOTIFIER_{name}"


class SmtpSettings(BaseSettings):
    """Email over SMTP (``RELANCE_NOTIFIER_SMTP_*``); with no host the email channel reports
    itself unavailable."""

    model_config = _prefixed("SMTP")

    host: str | None = None
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = Field(
        default="starttls", description="STARTTLS on 587, implicit TLS on 465, or none."
    )
    username: str | None = None
    password: SecretStr | None = None
    timeout_s: float = Field(default=30.0, gt=0)
    cafile: Path | None = None
    connections: int = Field(
        default=4,
        ge=0,
        description=(
            "SMTP sessions kept open and reused, one message at a time each (0: a new session "
            "per message). A reused session saves the connection, EHLO, STARTTLS and login."
        ),
    )
    idle_s: float = Field(
        default=30.0,
        gt=0,
        description="A session idle longer than this is closed rather than reused.",
    )


class EmailSettings(BaseSettings):
    """What every email carries, and the bounce endpoint."""

    model_config = _prefixed("EMAIL")

    sender: str = Field(default="relances@example.com", validation_alias=_env("EMAIL_FROM"))
    message_id_domain: str = Field(
        default="relance.invalid",
        validation_alias=_env("MESSAGE_ID_DOMAIN"),
        description="Right-hand side of the deterministic Message-ID.",
    )
    cc_other_contacts_levels: tuple[DunningLevel, ...] = Field(
        default=("level_2", "formal_notice"),
        validation_alias=_env("CC_OTHER_CONTACTS_LEVELS"),
        description="Levels at which the customer's other contacts are copied.",
    )
    bounce_webhook_token: SecretStr | None = Field(
        default=None,
        validation_alias=_env("BOUNCE_WEBHOOK_TOKEN"),
        description=(
            "Shared token of POST /email/bounces (header X-Relance-Token), where the mail "
            "system posts delivery status notifications; none disables the endpoint."
        ),
    )


class TwilioSettings(BaseSettings):
    """SMS through Twilio (``RELANCE_NOTIFIER_TWILIO_*``, ``RELANCE_NOTIFIER_SMS_*``); with no
    account the SMS channel reports itself unavailable."""

    model_config = _prefixed("TWILIO")

    account_sid: str | None = None
    auth_token: SecretStr | None = None
    sms_from: str | None = Field(
        default=None, validation_alias=_env("SMS_FROM"), description="The sending number, E.164."
    )
    status_callback_url: str | None = Field(
        default=None,
        validation_alias=_env("SMS_STATUS_CALLBACK_URL"),
        description="The public URL of POST /sms/status, as Twilio signs it.",
    )
    inbound_url: str | None = Field(
        default=None,
        validation_alias=_env("SMS_INBOUND_URL"),
        description="The public URL of POST /sms/inbound (the number's incoming-message "
        "webhook, where Twilio reports STOP and START), as Twilio signs it.",
    )
    base_url: str | None = Field(
        default=None, description="Another base URL for Twilio's API (a test double)."
    )


class LettersSettings(BaseSettings):
    """Letters dropped for the in-house print room (postal and registered letters)."""

    model_config = _prefixed("LETTERS")

    drop_dir: Path | None = None


class MailevaSettings(BaseSettings):
    """Postal and registered letters through Maileva's API; when configured, Maileva sends
    the letters and the file drop is not used for them."""

    model_config = _prefixed("MAILEVA")

    api_url: str | None = Field(
        default=None,
        description="https://api.maileva.com, or https://api.sandbox.maileva.net to test.",
    )
    auth_url: str = (
        "https://connexion.maileva.com/auth/realms/services/protocol/openid-connect/token"
    )
    client_id: str | None = None
    client_secret: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    notification_email: str | None = Field(
        default=None, description="Where Maileva sends deposit proofs and notifications."
    )
    poll_interval_s: float = Field(
        default=3600.0, gt=0, description="How often letters in transit are followed up."
    )


class Ar24Settings(BaseSettings):
    """Electronic registered letters [LRE] through AR24's API; with no API URL, token,
    private key and sender account the channel reports itself unavailable."""

    model_config = _prefixed("AR24")

    api_url: str | None = Field(
        default=None,
        description="https://app.ar24.fr/api, or https://sandbox.ar24.fr/api to test.",
    )
    token: SecretStr | None = None
    private_key: SecretStr | None = Field(
        default=None, description="Signs each call and decrypts AR24's replies."
    )
    sender_user_id: str | None = Field(
        default=None, description="The AR24 account (`id_user`) the letters are sent from."
    )
    eidas: bool = Field(
        default=True,
        description="eIDAS-qualified letters (equivalent to a paper registered letter; they "
        "need the sender's OTP key); false sends AR24's simple, non-qualified LRE.",
    )
    otp_secret: SecretStr | None = Field(
        default=None,
        description="The sender's OTP key (base32) that AR24 posted to the sender, for eIDAS.",
    )
    timeout_s: float = Field(default=60.0, gt=0, description="AR24's own timeout is 60 s.")
    poll_interval_s: float = Field(
        default=3600.0, gt=0, description="How often letters not yet final are followed up."
    )


class NotifierSettings(ServiceSettings):
    """The notifier's settings, one nested group per channel or provider, each read from its
    own environment prefix like the kit's ``KafkaSettings`` (the variable names are those
    of docs/notifier.md)."""

    model_config = SettingsConfigDict(env_prefix="RELANCE_NOTIFIER_", extra="ignore")

    http_port: int = 8083

    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    twilio: TwilioSettings = Field(default_factory=TwilioSettings)
    links: SignedLinkSettings = Field(
        default_factory=SignedLinkSettings,
        description="The customers' links to the portal in interactive emails "
        "(`RELANCE_LINKS_*`, shared with the portal).",
    )
    letters: LettersSettings = Field(default_factory=LettersSettings)
    maileva: MailevaSettings = Field(default_factory=MailevaSettings)
    ar24: Ar24Settings = Field(default_factory=Ar24Settings)
    auth: AuthSettings = Field(
        default_factory=AuthSettings,
        description="Who may use the call tasks and the proof archive (`RELANCE_AUTH_*`).",
    )

    # Rendering
    templates_dir: Path = DEFAULT_TEMPLATES
    fallback_language: str = Field(
        default="en",
        description="The language of a customer whose language has no templates.",
    )
    customer_languages: tuple[str, ...] = Field(
        default=("fr", "en", "de", "es", "it"),
        description="The languages customers are configured with: every template a "
        "scenario cites must exist in each (relance notifier templates check).",
    )
    companies_file: Path | None = Field(
        default=None,
        description="The YAML file of the creditor companies' identities (docs/notifier.md, "
        "Companies): legal name, address, registration, VAT, bank details, letters' sender, "
        "logo and signatory, and each company's country, which decides its late-payment law.",
    )
    companies: dict[str, CompanyIdentity] = Field(
        default_factory=dict,
        description="The identities by company code; read from companies_file when it is set.",
    )
    reference_rates_refresh_s: float = Field(
        default=300.0, gt=0, description="How often statements see newly consumed rates."
    )

    # Dispatching
    dispatch_interval_s: float = Field(default=1.0, gt=0)
    dispatch_concurrency: int = Field(
        default=2,
        ge=1,
        description=(
            "Lanes one replica dispatches side by side (each claims, composes, sends and "
            "records on its own), as replicas do. Two reach 100 emails/s with their PDF on "
            "two cores with a duplicate window no wider than one delivery at a time had "
            "before composing moved to workers; more widen it (docs/notifier.md)."
        ),
    )
    dispatch_look_ahead: int = Field(
        default=0,
        ge=0,
        description=(
            "Deliveries a lane claims and composes ahead while it sends one: the final "
            "check, the provider call and the record of the outcome stay one at a time per "
            "lane, so the duplicate window stays one delivery's (0: claim the next one only "
            "once the last is recorded)."
        ),
    )
    composing_workers: int | None = Field(
        default=None,
        ge=0,
        description=(
            "Processes composing emails with their PDF (default: the machine's cores; 0: "
            "compose in the service's own process)."
        ),
    )
    composing_nice: int = Field(
        default=0,
        ge=0,
        le=19,
        description=(
            "How much lower the composing workers' CPU priority is than the service's "
            "(Unix niceness added at their start), so that sending and recording a message "
            "are not kept waiting for a core by composing (0: the same priority)."
        ),
    )
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
        "`manager` is copied when a reminder is escalated; `collector` receives the "
        "reminders of proposals nobody decided yet.",
    )
    internal_language: str = Field(
        default="fr", description="The language of internal notices (owner reminders)."
    )
    sending_lease_s: float = Field(
        default=300.0, gt=0, description="After this, a delivery left 'sending' is retried."
    )
    sending_lease_margin_s: float = Field(
        default=60.0,
        gt=0,
        description="The least of its lease a delivery must have left at its final check "
        "(for the provider call and the record): one claimed ahead that waited longer for "
        "its turn goes back to the claim instead of being sent.",
    )

    # When a message may reach a customer (mirrors the scheduler's settings of the same name)
    window_start: time = Field(
        default=time(9, 0), description="Start of the customer's local sending window."
    )
    window_end: time = Field(
        default=time(18, 0), description="End of the customer's local sending window."
    )
    min_contact_gap_hours: float = Field(
        default=20.0,
        ge=0,
        description="Least time between two deliveries to one customer when held ones are "
        "released on resume (the scheduler's setting of the same name).",
    )
    default_country: str = Field(
        default="FR", description="Business days of a customer whose country is not known yet."
    )
    default_time_zone: str = Field(
        default="Europe/Paris", description="Time zone of a customer not known yet."
    )

    @model_validator(mode="after")
    def _lease_outlasts_its_margin(self) -> NotifierSettings:
        if self.sending_lease_margin_s >= self.sending_lease_s:
            raise ValueError("sending_lease_margin_s must be shorter than sending_lease_s")
        return self

    @model_validator(mode="after")
    def _read_companies(self) -> NotifierSettings:
        if self.companies_file is not None:
            self.companies = {**load_companies(self.companies_file), **self.companies}
        return self

    @property
    def sending_window(self) -> SendingWindow:
        return SendingWindow(self.window_start, self.window_end)

    @property
    def min_contact_gap(self) -> timedelta:
        return timedelta(hours=self.min_contact_gap_hours)
