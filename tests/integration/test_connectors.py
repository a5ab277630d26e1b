"""The ERP onboarding recipe and example, for real: the Kafka Connect recipe's SQL on
PostgreSQL, and the example producer against Kafka."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import asyncpg
import pytest

from contracts.topics import ERP_INVOICES
from tests.kafka_tools import consume, create_topics, unique
from tests.unit.test_connectors import RECIPE, check_against_committed_schema, load_example, rows

pytestmark = pytest.mark.integration

# The ERP's invoice table, as the recipe expects it.
ERP_TABLE = """
CREATE TABLE invoices (
    invoice_no text NOT NULL,
    revision integer NOT NULL,
    customer_no text NOT NULL,
    issue_date date,
    due_date date,
    total_incl_tax numeric(14, 2),
    currency text,
    payment_terms text,
    po_number text,
    cancelled boolean NOT NULL DEFAULT false,
    cancel_reason text,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (invoice_no, revision)
)
"""
# What the JDBC source connector appends to a query in timestamp+incrementing mode.
CONNECTOR_WHERE = (
    ' WHERE "updated_at" < $1 AND (("updated_at" = $2 AND "revision" > $3) OR "updated_at" > $2)'
    ' ORDER BY "updated_at","revision" ASC'
)


async def test_the_recipes_query_and_transforms_give_contract_events(database_url: str) -> None:
    config = json.loads(RECIPE.read_text())["config"]
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(ERP_TABLE)
        await connection.execute(
            """
            INSERT INTO invoices VALUES
            ('F-1', 1, 'C-1', '2026-03-02', '2026-04-01', 1250.5, 'EUR', '30 days', 'PO-1',
             false, NULL, '2026-03-02 09:15+01'),
            ('F-1', 2, 'C-1', '2026-03-02', '2026-04-01', 1200, 'EUR', NULL, NULL,
             false, NULL, '2026-03-05 11:00+01'),
            ('F-2', 1, 'C-2', '2026-03-03', '2026-05-02', 980, 'USD', NULL, NULL,
             false, NULL, '2026-03-03 10:00+01'),
            ('F-2', 2, 'C-2', NULL, NULL, NULL, NULL, NULL, NULL,
             true, 'wrong customer', '2026-03-04 16:30+01')
            """
        )
        selected = await connection.fetch(
            config["query"] + CONNECTOR_WHERE,
            datetime(2030, 1, 1, tzinfo=UTC),
            datetime(2000, 1, 1, tzinfo=UTC),
            0,
        )
    finally:
        await connection.close()

    # The transforms: ValueToKey + ExtractField$Key (customer_id), ExtractField$Value.
    events = []
    for row in selected:
        key = row[config["transforms.keyFromCustomer.fields"]].encode()
        value = row[config["transforms.valueFromDocument.field"]].encode()
        events.append(check_against_committed_schema(ERP_INVOICES, key, value))
    assert [(e.payload.invoice_number, e.event_type) for e in events] == [
        ("F-1", "erp.invoice.issued"),
        ("F-2", "erp.invoice.issued"),
        ("F-2", "erp.invoice.cancelled"),
        ("F-1", "erp.invoice.updated"),
    ]
    assert str(events[0].payload.amount.amount) == "1250.50"
    assert events[0].occurred_at == datetime(2026, 3, 2, 8, 15, tzinfo=UTC)
    assert len({e.event_id for e in events}) == 4


async def test_the_example_producer_publishes_contract_events(kafka_bootstrap: str) -> None:
    example = load_example()
    topic = dataclasses.replace(ERP_INVOICES, name=unique(ERP_INVOICES.name))
    await create_topics(kafka_bootstrap, [topic.name])
    events = [example.invoice_event(row) for row in rows()]

    sent = await example.publish(events, {"bootstrap_servers": kafka_bootstrap}, topic.name)

    assert sent == len(events)
    received = await consume(kafka_bootstrap, topic.name, expected=sent)
    assert len(received) == sent
    for record in received:
        check_against_committed_schema(ERP_INVOICES, record.key, record.value)
        assert dict(record.headers)["relance.producer"] == example.SOURCE.encode()
