"""Dead letters as the console counts them: per original topic and reason, and a refused
command's facts. Pure functions of the records' bytes and headers."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from contracts.topics import DLQ_SUFFIX


@dataclass(frozen=True)
class DeadLetter:
    """One record of a dead-letter topic: where it is, when, its headers and value."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    value: bytes
    headers: Sequence[tuple[str, bytes]]

    def header(self, name: str) -> str | None:
        for header, value in self.headers:
            if header == name:
                return value.decode("utf-8", errors="replace")
        return None

    @property
    def reason(self) -> str:
        return (self.header("dlq.reason") or "unknown")[:200]

    @property
    def original_topic(self) -> str:
        return self.header("dlq.topic") or self.topic.removesuffix(DLQ_SUFFIX)

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)


@dataclass(frozen=True)
class Refusal:
    """A command the scheduler dead-lettered, as far as its bytes say."""

    command_id: UUID
    customer_id: str | None
    command: str
    actor_subject: str | None
    reason: str
    detail: str | None
    at: datetime


def tally(letters: Iterable[DeadLetter]) -> dict[tuple[str, str], tuple[int, datetime]]:
    """How many dead letters per (original topic, reason), and the newest one's time."""
    counts: Counter[tuple[str, str]] = Counter()
    newest: dict[tuple[str, str], datetime] = {}
    for letter in letters:
        key = (letter.original_topic, letter.reason)
        counts[key] += 1
        newest[key] = max(newest.get(key, letter.at), letter.at)
    return {key: (counts[key], newest[key]) for key in counts}


def refusal_of(letter: DeadLetter) -> Refusal | None:
    """The refused command in a dead letter of the commands topic; None when its bytes do
    not hold a command with an id (a malformed record is only counted)."""
    try:
        event: Any = json.loads(letter.value)
        payload = event["payload"]
        command_id = UUID(str(payload["command_id"]))
        command = str(event["event_type"]).removeprefix("command.")[:100]
    except (ValueError, KeyError, TypeError):
        return None
    customer = payload.get("customer_id")
    actor = payload.get("actor")
    subject = actor.get("subject") if isinstance(actor, dict) else None
    detail = letter.header("dlq.detail")
    return Refusal(
        command_id=command_id,
        customer_id=str(customer)[:200] if customer is not None else None,
        command=command,
        actor_subject=str(subject)[:200] if subject is not None else None,
        reason=letter.reason,
        detail=detail[:1000] if detail else None,
        at=letter.at,
    )
