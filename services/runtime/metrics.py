"""Prometheus metrics shared by every service; services add their own next to these.

All series carry a ``service`` label so that one dashboard serves every service.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_APPLIED = Counter(
    "relance_events_applied_total",
    "Events applied to the service's state.",
    ["service", "topic"],
)
EVENTS_DUPLICATE = Counter(
    "relance_events_duplicate_total",
    "Events ignored because their event_id was applied before (redelivery, replay).",
    ["service", "topic"],
)
EVENTS_DEAD_LETTERED = Counter(
    "relance_events_dead_lettered_total",
    "Records sent to a dead-letter topic, by reason.",
    ["service", "topic", "reason"],
)
BATCH_SECONDS = Histogram(
    "relance_batch_seconds",
    "Time to apply one batch of records, transaction included.",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BATCH_RETRIES = Counter(
    "relance_batch_retries_total",
    "Batches rolled back and applied again after a transient error (the database unavailable, "
    "a serialization failure or deadlock, a key another transaction wrote first), by error.",
    ["service", "error"],
)
BATCH_RECORDS = Histogram(
    "relance_batch_records",
    "Records per batch.",
    ["service"],
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2000),
)
CONSUMER_LAG = Gauge(
    "relance_consumer_lag",
    "Records behind the end of the partition, after the last batch.",
    ["service", "topic", "partition"],
)
OUTBOX_BACKLOG = Gauge(
    "relance_outbox_backlog",
    "Events written to the outbox and not yet acknowledged by Kafka.",
    ["service"],
)
OUTBOX_RELAY_TURNS = Counter(
    "relance_outbox_relay_turns_total",
    "Times this replica's outbox relay took the outbox's lock: at start, after the active "
    "relay stopped, or in turn with the other replicas' relays while the outbox is busy.",
    ["service"],
)
OUTBOX_PUBLISHED = Counter(
    "relance_outbox_published_total",
    "Events published from the outbox to Kafka.",
    ["service", "topic"],
)
TASK_FAILURES = Counter(
    "relance_task_failures_total",
    "Supervised background tasks that failed (the service stops).",
    ["service", "task"],
)
KAFKA_UNAVAILABLE = Gauge(
    "relance_kafka_unavailable",
    "1 while the service cannot reach Kafka (client: producer or consumer), else 0; "
    "HTTP keeps serving and the outbox buffers in PostgreSQL meanwhile.",
    ["service", "client"],
)
HTTP_REQUESTS = Counter(
    "relance_http_requests_total",
    "HTTP requests answered, by route template (not the raw path), method and status.",
    ["service", "route", "method", "status"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "relance_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and method.",
    ["service", "route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
LEDGER_FRESHNESS = Gauge(
    "relance_ledger_freshness_seconds",
    "Age of the newest ERP event applied from each erp.* topic (its occurred_at against "
    "the service's clock): how far behind the ERP the ledger is.",
    ["service", "topic"],
)
