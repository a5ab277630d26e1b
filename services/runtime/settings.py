"""Typed settings, read from the environment once at start and passed down.

Each component has its own class and prefix: ``KAFKA_*`` for the Kafka client,
``DATABASE_*`` for PostgreSQL, and ``RELANCE_<SERVICE>_*`` for a service's own settings
(each service subclasses :class:`ServiceSettings`). Nothing else reads the environment.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.errors import ConfigurationError

SettingsT = TypeVar("SettingsT", bound=BaseSettings)


class KafkaSettings(BaseSettings):
    """How to reach Kafka: plaintext on a laptop, TLS with SASL/SCRAM in production."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    client_id_prefix: str = "relance"

    @model_validator(mode="after")
    def _consistent(self) -> KafkaSettings:
        credentials = self.sasl_mechanism and self.sasl_username and self.sasl_password
        if self.security_protocol.startswith("SASL") and not credentials:
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.security_protocol} needs "
                "KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )
        return self

    def ssl_context(self) -> ssl.SSLContext | None:
        if "SSL" not in self.security_protocol:
            return None
        context = ssl.create_default_context(
            cafile=str(self.ssl_cafile) if self.ssl_cafile else None
        )
        if self.ssl_certfile:
            context.load_cert_chain(
                str(self.ssl_certfile), str(self.ssl_keyfile) if self.ssl_keyfile else None
            )
        return context

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments shared by aiokafka's producer, consumer and admin clients."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        context = self.ssl_context()
        if context is not None:
            options["ssl_context"] = context
        if self.sasl_mechanism:
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = (
                self.sasl_password.get_secret_value() if self.sasl_password else None
            )
        return options


class DatabaseSettings(BaseSettings):
    """How to reach PostgreSQL. TLS is set in the URL (``?sslmode=verify-full``)."""

    model_config = SettingsConfigDict(env_prefix="DATABASE_", extra="ignore")

    url: SecretStr = SecretStr("postgresql://relance:relance@127.0.0.1:5433/relance")
    pool_min_size: int = Field(default=1, ge=0)
    pool_max_size: int = Field(default=10, ge=1)
    command_timeout_s: float = Field(default=60.0, gt=0)


class ServiceSettings(BaseSettings):
    """What every service has. Subclasses set ``env_prefix="RELANCE_<SERVICE>_"``."""

    model_config = SettingsConfigDict(env_prefix="RELANCE_", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    clock: str = Field(
        default="system",
        description="`system` for the wall clock, `file:<path>` for a simulated clock "
        "whose current instant another process writes in that file (demo, tests).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    drain_timeout_s: float = Field(
        default=20.0, gt=0, description="How long SIGTERM waits for the current batch."
    )
    batch_max_records: int = Field(default=500, ge=1)
    batch_timeout_ms: int = Field(
        default=500,
        ge=1,
        description="How long an idle consumer waits for records before polling again; "
        "records arriving meanwhile start a batch at once, so a longer wait costs no "
        "latency, only fewer wake-ups.",
    )
    time_order: bool = Field(
        default=False,
        description="Read a backlog in the order its records were produced across topics "
        "and partitions (services.runtime.time_order): a batch takes no record from a "
        "partition more than `time_order_skew_ms` of record time ahead of the one furthest "
        "behind, for at most `time_order_max_hold_s`. Off: each partition as aiokafka "
        "fetches it.",
    )
    time_order_skew_ms: int = Field(default=1000, ge=0)
    time_order_max_hold_s: float = Field(default=5.0, gt=0)
    heartbeat_interval_ms: int = Field(
        default=500,
        ge=50,
        lt=10_000,
        description="How often the consumer tells Kafka's group coordinator it is alive "
        "(below aiokafka's session timeout of 10 s). The replicas of a group notice a "
        "rebalance (a replica started, stopped or gone) at their next heartbeat, and the "
        "partitions move only once every one has rejoined: at aiokafka's default of 3,000 "
        "a replica started a moment after another waited about 3 s with nothing to do.",
    )
    consumer_group: str = Field(
        default="",
        description="The Kafka consumer group; empty for `relance-<service>`. Two "
        "deployments sharing one Kafka cluster and its topics need distinct groups.",
    )
    dead_letter_max_ratio: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Stop consuming when more than this share of recent records is "
        "dead-lettered: a broken producer must not drain a topic into its DLQ.",
    )
    outbox_batch_size: int = Field(default=500, ge=1)
    gc_gen0_threshold: int = Field(
        default=50_000,
        ge=0,
        description="Once started, freeze the objects alive and collect the youngest "
        "generation every this many allocations (CPython's default: 700); 0 leaves the "
        "garbage collector as it is. See services/runtime/gc_tuning.py.",
    )
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)


def load(cls: type[SettingsT]) -> SettingsT:
    """Build settings once, turning validation errors into one clear configuration error.

    The error names the variables and says what is wrong with them, never their values:
    pydantic's own message quotes the input, which holds passwords and URLs with
    credentials. Neither is the original exception chained, for the same reason.
    """
    try:
        return cls()
    except ValidationError as exc:
        problem = describe_settings_error(cls, exc)
    except ValueError as exc:  # pydantic-settings' SettingsError: names the field only
        problem = str(exc)
    raise ConfigurationError(f"invalid settings for {cls.__name__}: {problem}") from None


def describe_settings_error(cls: type[BaseSettings], exc: ValidationError) -> str:
    """``VARIABLE: reason`` for each error of ``exc``, without the input values."""
    owner = _settings_class_named(cls, exc.title)
    prefix = str(owner.model_config.get("env_prefix") or "") if owner else ""
    problems = []
    for error in exc.errors(include_input=False, include_url=False, include_context=False):
        location = [str(part) for part in error["loc"]]
        if not location:
            where = exc.title
        elif owner is not None:
            where = (prefix + location[0]).upper() + "".join(f".{p}" for p in location[1:])
        else:
            where = f"{exc.title}." + ".".join(location)
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)


def _settings_class_named(cls: type[BaseSettings], name: str) -> type[BaseSettings] | None:
    """``cls`` or the settings class of one of its fields, by class name."""
    if cls.__name__ == name:
        return cls
    for field in cls.model_fields.values():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseSettings) and kind.__name__ == name:
            return kind
    return None
