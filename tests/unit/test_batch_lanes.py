"""A batch split into parts by partition number (``BatchProcessor.lanes``)."""

from __future__ import annotations

import collections

from hypothesis import given
from hypothesis import strategies as st

from services.runtime.consumer import split_by_partition
from services.runtime.dead_letter import IncomingRecord


def batch(partitions: list[int]) -> list[IncomingRecord]:
    offsets: collections.Counter[int] = collections.Counter()
    records = []
    for partition in partitions:
        records.append(IncomingRecord("t", partition, offsets[partition], b"k", b"{}"))
        offsets[partition] += 1
    return records


@given(st.lists(st.integers(min_value=-1, max_value=11), max_size=300), st.integers(1, 5))
def test_each_partition_number_goes_whole_to_one_part_in_the_batchs_order(
    partitions: list[int], parts: int
) -> None:
    records = batch(partitions)
    split = split_by_partition(records, parts)

    # every record once, each part in the batch's order
    position = {id(r): n for n, r in enumerate(records)}
    assert sorted(position[id(r)] for part in split for r in part) == list(range(len(records)))
    for part in split:
        assert [position[id(r)] for r in part] == sorted(position[id(r)] for r in part)
    # a partition number in one part only
    owner: dict[int, int] = {}
    for n, part in enumerate(split):
        for r in part:
            assert owner.setdefault(r.partition, n) == n
    # no empty part, no more parts than asked or than partition numbers
    distinct = len(set(partitions))
    assert len(split) == (1 if not records else min(max(parts, 1), distinct))
    assert all(split) or not records
    # about equal: no part exceeds another by more than its largest partition's records
    if len(split) > 1:
        sizes = [len(p) for p in split]
        largest = max(
            collections.Counter(r.partition for r in split[sizes.index(max(sizes))]).values()
        )
        assert max(sizes) - min(sizes) <= largest
    # the split depends on the batch alone
    assert split_by_partition(records, parts) == split


def test_one_partition_or_one_part_is_the_batch_itself() -> None:
    records = batch([3, 3, 3])
    assert split_by_partition(records, 2)[0] is records
    records = batch([1, 2, 3])
    assert split_by_partition(records, 1)[0] is records


def test_partitions_largest_first_to_the_smallest_part() -> None:
    records = batch([0] * 5 + [2] * 3 + [4] * 2 + [6] * 1)
    split = split_by_partition(records, 2)
    assert [sorted({r.partition for r in part}) for part in split] == [[0, 6], [2, 4]]
