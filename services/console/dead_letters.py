"""The dead-letter census: the console counts the public topics' dead letters.

Dead-letter topics (``<topic>.dlq``) are public topics. Every ``census_interval_s`` the
console reads each one from where it stopped, without a consumer group (partitions assigned
by hand, like ``relance dlq``), counts the new records per original topic and reason and,
for ``dunning.commands.v1.dlq``, records each refused command (the customer page then shows
it refused instead of waiting, and the Operations page lists it). Counts and positions are
written in one transaction: a census interrupted before it commits is read again whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from contracts.topics import ALL_TOPICS, DUNNING_COMMANDS
from services.console import queries
from services.console.domain.dead_letters import DeadLetter, refusal_of, tally
from services.runtime.database import Pool
from services.runtime.errors import TransientError
from services.runtime.logs import get_logger

log = get_logger(__name__)

DEAD_LETTER_TOPICS = tuple(sorted(t.dead_letter for t in ALL_TOPICS))
BATCH = 500


class DeadLetterCensus:
    """Reads the dead-letter topics on from the positions kept in ``console``."""

    def __init__(
        self,
        pool: Pool,
        kafka_options: dict[str, Any],
        topics: Sequence[str] = DEAD_LETTER_TOPICS,
        commands_dead_letter: str = DUNNING_COMMANDS.dead_letter,
    ) -> None:
        self.pool = pool
        self.kafka_options = kafka_options
        self.topics = topics
        self.commands_dead_letter = commands_dead_letter

    async def step(self) -> None:
        """One census: new dead letters counted, refusals recorded, positions moved."""
        known = {
            (r["topic"], r["partition"]): r["next_offset"]
            for r in await self.pool.fetch(queries.DEAD_LETTER_POSITIONS)
        }
        consumer = AIOKafkaConsumer(
            **self.kafka_options,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        letters: list[DeadLetter] = []
        try:
            await consumer.start()
            await (
                consumer._client.force_metadata_update()
            )  # no public refresh of unsubscribed topics
            partitions = [
                TopicPartition(topic, number)
                for topic in self.topics
                for number in sorted(consumer.partitions_for_topic(topic) or ())
            ]
            if not partitions:
                return
            consumer.assign(partitions)
            ends = await consumer.end_offsets(partitions)
            starts = await consumer.beginning_offsets(partitions)
            reached: dict[TopicPartition, int] = {}
            for tp in partitions:
                start = max(known.get((tp.topic, tp.partition), 0), starts[tp])
                if start >= ends[tp]:
                    continue
                consumer.seek(tp, start)
                reached[tp] = start
                while reached[tp] < ends[tp]:
                    batch = await consumer.getmany(tp, timeout_ms=2000, max_records=BATCH)
                    messages = batch.get(tp, [])
                    if not messages:
                        break
                    for m in messages:
                        if m.offset >= ends[tp]:
                            continue
                        letters.append(
                            DeadLetter(
                                m.topic,
                                m.partition,
                                m.offset,
                                m.timestamp,
                                m.value or b"",
                                tuple((k, v or b"") for k, v in (m.headers or ())),
                            )
                        )
                        reached[tp] = m.offset + 1
        except KafkaError as exc:
            raise TransientError(f"dead-letter census: {exc!r}") from exc
        finally:
            await consumer.stop()
        if not reached:
            return
        await self.save(letters, reached)

    async def save(self, letters: list[DeadLetter], reached: dict[TopicPartition, int]) -> None:
        refusals = [
            refusal
            for letter in letters
            if letter.topic == self.commands_dead_letter
            for refusal in [refusal_of(letter)]
            if refusal is not None
        ]
        async with self.pool.acquire() as connection, connection.transaction():
            for (topic, reason), (count, last) in sorted(tally(letters).items()):
                await connection.execute(queries.COUNT_DEAD_LETTERS, topic, reason, count, last)
            for r in refusals:
                await connection.execute(
                    queries.RECORD_REFUSAL,
                    r.command_id,
                    r.customer_id,
                    r.command,
                    r.actor_subject,
                    r.reason,
                    r.detail,
                    r.at,
                )
            for tp, offset in reached.items():
                await connection.execute(
                    queries.SAVE_DEAD_LETTER_POSITION, tp.topic, tp.partition, offset
                )
        if letters:
            log.info("dead_letters_counted", records=len(letters), refusals=len(refusals))
