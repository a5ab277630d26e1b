"""The call outcome form, the team's figures and the dead letters' tally: pure functions."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid4

from hypothesis import given
from hypothesis import strategies as st

from contracts.commands import CommandActor, LogCallCommand
from services.console.domain.calls import OUTCOMES, log_call_of
from services.console.domain.commands import FormProblem
from services.console.domain.dead_letters import DeadLetter, refusal_of, tally
from services.console.domain.team import dso, month_ends, paid_share

TODAY = date(2026, 3, 16)


ACTOR = CommandActor(subject="local:camille", roles=("collector",), collector_codes=("C12",))
REMINDER = uuid4()


def log_call(form: dict[str, str]) -> object:
    return log_call_of(
        form,
        command_id=UUID("00000000-0000-4000-8000-000000000001"),
        customer_id="C-1001",
        reminder_id=REMINDER,
        invoice_ids=["FR01/INV-4"],
        currency="EUR",
        actor=ACTOR,
        now=datetime(2026, 3, 16, 9, tzinfo=UTC),
        today=TODAY,
    )


def test_a_promise_needs_a_date_after_today_and_an_amount_in_the_calls_currency() -> None:
    event = log_call(
        {"outcome": "promise_to_pay", "promised_date": "2026-03-30", "promised_amount": "1 500,50"}
    )
    assert isinstance(event, LogCallCommand)
    call = event.payload
    assert (call.outcome, call.promised_date, call.reminder_id) == (
        "promise_to_pay",
        date(2026, 3, 30),
        REMINDER,
    )
    assert call.promised_amount is not None
    assert (call.promised_amount.amount, call.promised_amount.currency) == (
        Decimal("1500.50"),
        "EUR",
    )
    assert call.invoice_ids == ("FR01/INV-4",)
    assert call.actor == ACTOR
    assert event == log_call(
        {"outcome": "promise_to_pay", "promised_date": "2026-03-30", "promised_amount": "1500.5"}
    )  # the same command id: the same event, sent once
    assert log_call(
        {"outcome": "promise_to_pay", "promised_date": "2026-03-16", "promised_amount": "-3"}
    ) == [
        FormProblem("promised_date", "not_after_today"),
        FormProblem("promised_amount", "invalid"),
    ]
    assert log_call({"outcome": "promise_to_pay"}) == [
        FormProblem("promised_date", "missing"),
        FormProblem("promised_amount", "missing"),
    ]


def test_other_outcomes_take_no_promise_and_a_dispute_needs_its_reason() -> None:
    assert OUTCOMES == (
        "answered",
        "no_answer",
        "wrong_contact",
        "promise_to_pay",
        "dispute_raised",
    )
    answered = log_call({"outcome": "answered", "promised_amount": "300", "note": " call back "})
    assert isinstance(answered, LogCallCommand)
    assert (answered.payload.promised_amount, answered.payload.note) == (None, "call back")
    assert log_call({"outcome": "dispute_raised"}) == [FormProblem("dispute_reason", "missing")]
    disputed = log_call(
        {
            "outcome": "dispute_raised",
            "dispute_reason": "2 cartons missing",
            "dispute_category": "delivery",
        }
    )
    assert isinstance(disputed, LogCallCommand)
    assert disputed.payload.dispute_category == "delivery"
    assert log_call({"outcome": "shouted"}) == [FormProblem("outcome", "invalid")]


def test_month_ends_and_dso() -> None:
    assert month_ends(TODAY, 3) == [date(2026, 1, 31), date(2026, 2, 28), TODAY]
    assert dso(Decimal(3000), Decimal(9000)) == Decimal(30)
    assert dso(Decimal(3000), None) is None
    assert paid_share(1, 3) == Decimal("33.3")
    assert paid_share(0, 0) is None


@given(st.integers(min_value=1, max_value=60))
def test_month_ends_are_ordered_month_ends(count: int) -> None:
    ends = month_ends(TODAY, count)
    assert len(ends) == count
    assert ends == sorted(ends)
    assert all((d.replace(day=28) + (d - d.replace(day=28))).month == d.month for d in ends)
    assert all(date.fromordinal(d.toordinal() + 1).day == 1 for d in ends[:-1])


def letter(topic: str, value: bytes, reason: str | None, offset: int = 0) -> DeadLetter:
    headers = [("dlq.reason", reason.encode())] if reason else []
    return DeadLetter(topic, 0, offset, 1_773_600_000_000 + offset, value, headers)


def test_dead_letters_are_tallied_per_original_topic_and_reason() -> None:
    counts = tally(
        [
            letter("ledger.events.v1.dlq", b"x", "malformed_json", 0),
            letter("ledger.events.v1.dlq", b"y", "malformed_json", 5),
            letter("dunning.commands.v1.dlq", b"z", None),
        ]
    )
    assert {key: n for key, (n, _) in counts.items()} == {
        ("ledger.events.v1", "malformed_json"): 2,
        ("dunning.commands.v1", "unknown"): 1,
    }
    assert counts[("ledger.events.v1", "malformed_json")][1].timestamp() == 1_773_600_000.005


def test_a_refused_command_is_read_from_its_bytes_and_garbage_is_only_counted() -> None:
    command_id = uuid4()
    value = json.dumps(
        {
            "event_type": "command.skip_step",
            "payload": {
                "command_id": str(command_id),
                "customer_id": "C-1",
                "actor": {"subject": "local:eve"},
            },
        }
    ).encode()
    refusal = refusal_of(letter("dunning.commands.v1.dlq", value, "no_step_left"))
    assert refusal is not None
    assert (refusal.command_id, refusal.command, refusal.customer_id, refusal.actor_subject) == (
        command_id,
        "skip_step",
        "C-1",
        "local:eve",
    )
    assert refusal.reason == "no_step_left"
    assert (
        refusal_of(letter("dunning.commands.v1.dlq", b"\xff<not json>", "malformed_json")) is None
    )
    assert refusal_of(letter("dunning.commands.v1.dlq", b'{"payload": []}', "x")) is None
