"""The pure parts of the runtime kit: clock, settings, log redaction, dead letters."""

from __future__ import annotations

import importlib
import io
import json
import logging
import pkgutil
import traceback
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from services.runtime import logs
from services.runtime.clock import (
    FileClock,
    SimulatedClock,
    SystemClock,
    clock_from_setting,
    today_in,
)
from services.runtime.dead_letter import DeadLetter, IncomingRecord, describe_validation_error
from services.runtime.errors import ConfigurationError, RelanceError, SupervisedTaskFailed
from services.runtime.inbox import position_id
from services.runtime.migrations import _yoyo_url
from services.runtime.outbox import _partition_index
from services.runtime.settings import KafkaSettings, ServiceSettings, load

START = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)


def test_simulated_clock_moves_only_forward() -> None:
    clock = SimulatedClock(START)
    assert clock.now() == START
    assert clock.advance(timedelta(days=2)) == START + timedelta(days=2)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="backwards"):
        clock.set(START)
    with pytest.raises(ValueError, match="aware"):
        SimulatedClock(datetime(2026, 1, 1))


def test_today_depends_on_the_customers_time_zone() -> None:
    clock = SimulatedClock(START)  # 23:30 UTC on 1 March
    assert str(today_in(clock, "Europe/Paris")) == "2026-03-02"
    assert str(today_in(clock, "America/New_York")) == "2026-03-01"


def test_file_clock_is_shared_through_a_file(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    FileClock.write(path, START)
    reader = FileClock(path, refresh_s=0)
    assert reader.now() == START
    FileClock.write(path, START + timedelta(hours=5))
    assert reader.now() == START + timedelta(hours=5)
    FileClock.write(path, START)  # a writer going back does not move readers back
    assert reader.now() == START + timedelta(hours=5)
    assert isinstance(clock_from_setting(f"file:{path}"), FileClock)
    assert isinstance(clock_from_setting("system"), SystemClock)


def test_bad_clock_settings_fail_at_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="unknown clock"):
        clock_from_setting("sundial")
    with pytest.raises(ConfigurationError, match="cannot read"):
        clock_from_setting(f"file:{tmp_path / 'missing'}")
    naive = tmp_path / "naive"
    naive.write_text("2026-01-01T00:00:00")
    with pytest.raises(ConfigurationError, match="not timezone-aware"):
        clock_from_setting(f"file:{naive}")


def test_sasl_without_credentials_is_a_clear_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    with pytest.raises(ConfigurationError, match="KAFKA_SASL_USERNAME"):
        load(KafkaSettings)


SECRET = "hunter2-not-for-logs"


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_USERNAME": "u"},
            "KAFKA_SASL_MECHANISM",
        ),
        ({"KAFKA_SASL_MECHANISM": "bogus"}, "KAFKA_SASL_MECHANISM"),
        ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL"),
        (
            {"DATABASE_URL": f"postgresql://u:{SECRET}@db/x", "DATABASE_POOL_MAX_SIZE": "0"},
            "DATABASE_POOL_MAX_SIZE",
        ),
        ({"RELANCE_INGESTION_HTTP_PORT": SECRET}, "RELANCE_INGESTION_HTTP_PORT"),
    ],
)
def test_a_settings_error_names_the_variable_and_never_prints_a_secret(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], named: str
) -> None:
    from services.ingestion.settings import IngestionSettings

    monkeypatch.setenv("KAFKA_SASL_PASSWORD", SECRET)
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as raised:
        load(IngestionSettings)
    printed = "".join(traceback.format_exception(raised.value))
    assert named in str(raised.value)
    assert SECRET not in printed
    assert "input_value" not in printed


def test_scram_settings_become_client_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-0:9093")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "relance-ingestion")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "s3cret")
    options = load(KafkaSettings).client_options()
    assert options["bootstrap_servers"] == "kafka-0:9093"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_password"] == "s3cret"
    assert options["ssl_context"] is not None
    assert "s3cret" not in repr(load(KafkaSettings))


def test_service_settings_read_their_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.ingestion.settings import IngestionSettings

    monkeypatch.setenv("RELANCE_INGESTION_HTTP_PORT", "9999")
    monkeypatch.setenv("RELANCE_SCHEDULER_HTTP_PORT", "1")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5432/relance")
    settings = load(IngestionSettings)
    assert settings.http_port == 9999
    assert settings.database.url.get_secret_value() == "postgresql://u:p@db:5432/relance"
    assert isinstance(settings, ServiceSettings)


