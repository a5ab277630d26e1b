"""The pure pieces of ``bench.ingestion_wal_outbox``: the records' frames and the decoders'
messages as the server writes them. No PostgreSQL, no timing."""

from __future__ import annotations

import struct

from hypothesis import given

from bench import ingestion_wal_outbox as bench
from services.runtime.outbox import OutgoingRecord, _decode_headers
from tests.unit.test_outbox_chunks import records


@given(records)
def test_frames_give_back_every_record_in_order(batch: list[OutgoingRecord]) -> None:
    read = bench.unframe(bench.frames(batch))

    assert [(t, k, v, _decode_headers(h)) for t, k, v, h in read] == [
        (r.topic, r.key, r.value, tuple(r.headers)) for r in batch
    ]


def _pgoutput_message(content: bytes, prefix: bytes = b"relance.outbox") -> bytes:
    # Message: 'M', flags (transactional: 1), the message's LSN, the prefix (NUL-terminated),
    # the content's length and the content (PostgreSQL 15, protocol version 1)
    return (
        b"M"
        + struct.pack(">bq", 1, 0x52C2EF3298)
        + prefix
        + b"\0"
        + struct.pack(">i", len(content))
        + content
    )


def test_pgoutput_messages_and_the_last_commit_are_read() -> None:
    first, second = bench.frames([OutgoingRecord("t", b"k", b"v" * 300)]), b"\0M\nC"
    rows = [
        (100, b"B" + bytes(20)),
        (101, _pgoutput_message(first)),
        (102, _pgoutput_message(second)),
        (103, b"C" + bytes(25)),
        (200, b"B" + bytes(20)),
        (201, b"C" + bytes(25)),
    ]

    contents, last_commit = bench.messages_of_pgoutput(rows)  # type: ignore[arg-type]

    assert contents == [first, second]
    assert last_commit == 201


def test_test_decoding_messages_and_the_last_commit_are_read() -> None:
    content = b"binary \0 content: with its own colons"
    rows = [
        (100, b"BEGIN"),
        (101, b"message: transactional: 1 prefix: relance.outbox, sz: 38 content:" + content),
        (102, b"COMMIT"),
    ]

    contents, last_commit = bench.messages_of_test_decoding(rows)  # type: ignore[arg-type]

    assert contents == [content]
    assert last_commit == 102
