"""The idempotent inbox: each event's effect is applied once, however often it arrives.

Kafka delivers at least once. A consumer claims the ids of a batch in the same transaction
as the state change; only the ids it could claim are applied. If the transaction rolls
back, the claims do too, and the redelivered events are applied then.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from uuid import UUID

from services.runtime import sql
from services.runtime.database import Connection

_POSITION_NAMESPACE = uuid.UUID("6f1c2f4e-8d0a-4c55-9a0e-5d2b3f7f0b11")


def position_id(topic: str, partition: int, offset: int) -> UUID:
    """A deterministic id for a record that has no readable ``event_id`` (dead letters)."""
    return uuid.uuid5(_POSITION_NAMESPACE, f"{topic}/{partition}/{offset}")


async def claim(connection: Connection, claims: Sequence[tuple[UUID, str]]) -> set[UUID]:
    """Record ``(event_id, topic)`` pairs; return the ids that were not applied before.

    Must run inside the transaction that applies the events.
    """
    if not claims:
        return set()
    rows = await connection.fetch(
        sql.CLAIM_EVENT_IDS, [c[0] for c in claims], [c[1] for c in claims]
    )
    return {row["event_id"] for row in rows}


# -- deduplication by position ----------------------------------------------------------------
#
# A consumer whose state itself recognises an event applied twice (the ledger: invoices by
# content, documents by id and content, customers by version) does not need an inbox row
# per event against Kafka's redeliveries: the next offset of each partition, kept in the
# transaction that applies the batch, tells what was applied already (see
# ``BatchProcessor.dedupe_by_offsets``).

Partition = tuple[str, int]  # (topic, partition)


async def consumed_offsets(
    connection: Connection, partitions: Sequence[Partition]
) -> dict[Partition, int]:
    """The next offset to apply of each of ``partitions`` that has one; rows locked.

    Must run inside the transaction that applies the batch and then :func:`advance`\\ s.
    """
    if not partitions:
        return {}
    rows = await connection.fetch(
        sql.CONSUMED_OFFSETS, [p[0] for p in partitions], [p[1] for p in partitions]
    )
    return {(row[0], row[1]): row[2] for row in rows}


async def advance(connection: Connection, next_offsets: dict[Partition, int]) -> None:
    """Record that every offset below ``next_offsets[partition]`` is applied (never back)."""
    if next_offsets:
        await connection.execute(
            sql.ADVANCE_OFFSETS,
            [p[0] for p in next_offsets],
            [p[1] for p in next_offsets],
            list(next_offsets.values()),
        )
