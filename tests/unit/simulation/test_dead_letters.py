from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta

import pytest

from contracts import disputes
from contracts.topics import DISPUTE_COMMANDS, by_name
from simulation.dead_letters import (
    DeadLetter,
    Holder,
    account,
    disputed_invoices,
    summary_lines,
)
from simulation.generator import CRM, Dispute, History, Record, Size, generate


@pytest.fixture(scope="module")
def history() -> History:
    return generate(Size.small(), seed=7)


def dead_letter_of(record: Record, reason: str, service: str = "ingestion") -> DeadLetter:
    """What a service writes to the dead-letter topic for ``record``."""
    try:
        event_id: str | None = str(by_name(record.topic).parse(record.value).event_id)
    except ValueError:  # does not parse: no event id
        event_id = None
    return DeadLetter(record.topic, record.value, reason, f"{reason} detail", service, event_id)


def injected(history: History) -> list[DeadLetter]:
    return [dead_letter_of(r, r.bad or "?") for r in history.bad]


def commands_of(history: History, dispute: Dispute) -> tuple[Record, Record]:
    """The CRM's opening and resolution of ``dispute``."""
    found: dict[str, Record] = {}
    for day in history.commands:
        for record in day:
            event = DISPUTE_COMMANDS.parse(record.value)
            if getattr(event.payload, "dispute_id", None) == dispute.dispute_id:
                found[event.event_type] = record
    return found["dispute.open"], found["dispute.resolve"]


def resolved_dispute(history: History) -> Dispute:
    return next(d for d in history.disputes if d.resolved_day is not None)


def collector_holder(history: History, dispute: Dispute) -> Holder:
    """A dispute a collector raised on a call two days before the CRM's opening."""
    day = history.day_of(dispute.opened_day - 2)
    return Holder(
        uuid.uuid5(uuid.NAMESPACE_URL, "call"),
        "collector",
        datetime.combine(day, time(19), tzinfo=UTC),
        dispute.invoice_ids,
    )


def test_the_crm_raising_a_dispute_a_collector_raised_is_explained(history: History) -> None:
    dispute = resolved_dispute(history)
    opening, resolution = commands_of(history, dispute)
    refused = [
        dead_letter_of(opening, "invoice_already_disputed", "disputes"),
        dead_letter_of(resolution, "unknown_dispute", "disputes"),
    ]
    dead = injected(history) + refused
    assert disputed_invoices(dead) == sorted(dispute.invoice_ids)
    holder = collector_holder(history, dispute)
    unrelated = Holder(uuid.uuid4(), "customer", holder.opened_at, ("FR01/INV-0",))

    found = account(dead, history.bad, [unrelated, holder])

    assert found.explained
    assert len(found.injected) == len(history.bad) == 9
    assert found.total == 11
    assert found.rejected_commands("dispute.open", CRM) == 1
    assert found.rejected_commands("dispute.resolve", CRM) == 1
    lines = summary_lines(found)
    text = "\n".join(lines)
    assert lines[0].startswith("Dead letters: 11, every one explained: 9 bad records injected")
    assert "2 records refused by the services' rules" in lines[0]
    assert "erp.invoices.v1: " in text
    assert "malformed_json 2" in text
    invoice = dispute.invoice_ids[0]
    short = str(dispute.dispute_id)[:8]
    opened = history.day_of(dispute.opened_day)
    assert [line.strip() for line in lines[-6:]] == [
        "disputes.commands.v1 (disputes): invoice_already_disputed 1",
        f"{CRM} dispute.open of {opened}, dispute {short} on {invoice} ({dispute.customer_id})",
        f"because {invoice} already in dispute {str(holder.dispute_id)[:8]} since "
        f"{holder.opened_at.date()}, raised by a collector on a call: the same dispute raised "
        "twice, the second refused",
        "disputes.commands.v1 (disputes): unknown_dispute 1",
        f"{CRM} dispute.resolve of {history.day_of(dispute.resolved_day or 0)}, dispute {short} "
        f"({dispute.customer_id}, {dispute.outcome})",
        f"because its opening was refused on {opened}: the dispute never existed",
    ]
    assert "!" not in text


