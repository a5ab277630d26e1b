"""``relance dlq``'s pure parts and its command line's refusals (no Kafka needed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from contracts.topics import ALL_TOPICS
from services.runtime.dlq_admin import (
    DeadLetterRecord,
    app,
    count,
    dead_letter_topics,
    operator_identity,
    parse_position,
    replay_headers,
)
from services.runtime.errors import DlqError

RUNNER = CliRunner()


def dead(reason: str, topic: str = "erp.invoices.v1", offset: int = 0) -> DeadLetterRecord:
    return DeadLetterRecord(
        topic=topic + ".dlq",
        partition=0,
        offset=offset,
        timestamp_ms=1_700_000_000_000,
        key=b"C1",
        value=b'{"x": 1}',
        headers=(
            ("traceparent", b"00-1"),
            ("dlq.reason", reason.encode()),
            ("dlq.topic", topic.encode()),
            ("dlq.offset", b"41"),
        ),
    )


def test_counts_per_original_topic_and_reason() -> None:
    records = [dead("schema_invalid"), dead("schema_invalid", offset=1), dead("malformed_json")]
    records.append(dead("unknown_currency", topic="erp.payments.v1"))
    assert count(records) == {
        ("erp.invoices.v1", "schema_invalid"): 2,
        ("erp.invoices.v1", "malformed_json"): 1,
        ("erp.payments.v1", "unknown_currency"): 1,
    }


def test_replay_headers_keep_the_originals_and_name_the_operator() -> None:
    now = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    headers = replay_headers(dead("schema_invalid"), "alice", now)
    assert headers == [
        ("traceparent", b"00-1"),
        ("dlq.replayed_by", b"alice"),
        ("dlq.replayed_from", b"erp.invoices.v1.dlq:0:0"),
        ("dlq.replayed_at", b"2026-03-01T08:00:00+00:00"),
    ]


def test_dead_letter_topics_come_from_the_registry() -> None:
    assert dead_letter_topics() == sorted(t.dead_letter for t in ALL_TOPICS)
    assert dead_letter_topics(["erp.invoices.v1"]) == ["erp.invoices.v1.dlq"]
    assert dead_letter_topics(["ledger.events.v1.dlq"]) == ["ledger.events.v1.dlq"]
    with pytest.raises(DlqError, match=r"erp\.invoice\.v1\.dlq"):
        dead_letter_topics(["erp.invoice.v1"])


def test_operator_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RELANCE_OPERATOR", raising=False)
    assert operator_identity(" bob ") == "bob"
    monkeypatch.setenv("RELANCE_OPERATOR", "carol")
    assert operator_identity(None) == "carol"
    monkeypatch.delenv("RELANCE_OPERATOR")
    monkeypatch.setattr("getpass.getuser", lambda: "dave")
    assert operator_identity("") == "dave"
    monkeypatch.setattr("getpass.getuser", lambda: "")
    with pytest.raises(DlqError, match="--operator"):
        operator_identity(None)


def test_positions() -> None:
    assert parse_position("0:17", "erp.invoices.v1.dlq") == ("erp.invoices.v1.dlq", 0, 17)
    for bad in ("17", "a:b", "0:-1", "0:1:2"):
        with pytest.raises(DlqError):
            parse_position(bad, "t")


def test_binary_values_are_shown_escaped_and_in_base64() -> None:
    record = dataclass_value(b"\xff{\x00}")
    view = record.as_dict()
    assert view["value"] == "\\xff{\x00}"
    assert view["value_base64"] == "/3sAfQ=="
    assert view["reason"] == "unknown"
    assert view["original_topic"] == "erp.invoices.v1"


def dataclass_value(value: bytes) -> DeadLetterRecord:
    return DeadLetterRecord("erp.invoices.v1.dlq", 0, 3, 0, None, value, ())


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["replay", "erp.invoices.v1"], "either --offset"),
        (["replay", "erp.invoices.v1", "--offset", "0:1", "--reason", "x"], "either --offset"),
        (["replay", "erp.invoices.v1", "--offset", "zero"], "PARTITION:OFFSET"),
        (["list", "--topic", "erp.nope.v1"], "no dead-letter topic"),
        (["show", "nope", "0", "0"], "no dead-letter topic"),
    ],
)
def test_bad_input_exits_1_with_a_clear_error(arguments: list[str], message: str) -> None:
    result = RUNNER.invoke(app, arguments)
    assert result.exit_code == 1, result.output
    assert message in result.output


def test_unreachable_kafka_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    result = RUNNER.invoke(app, ["list", "--topic", "erp.invoices.v1"])
    assert result.exit_code == 2, result.output
    assert "cannot reach Kafka" in result.output
