"""Which partitions a batch is taken from when a backlog is read in time order."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import IllegalStateError

from services.runtime.time_order import TimeOrder

INVOICES = TopicPartition("erp.invoices.v1", 0)
PAYMENTS = TopicPartition("erp.payments.v1", 0)
CUSTOMERS = TopicPartition("erp.customers.v1", 0)


@dataclass
class Record:
    timestamp: int


@dataclass
class Consumer:
    """What TimeOrder reads of aiokafka's consumer: assignment, high watermarks, positions."""

    highwaters: dict[TopicPartition, int | None]
    positions: dict[TopicPartition, int] = field(default_factory=dict)
    unassigned_meanwhile: bool = False
    resetting: bool = False  # positions being reset: aiokafka's position() waits

    def assignment(self) -> set[TopicPartition]:
        return set(self.highwaters)

    def highwater(self, partition: TopicPartition) -> int | None:
        return self.highwaters[partition]

    async def position(self, partition: TopicPartition) -> int:
        if self.unassigned_meanwhile:
            raise IllegalStateError("No current assignment for partition")
        if self.resetting:
            await asyncio.sleep(3600)
        return self.positions.get(partition, 0)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def backlog() -> Consumer:
    return Consumer({INVOICES: 1_000, PAYMENTS: 1_000, CUSTOMERS: 10})


async def test_a_consumer_that_keeps_up_takes_from_every_partition() -> None:
    order = TimeOrder(skew_ms=1_000)
    consumer = Consumer({INVOICES: 5, PAYMENTS: 3}, {INVOICES: 5, PAYMENTS: 3})
    order.taken({INVOICES: [Record(1_000)], PAYMENTS: [Record(90_000)]})
    assert await order.partitions(consumer) == ()


async def test_partitions_never_fetched_hold_nothing_back() -> None:
    order = TimeOrder(skew_ms=1_000)
    assert await order.partitions(Consumer({INVOICES: None, PAYMENTS: None})) == ()


async def test_a_partition_not_seen_yet_is_read_first() -> None:
    order = TimeOrder(skew_ms=1_000)
    consumer = backlog()
    order.taken({PAYMENTS: [Record(5_000)]})
    consumer.positions[PAYMENTS] = 200
    chosen = await order.partitions(consumer)
    assert set(chosen) == {INVOICES, CUSTOMERS}


async def test_a_partition_ahead_by_more_than_the_skew_waits_for_the_one_behind() -> None:
    order = TimeOrder(skew_ms=1_000)
    consumer = backlog()
    order.taken(
        {INVOICES: [Record(1_000), Record(2_000)], PAYMENTS: [Record(9_000)], CUSTOMERS: []}
    )
    order.taken({CUSTOMERS: [Record(2_500)]})
    consumer.positions.update({INVOICES: 100, PAYMENTS: 100, CUSTOMERS: 10})
    # customers caught up (position = high watermark): they constrain nothing
    assert set(await order.partitions(consumer)) == {INVOICES, CUSTOMERS}
    order.taken({INVOICES: [Record(8_500)]})
    assert await order.partitions(consumer) == ()  # payments are within the skew now


async def test_the_floor_is_the_partition_furthest_behind_that_still_has_records() -> None:
    order = TimeOrder(skew_ms=1_000)
    consumer = backlog()
    order.taken({INVOICES: [Record(1_000)], PAYMENTS: [Record(1_900)], CUSTOMERS: [Record(50)]})
    consumer.positions.update({INVOICES: 100, PAYMENTS: 100, CUSTOMERS: 10})
    assert await order.partitions(consumer) == ()  # 900 ms apart: within the skew
    order.taken({PAYMENTS: [Record(2_001)]})
    # 1,001 ms ahead of invoices; customers have nothing waiting and are not the floor
    assert set(await order.partitions(consumer)) == {INVOICES, CUSTOMERS}


