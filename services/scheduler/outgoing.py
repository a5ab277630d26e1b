"""The tick's reminder-due and state-changed events, serialised once into outbox records.

A tick emits two events per reminded invoice. Validating each as a pydantic model and then
dumping it (twice for a reminder: the outbox and ``sent_reminder``) cost about 50 µs per
reminded invoice, the largest single cost of a tick; writing the JSON straight from the
stored state costs about 20. It is written in the contract's field order and formats
(``dunning.ReminderDue`` and ``dunning.DunningStateChanged``: the unit tests check, for
generated states, that the bytes are the ones the models dump). The values come from the
scheduler's own tables, filled from validated ledger events, and from the validated scenario
library; the contract's rules that the stored state itself could break (an open amount
above the invoice's, a next action before the last one) are checked here as the models
check them. Rarer events (escalations, campaigns, fallbacks) go through the models.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from contracts.dunning import NextStep
from contracts.topics import DUNNING_ACTIONS
from services.runtime import json_text
from services.runtime.outbox import OutgoingRecord
from services.scheduler.domain.ids import random_id_text
from services.scheduler.domain.scenario import Step
from services.scheduler.domain.state import Customer, InvoiceState
from services.scheduler.errors import InvalidState

SOURCE = "scheduler"
REMINDER_DUE = "dunning.reminder.due"
STATE_CHANGED = "dunning.state.changed"

_HEADERS = {
    event_type: (("event_type", event_type.encode()),)
    for event_type in (REMINDER_DUE, STATE_CHANGED)
}
_string = json_text.string
_optional_string = json_text.optional_string
_bool = json_text.boolean
_money = json_text.money

# An instant's text per datetime object: a tick writes the same few objects thousands of times
# (its ``now``, the sending instants, the timers the remembered moves share), and a lookup
# by identity costs less than hashing the instant and its offset. The object is kept with its
# text (its id cannot be reused meanwhile) and checked on every hit.
_instants: dict[int, tuple[datetime, str]] = {}


def instant(at: datetime) -> str:
    """``json_text.instant``, remembered per datetime object."""
    known = _instants.get(id(at))
    if known is not None and known[0] is at:
        return known[1]
    text = json_text.instant(at)
    if len(_instants) >= 4096:
        _instants.clear()
    _instants[id(at)] = (at, text)
    return text


def _optional_instant(at: datetime | None) -> str:
    return "null" if at is None else f'"{instant(at)}"'


_SCHEMA_VERSIONS = {REMINDER_DUE: 1, STATE_CHANGED: 2}  # the contracts' current versions


def _envelope(event_id: uuid.UUID | str, event_type: str, now: datetime) -> str:
    """``json_text.envelope``: the part after the event id is the same for a tick's events of
    one type, and written once per type and instant (per ``now`` object, checked by
    identity, before the cache by value)."""
    known = _envelope_rests.get((event_type, id(now)))
    if known is None or known[0] is not now:
        known = (now, _envelope_rest(event_type, now, now.utcoffset()))
        if len(_envelope_rests) >= 256:
            _envelope_rests.clear()
        _envelope_rests[(event_type, id(now))] = known
    return f'{{"event_id":"{event_id}"{known[1]}'


_envelope_rests: dict[tuple[str, int], tuple[datetime, str]] = {}


@functools.lru_cache(maxsize=256)
def _envelope_rest(event_type: str, now: datetime, offset: object) -> str:
    # the offset is part of the key: the same instant in two zones is written two ways
    whole = json_text.envelope("", event_type, instant(now), SOURCE, _SCHEMA_VERSIONS[event_type])
    return whole[len('{"event_id":""') :]


def _next_step(step: NextStep | None) -> str:
    if step is None:
        return "null"
    return (
        f'{{"step_name":{_string(step.step_name)},"level":{_string(step.level)},'
        f'"channel":{_string(step.channel)}}}'
    )


def dunned_invoice(state: InvoiceState, today: date) -> str:
    """A ``DunnedInvoice``: the invoice as a reminder lists it, on the customer's ``today``."""
    if not 0 < state.open_amount <= state.amount:
        raise InvalidState(
            f"open amount {state.open_amount} is not within the invoice amount {state.amount} "
            f"for {state.invoice_id}"
        )
    return (
        f'{{"invoice_id":{_string(state.invoice_id)},'
        f'"invoice_number":{_string(state.invoice_number)},'
        f'"due_date":"{state.due_date.isoformat()}",'
        f'"amount":{_money(state.amount, state.currency)},'
        f'"open_amount":{_money(state.open_amount, state.currency)},'
        f'"days_overdue":{(today - state.due_date).days}}}'
    )


