"""An outbox chunk (``services.runtime.outbox.frames`` / ``unframe``, packed by
``packed_chunks`` / ``unpacked``): every record given back whole and in order, chunks cut at
``CHUNK_BYTES`` (packed: ``PACKED_FRAMES_BYTES``) but never inside a record, a chunk written
before packing read as it is, a damaged chunk refused. No PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.runtime.outbox import (
    CHUNK_BYTES,
    PACKED_FRAMES_BYTES,
    PACKED_MARK,
    OutgoingRecord,
    _records,
    enqueued_row,
    frames,
    packed_chunks,
    unframe,
    unpacked,
)

records = st.lists(
    st.builds(
        OutgoingRecord,
        st.text(min_size=1, max_size=40),
        st.none() | st.binary(max_size=40),
        st.binary(max_size=3000),
        st.lists(st.tuples(st.text(max_size=20), st.binary(max_size=20)), max_size=3).map(tuple),
        st.just(uuid.uuid4()),
    ),
    max_size=40,
)


def _plain(batch: list[OutgoingRecord]) -> list[tuple[object, ...]]:
    return [(r.topic, r.key, r.value, tuple(r.headers)) for r in batch]


@given(records)
def test_chunks_give_back_every_record_in_order(batch: list[OutgoingRecord]) -> None:
    chunks = frames(enqueued_row(r) for r in batch)

    read = [record for chunk in chunks for record in unframe(chunk)]
    assert _plain(read) == _plain(batch)
    # each chunk within its size, unless one record alone is larger
    for chunk in chunks:
        assert len(chunk) <= CHUNK_BYTES or len(unframe(chunk)) == 1


def test_a_record_larger_than_a_chunk_is_a_chunk_of_its_own() -> None:
    small = OutgoingRecord("ledger.events.v1", b"C1", b"x" * 100, (("event_type", b"a"),))
    large = OutgoingRecord("ledger.events.v1", None, b"y" * (CHUNK_BYTES * 2), ())
    chunks = frames(enqueued_row(r) for r in (small, large, small))

    assert [len(unframe(c)) for c in chunks] == [1, 1, 1]
    assert unframe(chunks[1])[0].value == large.value
    assert unframe(chunks[1])[0].key is None


def test_a_dozen_ledger_events_of_600_bytes_share_a_chunk() -> None:
    batch = [
        OutgoingRecord("ledger.events.v1", f"C{n}".encode(), b"v" * 600, (("event_type", b"x"),))
        for n in range(100)
    ]
    chunks = frames(enqueued_row(r) for r in batch)

    assert [len(unframe(c)) for c in chunks][:-1] == [12] * (len(chunks) - 1)
    assert sum(len(unframe(c)) for c in chunks) == 100


def test_a_chunk_cut_short_is_refused_not_read_in_part() -> None:
    (chunk,) = frames(enqueued_row(OutgoingRecord("t", b"k", b"value", ())) for _ in range(3))
    with pytest.raises(ValueError, match="ends inside a frame"):
        unframe(chunk[:-2])


def test_rows_read_by_the_relay_mix_records_and_chunks_in_order() -> None:
    first = OutgoingRecord("t", b"k", b"1", ())
    chunked = [OutgoingRecord("t", b"k", str(n).encode(), ()) for n in (2, 3, 4)]
    last = OutgoingRecord("t", b"k", b"5", (("h", b"\x00\xff"),))
    single = ("t", b"k", b"1", "[]", 1, None)
    (chunk,) = frames(enqueued_row(r) for r in chunked)
    rows = [
        single,
        (None, None, None, None, 2, chunk),
        ("t", b"k", b"5", enqueued_row(last)[3], 3, None),
    ]

    assert _plain(_records(rows)) == _plain([first, *chunked, last])


@given(records)
def test_packed_chunks_give_back_every_record_in_order(batch: list[OutgoingRecord]) -> None:
    chunks = packed_chunks(enqueued_row(r) for r in batch)

    assert all(chunk.startswith(PACKED_MARK) for chunk in chunks)
    read = [record for chunk in chunks for record in unframe(unpacked(chunk))]
    assert _plain(read) == _plain(batch)
    for chunk in chunks:
        frames_ = unpacked(chunk)
        assert len(frames_) <= PACKED_FRAMES_BYTES or len(unframe(frames_)) == 1


@given(records)
def test_a_chunk_written_before_packing_is_read_as_it_is(batch: list[OutgoingRecord]) -> None:
    for chunk in frames(enqueued_row(r) for r in batch):
        assert not chunk.startswith(PACKED_MARK)  # no frame's head reads as the mark
        assert unpacked(chunk) is chunk


def test_a_damaged_packed_chunk_is_refused() -> None:
    (chunk,) = packed_chunks(
        enqueued_row(OutgoingRecord("t", b"k", b"value %d" % n, ())) for n in range(50)
    )
    with pytest.raises(ValueError, match="does not unpack"):
        unpacked(chunk[:-3])


def test_rows_read_by_the_relay_mix_packed_and_plain_chunks_in_order() -> None:
    made = [OutgoingRecord("t", b"k", str(n).encode(), ()) for n in range(6)]
    (plain,) = frames(enqueued_row(r) for r in made[:3])
    (packed,) = packed_chunks(enqueued_row(r) for r in made[3:])
    rows = [(None, None, None, None, 1, plain), (None, None, None, None, 2, packed)]

    assert _plain(_records(rows)) == _plain(made)


def test_ingestion_s_ledger_events_pack_small_enough_to_stay_in_their_heap_row() -> None:
    """A batch's ledger events (the benchmark's mix) pack about 3.6 to 1: each packed chunk
    stays under the outbox's toast_tuple_target (8,160 bytes with the row's header), in its
    heap row, as a plain chunk of CHUNK_BYTES did."""
    from bench.ingestion import erp_mix
    from services.ingestion.domain.book import Book

    book = Book(invoices={}, customers={}, balances={}, credit_lots={}, documents={}, parked={})
    book.apply_all([event for _, event in erp_mix(4000)])
    rows = [enqueued_row(r) for r in book.emitted]
    chunks = packed_chunks(rows)

    assert len(rows) > 5000
    assert max(len(c) for c in chunks) < 8100
    assert sum(len(c) for c in chunks) * 3 < sum(len(c) for c in frames(rows))
