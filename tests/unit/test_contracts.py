"""The event contracts: every event round-trips, every topic reads only its own events, and
the rules the domain makes checkable are checked."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any, Union, get_args, get_origin

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

import contracts
from contracts import disputes, dunning, topics
from contracts.envelope import Contract, Event
from contracts.money import Money, PositiveMoney
from contracts.topics import ALL_TOPICS, Topic
from tests.unit.contract_examples import AT, CUSTOMER, examples, uid

EXAMPLES = examples()


def _contract_modules() -> list[str]:
    return sorted(
        f"contracts.{m.name}"
        for m in pkgutil.iter_modules(contracts.__path__)
        if not m.name.startswith("_") and m.name != "export"
    )


def _subclasses(cls: type[Any]) -> Iterator[type[Any]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _contract_classes(base: type[BaseModel]) -> set[type[Any]]:
    for module in _contract_modules():
        importlib.import_module(module)
    return {
        c for c in _subclasses(base) if c.__module__.startswith("contracts.") and c is not Event
    }


def _members(union: Any) -> set[type[Event]]:
    """The event classes of a topic's ``Annotated[A | B, Field(discriminator=...)]``."""
    inner = get_args(union)[0]
    if get_origin(inner) is Union or type(inner).__name__ == "UnionType":
        return set(get_args(inner))
    return {inner}


def _event_type(cls: type[Event]) -> str:
    default: str = cls.model_fields["event_type"].default
    return default


def topic_of(event_type: str) -> Topic:
    (topic,) = [t for t in ALL_TOPICS if event_type in {_event_type(m) for m in _members(t.union)}]
    return topic


def as_json(event_type: str) -> dict[str, Any]:
    data: dict[str, Any] = EXAMPLES[event_type].model_dump(mode="json")
    return data


def reparse(data: dict[str, Any]) -> Event:
    """Parse like a consumer does: bytes through the topic's union."""
    return topic_of(data["event_type"]).parse(json.dumps(data).encode())


# Coverage of the examples and of the topics ------------------------------------------------


def test_every_event_type_has_an_example() -> None:
    declared = {_event_type(c) for c in _contract_classes(Event)}
    assert set(EXAMPLES) == declared


def test_every_event_is_carried_by_exactly_one_topic() -> None:
    carried = [member for topic in ALL_TOPICS for member in _members(topic.union)]
    assert sorted(c.__name__ for c in carried) == sorted(
        c.__name__ for c in _contract_classes(Event)
    )
    assert len(carried) == len(set(carried))


def test_model_names_are_unique_so_the_asyncapi_components_do_not_collide() -> None:
    names = [c.__name__ for c in _contract_classes(Contract)]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_topic_names_are_unique_and_versioned() -> None:
    names = [t.name for t in ALL_TOPICS]
    assert len(names) == len(set(names))
    for topic in ALL_TOPICS:
        assert re.fullmatch(r"[a-z]+\.[a-z-]+\.v[0-9]+", topic.name)
        assert topics.by_name(topic.name) is topic
        assert topic.dead_letter == topic.name + ".dlq"
        assert topic.producers
        assert topic.consumers
        assert topic.extra_config["cleanup.policy"] == "delete"


def test_an_unknown_topic_name_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="no topic named"):
        topics.by_name("ledger.events.v0")


# Round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", sorted(EXAMPLES))
def test_every_event_round_trips_through_its_topic(event_type: str) -> None:
    event = EXAMPLES[event_type]
    topic = topic_of(event_type)
    parsed = topic.parse(topic.value(event))
    assert parsed == event
    assert type(parsed) is type(event)
    assert type(event).model_validate(event.model_dump()) == event


@pytest.mark.parametrize("event_type", sorted(EXAMPLES))
def test_each_topic_reads_its_own_events_and_refuses_the_others(event_type: str) -> None:
    value = topics.Topic.value(EXAMPLES[event_type])
    home = topic_of(event_type)
    for topic in ALL_TOPICS:
        if topic is home:
            assert topic.parse(value) == EXAMPLES[event_type]
        else:
            with pytest.raises(ValidationError):
                topic.parse(value)