async def test_a_partition_is_held_back_for_max_hold_s_at_most() -> None:
    clock = Clock()
    order = TimeOrder(skew_ms=1_000, max_hold_s=5.0, clock=clock)
    consumer = backlog()
    order.taken({INVOICES: [Record(1_000)], PAYMENTS: [Record(60_000)], CUSTOMERS: [Record(0)]})
    consumer.positions.update({INVOICES: 100, PAYMENTS: 100, CUSTOMERS: 10})
    assert PAYMENTS not in await order.partitions(consumer)
    order.taken({INVOICES: [Record(1_500)]})
    clock.now += 4.9
    assert PAYMENTS not in await order.partitions(consumer)
    order.taken({INVOICES: [Record(2_000)]})
    clock.now += 0.2  # 5.1 s since it was first held back
    assert await order.partitions(consumer) == ()  # nothing held: all of them


async def test_a_restricted_batch_that_found_nothing_is_followed_by_one_from_all() -> None:
    order = TimeOrder(skew_ms=1_000)
    consumer = backlog()
    order.taken({INVOICES: [Record(1_000)], PAYMENTS: [Record(60_000)], CUSTOMERS: [Record(0)]})
    consumer.positions.update({INVOICES: 100, PAYMENTS: 100, CUSTOMERS: 10})
    assert set(await order.partitions(consumer)) == {INVOICES, CUSTOMERS}
    order.taken({})  # the chosen partitions had nothing within the poll's timeout
    assert await order.partitions(consumer) == ()
    # and the order applies again at the next batch
    assert set(await order.partitions(consumer)) == {INVOICES, CUSTOMERS}


async def test_a_rebalance_during_the_choice_takes_from_all_and_forgets_the_unassigned() -> None:
    order = TimeOrder(skew_ms=1_000)
    consumer = backlog()
    order.taken({INVOICES: [Record(1_000)], PAYMENTS: [Record(60_000)]})
    consumer.unassigned_meanwhile = True
    assert await order.partitions(consumer) == ()
    # invoices' partition goes to another replica: payments no longer wait for it
    alone = Consumer({PAYMENTS: 1_000}, {PAYMENTS: 100})
    assert await order.partitions(alone) == ()


@pytest.mark.parametrize("skew_ms", [0, 1_000])
async def test_records_without_a_timestamp_do_not_move_the_partitions_mark(skew_ms: int) -> None:
    order = TimeOrder(skew_ms=skew_ms)
    consumer = Consumer({INVOICES: 1_000, PAYMENTS: 1_000}, {INVOICES: 10, PAYMENTS: 10})
    order.taken({INVOICES: [Record(1_000)], PAYMENTS: [Record(50_000)]})
    order.taken({INVOICES: [Record(None)]})  # type: ignore[arg-type]
    assert await order.partitions(consumer) == [INVOICES]


async def test_fewer_records_waiting_than_a_batch_are_taken_from_every_partition() -> None:
    """A live consumer: a payment is never held back behind the others' records."""
    order = TimeOrder(skew_ms=1_000, backlog=2_000)
    consumer = backlog()
    order.taken({INVOICES: [Record(1_000)], PAYMENTS: [Record(60_000)], CUSTOMERS: [Record(0)]})
    consumer.positions.update({INVOICES: 100, PAYMENTS: 100, CUSTOMERS: 10})
    assert await order.partitions(consumer) == ()  # 1,800 waiting
    consumer.highwaters[PAYMENTS] = 1_201  # 2,001 waiting
    assert set(await order.partitions(consumer)) == {INVOICES, CUSTOMERS}


async def test_a_position_being_reset_never_holds_the_batch() -> None:
    order = TimeOrder(skew_ms=1_000)
    consumer = backlog()
    order.taken({INVOICES: [Record(1_000)], PAYMENTS: [Record(60_000)], CUSTOMERS: [Record(0)]})
    consumer.resetting = True
    assert await asyncio.wait_for(order.partitions(consumer), timeout=5) == ()
