"""Records on their way to Kafka, as values: no database driver, no Kafka client.

A service's domain builds :class:`OutgoingRecord`s (an event serialised for its topic) and
its shell hands them to :func:`services.runtime.outbox.enqueue` within the transaction that
changed its state. Keeping the value apart from the outbox lets ``domain/`` modules build
records without importing asyncpg (import-linter checks it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple
from uuid import UUID

from contracts.envelope import Event
from contracts.topics import Topic

Headers = Sequence[tuple[str, bytes]]


class OutgoingRecord(NamedTuple):
    """One record for Kafka: its topic, key, value and headers, and the event it carries.

    ``event_id`` is the event's id as a ``UUID`` or as its text (``str(UUID)``, lowercase
    with hyphens): a service that writes thousands of events per batch may write the ids'
    text straight into the JSON and keep it, rather than make a ``UUID`` whose bytes the
    outbox's ``COPY`` then reads through a Python property. :attr:`event_uuid` gives it
    as a ``UUID`` either way.

    A named tuple rather than a frozen dataclass: a busy service makes one per event twice
    (emitting it, and relaying it from the outbox), ingestion three times per ERP event
    on average. Made and freed, the dataclass (its ``__dict__`` set in one step) cost
    0.90-0.92 µs, this tuple 0.50-0.58 through its ``__new__``; the loops that make
    thousands a batch call ``tuple.__new__`` (the outbox's ``unframe``: 1.03-1.07 µs a
    record against 0.69-0.73; hand-measured, docs/ingestion.md, eighteenth round).
    """

    topic: str
    key: bytes | None
    value: bytes
    headers: Headers = ()
    event_id: UUID | str | None = None

    @property
    def event_uuid(self) -> UUID | None:
        """The event's id as a ``UUID``, whichever form the record keeps it in."""
        event_id = self.event_id
        return UUID(event_id) if isinstance(event_id, str) else event_id

    @classmethod
    def of(cls, topic: Topic, event: Event) -> OutgoingRecord:
        return cls(
            topic=topic.name,
            key=topic.key(event),
            value=topic.value(event),
            headers=(("event_type", event.event_type.encode()),),
            event_id=event.event_id,
        )