def statement(account: Sequence[tuple[str, Decimal, int]]) -> str:
    """An ``OpenStatement`` of (currency, open total, open invoices) rows; null if none is open."""
    if len(account) == 1:  # most customers owe in one currency
        ((currency, total, count),) = account
        if total > 0:
            return f'{{"totals":[{_money(total, currency)}],"open_invoices":{count}}}'
        return "null"
    rows = sorted((c, t, n) for c, t, n in account if t > 0)
    if not rows:
        return "null"
    totals = ",".join(_money(t, c) for c, t, _ in rows)
    return f'{{"totals":[{totals}],"open_invoices":{sum(n for _, _, n in rows)}}}'


def _record(
    event_type: str, customer_id: str, event_id: uuid.UUID | str, value: str
) -> OutgoingRecord:
    return OutgoingRecord(
        DUNNING_ACTIONS.name, customer_id.encode(), value.encode(), _HEADERS[event_type], event_id
    )


def reminder_due(
    *,
    reminder_id: uuid.UUID | str,
    now: datetime,
    customer: Customer,
    scenario_id: str,
    step: Step,
    scheduled_for: datetime,
    invoices: Sequence[InvoiceState],
    account: Sequence[tuple[str, Decimal, int]],
) -> OutgoingRecord:
    """The ``dunning.reminder.due`` of one step for a group of the customer's invoices; its id
    as a ``uuid.UUID`` or as its text (the tick's, as ``str`` of the id writes it)."""
    if not invoices:
        raise InvalidState("a reminder lists at least one invoice")
    if len(invoices) > 1 and len({s.invoice_id for s in invoices}) != len(invoices):
        raise InvalidState("a reminder lists each invoice once")
    known = _todays.get((id(now), customer.time_zone))
    if known is None or known[0] is not now:
        known = (now, _today(now, now.utcoffset(), customer.time_zone))
        if len(_todays) >= 1024:
            _todays.clear()
        _todays[(id(now), customer.time_zone)] = known
    today = known[1]
    listed = ",".join(dunned_invoice(s, today) for s in invoices)
    reminder_text = str(reminder_id)  # written twice (a text is its own str)
    value = (
        f"{_envelope(reminder_text, REMINDER_DUE, now)}"
        f'{{"reminder_id":"{reminder_text}",'
        f'"customer_id":{_string(customer.customer_id)},'
        f'"company_code":{_string(customer.company_code)},'
        f"{_step_fields(scenario_id, step, customer.language)}"
        f'"scheduled_for":"{instant(scheduled_for)}",'
        f'"invoices":[{listed}],"statement":{statement(account)},"proposal":null}}}}'
    )
    return _record(REMINDER_DUE, customer.customer_id, reminder_id, value)


# The customer's date per ``now`` object (checked by identity) and time zone, before _today.
_todays: dict[tuple[int, str], tuple[datetime, date]] = {}


@functools.lru_cache(maxsize=1024)
def _today(now: datetime, offset: object, time_zone: str) -> date:
    """The customer's date at ``now`` (a tick's one instant, for a few time zones)."""
    return now.astimezone(ZoneInfo(time_zone)).date()


# A reminder's fields from "scenario_id" to "escalating" are the step's, the scenario's and
# the customer's language: written once per (scenario, step, language) rather than once per
# reminder. Steps are keyed by identity (a library's steps live as long as it does) and the
# identity is checked on every hit, so a step of a replaced library is never mistaken.
_step_texts: dict[tuple[str, int, str], tuple[Step, str]] = {}


def _step_fields(scenario_id: str, step: Step, language: str) -> str:
    key = (scenario_id, id(step), language)
    known = _step_texts.get(key)
    if known is not None and known[0] is step:
        return known[1]
    text = (
        f'"scenario_id":{_string(scenario_id)},"campaign_id":null,'
        f'"step_name":{_string(step.name)},"level":{_string(step.level)},'
        f'"channel":{_string(step.channel)},"recipient_role":{_string(step.recipient)},'
        f'"template":{_string(step.template)},"language":{_string(language)},'
        f'"include_penalties":{_bool(step.include_penalties)},'
        f'"escalating":{_bool(step.escalating)},'
    )
    if len(_step_texts) >= 4096:
        _step_texts.clear()
    _step_texts[key] = (step, text)
    return text


