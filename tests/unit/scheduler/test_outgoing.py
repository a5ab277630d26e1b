"""The tick's events, written straight as JSON, are the bytes the contract models dump.

For any stored state (ids with quotes and accents, amounts with up to four decimals, several
currencies, pauses, instants in UTC or in a customer's zone), the reminder-due and
state-changed records equal the ones built by validating ``dunning.ReminderDue`` and
``dunning.DunningStateChanged`` and dumping them, and they validate as those events. The
rules the models check on the state itself are checked too.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.dunning import DunningStateChanged, NextStep, Reminder, ReminderDue
from contracts.erp import Segment
from contracts.topics import DUNNING_ACTIONS
from services.runtime import json_text
from services.runtime.outbox import OutgoingRecord
from services.scheduler import outgoing
from services.scheduler.domain.library import load_library
from services.scheduler.domain.reminders import dunned_invoice as _dunned
from services.scheduler.domain.reminders import open_statement
from services.scheduler.domain.scenario import Step
from services.scheduler.domain.state import Customer, InvoiceState
from services.scheduler.outgoing import SOURCE

LIBRARY = load_library()
STEPS = [step for scenario in LIBRARY.scenarios.values() for step in scenario.steps]
ZONES = ["Europe/Paris", "America/St_Johns", "Asia/Kolkata", "UTC", "America/New_York"]

names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=20
).filter(lambda s: s == s.strip())
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999999999"), places=2) | (
    st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("99999999999999"), places=4)
)
currencies = st.sampled_from(["EUR", "USD", "JPY", "CHF"])
instants = st.builds(
    lambda moment, zone: moment.astimezone(ZoneInfo(zone)),
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
    ),
    st.sampled_from(ZONES),
)


@st.composite
def invoices(draw: st.DrawFn, customer_id: str = "C1") -> InvoiceState:
    amount = draw(amounts)
    open_amount = draw(amounts.filter(lambda a: a <= amount))
    last_action = draw(st.none() | instants)
    step = draw(st.sampled_from(STEPS))
    next_action = draw(st.none() | instants)
    if last_action is not None and next_action is not None and next_action < last_action:
        next_action = last_action + timedelta(days=draw(st.integers(0, 40)))
    return InvoiceState(
        invoice_id=draw(names),
        customer_id=customer_id,
        company_code=draw(names),
        invoice_number=draw(names),
        due_date=draw(st.dates(min_value=date(2001, 1, 1), max_value=date(2089, 1, 1))),
        currency=draw(currencies),
        amount=amount,
        open_amount=open_amount,
        scenario_id=draw(st.none() | st.sampled_from(sorted(LIBRARY.scenarios))),
        next_step=draw(st.none() | st.sampled_from([s.id for s in STEPS])),
        scenario_version=draw(st.none() | st.integers(1, 9)),
        status=draw(st.sampled_from(["active", "closed", "escalated", "unassigned"])),
        pause_reason=draw(
            st.sampled_from([None, "dispute", "promise_to_pay", "dispute,payment_plan"])
        ),
        resumed=draw(st.booleans()),
        last_step_name=None if last_action is None else step.name,
        last_level=None if last_action is None else step.level,
        last_action_at=last_action,
        next_action_at=next_action,
    )


def customer(customer_id: str, zone: str) -> Customer:
    return Customer(customer_id, "FR01", "FR", zone, "fr", Segment(), None)


@given(state=invoices(), at=instants)
def test_a_moved_state_is_the_replaced_one(state: InvoiceState, at: datetime) -> None:
    changes = {"next_action_at": at, "last_step_name": "friendly", "resumed": False}
    moved = state.moved(**changes)
    assert moved == replace(state, **changes)  # type: ignore[arg-type]
    assert moved is not state
    assert list(vars(moved)) == list(InvoiceState.__dataclass_fields__)
    assert vars(state.moved_by(changes)) == vars(moved)
    with pytest.raises(TypeError, match="next_actoin_at"):
        state.moved(next_actoin_at=at)
    with pytest.raises(TypeError, match="next_actoin_at"):
        state.moved_by({"next_actoin_at": at})


@given(state=invoices(), held=st.none() | instants, notice=st.none() | instants)
def test_a_state_read_from_a_row_is_the_constructed_one(
    state: InvoiceState, held: datetime | None, notice: datetime | None
) -> None:
    row = {**vars(replace(state, held_until=held, formal_notice_at=notice)), "hold_reason": "x"}
    read = InvoiceState.of(row)
    assert read == InvoiceState(**{k: v for k, v in row.items() if k != "hold_reason"})
    assert list(vars(read)) == list(InvoiceState.__dataclass_fields__)
    with pytest.raises(KeyError, match="awaiting_delivery"):
        InvoiceState.of({k: v for k, v in row.items() if k != "awaiting_delivery"})


@given(state=invoices(), held=st.none() | instants, data=st.data())
def test_a_state_read_by_position_is_the_one_read_by_name(
    state: InvoiceState, held: datetime | None, data: st.DataObject
) -> None:
    """``InvoiceState.reader``: the fields taken by position from rows whose columns are
    given (in the table's order, or any other, with columns that are not fields)."""
    named = {**vars(replace(state, held_until=held)), "hold_reason": "x", "legacy_position": 2}
    columns = data.draw(st.permutations(list(named)))
    row = tuple(named[c] for c in columns)  # a row of those columns, read by position
    read = InvoiceState.reader(columns)(row)
    assert read == InvoiceState.of(named)
    assert list(vars(read)) == list(InvoiceState.__dataclass_fields__)
    assert vars(read) == vars(InvoiceState.of(named))
    with pytest.raises(KeyError, match="awaiting_delivery"):
        InvoiceState.reader([c for c in columns if c != "awaiting_delivery"])


next_steps = st.none() | st.sampled_from(STEPS).map(
    lambda step: NextStep(step_name=step.name, level=step.level, channel=step.channel)
)


@settings(max_examples=300, deadline=None)
@given(state=invoices(), now=instants, next_step=next_steps)
def test_a_state_change_is_the_models_dump(
    state: InvoiceState, now: datetime, next_step: NextStep | None
) -> None:
    record = outgoing.state_changed(state, now, next_step)
    snapshot = state.snapshot(None, next_step)
    if snapshot is None:
        assert record is None
        return
    assert record is not None
    assert isinstance(record.event_id, str)  # a version-4 id's text
    assert record.event_uuid is not None
    assert (record.event_uuid.version, str(record.event_uuid)) == (4, record.event_id)
    expected = DunningStateChanged(
        event_id=record.event_uuid, occurred_at=now, source=SOURCE, payload=snapshot
    )
    assert record._replace(event_id=record.event_uuid) == OutgoingRecord.of(
        DUNNING_ACTIONS, expected
    )
    # the same state again, its place and heading then written from what was remembered
    again = outgoing.state_changed(replace(state), now, next_step)
    assert again is not None
    assert isinstance(again.event_id, str)
    assert again.value == record.value.replace(record.event_id.encode(), again.event_id.encode())
    # it validates (compared as JSON: an instant in a DST fold compares unequal across zones)
    parsed = DUNNING_ACTIONS.parse(record.value)
    assert parsed.model_dump_json().encode() == record.value
    assert parsed.schema_version == 2
    # a next step is written only beside a timer
    shown = next_step if state.next_action_at is not None else None
    assert isinstance(parsed, DunningStateChanged)
    assert parsed.payload.next_step == shown


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    customer_id=names,
    zone=st.sampled_from(ZONES),
    now=instants,
    step=st.sampled_from(STEPS),
    account=st.lists(
        st.tuples(currencies, amounts | st.just(Decimal(0)), st.integers(1, 50)),
        max_size=4,
        unique_by=lambda row: row[0],
    ),
)
def test_a_reminder_due_is_the_models_dump(
    data: st.DataObject,
    customer_id: str,
    zone: str,
    now: datetime,
    step: Step,
    account: list[tuple[str, Decimal, int]],
) -> None:
    states = data.draw(
        st.lists(invoices(customer_id), min_size=1, max_size=4, unique_by=lambda s: s.invoice_id)
    )
    scheduled = data.draw(instants)
    who = customer(customer_id, zone)
    rid = uuid.uuid4()
    record = outgoing.reminder_due(
        reminder_id=rid,
        now=now,
        customer=who,
        scenario_id="negligent",
        step=step,
        scheduled_for=scheduled,
        invoices=states,
        account=account,
    )
    expected = ReminderDue(
        event_id=rid,
        occurred_at=now,
        source=SOURCE,
        payload=Reminder(
            reminder_id=rid,
            customer_id=customer_id,
            company_code="FR01",
            scenario_id="negligent",
            step_name=step.name,
            level=step.level,
            channel=step.channel,
            recipient_role=step.recipient,
            template=step.template,
            language="fr",
            include_penalties=step.include_penalties,
            escalating=step.escalating,
            scheduled_for=scheduled,
            invoices=tuple(_dunned(s, who, now) for s in states),
            statement=open_statement(account),
        ),
    )
    assert record == OutgoingRecord.of(DUNNING_ACTIONS, expected)
    # it validates (compared as JSON: an instant in a DST fold compares unequal across zones)
    assert DUNNING_ACTIONS.parse(record.value).model_dump_json().encode() == record.value
    # sent_reminder keeps the payload, cut out of the event's text: what the fallback reads
    assert json.loads(outgoing.payload_text(record)) == json.loads(record.value)["payload"]
    payload = Reminder.model_validate_json(outgoing.payload_text(record))
    assert payload.model_dump_json() == expected.payload.model_dump_json()


