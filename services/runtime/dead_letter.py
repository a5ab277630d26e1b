"""Records that cannot be applied, sent to ``<topic>.dlq`` with their reason.

Nothing is dropped: the dead letter carries the original key, value and headers, plus
``dlq.*`` headers saying why (a machine-readable ``dlq.reason`` code and a ``dlq.detail``
text) and where the record came from. Dead letters are written to the outbox in the same
transaction as the rest of the batch, so that, with the inbox, a record is either applied
or dead-lettered, exactly once: events in = events applied + events dead-lettered.

Details never quote the rejected input: validation errors are rendered without their
input values, which may hold personal data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NamedTuple
from uuid import UUID

from pydantic import ValidationError

from contracts.topics import DLQ_SUFFIX
from services.runtime.records import OutgoingRecord

MAX_DETAIL = 4000


_new_tuple = tuple.__new__


class IncomingRecord(NamedTuple):
    """What the consumer plumbing keeps of a Kafka record.

    A named tuple, made by :meth:`of` through ``tuple.__new__``: a consumer makes one per
    record it reads, and as a dataclass (its ``__dict__`` set in one step) it cost 1.06-1.31
    µs made and freed against 0.52-0.68 (hand-measured, docs/ingestion.md, eighteenth
    round).
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()

    @classmethod
    def of(cls, record: Any) -> IncomingRecord:
        """From an aiokafka ``ConsumerRecord``."""
        value = record.value
        headers = record.headers
        return _new_tuple(
            cls,
            (
                record.topic,
                record.partition,
                record.offset,
                record.key,
                b"" if value is None else value,
                tuple([(name, value or b"") for name, value in headers]) if headers else (),
            ),
        )


@dataclass(frozen=True)
class DeadLetter:
    record: IncomingRecord
    reason: str
    detail: str
    service: str
    event_id: UUID | None = None

    def outgoing(self) -> OutgoingRecord:
        source = self.record
        headers = [
            *source.headers,
            ("dlq.reason", self.reason.encode()),
            ("dlq.detail", self.detail[:MAX_DETAIL].encode()),
            ("dlq.service", self.service.encode()),
            ("dlq.topic", source.topic.encode()),
            ("dlq.partition", str(source.partition).encode()),
            ("dlq.offset", str(source.offset).encode()),
        ]
        if self.event_id is not None:
            headers.append(("dlq.event_id", str(self.event_id).encode()))
        return OutgoingRecord(
            topic=source.topic + DLQ_SUFFIX,
            key=source.key,
            value=source.value,
            headers=tuple(headers),
            event_id=self.event_id,
        )


# Validation errors that name a business rule get their own dead-letter reason, so that an
# operator can count and route them without parsing ``dlq.detail``.
_CUSTOM_REASONS = frozenset({"due_before_issue"})


def reason_of(exc: ValidationError) -> str:
    """The machine-readable dead-letter reason of a record that does not validate.

    ``malformed_json`` (not JSON at all), ``unknown_currency`` (not an ISO 4217 code),
    ``non_positive_amount`` (an amount that must be above zero is not), ``due_before_issue``,
    else ``schema_invalid``; ``dlq.detail`` always lists every error with its field path.
    """
    errors = exc.errors(include_input=False, include_url=False, include_context=False)
    for error in errors:
        kind = error["type"]
        field = str(error["loc"][-1]) if error["loc"] else ""
        if kind == "json_invalid":
            return "malformed_json"
        if kind in _CUSTOM_REASONS:
            return kind
        if kind == "ISO4217" or (field == "currency" and kind not in ("missing", "string_type")):
            return "unknown_currency"
        if field == "amount" and kind in ("greater_than", "greater_than_equal"):
            return "non_positive_amount"
    return "schema_invalid"


def describe_validation_error(exc: ValidationError) -> str:
    """A JSON list of ``{loc, type, msg}``, without the offending input values."""
    errors = [
        {
            "loc": ".".join(str(part) for part in error["loc"]),
            "type": error["type"],
            "msg": error["msg"],
        }
        for error in exc.errors(include_input=False, include_url=False, include_context=False)
    ]
    return json.dumps(errors, ensure_ascii=False)