def payload_text(record: OutgoingRecord) -> str:
    """The payload of an event written here, as the text of its JSON object: what follows the
    envelope's ``"payload":`` (the envelope's last field) up to the event's closing brace."""
    start = record.value.index(_PAYLOAD) + len(_PAYLOAD)
    return record.value[start:-1].decode()


_PAYLOAD = b'"payload":'


def state_changed(
    state: InvoiceState, now: datetime, next_step: NextStep | None = None
) -> OutgoingRecord | None:
    """The ``dunning.state.changed`` of an invoice; None when it has no scenario.

    ``next_step``: where its timer leads (:func:`~services.scheduler.domain.state.heading_for`),
    written only beside a timer."""
    if state.scenario_id is None:
        return None
    event_id = random_id_text()  # text: written into the JSON and the outbox's COPY only
    value = (
        f"{_envelope(event_id, STATE_CHANGED, now)}"
        f'{{"customer_id":{_string(state.customer_id)},'
        f'"company_code":{_string(state.company_code)},'
        f'"invoice_id":{_string(state.invoice_id)},'
        f"{_progress_fields(state, next_step)}"
    )
    return _record(STATE_CHANGED, state.customer_id, event_id, value)


# A state change's fields from "scenario_id" to its end (the step, the pauses, the two
# instants, the next step) are the same for the invoices a tick moved alike: written once per
# combination. The instants and the next step are keyed by identity (the moves remembered by
# the contact rule share their objects) and checked on every hit, with the objects kept.
_progress_texts: dict[tuple[object, ...], tuple[object, object, object, str]] = {}


def _progress_fields(state: InvoiceState, next_step: NextStep | None) -> str:
    last_action_at = state.last_action_at
    next_action_at = state.next_action_at
    key = (
        state.scenario_id,
        state.last_step_name,
        state.last_level,
        state.pause_reason,
        id(last_action_at),
        id(next_action_at),
        id(next_step),
    )
    known = _progress_texts.get(key)
    if (
        known is not None
        and known[0] is last_action_at
        and known[1] is next_action_at
        and known[2] is next_step
    ):
        return known[3]
    if (state.last_step_name is None) != (state.last_level is None):
        raise InvalidState("step name and level are given together")
    if (
        last_action_at is not None
        and next_action_at is not None
        and next_action_at < last_action_at
    ):
        raise InvalidState("the next action is before the last one")
    assert state.scenario_id is not None
    text = (
        f"{_place(state.scenario_id, state.last_step_name, state.last_level, state.pause_reason)}"
        f'"last_action_at":{_optional_instant(last_action_at)},'
        f'"next_action_at":{_optional_instant(next_action_at)},'
        # the tick never moves a held invoice (queries.DUE_INVOICES): no hold to show
        f'"paused_until":null,'
        f'"next_step":{_heading(next_step if next_action_at is not None else None)}}}}}'
    )
    if len(_progress_texts) >= 4096:
        _progress_texts.clear()
    _progress_texts[key] = (last_action_at, next_action_at, next_step, text)
    return text


# A state change's fields from "scenario_id" to "pause_reason" depend on four of the state's
# values that a tick's invoices share (a few scenarios, steps and pauses): written once per
# combination rather than once per state change.
_places: dict[tuple[str, str | None, str | None, str | None], str] = {}


def _place(
    scenario_id: str, step_name: str | None, level: str | None, pause_reason: str | None
) -> str:
    key = (scenario_id, step_name, level, pause_reason)
    known = _places.get(key)
    if known is not None:
        return known
    pauses = tuple(pause_reason.split(",")) if pause_reason else ()  # InvoiceState.pauses
    text = (
        f'"scenario_id":{_string(scenario_id)},'
        f'"step_name":{_optional_string(step_name)},'
        f'"level":{_optional_string(level)},'
        f'"paused":{_bool(pause_reason is not None)},'
        f'"pause_reason":{_optional_string(pauses[0] if pauses else None)},'
    )
    if len(_places) >= 4096:
        _places.clear()
    _places[key] = text
    return text


# A next step's text, per model (the tick's headings are one model per step of the library,
# state.heading_for); the model is kept with its text and checked by identity on every hit.
_headings: dict[int, tuple[NextStep, str]] = {}


def _heading(step: NextStep | None) -> str:
    if step is None:
        return "null"
    known = _headings.get(id(step))
    if known is not None and known[0] is step:
        return known[1]
    text = _next_step(step)
    if len(_headings) >= 4096:
        _headings.clear()
    _headings[id(step)] = (step, text)
    return text