STATE = InvoiceState(
    "FR01/F1", "C1", "FR01", "F1", date(2026, 12, 1), "EUR", Decimal("100.00"),
    Decimal("40.00"), "negligent", "friendly", 1, "active", None, False, "courtesy", "preventive",
    datetime(2026, 12, 1, 9, tzinfo=UTC), datetime(2026, 12, 4, 9, tzinfo=UTC),
)  # fmt: skip
NOW = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)


def remind(*states: InvoiceState) -> OutgoingRecord:
    return outgoing.reminder_due(
        reminder_id=uuid.uuid4(),
        now=NOW,
        customer=customer("C1", "Europe/Paris"),
        scenario_id="negligent",
        step=STEPS[0],
        scheduled_for=NOW,
        invoices=states,
        account=[("EUR", Decimal("40.00"), 1)],
    )


def test_the_rules_the_models_check_on_the_state_are_checked() -> None:
    with pytest.raises(ValueError, match="not within the invoice amount"):
        remind(replace(STATE, open_amount=Decimal("100.01")))
    with pytest.raises(ValueError, match="not within the invoice amount"):
        remind(replace(STATE, open_amount=Decimal(0)))
    with pytest.raises(ValueError, match="each invoice once"):
        remind(STATE, STATE)
    with pytest.raises(ValueError, match="at least one invoice"):
        remind()
    with pytest.raises(ValueError, match="before the last one"):
        outgoing.state_changed(
            replace(STATE, next_action_at=datetime(2026, 11, 30, tzinfo=UTC)), NOW
        )
    with pytest.raises(ValueError, match="together"):
        outgoing.state_changed(replace(STATE, last_level=None), NOW)


