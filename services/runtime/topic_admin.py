"""Create Relance's topics and their dead-letter topics, idempotently.

In Kubernetes, topics are declared as Strimzi ``KafkaTopic`` resources instead; this is
for local clusters, tests and the demo.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from contracts.topics import ALL_TOPICS, Topic

DLQ_CONFIG = {"retention.ms": str(30 * 24 * 3600 * 1000)}  # long enough to investigate


async def create_topics(
    client_options: dict[str, Any],
    topics: Sequence[Topic] = ALL_TOPICS,
    replication_factor: int = 1,
) -> list[str]:
    """Create missing topics (and their ``.dlq``); return the names created."""
    admin = AIOKafkaAdminClient(**client_options)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted: list[NewTopic] = []
        for topic in topics:
            if topic.name not in existing:
                wanted.append(
                    NewTopic(
                        topic.name,
                        num_partitions=topic.partitions,
                        replication_factor=replication_factor,
                        topic_configs=dict(topic.extra_config),
                    )
                )
            if topic.dead_letter not in existing:
                wanted.append(
                    NewTopic(
                        topic.dead_letter,
                        num_partitions=1,
                        replication_factor=replication_factor,
                        topic_configs=DLQ_CONFIG,
                    )
                )
        created: list[str] = []
        for new_topic in wanted:  # one by one: a concurrent creator must not fail the rest
            try:
                await admin.create_topics([new_topic])
                created.append(new_topic.name)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        await admin.close()