@pytest.mark.parametrize("event_type", sorted(EXAMPLES))
def test_the_key_is_the_customer_except_for_exchange_rates(event_type: str) -> None:
    event = EXAMPLES[event_type]
    key = topic_of(event_type).key(event)
    if event_type == "fx.rate.published":
        assert key == b"EUR/USD"
    elif event_type == "reference.interest_rate.published":
        assert key == b"de_base_rate"  # one partition, each kind in order
    elif event_type.startswith("dunning.sending."):
        assert key == b"FR01"  # a suspension concerns a company, not one customer
    elif event_type in ("command.suspend_sending", "command.resume_sending"):
        assert key == b"FR01"  # an operator's command concerns a company
    elif event_type == "command.launch_campaign":
        assert key == b"campaign:year-end-2026"
    elif event_type == "command.approve_proposals":
        assert key == b"local:marie.dupont"  # proposals of several customers: by actor
    elif event_type == "dunning.campaign.launched":
        assert key == b"campaign:year-end-2024"  # a campaign reaches many customers
    elif event_type == "dunning.library.changed":
        assert key == b"library"  # the library's changes, in order on one partition
    else:
        assert key == CUSTOMER.encode() == event.customer_id.encode()


def test_money_goes_out_as_decimal_strings() -> None:
    payload = as_json("ledger.invoice.opened")["payload"]
    assert payload["amount"] == {"amount": "1200.00", "currency": "EUR"}
    assert as_json("ledger.customer.credit_balance_changed")["payload"]["delta"] == "45.50"
    assert as_json("fx.rate.published")["payload"]["rate"] == "1.0845"
    assert as_json("reference.interest_rate.published")["payload"]["rate"] == "3.37"


# The envelope and money --------------------------------------------------------------------


@pytest.mark.parametrize("event_type", sorted(EXAMPLES))
@pytest.mark.parametrize("where", ["envelope", "payload"])
def test_unknown_fields_are_refused(event_type: str, where: str) -> None:
    data = as_json(event_type)
    (data if where == "envelope" else data["payload"])["surprise"] = "kept nowhere"
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        reparse(data)


@pytest.mark.parametrize("event_type", sorted(EXAMPLES))
def test_a_naive_occurred_at_is_refused(event_type: str) -> None:
    data = as_json(event_type)
    data["occurred_at"] = "2024-05-02T09:30:00"
    with pytest.raises(ValidationError, match="timezone"):
        reparse(data)


def test_a_naive_scheduled_time_is_refused() -> None:
    data = as_json("dunning.reminder.due")
    data["payload"]["scheduled_for"] = "2024-05-02T07:00:00"
    with pytest.raises(ValidationError, match="timezone"):
        reparse(data)


@pytest.mark.parametrize("amount", [1200.5, 0.1, 1e3])
def test_a_binary_float_amount_is_refused(amount: float) -> None:
    data = as_json("ledger.invoice.opened")
    data["payload"]["amount"]["amount"] = amount
    with pytest.raises(ValidationError, match="never a binary float"):
        reparse(data)
    with pytest.raises(ValidationError, match="never a binary float"):
        Money(amount=amount, currency="EUR")


def test_a_json_number_with_a_fraction_is_refused_before_it_loses_digits() -> None:
    raw = json.dumps(as_json("ledger.invoice.opened")).replace(
        '"amount": "1200.00"', '"amount": 12345678901234.5678', 1
    )
    with pytest.raises(ValidationError, match="never a binary float"):
        topics.LEDGER_EVENTS.parse(raw.encode())


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("NaN", "finite"),
        ("Infinity", "finite"),
        ("12.34567", "decimal places"),
        ("1234567890123456789", "digits"),
        ("twelve", "valid decimal"),
        ("-5.00", "greater than 0"),
        ("0", "greater than 0"),
    ],
)
def test_bad_invoice_amounts_are_refused(amount: str, message: str) -> None:
    data = as_json("ledger.invoice.opened")
    data["payload"]["amount"]["amount"] = amount
    with pytest.raises(ValidationError, match=message):
        reparse(data)


@pytest.mark.parametrize("currency", ["EURO", "XYZ", "", "€"])
def test_an_unknown_currency_is_refused(currency: str) -> None:
    data = as_json("ledger.invoice.opened")
    data["payload"]["amount"]["currency"] = currency
    with pytest.raises(ValidationError, match="currency"):
        reparse(data)