def test_logs_redact_personal_data(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("test")
    log = logs.get_logger("t")
    log.info(
        "reminder_sent",
        email="jane@example.com",
        customer_id="C1",
        detail="sent to jane@example.com and +33 6 12 34 56 78",
        contacts=[{"email": "x@y.fr"}],
    )
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    structlog.reset_defaults()
    assert line["email"] == logs.REDACTED
    assert line["contacts"] == logs.REDACTED
    assert line["customer_id"] == "C1"
    assert "jane@example.com" not in line["detail"]
    assert "12 34 56" not in line["detail"]
    assert line["service"] == "test"


@given(identifier=st.uuids())
def test_log_redaction_leaves_uuids_alone(identifier: uuid.UUID) -> None:
    text = f"reminder {identifier} for invoice {identifier.hex}"
    assert logs._scrub(text) == text
    assert logs._scrub(str(identifier).upper()) == str(identifier).upper()


@given(
    moment=st.datetimes(
        min_value=datetime(1970, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=1)), timezone(-timedelta(hours=5, minutes=30))]
        ),
    )
)
def test_log_redaction_leaves_dates_and_times_alone(moment: datetime) -> None:
    text = f"due {moment.date().isoformat()}, sent at {moment.isoformat()}"
    assert logs._scrub(text) == text


@pytest.mark.parametrize(
    "reply",
    [
        "550 5.1.1 <x> recipient unknown",
        "250 2.0.0 Ok: queued as 0123456789",
        "421 4.7.0 try again later",
        "status 503 after 1200 ms, amount 1234567.89 EUR",
    ],
)
def test_log_redaction_leaves_codes_and_amounts_alone(reply: str) -> None:
    assert logs._scrub(reply) == reply


@given(
    number=st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True),
    spaced=st.booleans(),
)
def test_log_redaction_masks_every_e164_phone_number(number: str, spaced: bool) -> None:
    written = number[:3] + " " + " ".join(number[3:]) if spaced else number
    masked = logs._scrub(f"call {written}, or jane.doe+dunning@example.co.uk.")
    assert masked == "call [phone], or [email]."


@pytest.mark.parametrize(
    "number", ["06 12 34 56 78", "01.23.45.67.89", "07-12-34-56-78", "+33 (0)6 12 34 56 78"]
)
def test_log_redaction_masks_national_phone_numbers(number: str) -> None:
    assert logs._scrub(f"customer asks to call {number} today") == (
        "customer asks to call [phone] today"
    )


@pytest.mark.parametrize("library", ["aiokafka.consumer.group_coordinator", "yoyo.migrations"])
def test_standard_library_logs_share_the_json_and_redaction_pipeline(
    capsys: pytest.CaptureFixture[str], library: str
) -> None:
    logs.configure("svc")
    try:
        logging.getLogger(library).warning("failed for %s, call +33612345678", "jane@example.com")
        try:
            raise RuntimeError("broker gone")
        except RuntimeError:
            logging.getLogger(library).exception("stopped")
    finally:
        structlog.reset_defaults()
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert lines[0]["logger"] == library
    assert lines[0]["level"] == "warning"
    assert lines[0]["service"] == "svc"
    assert lines[0]["event"] == "failed for [email], call [phone]"
    assert "timestamp" in lines[0]
    assert lines[1]["level"] == "error"
    assert "RuntimeError: broker gone" in lines[1]["exception"]


def test_uvicorn_logs_share_the_pipeline(capsys: pytest.CaptureFixture[str]) -> None:
    import uvicorn

    async def app(scope: Any, receive: Any, send: Any) -> None:  # an ASGI app, never called
        raise AssertionError

    logs.configure("svc")
    try:
        uvicorn.Config(app, log_level="info", log_config=logs.UVICORN_LOG_CONFIG)
        logging.getLogger("uvicorn.error").info("Started server process for jane@example.com")
        logging.getLogger("uvicorn.access").info("GET /portal/x from +33612345678")
    finally:
        structlog.reset_defaults()
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [line["logger"] for line in lines] == ["uvicorn.error", "uvicorn.access"]
    assert lines[0]["event"] == "Started server process for [email]"
    assert lines[1]["event"] == "GET /portal/x from [phone]"


def test_dead_letter_keeps_the_original_and_says_why() -> None:
    record = IncomingRecord("erp.invoices.v1", 2, 41, b"C1", b"{oops", (("trace", b"\x00\x01"),))
    outgoing = DeadLetter(record, "schema_invalid", "[]", "ingestion").outgoing()
    headers = dict(outgoing.headers)
    assert outgoing.topic == "erp.invoices.v1.dlq"
    assert (outgoing.key, outgoing.value) == (b"C1", b"{oops")
    assert headers["trace"] == b"\x00\x01"
    assert headers["dlq.reason"] == b"schema_invalid"
    assert (headers["dlq.partition"], headers["dlq.offset"]) == (b"2", b"41")


def test_validation_detail_does_not_quote_the_input() -> None:
    class Contact(BaseModel):
        email: int

    with pytest.raises(ValidationError) as caught:
        Contact.model_validate({"email": "jane@example.com"})
    detail = describe_validation_error(caught.value)
    assert "jane@example.com" not in detail
    assert json.loads(detail)[0]["loc"] == "email"


def test_position_ids_are_deterministic() -> None:
    assert position_id("t", 0, 1) == position_id("t", 0, 1)
    assert position_id("t", 0, 1) != position_id("t", 1, 0)