def test_a_reminders_step_fields_follow_its_scenario_step_and_language() -> None:
    # the step's part of a reminder is written once per (scenario, step, language) and reused
    step = STEPS[0]
    renamed = step.model_copy(update={"template": "reminder_renamed"})  # a new library's step
    for scenario_id, language, used in [
        ("negligent", "fr", step),
        ("negligent", "de", step),
        ("bad_payer", "fr", step),
        ("negligent", "fr", renamed),
        ("negligent", "fr", step),
    ]:
        who = replace(customer("C1", "Europe/Paris"), language=language)
        record = outgoing.reminder_due(
            reminder_id=uuid.uuid4(),
            now=NOW,
            customer=who,
            scenario_id=scenario_id,
            step=used,
            scheduled_for=NOW,
            invoices=[STATE],
            account=[],
        )
        payload = Reminder.model_validate_json(outgoing.payload_text(record))
        assert (payload.scenario_id, payload.language, payload.template) == (
            scenario_id,
            language,
            used.template,
        )


def test_equal_instants_in_other_zones_are_written_each_their_way() -> None:
    """The instants' and the state change's remembered texts are kept per datetime object
    (checked by identity): an equal instant in another zone, or a new object, is written as
    the model writes it, never as the one remembered."""
    in_utc = datetime(2026, 5, 20, 7, 30, tzinfo=UTC)
    state = next(iter(LIBRARY.scenarios.values()))
    step = state.steps[0]
    in_kolkata = in_utc.astimezone(ZoneInfo("Asia/Kolkata"))
    for at in (in_utc, in_kolkata, in_utc, datetime.fromisoformat(in_kolkata.isoformat())):
        assert outgoing.instant(at) == json_text.instant_once(at)
        moved = InvoiceState(
            invoice_id="I1",
            customer_id="C1",
            company_code="FR01",
            invoice_number="F1",
            due_date=date(2026, 5, 1),
            currency="EUR",
            amount=Decimal("10"),
            open_amount=Decimal("10"),
            scenario_id=state.id,
            next_step=step.id,
            scenario_version=None,
            status="active",
            pause_reason=None,
            resumed=False,
            last_step_name=step.name,
            last_level=step.level,
            last_action_at=at,
            next_action_at=at + timedelta(days=3),
        )
        record = outgoing.state_changed(moved, at)
        assert record is not None
        snapshot = moved.snapshot()
        assert snapshot is not None
        expected = DunningStateChanged(
            event_id=record.event_uuid, occurred_at=at, source=SOURCE, payload=snapshot
        )
        assert record.value == OutgoingRecord.of(DUNNING_ACTIONS, expected).value


@given(
    headers=st.lists(
        st.sampled_from(
            [
                (("event_type", b"dunning.reminder.due"),),
                (("event_type", b"dunning.state.changed"),),
                (("event_type", b"dunning.escalation.raised"), ("trace", b"\x00\xff")),
                (),
            ]
        ).map(lambda h: tuple(tuple(pair) for pair in h)),  # equal tuples, other objects
        max_size=12,
    )
)
def test_a_ticks_outbox_rows_are_the_kits_rows(
    headers: list[tuple[tuple[str, bytes], ...]],
) -> None:
    """``_Writes.sealed`` encodes each kind of headers once; its rows are ``enqueued_row``'s."""
    from services.runtime.outbox import enqueued_row
    from services.scheduler.tick import _Writes

    writes = _Writes()
    for n, h in enumerate(headers):
        event_id = uuid.uuid4() if n % 2 else str(uuid.uuid4())
        writes.records.append(OutgoingRecord("t", f"C{n}".encode(), b"{}", h, event_id))
    assert writes.sealed().outbox == [enqueued_row(r) for r in writes.records]
