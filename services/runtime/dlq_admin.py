"""``relance dlq``: count, inspect and replay dead letters.

A dead letter (:mod:`services.runtime.dead_letter`) is the original record, byte for byte,
on ``<topic>.dlq``, with its original headers and ``dlq.*`` headers saying why
(``dlq.reason``, ``dlq.detail``), which service gave up on it, and where it came from
(``dlq.topic``, ``dlq.partition``, ``dlq.offset``, ``dlq.event_id`` when it had one)::

    relance dlq list [--topic T]...                counts per topic and reason
    relance dlq show DLQ_TOPIC PARTITION OFFSET     one record: headers, key and value
    relance dlq replay DLQ_TOPIC (--offset P:O... | --reason R) [--operator NAME] [--dry-run]

``replay`` sends the selected records, after the fix that makes them applicable (a
corrected contract, a new reference, a deployed release), back to the topic they came
from: same key, same value, the original headers, and ``dlq.replayed_by`` (the operator:
``--operator`` or the environment's user), ``dlq.replayed_from``
(``<dlq topic>:<partition>:<offset>``) and ``dlq.replayed_at``. Every replay is logged with
the operator's name. The ``dlq.*`` headers of the dead letter itself are not carried over:
the replayed record is a fresh attempt, and the dead letter stays where it is for the
record.

A record with ``dlq.event_id`` was read and rejected by the service's handler; its event
id is in that service's inbox, which will skip the replay as a duplicate unless the claim
is released first (docs/operations.md, "Dead letters"). ``replay`` says so for each one.

Reading needs no consumer group (partitions are assigned by hand), so the operator's
KafkaUser needs only Read on the dead-letter topics and Write on the original ones. The
connection is the ``KAFKA_*`` settings. Exit codes: 0 done, 1 bad input (nothing
replayed), 2 configuration or connection error.
"""

from __future__ import annotations

import asyncio
import base64
import getpass
import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from contracts.topics import ALL_TOPICS, DLQ_SUFFIX
from services.runtime.errors import DlqError, RelanceError
from services.runtime.logs import get_logger
from services.runtime.settings import KafkaSettings, load

log = get_logger(__name__)

REPLAYED_BY = "dlq.replayed_by"
REPLAYED_FROM = "dlq.replayed_from"
REPLAYED_AT = "dlq.replayed_at"

app = typer.Typer(no_args_is_help=True, help="Dead letters: count them, show one, replay them.")


@dataclass(frozen=True)
class DeadLetterRecord:
    """One record of a dead-letter topic, as it was written."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    def header(self, name: str) -> str | None:
        for header, value in self.headers:
            if header == name:
                return value.decode("utf-8", errors="replace")
        return None

    @property
    def reason(self) -> str:
        return self.header("dlq.reason") or "unknown"

    @property
    def original_topic(self) -> str:
        return self.header("dlq.topic") or self.topic.removesuffix(DLQ_SUFFIX)

    @property
    def position(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"

    def original_headers(self) -> list[tuple[str, bytes]]:
        """The headers the record had before it was dead-lettered."""
        return [(name, value) for name, value in self.headers if not name.startswith("dlq.")]

    def as_dict(self) -> dict[str, Any]:
        """A printable view: text shown escaped, bytes also in base64, nothing decoded lossily."""
        return {
            "position": self.position,
            "timestamp": datetime.fromtimestamp(self.timestamp_ms / 1000, UTC).isoformat(),
            "original_topic": self.original_topic,
            "reason": self.reason,
            "headers": [
                {"name": name, "value": _escaped(value), "base64": _b64(value)}
                for name, value in self.headers
            ],
            "key": None if self.key is None else _escaped(self.key),
            "key_base64": None if self.key is None else _b64(self.key),
            "value": _escaped(self.value),
            "value_base64": _b64(self.value),
        }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _escaped(data: bytes) -> str:
    """The bytes as text, every byte that is not printable UTF-8 written as ``\\xNN``."""
    return data.decode("utf-8", errors="backslashreplace")


def dead_letter_topics(only: Iterable[str] = ()) -> list[str]:
    """The dead-letter topics of the registry, or those of ``only`` (either name works)."""
    known = {t.dead_letter for t in ALL_TOPICS}
    selected = []
    for name in only:
        dlq = name if name.endswith(DLQ_SUFFIX) else name + DLQ_SUFFIX
        if dlq not in known:
            raise DlqError(f"no dead-letter topic {dlq!r} in contracts.topics")
        selected.append(dlq)
    return selected or sorted(known)


def operator_identity(explicit: str | None) -> str:
    """Who replays: ``--operator``, else the environment's user; never empty."""
    for candidate in (explicit, os.environ.get("RELANCE_OPERATOR")):
        if candidate and candidate.strip():
            return candidate.strip()
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name for this uid (a container)
        user = ""
    if not user.strip():
        raise DlqError("who is replaying? give --operator NAME (or set RELANCE_OPERATOR)")
    return user.strip()


