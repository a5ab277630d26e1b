"""Pieces of JSON written as the contract models dump them, for events serialised by hand.

A service that emits thousands of events per batch may write the frequent ones straight
from its own state instead of validating a pydantic model per event and dumping it (the
scheduler's reminders, ingestion's ledger events): building and dumping the model was the
largest cost of both. The bytes must stay the ones the model would dump, field for field;
each such writer has property tests that compare its output with the model's dump for
generated values. These helpers write the shared parts exactly as pydantic does: strings
(UTF-8, not ``\\u``-escaped), aware instants (ISO 8601, UTC as ``Z``), dates, exact amounts
(``format(value, "f")``, as :data:`contracts.money.Amount` serialises) and the envelope's
leading fields.
"""

from __future__ import annotations

import functools
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from json.encoder import encode_basestring

string = encode_basestring
"""A JSON string as pydantic writes it (UTF-8, control characters escaped)."""

SCHEMA_VERSION = 1


def instant(at: datetime) -> str:
    """An aware datetime as pydantic writes it: ISO 8601, UTC as ``Z``.

    Cached, for writers that write the same few instants many times (a scheduler tick's
    "now"); :func:`instant_once` writes one that is rarely seen twice.
    """
    return _cached_instant(at, at.utcoffset())


def instant_once(at: datetime) -> str:
    """:func:`instant`, not cached."""
    text = at.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


@functools.lru_cache(maxsize=4096)
def _cached_instant(at: datetime, offset: timedelta | None) -> str:
    # the offset is part of the key: the same instant in two zones is written two ways
    return instant_once(at)


def optional_string(value: str | None) -> str:
    return "null" if value is None else string(value)


def optional_instant(at: datetime | None) -> str:
    return "null" if at is None else f'"{instant(at)}"'


def day(value: date) -> str:
    return f'"{value.isoformat()}"'


def boolean(value: bool) -> str:
    return "true" if value else "false"


def amount(value: Decimal) -> str:
    """An exact amount: a JSON string, never an exponent."""
    return f'"{value:f}"'


def money(value: Decimal, currency: str) -> str:
    """A ``Money`` or ``PositiveMoney`` object."""
    return f'{{"amount":"{value:f}","currency":{string(currency)}}}'


def envelope(
    event_id: uuid.UUID | str,
    event_type: str,
    occurred_at: str,
    source: str,
    schema_version: int = SCHEMA_VERSION,
) -> str:
    """An event's envelope up to ``"payload":``; the payload object and ``}`` follow.

    ``occurred_at`` is the instant as :func:`instant` writes it; ``event_id`` a ``UUID`` or
    its text as ``str()`` writes it; ``schema_version`` the event type's current one.
    """
    return (
        f'{{"event_id":"{event_id}","event_type":"{event_type}",'
        f'"schema_version":{schema_version},"occurred_at":"{occurred_at}",'
        f'"source":{string(source)},"payload":'
    )
