"""The ERP onboarding material (docs/connectors.md) produces what the contracts accept.

The example producer's events and the Kafka Connect recipe's sample output are checked
against the committed JSON Schemas' structure (contracts/schemas/: the discriminator
mapping, each event's required and allowed properties) and validated by the contract
models those schemas are generated from (``Topic.parse``; the ``jsonschema`` package is
not a dependency of the project). tests/integration/test_connectors.py runs the recipe's
SQL on PostgreSQL and the producer against Kafka.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from contracts.topics import ERP_INVOICES, Topic, by_name

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
RECIPE = EXAMPLES / "kafka-connect" / "erp-invoices-jdbc-source.json"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("erp_producer", EXAMPLES / "erp_producer.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_against_committed_schema(topic: Topic, key: bytes, value: bytes) -> Any:
    """``value`` fits ``topic``'s committed JSON Schema's shape and its contract model."""
    schema = json.loads((ROOT / "contracts" / "schemas" / f"{topic.name}.json").read_text())
    document = json.loads(value)
    reference = schema["discriminator"]["mapping"][document["event_type"]]
    definition = schema["$defs"][reference.removeprefix("#/$defs/")]
    assert set(definition["required"]) <= set(document), definition["required"]
    assert set(document) <= set(definition["properties"])
    payload_ref = definition["properties"]["payload"]["$ref"].removeprefix("#/$defs/")
    payload_schema = schema["$defs"][payload_ref]
    assert set(payload_schema["required"]) <= set(document["payload"])
    assert set(document["payload"]) <= set(payload_schema["properties"])
    event = topic.parse(value)  # the contract model: types, formats, business rules
    assert topic.key(event) == key
    return event


def rows() -> list[dict[str, str]]:
    with (EXAMPLES / "invoices.csv").open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def test_the_example_producers_events_fit_the_contract() -> None:
    example = load_example()
    events = [example.invoice_event(row) for row in rows()]
    parsed = [check_against_committed_schema(ERP_INVOICES, *example.record(e)) for e in events]
    assert [e.event_type for e in parsed] == [
        "erp.invoice.issued",
        "erp.invoice.updated",
        "erp.invoice.issued",
        "erp.invoice.cancelled",
    ]
    assert str(parsed[0].payload.amount.amount) == "1250.50"
    assert ERP_INVOICES.name == example.TOPIC


def test_the_same_version_always_gets_the_same_event_id() -> None:
    example = load_example()
    first, again = (example.invoice_event(rows()[0]) for _ in range(2))
    assert first["event_id"] == again["event_id"]
    assert uuid.UUID(first["event_id"]).version == 5
    assert example.invoice_event(rows()[1])["event_id"] != first["event_id"]


def test_a_row_without_a_time_zone_is_refused() -> None:
    example = load_example()
    row = rows()[0] | {"updated_at": "2026-03-02T09:15:00"}
    with pytest.raises(ValueError, match="time zone"):
        example.invoice_event(row)


def test_the_recipe_publishes_to_a_registry_topic_with_the_customer_as_key() -> None:
    config = json.loads(RECIPE.read_text())["config"]
    assert by_name(config["topic.prefix"]).producers == ("erp",)
    chain = config["transforms"].split(",")
    types = [config[f"transforms.{name}.type"].rsplit(".", 1)[-1] for name in chain]
    assert types[:3] == ["ValueToKey", "ExtractField$Key", "ExtractField$Value"]
    assert config["transforms.keyAsString.field"] == "customer_id"
    assert config["transforms.valueFromDocument.field"] == "document"
    assert config["value.converter"].endswith("StringConverter")
    assert config["producer.override.acks"] == "all"
    assert config["mode"] == "timestamp+incrementing"
    # the JDBC source appends its own WHERE: the query must end in a derived table
    assert config["query"].startswith("SELECT * FROM (")
    assert config["query"].endswith(") AS rows")


def test_the_docs_include_the_recipe_and_the_example() -> None:
    docs = (ROOT / "docs" / "connectors.md").read_text()
    assert "examples/kafka-connect/erp-invoices-jdbc-source.json" in docs
    assert "examples/kafka-connect/worker.properties" in docs
    assert "examples/erp_producer.py" in docs
    assert "relance-erp-connector" in docs