async def read_dead_letters(
    kafka_options: dict[str, Any],
    topics: Sequence[str],
    positions: set[tuple[str, int, int]] | None = None,
) -> list[DeadLetterRecord]:
    """Every record of ``topics`` up to their current end, without a consumer group.

    With ``positions`` (``(topic, partition, offset)``), only those records are read, each
    by seeking to it.
    """
    consumer = AIOKafkaConsumer(
        **kafka_options, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    try:
        await consumer.start()
        partitions: list[TopicPartition] = []
        for topic in topics:
            numbers = await _partitions_of(consumer, topic)
            partitions += [TopicPartition(topic, number) for number in sorted(numbers)]
        if positions is not None:
            wanted = {TopicPartition(t, p) for t, p, _ in positions}
            unknown = wanted - set(partitions)
            if unknown:
                raise DlqError(f"no such partition: {sorted(map(str, unknown))}")
            partitions = sorted(wanted, key=lambda tp: (tp.topic, tp.partition))
        if not partitions:
            return []
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        records: list[DeadLetterRecord] = []
        for tp in partitions:
            if positions is None:
                offsets = range(starts[tp], ends[tp])
            else:
                offsets = range(0)  # read one by one below
                for topic, partition, offset in sorted(positions):
                    if (topic, partition) != (tp.topic, tp.partition):
                        continue
                    if not starts[tp] <= offset < ends[tp]:
                        raise DlqError(f"no record at {topic}:{partition}:{offset}")
                    consumer.seek(tp, offset)
                    records.append(await _next_of(consumer, tp, offset))
            if offsets:
                consumer.seek(tp, offsets.start)
                while True:
                    batch = await consumer.getmany(tp, timeout_ms=2000, max_records=500)
                    for message in batch.get(tp, []):
                        if message.offset < offsets.stop:
                            records.append(_of(message))
                    if not batch.get(tp) or await consumer.position(tp) >= offsets.stop:
                        break
        return records
    finally:
        await consumer.stop()


async def _partitions_of(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    for _ in range(20):  # metadata of a topic not yet known to the client arrives shortly
        numbers = consumer.partitions_for_topic(topic)
        if numbers:
            return set(numbers)
        # aiokafka has no public metadata refresh for a topic not subscribed to
        await consumer._client.force_metadata_update()
        await asyncio.sleep(0.1)
    raise DlqError(f"topic {topic!r} does not exist in this cluster")


async def _next_of(consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> Any:
    for _ in range(10):
        batch = await consumer.getmany(tp, timeout_ms=2000, max_records=1)
        for message in batch.get(tp, []):
            if message.offset == offset:
                return _of(message)
            raise DlqError(f"no record at {tp.topic}:{tp.partition}:{offset}")
    raise DlqError(f"timed out reading {tp.topic}:{tp.partition}:{offset}")


def _of(message: Any) -> DeadLetterRecord:
    return DeadLetterRecord(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        timestamp_ms=message.timestamp,
        key=message.key,
        value=message.value if message.value is not None else b"",
        headers=tuple((name, value or b"") for name, value in (message.headers or ())),
    )


def count(records: Iterable[DeadLetterRecord]) -> Counter[tuple[str, str]]:
    """How many dead letters per original topic and reason."""
    return Counter((record.original_topic, record.reason) for record in records)


def replay_headers(
    record: DeadLetterRecord, operator: str, now: datetime
) -> list[tuple[str, bytes]]:
    return [
        *record.original_headers(),
        (REPLAYED_BY, operator.encode()),
        (REPLAYED_FROM, record.position.encode()),
        (REPLAYED_AT, now.isoformat().encode()),
    ]


async def replay(
    kafka_options: dict[str, Any],
    records: Sequence[DeadLetterRecord],
    operator: str,
    now: datetime | None = None,
    known_topics: Iterable[str] | None = None,
) -> list[tuple[DeadLetterRecord, int, int]]:
    """Send each record back to its original topic; ``(record, partition, offset)`` each.

    Only to a topic of the registry (``known_topics`` overrides it): a forged ``dlq.topic``
    header never sends a record elsewhere.
    """
    known = set(known_topics) if known_topics is not None else {t.name for t in ALL_TOPICS}
    for record in records:
        if record.original_topic not in known:
            raise DlqError(f"{record.position} came from {record.original_topic!r}, unknown")
    moment = now or datetime.now(UTC)
    producer = AIOKafkaProducer(**kafka_options, acks="all", enable_idempotence=True)
    sent: list[tuple[DeadLetterRecord, int, int]] = []
    try:
        await producer.start()
        for record in records:
            metadata = await producer.send_and_wait(
                record.original_topic,
                record.value,
                key=record.key,
                headers=replay_headers(record, operator, moment),
            )
            sent.append((record, metadata.partition, metadata.offset))
            log.info(
                "dead letter replayed",
                operator=operator,
                dead_letter=record.position,
                topic=record.original_topic,
                partition=metadata.partition,
                offset=metadata.offset,
                reason=record.reason,
            )
    finally:
        await producer.stop()
    return sent


def parse_position(text: str, topic: str) -> tuple[str, int, int]:
    """``PARTITION:OFFSET`` on ``topic``."""
    try:
        partition, offset = (int(part) for part in text.split(":"))
    except ValueError as exc:
        raise DlqError(f"{text!r} is not PARTITION:OFFSET") from exc
    if partition < 0 or offset < 0:
        raise DlqError(f"{text!r}: partition and offset are never negative")
    return topic, partition, offset


# The command line.

TopicsOption = Annotated[
    list[str] | None,
    typer.Option("--topic", help="A topic or its dead-letter topic; repeat; default: all."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _kafka_options() -> dict[str, Any]:
    try:
        return load(KafkaSettings).client_options()
    except RelanceError as exc:
        typer.echo(f"relance dlq: {exc}", err=True)
        raise typer.Exit(2) from exc


def _run(coroutine: Any) -> Any:
    try:
        return asyncio.run(coroutine)
    except DlqError as exc:
        typer.echo(f"relance dlq: {exc}", err=True)
        raise typer.Exit(1) from exc
    except (KafkaError, RelanceError, OSError) as exc:
        typer.echo(f"relance dlq: cannot reach Kafka: {exc}", err=True)
        raise typer.Exit(2) from exc


def _topics(names: list[str] | None) -> list[str]:
    try:
        return dead_letter_topics(names or ())
    except DlqError as exc:
        typer.echo(f"relance dlq: {exc}", err=True)
        raise typer.Exit(1) from exc


@app.command("list")
def list_command(topic: TopicsOption = None, as_json: AsJson = False) -> None:
    """Count dead letters per original topic and reason."""
    records = _run(read_dead_letters(_kafka_options(), _topics(topic)))
    counts = count(records)
    if as_json:
        rows = [{"topic": t, "reason": r, "count": n} for (t, r), n in sorted(counts.items())]
        typer.echo(json.dumps(rows, indent=2))
        return
    if not counts:
        typer.echo("no dead letters")
        return
    width = max(len(t) for t, _ in counts)
    for (original, reason), number in sorted(counts.items()):
        typer.echo(f"{original:<{width}}  {reason:<24}  {number}")


@app.command("show")
def show_command(
    topic: Annotated[str, typer.Argument(help="The dead-letter topic (or its original topic).")],
    partition: Annotated[int, typer.Argument(min=0)],
    offset: Annotated[int, typer.Argument(min=0)],
) -> None:
    """Show one dead letter: its headers, key and original value (escaped and base64)."""
    (dlq,) = _topics([topic])
    (record,) = _run(read_dead_letters(_kafka_options(), [dlq], {(dlq, partition, offset)}))
    typer.echo(json.dumps(record.as_dict(), indent=2, ensure_ascii=False))


@app.command("replay")
def replay_command(
    topic: Annotated[str, typer.Argument(help="The dead-letter topic (or its original topic).")],
    offsets: Annotated[
        list[str] | None,
        typer.Option("--offset", help="PARTITION:OFFSET of a dead letter; repeat."),
    ] = None,
    reason: Annotated[
        str | None, typer.Option(help="Every dead letter of the topic with this dlq.reason.")
    ] = None,
    operator: Annotated[
        str | None,
        typer.Option(help="Who replays (recorded in dlq.replayed_by); default: your user."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be sent.")] = False,
) -> None:
    """Send dead letters back to the topic they came from, after a fix."""
    (dlq,) = _topics([topic])
    if bool(offsets) == (reason is not None):
        typer.echo("relance dlq: give either --offset (one or more) or --reason", err=True)
        raise typer.Exit(1)
    try:
        who = operator_identity(operator)
        positions = {parse_position(text, dlq) for text in offsets or ()}
    except DlqError as exc:
        typer.echo(f"relance dlq: {exc}", err=True)
        raise typer.Exit(1) from exc
    options = _kafka_options()
    records = _run(read_dead_letters(options, [dlq], positions or None))
    if reason is not None:
        records = [r for r in records if r.reason == reason]
    if not records:
        typer.echo("relance dlq: no dead letter matches", err=True)
        raise typer.Exit(1)
    for record in records:
        event_id = record.header("dlq.event_id")
        if event_id:
            typer.echo(
                f"note: {record.position}: event {event_id} is claimed in the inbox of "
                f"{record.header('dlq.service')}; release the claim or the replay is skipped "
                "as a duplicate (docs/operations.md, Dead letters)",
                err=True,
            )
    if dry_run:
        for record in records:
            typer.echo(f"would replay {record.position} -> {record.original_topic} as {who}")
        return
    sent = _run(replay(options, records, who))
    for record, partition, offset in sent:
        typer.echo(f"replayed {record.position} -> {record.original_topic}:{partition}:{offset}")
    typer.echo(f"{len(sent)} record(s) replayed by {who}")
