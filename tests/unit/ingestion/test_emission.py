"""A batch's ledger events written batch-wise are the records the per-event path wrote.

:func:`ledger_events.records` writes a batch's records in one loop (ids from one hashing
loop, the id and the instant by pydantic's serializer, the envelope from pieces made once
per event type). Run over ``bench.ingestion``'s generated mix in batches, every record must
be byte for byte the one the previous, per-event path wrote: the id ``uuid5(namespace,
"{cause}:{rank}")``, the envelope as :func:`json_text.envelope` writes it (at the event
type's schema version) with the instant of :func:`json_text.instant_once`, the payload,
the customer as the key and the event type as the header.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

import pytest

from bench.ingestion import erp_mix
from bench.ingestion_apply import Ledger
from contracts.topics import LEDGER_EVENTS
from services.ingestion.domain import ledger_events
from services.ingestion.domain.book import Book
from services.runtime import json_text
from services.runtime.records import OutgoingRecord


def per_event_records(topic: str, causes: Iterable[ledger_events.Cause]) -> list[OutgoingRecord]:
    """The records as ``Book._emit`` wrote them one ledger event at a time before."""
    written = []
    for cause_id, occurred_at, first, caused in causes:
        at = json_text.instant_once(occurred_at)
        for rank, (event_type, customer_id, payload) in enumerate(caused, first):
            event_id = uuid.uuid5(ledger_events.LEDGER_NAMESPACE, f"{cause_id}:{rank}")
            head = json_text.envelope(str(event_id), event_type, at, ledger_events.SOURCE)
            version = {
                ledger_events.OPEN_AMOUNT_CHANGED: 2,
                ledger_events.INVOICE_OPENED: 3,
            }.get(event_type)
            if version is not None:
                head = head.replace('"schema_version":1,', f'"schema_version":{version},', 1)
            written.append(
                OutgoingRecord(
                    topic,
                    customer_id.encode(),
                    f"{head}{payload}}}".encode(),
                    (("event_type", event_type.encode()),),
                    str(event_id),  # the records keep the id's text
                )
            )
    return written


def test_the_bench_mix_gives_the_records_of_the_per_event_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    batch_wise = ledger_events.records
    compared: list[int] = []

    def both(topic: str, causes: Iterable[ledger_events.Cause]) -> list[OutgoingRecord]:
        causes = list(causes)
        written = batch_wise(topic, causes)
        expected = per_event_records(topic, causes)
        assert written == expected
        assert [r.value for r in written] == [r.value for r in expected]
        compared.append(len(written))
        return written

    monkeypatch.setattr(ledger_events, "records", both)
    mix = [event for _, event in erp_mix(6_000)]
    ledger = Ledger()
    types: set[bytes] = set()
    for start in range(0, len(mix), 1_000):
        events = mix[start : start + 1_000]
        book = ledger.load(events)
        book.apply_all(events)
        for record in book.emitted:
            LEDGER_EVENTS.parse(record.value)  # a valid ledger event
            types.add(record.headers[0][1])
        ledger.save(book)
    assert len(compared) == 6
    assert sum(compared) > 6_000  # about 1.5 ledger events per ERP event
    assert {
        ledger_events.INVOICE_OPENED,
        ledger_events.INVOICE_SETTLED,
        ledger_events.OPEN_AMOUNT_CHANGED,
        ledger_events.CREDIT_BALANCE_CHANGED,
        ledger_events.CUSTOMER_UPSERTED,
    } <= {t.decode() for t in types}


def test_reading_the_records_mid_cause_keeps_the_ranks() -> None:
    """Records written while an ERP event is still emitting (``emitted`` read between two of
    its ledger events) leave the next one the following rank, not the first again."""
    book = Book()
    cause, at = uuid.uuid4(), datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    book._begin(cause, at)
    book._emit(ledger_events.INVOICE_CANCELLED, "C1", "{}")
    assert len(book.emitted) == 1
    book._emit(ledger_events.INVOICE_CANCELLED, "C1", "{}")
    book._emit(ledger_events.INVOICE_CANCELLED, "C1", "{}")
    assert [r.event_uuid for r in book.emitted] == [
        uuid.uuid5(ledger_events.LEDGER_NAMESPACE, f"{cause}:{rank}") for rank in (1, 2, 3)
    ]