def test_an_injected_record_missing_or_with_another_reason_is_flagged(history: History) -> None:
    dead = injected(history)
    lost = dead.pop()
    dead[0] = replace(dead[0], reason="schema_invalid")
    assert history.bad[0].bad != "schema_invalid"

    found = account(dead, history.bad)

    assert not found.explained
    assert [r.value for r in found.missing] == [lost.value]
    assert len(found.wrong_reason) == 1
    text = "\n".join(summary_lines(found))
    assert "NOT all explained" in text
    assert "reached no dead-letter topic" in text
    assert f"was dead-lettered as schema_invalid, not {history.bad[0].bad}" in text


def test_a_dead_letter_nobody_injected_is_unexplained(history: History) -> None:
    stray = DeadLetter(
        "ledger.events.v1", b"{", "malformed_json", "not JSON", "reporting", event_id=None
    )
    dead = [*injected(history), stray]

    found = account(dead, history.bad)

    assert found.unexplained == [stray]
    assert not found.explained
    lines = summary_lines(found)
    assert "1 unexplained" in lines[0]
    assert "  ! ledger.events.v1 (reporting): malformed_json, not injected: not JSON" in lines


def test_a_record_delivered_twice_and_dead_lettered_twice_is_not_injected_twice(
    history: History,
) -> None:
    dead = injected(history)
    conflict = next(d for d in dead if d.reason == "invoice_conflict")

    found = account([*dead, conflict], history.bad)

    assert len(found.injected) == len(history.bad)
    assert [r.dead_letter for r in found.rejected] == [conflict]
    assert found.explained  # a rule refused it again, and says why
    assert "invoice_conflict detail" in "\n".join(summary_lines(found))


def test_another_consumer_refusing_the_same_bad_records_is_explained(history: History) -> None:
    invoices = [r for r in history.bad if r.topic == "erp.invoices.v1"]
    assert invoices, "the history injects bad invoices"
    portal = [dead_letter_of(r, r.bad or "?", service="portal") for r in invoices]

    found = account([*injected(history), *portal], history.bad)

    assert found.explained
    assert len(found.injected) == len(history.bad) + len(invoices)
    assert not found.unexplained


def test_a_bad_record_only_another_consumer_refused_is_missing(history: History) -> None:
    record = next(r for r in history.bad if r.topic == "erp.invoices.v1")
    dead = [d for d in injected(history) if d.value != record.value]
    dead.append(dead_letter_of(record, record.bad or "?", service="portal"))

    found = account(dead, history.bad)

    assert [r.value for r in found.missing] == [record.value]  # ingestion, the gate, let it by


@dataclass
class FakeRecord:
    value: bytes
    headers: list[tuple[str, bytes]]


def test_a_dead_letter_is_read_from_the_runtime_headers() -> None:
    record = FakeRecord(
        b"{}",
        [
            ("traceparent", b"00-ab"),
            ("dlq.reason", b"unknown_dispute"),
            ("dlq.detail", b"no dispute"),
            ("dlq.service", b"disputes"),
            ("dlq.topic", b"disputes.commands.v1"),
            ("dlq.event_id", b"0b7a"),
        ],
    )

    dead = DeadLetter.of("disputes.commands.v1.dlq", record)

    assert dead == DeadLetter(
        "disputes.commands.v1", b"{}", "unknown_dispute", "no dispute", "disputes", "0b7a"
    )
    assert DeadLetter.of("erp.invoices.v1.dlq", FakeRecord(b"x", [])).topic == "erp.invoices.v1"


def test_a_holder_opened_after_the_command_is_a_last_resort(history: History) -> None:
    dispute = resolved_dispute(history)
    opening, _ = commands_of(history, dispute)
    before = collector_holder(history, dispute)
    after = replace(
        before,
        dispute_id=uuid.uuid4(),
        raised_by="portal",
        opened_at=before.opened_at + timedelta(days=5),
    )
    dead = [*injected(history), dead_letter_of(opening, "invoice_already_disputed", "disputes")]

    assert "raised by a collector" in account(dead, history.bad, [after, before]).rejected[0].why
    assert "on the portal" in account(dead, history.bad, [after]).rejected[0].why
    event = DISPUTE_COMMANDS.parse(opening.value)
    assert isinstance(event, disputes.OpenDispute)
    assert account(dead, history.bad).rejected[0].why == "invoice_already_disputed detail"