def test_a_lower_case_currency_is_read_as_its_code() -> None:
    assert Money(amount=Decimal(1), currency="eur").currency == "EUR"


_AMOUNT = re.compile(r"^-?[0-9]{1,14}(\.[0-9]{1,4})?$")
_POSITIVE = re.compile(r"^(?=.*[1-9])[0-9]{1,14}(\.[0-9]{1,4})?$")


@given(
    st.decimals(
        min_value=Decimal("-99999999999999.9999"),
        max_value=Decimal("99999999999999.9999"),
        places=4,
        allow_nan=False,
        allow_infinity=False,
    )
)
def test_amounts_round_trip_exactly_as_strings_the_schema_describes(amount: Decimal) -> None:
    money = Money(amount=amount, currency="EUR")
    text = json.loads(money.model_dump_json())["amount"]
    assert _AMOUNT.match(text)
    assert Money.model_validate_json(money.model_dump_json()).amount == amount
    if amount > 0:
        assert _POSITIVE.match(text)
        assert PositiveMoney(amount=amount, currency="EUR").amount == amount
    else:
        assert not _POSITIVE.match(text)
        with pytest.raises(ValidationError):
            PositiveMoney(amount=amount, currency="EUR")


@given(
    st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False, allow_infinity=False),
    st.integers(min_value=1, max_value=9),
)
def test_a_fifth_decimal_place_is_refused(amount: Decimal, digit: int) -> None:
    with pytest.raises(ValidationError, match="decimal places"):
        Money(amount=amount + Decimal(digit) / 100_000, currency="EUR")


# The domain's rules ------------------------------------------------------------------------

