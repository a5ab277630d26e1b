"""The pure pieces of ``bench.limits``: payloads, rates, the JSON file. No Kafka, no timing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bench import limits
from contracts.erp import InvoiceIssued
from contracts.topics import ERP_INVOICES


@pytest.mark.parametrize("index", [0, 1, 999, 49_999, 199_999, 9_999_999])
def test_payload_is_about_400_bytes_of_valid_invoice_json(index: int) -> None:
    payload = limits.invoice_payload(index)

    assert len(payload) == limits.PAYLOAD_BYTES
    assert 380 <= len(payload) <= 440
    json.loads(payload)
    event = ERP_INVOICES.parse(payload)
    assert isinstance(event, InvoiceIssued)
    assert InvoiceIssued.model_validate_json(payload) == event
    assert event.customer_id == limits.customer_id(index)


def test_payload_pads_to_a_requested_size_and_keeps_what_cannot_shrink() -> None:
    bare = limits.event_json(limits.invoice_event(7))

    assert len(limits.invoice_payload(7, size=len(bare) + 25)) == len(bare) + 25
    assert limits.invoice_payload(7, size=10) == bare


def test_payload_pool_is_distinct_events() -> None:
    pool = limits.payload_pool(50)

    assert len(pool) == 50
    assert len({ERP_INVOICES.parse(p).event_id for p in pool}) == 50
    assert len(set(pool)) == 50


def test_copy_rows_are_invoice_like_with_unique_ids() -> None:
    rows = limits.copy_rows(2_000)

    assert len(rows) == 2_000
    assert len({row[0] for row in rows}) == 2_000
    identifier, customer, issued, amount, currency, recorded = rows[1234]
    assert isinstance(identifier, str)
    assert customer == limits.customer_id(1234)
    assert isinstance(issued, date)
    assert isinstance(amount, Decimal)
    assert amount.as_tuple().exponent == -4
    assert currency == "EUR"
    assert recorded.tzinfo is not None


@pytest.mark.parametrize(
    ("count", "elapsed", "expected"),
    [(1_000, 2.0, 500.0), (3, 0.5, 6.0), (0, 1.0, 0.0), (10, 0.0, 0.0), (10, -1.0, 0.0)],
)
def test_rate(count: int, elapsed: float, expected: float) -> None:
    assert limits.rate(count, elapsed) == pytest.approx(expected)


def test_figure_of_computes_the_rate() -> None:
    figure = limits.Figure.of("kafka_produce", "msg/s", 200_000, 4.0, acks="all")

    assert figure.value == pytest.approx(50_000.0)
    assert figure.elapsed_s == 4.0
    assert figure.count == 200_000
    assert figure.notes == {"acks": "all"}


def test_quick_sizes_are_ten_times_smaller() -> None:
    quick = limits.Sizes().scaled(limits.QUICK_FACTOR)

    assert quick == limits.Sizes(20_000, 50_000, 20_000)


def test_cli_sizes_and_flags() -> None:
    args = limits.parse_args(["--quick", "--only", "kafka", "--messages", "123"])

    assert args.only == "kafka"
    assert limits.sizes_from(args) == limits.Sizes(123, 50_000, 20_000)
    assert limits.sizes_from(limits.parse_args([])) == limits.Sizes()
    with pytest.raises(SystemExit):
        limits.parse_args(["--only", "redis"])
    with pytest.raises(SystemExit):
        limits.parse_args(["--rows", "0"])


def _figures() -> list[limits.Figure]:
    return [
        limits.Figure.of(limits.KAFKA_PRODUCE, "msg/s", 100, 0.5),
        limits.Figure.of(limits.POSTGRES_COPY, "rows/s", 1_000, 2.0, table="plain"),
    ]


def test_written_json_format(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "limits.json"

    limits.write_limits(_figures(), path, quick=False)

    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["format"] == limits.FORMAT_VERSION
    assert document["quick"] is False
    datetime.fromisoformat(document["updated_at"])
    assert set(document["host"]) >= {"cpus", "python", "platform"}
    assert document["figures"]["kafka_produce"] == {
        "value": 200.0,
        "unit": "msg/s",
        "elapsed_s": 0.5,
        "count": 100,
        "notes": {},
        "measured_at": document["updated_at"],
    }
    assert document["figures"]["postgres_copy"]["notes"] == {"table": "plain"}
    assert not list(path.parent.glob("*.tmp"))


def test_load_limits_reads_values_back(tmp_path: Path) -> None:
    path = tmp_path / "limits.json"
    limits.write_limits(_figures(), path, quick=False)

    assert limits.load_limits(path) == {"kafka_produce": 200.0, "postgres_copy": 500.0}


def test_a_partial_run_keeps_the_other_figures(tmp_path: Path) -> None:
    path = tmp_path / "limits.json"
    limits.write_limits(_figures(), path, quick=False)

    limits.write_limits(
        [limits.Figure.of(limits.KAFKA_PRODUCE, "msg/s", 300, 1.0)], path, quick=False
    )

    assert limits.load_limits(path) == {"kafka_produce": 300.0, "postgres_copy": 500.0}


def test_load_limits_without_a_usable_file(tmp_path: Path) -> None:
    missing = tmp_path / "absent.json"
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json", encoding="utf-8")
    other_format = tmp_path / "other.json"
    other_format.write_text(json.dumps({"format": 999, "figures": {}}), encoding="utf-8")

    assert limits.load_limits(missing) is None
    assert limits.load_limits(garbage) is None
    assert limits.load_limits(other_format) is None


def test_document_stamps_the_given_time() -> None:
    now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

    document = limits.limits_document(_figures(), quick=True, now=now)

    assert document["quick"] is True
    assert document["updated_at"] == now.isoformat()
    assert list(document["figures"]) == ["kafka_produce", "postgres_copy"]


def test_table_lists_every_figure() -> None:
    table = limits.render_table(_figures()).splitlines()

    assert table[0].split() == ["metric", "value", "unit", "elapsed", "count"]
    assert table[2].split() == ["kafka_produce", "200", "msg/s", "0.50", "s", "100"]
    assert table[3].split() == ["postgres_copy", "500", "rows/s", "2.00", "s", "1,000"]


def test_best_of_keeps_the_highest_rate_and_records_the_rounds() -> None:
    first = _figures()
    second = [
        limits.Figure.of(limits.KAFKA_PRODUCE, "msg/s", 100, 0.25),
        limits.Figure.of(limits.POSTGRES_COPY, "rows/s", 1_000, 4.0),
    ]

    best = limits.best_of([first, second])

    assert [f.metric for f in best] == ["kafka_produce", "postgres_copy"]
    assert [f.value for f in best] == [400.0, 500.0]
    assert best[0].notes == {"rounds": [200.0, 400.0]}
    assert best[1].notes == {"table": "plain", "rounds": [500.0, 250.0]}
    assert limits.best_of([first]) == first
