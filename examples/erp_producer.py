"""Publish ERP invoices to Relance: a small producer an ERP team can start from.

It needs nothing of Relance's code, only ``aiokafka``: each invoice row of the ERP becomes
one ``erp.invoice.issued`` (first version), ``erp.invoice.updated`` (a later version) or
``erp.invoice.cancelled`` event, as contracts/schemas/erp.invoices.v1.json describes it,
keyed by the customer's id so that one customer's documents stay in order.

The envelope every event carries:

- ``event_id``: the idempotency key. Derived from the document and its version (UUID v5),
  so that publishing the same version twice (a retry, a re-run) is applied once.
- ``event_type`` and ``schema_version`` (1).
- ``occurred_at``: when the fact happened in the ERP, with its time zone.
- ``source``: the name of this connector, for tracing.
- ``payload``: the document. Amounts are decimal strings ("1234.50"), never floats.

Run it with the connection of the KafkaUser ``relance-erp-connector``::

    KAFKA_BOOTSTRAP_SERVERS=kafka.relance.example.com:9094 \\
    KAFKA_SASL_USERNAME=relance-erp-connector KAFKA_SASL_PASSWORD=... \\
    KAFKA_SSL_CAFILE=relance-cluster-ca.crt \\
    python examples/erp_producer.py invoices.csv

With ``KAFKA_SASL_USERNAME`` unset it connects in plaintext (a laptop's Kafka).
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import ssl
import sys
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaProducer

TOPIC = "erp.invoices.v1"
SOURCE = "erp-fr01-python"
# Fixed for this connector: the same document and version always get the same event_id.
EVENT_NAMESPACE = uuid.UUID("0f5d7c1e-4b8a-4f3e-9a57-2c61d5e0b7a4")


def invoice_event(row: Mapping[str, str], source: str = SOURCE) -> dict[str, Any]:
    """One ERP invoice row (a dict of strings, as from a CSV file) as a Relance event."""
    version = int(row["version"])
    company, number = row["company_code"], row["invoice_number"]
    updated_at = datetime.fromisoformat(row["updated_at"])
    if updated_at.tzinfo is None:
        raise ValueError(f"invoice {number}: updated_at has no time zone")
    payload: dict[str, Any] = {
        "company_code": company,
        "customer_id": row["customer_id"],
        "invoice_number": number,
        "version": version,
    }
    if row.get("cancelled", "").lower() == "true":
        event_type = "erp.invoice.cancelled"
        payload["reason"] = row.get("cancel_reason") or None
    else:
        event_type = "erp.invoice.issued" if version == 1 else "erp.invoice.updated"
        payload |= {
            "issue_date": row["issue_date"],
            "due_date": row["due_date"],
            "amount": {
                "amount": str(Decimal(row["amount"]).quantize(Decimal("0.01"))),
                "currency": row["currency"],
            },
            "payment_terms": row.get("payment_terms") or None,
            "purchase_order": row.get("purchase_order") or None,
        }
    return {
        "event_id": str(uuid.uuid5(EVENT_NAMESPACE, f"{company}/{number}/{version}")),
        "event_type": event_type,
        "schema_version": 1,
        "occurred_at": updated_at.astimezone(UTC).isoformat(),
        "source": source,
        "payload": payload,
    }


def record(event: Mapping[str, Any]) -> tuple[bytes, bytes]:
    """The Kafka key (the customer's id) and value (the JSON event) of ``event``."""
    return event["payload"]["customer_id"].encode(), json.dumps(event).encode()


def connection_from_environment() -> dict[str, Any]:
    options: dict[str, Any] = {
        "bootstrap_servers": os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    }
    username = os.environ.get("KAFKA_SASL_USERNAME")
    if username:
        options |= {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": username,
            "sasl_plain_password": os.environ["KAFKA_SASL_PASSWORD"],
            "ssl_context": ssl.create_default_context(cafile=os.environ["KAFKA_SSL_CAFILE"]),
        }
    return options


async def publish(
    events: Iterable[Mapping[str, Any]], options: Mapping[str, Any], topic: str = TOPIC
) -> int:
    """Send every event and wait until Kafka has them all (acks from every in-sync replica)."""
    producer = AIOKafkaProducer(**options, acks="all", enable_idempotence=True)
    await producer.start()
    sent = 0
    try:
        for event in events:
            key, value = record(event)
            headers = [("relance.producer", SOURCE.encode())]
            await producer.send(topic, value, key=key, headers=headers)
            sent += 1
        await producer.flush()
    finally:
        await producer.stop()
    return sent


def main(path: str) -> None:
    with open(path, newline="", encoding="utf-8") as file:
        events = [invoice_event(row) for row in csv.DictReader(file)]
    sent = asyncio.run(publish(events, connection_from_environment()))
    print(f"{sent} invoice event(s) published to {TOPIC}")


if __name__ == "__main__":
    main(sys.argv[1])