def test_yoyo_url_targets_the_schema() -> None:
    url = _yoyo_url("postgresql://u:p@h:5433/db?sslmode=require", "ledger")
    assert url == "postgresql+psycopg://u:p@h:5433/db?sslmode=require&schema=ledger"


def test_errors_default_to_their_docstring() -> None:
    assert str(SupervisedTaskFailed()) == "A background task of the service stopped."
    assert str(SupervisedTaskFailed("relay died")) == "relay died"


def test_logs_are_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("svc", "WARNING")
    logs.get_logger("t").info("hidden")
    logs.get_logger("t").warning("shown", count=3)
    out = io.StringIO(capsys.readouterr().out).read().strip().splitlines()
    structlog.reset_defaults()
    assert len(out) == 1
    assert json.loads(out[0])["count"] == 3


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda p: p["amount"].update(currency="ZZZ"), "unknown_currency"),
        (lambda p: p["amount"].update(amount="-5"), "non_positive_amount"),
        (lambda p: p["amount"].update(amount="0"), "non_positive_amount"),
        (lambda p: p.update(due_date="2025-01-01"), "due_before_issue"),
        (lambda p: p.pop("customer_id"), "schema_invalid"),
        (lambda p: p["amount"].update(amount=10.5), "schema_invalid"),
    ],
)
def test_dead_letter_reason_names_the_broken_rule(
    change: Callable[[dict[str, Any]], object], reason: str
) -> None:
    from contracts.topics import ERP_INVOICES
    from services.runtime.dead_letter import reason_of

    document = {
        "event_id": "6f1c2f4e-8d0a-4c55-9a0e-5d2b3f7f0b11",
        "occurred_at": "2026-01-01T00:00:00Z",
        "source": "erp",
        "event_type": "erp.invoice.issued",
        "payload": {
            "company_code": "FR01",
            "customer_id": "C1",
            "invoice_number": "F1",
            "version": 1,
            "issue_date": "2026-01-01",
            "due_date": "2026-02-01",
            "amount": {"amount": "10.00", "currency": "EUR"},
        },
    }
    change(document["payload"])  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as raised:
        ERP_INVOICES.parse(json.dumps(document).encode())
    assert reason_of(raised.value) == reason


def test_dead_letter_reason_of_bytes_that_are_not_json() -> None:
    from contracts.topics import ERP_INVOICES
    from services.runtime.dead_letter import reason_of

    with pytest.raises(ValidationError) as raised:
        ERP_INVOICES.parse(b"{not json")
    assert reason_of(raised.value) == "malformed_json"


def test_gc_tuning_freezes_startup_objects_and_raises_the_threshold() -> None:
    import gc

    from services.runtime import gc_tuning

    before = gc.get_threshold()
    try:
        gc_tuning.tune(12_345)
        assert gc.get_threshold() == (12_345, gc_tuning.GEN1_THRESHOLD, gc_tuning.GEN2_THRESHOLD)
        assert gc.get_freeze_count() > 0  # this test's own module, among others, is frozen
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


@given(key=st.binary(min_size=0, max_size=40), partitions=st.integers(1, 64))
def test_the_cached_partitioner_puts_a_key_where_aiokafkas_default_one_does(
    key: bytes, partitions: int
) -> None:
    every = list(range(partitions))
    assert _partition_index(key, partitions) == DefaultPartitioner()(key, every, every)


def _exceptions_defined_in(package: str) -> list[type[BaseException]]:
    """Every exception class defined (not imported) in the modules of ``package``."""
    found: list[type[BaseException]] = []
    root = importlib.import_module(package)
    names = [package] + [
        info.name for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}.")
    ]
    for name in names:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and value.__module__ == name
            ):
                found.append(value)
    return found


@pytest.mark.parametrize(
    ("package", "base"),
    [
        ("services.runtime", "services.runtime.errors:RelanceError"),
        ("services.ingestion", "services.ingestion.errors:IngestionError"),
        ("services.scheduler", "services.scheduler.errors:SchedulerError"),
        ("services.notifier", "services.notifier.errors:NotifierError"),
        ("services.disputes", "services.disputes.errors:DisputesError"),
        ("services.reporting", "services.reporting.errors:ReportingError"),
        ("services.portal", "services.portal.errors:PortalError"),
        ("services.console", "services.console.errors:ConsoleError"),
    ],
)
def test_every_exception_sits_under_its_service_base_and_is_listed(package: str, base: str) -> None:
    module_name, _, class_name = base.partition(":")
    errors = importlib.import_module(module_name)
    service_base = getattr(errors, class_name)
    tree = errors.__doc__ or ""
    found = _exceptions_defined_in(package)
    assert service_base in found
    for exception in found:
        assert issubclass(exception, RelanceError), exception
        assert issubclass(exception, service_base), exception
        assert exception.__name__ in tree, f"{exception.__name__} is not in {module_name}'s tree"
