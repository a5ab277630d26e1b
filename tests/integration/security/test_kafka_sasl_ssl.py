"""Kafka over TLS with SASL/SCRAM-SHA-512, as in production, against a real broker.

A service process on the runtime kit (``tests/integration/echo_service.py``) is given
production-like settings: Kafka over SASL_SSL with the throwaway CA, PostgreSQL over TLS
with ``sslmode=verify-full``. It consumes through FastStream's broker (``make_broker``)
and dead-letters through the kit's producer; the test creates topics and produces with
the kit's admin client and producer, over SASL_SSL too. Then what must be
refused is: a wrong password, a mechanism the broker does not enable, a broker whose
certificate another CA signed, and plaintext.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer

from contracts import erp
from contracts.money import PositiveMoney
from contracts.topics import ERP_INVOICES
from services.runtime.errors import ConfigurationError, TransientError
from services.runtime.outbox import KafkaRecordSender, OutgoingRecord
from services.runtime.service import start_sender
from services.runtime.topic_admin import create_topics
from tests.integration.security.conftest import SecureKafka, TlsPostgres
from tests.kafka_tools import eventually, unique

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def invoice(n: int) -> bytes:
    event = erp.InvoiceIssued(
        event_id=uuid.uuid4(),
        occurred_at=datetime(2026, 1, 5, tzinfo=UTC),
        source="test-erp",
        payload=erp.InvoicePayload(
            company_code="FR01",
            customer_id=f"C{n % 5}",
            invoice_number=f"F{n}",
            version=1,
            issue_date=date(2026, 1, 5),
            due_date=date(2026, 2, 4),
            amount=PositiveMoney(amount=Decimal("10.00"), currency="EUR"),
        ),
    )
    return event.model_dump_json().encode()


def echo_env(secure_kafka: SecureKafka, database_url: str, topic: str) -> dict[str, str]:
    return {
        **os.environ,
        **secure_kafka.env,
        "ECHO_TOPIC": topic,
        "ECHO_HTTP_PORT": "0",
        "ECHO_DRAIN_TIMEOUT_S": "10",
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(ROOT),
    }


async def start_echo(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    """The echo service, its output in ``log`` (a pipe nobody reads could fill and block)."""
    with log.open("wb") as output:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.integration.echo_service",
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
        )


async def test_a_service_consumes_and_produces_over_sasl_ssl(
    secure_kafka: SecureKafka, tls_postgres: TlsPostgres, tmp_path: Path
) -> None:
    database_url = tls_postgres.url
    settings = secure_kafka.settings()
    topic = dataclasses.replace(ERP_INVOICES, name=unique(ERP_INVOICES.name))
    assert await create_topics(settings.client_options(), [topic]) == [
        topic.name,
        topic.dead_letter,
    ]
    sender = KafkaRecordSender(settings.client_options(), client_id="relance-test")
    await start_sender(sender, settings)
    try:
        await sender.send_all(
            [OutgoingRecord(topic.name, b"C1", invoice(n), ()) for n in range(20)]
            + [OutgoingRecord(topic.name, b"C1", b"not an event", ())]
        )
    finally:
        await sender.stop()

    log = tmp_path / "echo.log"
    process = await start_echo(echo_env(secure_kafka, database_url, topic.name), log)
    try:

        async def applied() -> bool:
            connection = await asyncpg.connect(database_url)
            try:
                exists = await connection.fetchval("SELECT to_regclass('echo.seen')")
                return (
                    exists is not None
                    and await connection.fetchval("SELECT count(*) FROM echo.seen") == 20
                )
            finally:
                await connection.close()

        try:
            await eventually(applied, timeout_s=60, interval_s=0.5)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the service's log:\n{log.read_text()[-3000:]}") from exc
        # The dead letter went out through the service's own producer, over SASL_SSL.
        consumer = AIOKafkaConsumer(
            topic.dead_letter,
            **settings.client_options(),
            group_id=None,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            record = await asyncio.wait_for(consumer.getone(), timeout=30)
        finally:
            await consumer.stop()
        assert record.value == b"not an event"
        assert dict(record.headers)["dlq.reason"] == b"malformed_json"
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0, log.read_text()[-3000:]


async def test_a_wrong_password_stops_the_service_with_a_clear_error(
    secure_kafka: SecureKafka, database_url: str
) -> None:
    """`relance run` exits 2 with one line naming the user, the mechanism and the settings."""
    env = {
        **os.environ,
        **secure_kafka.env,
        "KAFKA_SASL_PASSWORD": "not-the-password",
        "DATABASE_URL": database_url,
        "RELANCE_SCHEDULER_HTTP_PORT": "0",
    }
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "relance"),
        "run",
        "scheduler",
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 2, stdout.decode() + stderr.decode()
    assert stderr.decode().startswith(
        f"relance scheduler: Kafka at {secure_kafka.env['KAFKA_BOOTSTRAP_SERVERS']} refused "
        "the SASL login of user 'relance-test' with SCRAM-SHA-512"
    )
    assert "KAFKA_SASL_PASSWORD" in stderr.decode()
    assert "not-the-password" not in stdout.decode() + stderr.decode()


async def test_a_mechanism_the_broker_does_not_enable_is_refused(
    secure_kafka: SecureKafka,
) -> None:
    settings = secure_kafka.settings(sasl_mechanism="SCRAM-SHA-256")
    sender = KafkaRecordSender(settings.client_options(), client_id="relance-test")
    with pytest.raises(ConfigurationError, match=r"refused the SASL login.*SCRAM-SHA-256"):
        await start_sender(sender, settings)


def other_ca(folder: Path) -> Path:
    """A CA that did not sign the broker's certificate."""
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=Another CA", "-keyout", str(folder / "other.key"),
            "-out", str(folder / "other.crt"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return folder / "other.crt"


async def test_a_broker_certificate_from_another_ca_is_refused(
    secure_kafka: SecureKafka, tmp_path: Path
) -> None:
    for cafile in (other_ca(tmp_path), None):  # None: the system's CAs
        settings = secure_kafka.settings(ssl_cafile=cafile)
        sender = KafkaRecordSender(settings.client_options(), client_id="relance-test")
        with pytest.raises(ConfigurationError, match=r"TLS handshake failed.*CERTIFICATE_VERIFY"):
            await start_sender(sender, settings)


async def test_plaintext_gets_no_answer(secure_kafka: SecureKafka) -> None:
    settings = secure_kafka.settings(security_protocol="PLAINTEXT", sasl_mechanism=None)
    sender = KafkaRecordSender(settings.client_options(), client_id="relance-test")
    with pytest.raises(TransientError, match="cannot connect to Kafka"):
        await start_sender(sender, settings)