_DROP = object()
INVOICE = "FR01/INV-2024-0042"


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node: Any = data
    for name in parents:
        node = node[int(name)] if name.isdigit() else node[name]
    if value is _DROP:
        del node[last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value


RULES: list[tuple[str, str, dict[str, Any], str]] = [
    # (event type, what it shows, changes under "payload", expected message)
    ("ledger.customer.upserted", "time zone", {"time_zone": "Europe/Atlantis"}, "unknown IANA"),
    ("ledger.invoice.opened", "due before issue", {"due_date": "2024-03-01"}, "before issue"),
    ("ledger.invoice.opened", "open > amount", {"open_amount.amount": "1300"}, "exceeds"),
    ("ledger.invoice.opened", "two currencies", {"open_amount.currency": "USD"}, "mix curr"),
    ("ledger.invoice.opened", "nothing open", {"open_amount.amount": "0"}, "greater than 0"),
    (
        "ledger.invoice.open_amount_changed",
        "payment raising",
        {"previous_open_amount.amount": "600"},
        "lowers the open amount",
    ),
    (
        "ledger.invoice.open_amount_changed",
        "reversal lowering",
        {"cause": "reversal"},
        "raises the open amount",
    ),
    (
        "ledger.invoice.open_amount_changed",
        "to zero is a settlement",
        {"open_amount.amount": "0"},
        "greater than 0",
    ),
    (
        "ledger.invoice.open_amount_changed",
        "negative before",
        {"previous_open_amount.amount": "-1", "cause": "reversal"},
        "cannot be negative",
    ),
    (
        "ledger.invoice.open_amount_changed",
        "unknown cause",
        {"cause": "write_off"},
        "cause",
    ),
    (
        "ledger.invoice.settled",
        "paid more than the invoice",
        {"previous_open_amount.amount": "1300"},
        "exceeds",
    ),
    (
        "ledger.invoice.cancelled",
        "negative open",
        {"previous_open_amount.amount": "-1"},
        "cannot be negative",
    ),
    ("ledger.customer.credit_balance_changed", "no change", {"delta": "0"}, "cannot be zero"),
    (
        "ledger.customer.credit_balance_changed",
        "negative before",
        {"balance": "10"},
        "balance before would be negative",
    ),
    ("dunning.reminder.due", "no invoice", {"invoices": []}, "at least 1"),
    (
        "dunning.reminder.due",
        "an invoice twice",
        {"invoices.1.invoice_id": INVOICE},
        "more than once",
    ),
    ("dunning.reminder.due", "unknown level", {"level": "level_3"}, "level"),
    ("dunning.reminder.due", "unknown channel", {"channel": "fax"}, "channel"),
    ("dunning.reminder.due", "unknown role", {"recipient_role": "ceo"}, "recipient_role"),
    (
        "dunning.reminder.due",
        "open > amount",
        {"invoices.0.open_amount.amount": "1300"},
        "exceeds",
    ),
    (
        "dunning.reminder.due",
        "open in another currency",
        {"invoices.0.open_amount.currency": "GBP"},
        "open amount in GBP",
    ),
    (
        "dunning.escalation.raised",
        "wrong total",
        {"total_open.0.amount": "1300"},
        "does not match",
    ),
    (
        "dunning.escalation.raised",
        "a total twice",
        {"total_open": [{"amount": "700", "currency": "EUR"}] * 2},
        "two totals in EUR",
    ),
    ("dunning.escalation.raised", "unknown exit", {"action": "write_off"}, "action"),
    ("dunning.state.changed", "paused without reason", {"paused": True}, "if and only if"),
    (
        "dunning.state.changed",
        "reason without pause",
        {"pause_reason": "dispute"},
        "if and only if",
    ),
    ("dunning.state.changed", "level without step", {"step_name": None}, "together"),
    (
        "dunning.state.changed",
        "next before last",
        {"next_action_at": "2024-05-01T07:00:00Z"},
        "before the last",
    ),
    ("delivery.sent", "an invoice twice", {"invoice_ids": [INVOICE, INVOICE]}, "more than once"),
    ("delivery.sent", "no provider", {"provider": _DROP}, "provider"),
    ("delivery.failed", "attempt zero", {"attempt": 0}, "greater than or equal to 1"),
    ("delivery.suppressed", "unknown reason", {"reason": "holiday"}, "reason"),
    ("call_task.closed", "promise without date", {"promised_date": None}, "needs a promised"),
    ("call_task.closed", "no invoice", {"invoice_ids": []}, "at least 1"),
    (
        "call_task.closed",
        "promise details without a promise",
        {"outcome": "no_answer"},
        "promised date or amount with outcome no_answer",
    ),
    (
        "call_task.closed",
        "dispute without reason",
        {"outcome": "dispute_raised", "promised_date": None, "promised_amount": None},
        "needs its reason",
    ),
    (
        "call_task.closed",
        "dispute reason on a promise",
        {"dispute_reason": "wrong price"},
        "dispute reason with outcome",
    ),
    ("dispute.open", "nothing disputed", {"invoice_ids": []}, "names its invoices"),
    ("dispute.open", "unknown category", {"category": "mood"}, "category"),
    ("dispute.resolve", "unknown outcome", {"outcome": "forgotten"}, "outcome"),
    ("promise.record", "nothing promised", {"amount.amount": "0"}, "greater than 0"),
    ("promise.record", "no invoice", {"invoice_ids": []}, "at least 1"),
    ("payment_plan.agree", "no instalment", {"instalments": []}, "at least 1"),
    (
        "payment_plan.agree",
        "instalments out of order",
        {"instalments.2.due_date": "2024-06-01"},
        "does not come after",
    ),
    (
        "payment_plan.agree",
        "two instalments the same day",
        {"instalments.1.due_date": "2024-05-20"},
        "does not come after",
    ),
    (
        "payment_plan.agree",
        "instalments in two currencies",
        {"instalments.1.amount.currency": "USD"},
        "mix currencies",
    ),
    ("dispute.opened", "nothing disputed", {"invoice_ids": []}, "names its invoices"),
    ("dispute.opened", "owner is a customer role", {"owner_role": "billing"}, "owner_role"),
    (
        "dispute.owner_reminder.due",
        "unknown firmness",
        {"firmness": "rude"},
        "firmness",
    ),
    ("promise.broken", "paid in full", {"received.amount": "700"}, "not a missed promise"),
    ("promise.broken", "negative received", {"received.amount": "-1"}, "not a missed promise"),
    (
        "payment_plan.instalment_missed",
        "received in another currency",
        {"received.currency": "USD"},
        "instalment's currency",
    ),
    (
        "payment_plan.instalment_missed",
        "instalment zero",
        {"instalment_number": 0},
        "greater than or equal to 1",
    ),
    ("fx.rate.published", "same currency", {"quote_currency": "EUR"}, "to itself"),
    ("fx.rate.published", "zero rate", {"rate": "0"}, "greater than 0"),
    ("fx.rate.published", "float rate", {"rate": 1.0845}, "never a binary float"),
    ("reference.interest_rate.published", "unknown kind", {"kind": "fed_funds"}, "ecb_mro"),
    ("reference.interest_rate.published", "float rate", {"rate": 3.37}, "binary float"),
    ("reference.interest_rate.published", "absurd rate", {"rate": "250"}, "less than or equal"),
]


@pytest.mark.parametrize(
    ("event_type", "changes", "message"),
    [pytest.param(t, c, m, id=f"{t}: {why}") for t, why, c, m in RULES],
)
def test_the_domain_rules_are_checked(
    event_type: str, changes: dict[str, Any], message: str
) -> None:
    data = as_json(event_type)
    for path, value in changes.items():
        _set(data["payload"], path, value)
    with pytest.raises(ValidationError, match=message):
        reparse(data)


def test_a_whole_account_dispute_may_name_no_invoice() -> None:
    data = as_json("dispute.open")
    data["payload"].update(invoice_ids=[], whole_account=True)
    event = reparse(data)
    assert isinstance(event, disputes.OpenDispute)
    assert event.payload.whole_account


def test_a_correction_may_leave_the_open_amount_unchanged() -> None:
    data = as_json("ledger.invoice.open_amount_changed")
    data["payload"].update(cause="correction", due_date="2024-04-30")
    data["payload"]["previous_open_amount"]["amount"] = "700.00"
    assert reparse(data).payload.due_date == date(2024, 4, 30)


def test_a_reversal_reopens_a_settled_invoice_from_zero() -> None:
    data = as_json("ledger.invoice.open_amount_changed")
    data["payload"].update(cause="reversal", cause_document_id="PAY-91-REJECTED")
    data["payload"]["previous_open_amount"]["amount"] = "0"
    assert reparse(data).payload.cause == "reversal"


def test_the_dunning_levels_rank_from_preventive_to_formal_notice() -> None:
    assert dunning.DUNNING_LEVELS == ("preventive", "level_1", "level_2", "formal_notice")


_START = date(2024, 5, 20)


@given(st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=8))
def test_a_payment_plan_is_valid_exactly_when_its_dates_strictly_increase(
    offsets: list[int],
) -> None:
    data = as_json("payment_plan.agreed")
    data["payload"]["instalments"] = [
        {
            "due_date": (_START + timedelta(days=offset)).isoformat(),
            "amount": {"amount": "100", "currency": "EUR"},
        }
        for offset in offsets
    ]
    increasing = all(a < b for a, b in pairwise(offsets))
    if increasing:
        assert len(reparse(data).payload.instalments) == len(offsets)
    else:
        with pytest.raises(ValidationError, match="does not come after"):
            reparse(data)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["EUR", "USD", "GBP"]),
            st.decimals(min_value="0.01", max_value="99999", places=2),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_an_escalation_states_one_total_per_currency_of_its_invoices(
    open_amounts: list[tuple[str, Decimal]],
) -> None:
    invoices = [
        {
            "invoice_id": f"FR01/INV-{n}",
            "invoice_number": f"INV-{n}",
            "due_date": "2024-01-10",
            "amount": {"amount": str(amount), "currency": currency},
            "open_amount": {"amount": str(amount), "currency": currency},
            "days_overdue": 90,
        }
        for n, (currency, amount) in enumerate(open_amounts)
    ]
    totals: dict[str, Decimal] = {}
    for currency, amount in open_amounts:
        totals[currency] = totals.get(currency, Decimal(0)) + amount
    data = as_json("dunning.escalation.raised")
    data["payload"]["invoices"] = invoices
    data["payload"]["total_open"] = [
        {"amount": str(total), "currency": currency} for currency, total in sorted(totals.items())
    ]
    escalation = reparse(data).payload
    assert {t.currency: t.amount for t in escalation.total_open} == totals

    first = data["payload"]["total_open"][0]
    first["amount"] = str(Decimal(first["amount"]) + Decimal("0.01"))
    with pytest.raises(ValidationError):
        reparse(data)


def test_examples_are_what_they_claim() -> None:
    reminder = EXAMPLES["dunning.reminder.due"]
    assert isinstance(reminder, dunning.ReminderDue)
    assert reminder.occurred_at == AT
    assert reminder.payload.reminder_id == uid("reminder")
