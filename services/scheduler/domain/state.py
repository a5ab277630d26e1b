"""One invoice's dunning state, the customer it belongs to, and the policy every decision is
taken under; and the state's transitions: assignment and reassignment, rescheduling, the
ledger's changes (opened, amount changed, closed), pauses and resumptions.

Pure: the tick (:mod:`services.scheduler.tick`) and the tracker
(:mod:`services.scheduler.tracking`) read the rows, call these, and write what they return.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from functools import lru_cache
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from contracts.dunning import InvoiceDunningState, NextStep
from contracts.erp import CustomerType, Segment
from contracts.money import PositiveMoney
from services.runtime.business_days import SendingWindow, send_instant
from services.scheduler.domain.library import Library
from services.scheduler.domain.progress import (
    DEFAULT_NOTICE_DELAY,
    Debtor,
    Notice,
    firmer_position,
)
from services.scheduler.domain.rule_memo import amount_class, plan
from services.scheduler.domain.scenario import Scenario
from services.scheduler.domain.versions import followed_position

# When a reminder cannot reach the customer on its channel (no such contact, no provider, a
# hard bounce), the same step goes again on the next channel of this chain; none after the
# paper ones.
DEFAULT_FALLBACKS: Mapping[str, str] = {
    "interactive_email": "email",
    "email": "postal_letter",
    "sms": "email",
    "phone_call": "email",
    "electronic_registered_letter": "registered_letter",
}


@dataclass(eq=False)
class Policy:
    """What every decision is taken under. ``library`` is the one part that changes while the
    scheduler runs: a new accepted library version replaces it whole
    (:mod:`services.scheduler.library_store`), and every component holding the policy sees it."""

    library: Library
    window: SendingWindow
    min_gap: timedelta
    fallbacks: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_FALLBACKS))
    notice_delay: timedelta = DEFAULT_NOTICE_DELAY  # after a delivered formal notice, the exit
    call_retry_business_days: int = 2  # a call not answered is tried again after these
    call_attempts: int = 3  # calls tried before the step's written channel
    # where a formal notice's ``delivery.sent`` serves it (no delivery report comes after)
    notice_sent_channels: frozenset[str] = frozenset({"email", "interactive_email", "phone_call"})
    notice_sent_providers: frozenset[str] = frozenset({"file_drop"})


@dataclass(frozen=True)
class Customer:
    customer_id: str
    company_code: str
    country: str
    time_zone: str
    language: str
    segment: Segment
    last_contact_at: datetime | None
    held_until: datetime | None = None  # a collector's hold of the whole customer
    scenario_override: str | None = None  # a collector's choice, over the assignment rules

    @classmethod
    def of(cls, row: Any) -> Customer:
        """The customer of a ``customer`` row (its hold and override when the row has them).

        The fields are set in one step, as :meth:`InvoiceState.of` does (a tick reads a
        customer per due invoice's customer)."""
        customer = object.__new__(cls)
        customer.__dict__.update(
            customer_id=row["customer_id"],
            company_code=row["company_code"],
            country=row["country"],
            time_zone=row["time_zone"],
            language=row["language"],
            segment=_segment(row["segment"]),
            last_contact_at=row["last_contact_at"],
            held_until=row.get("held_until"),
            scenario_override=row.get("scenario_override"),
        )
        return customer

    def held_at(self, now: datetime) -> bool:
        return self.held_until is not None and self.held_until > now

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)  # cached by zoneinfo

    def debtor(self, window: SendingWindow) -> Debtor:
        return _debtor(self.country, self.time_zone, self.segment.customer_type, window)


@functools.lru_cache(maxsize=1024)
def _debtor(
    country: str, time_zone: str, customer_type: CustomerType, window: SendingWindow
) -> Debtor:
    # one immutable Debtor per kind of customer, instead of two per customer and tick
    return Debtor(country, time_zone, customer_type, window)


_segments: dict[tuple[object, ...], Segment] = {}


def _segment(stored: Any) -> Segment:
    """``Segment.model_validate(stored)``, remembered for the stored objects seen (a book's
    customers share few segments, and a tick reads hundreds of customers).

    Only valid segments are remembered, and their values are strings, None and lists of
    strings: another object with an equal key (lists as tuples) is the same JSON object.
    """
    if not isinstance(stored, dict):
        return Segment.model_validate(stored)
    key = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in stored.items())
    try:
        known = _segments.get(key)
    except TypeError:  # a nested object: not remembered
        return Segment.model_validate(stored)
    if known is None:
        known = Segment.model_validate(stored)
        if len(_segments) >= 10_000:
            _segments.clear()
        _segments[key] = known
    return known


@dataclass(frozen=True)
class InvoiceState:
    invoice_id: str
    customer_id: str
    company_code: str
    invoice_number: str
    due_date: date
    currency: str
    amount: Decimal
    open_amount: Decimal
    scenario_id: str | None
    next_step: str | None  # the identity of the step it heads for; None: only the exit left
    scenario_version: int | None  # the scenario's version ``next_step`` was read in
    status: str
    pause_reason: str | None
    resumed: bool
    last_step_name: str | None
    last_level: str | None
    last_action_at: datetime | None
    next_action_at: datetime | None
    formal_notice_at: datetime | None = None  # delivered or deemed delivered
    held_until: datetime | None = None  # a collector's hold: nothing decided before it
    # an escalating step taken (a registered letter with acknowledgement), not yet delivered
    # nor deemed delivered: the invoice moves on only once it is (its step's name)
    awaiting_delivery: str | None = None

    @classmethod
    def of(cls, row: Any) -> InvoiceState:
        """The state of a ``dunning_invoice`` row (every field read from it, by name).

        The fields are set in one step, as :meth:`moved` copies them: the frozen dataclass's
        ``__init__`` sets them one by one through ``object.__setattr__``, and a tick reads
        a state per due invoice (a twentieth of its Python time)."""
        state = object.__new__(cls)
        state.__dict__.update({name: row[name] for name in _INVOICE_FIELD_ORDER})
        return state

    @classmethod
    def reader(cls, columns: Sequence[str]) -> Callable[[Any], InvoiceState]:
        """:meth:`of` for rows whose columns are ``columns`` (a query's rows share theirs):
        the fields taken by position, in one step, rather than looked up by name one by one
        (a tick reads a state per due invoice). A field missing from ``columns`` fails here,
        as :meth:`of` fails on the first row."""
        positions = []
        for name in _INVOICE_FIELD_ORDER:
            try:
                positions.append(list(columns).index(name))
            except ValueError:
                raise KeyError(name) from None
        values_of = itemgetter(*positions)

        def read(row: Any) -> InvoiceState:
            state = object.__new__(cls)
            state.__dict__.update(zip(_INVOICE_FIELD_ORDER, values_of(row), strict=True))
            return state

        return read

    def moved(self, **changes: Any) -> InvoiceState:
        """``dataclasses.replace`` for the tick's hot path: a copy with ``changes``, without
        calling ``__init__`` again (a third of the cost of a reminder's decision went to
        ``replace``). Only field names are accepted, as ``replace`` checks."""
        return self.moved_by(changes)

    def moved_by(self, changes: Mapping[str, Any]) -> InvoiceState:
        """:meth:`moved` with the changes as a mapping (the contact rule's remembered moves):
        not spread into keywords and gathered again."""
        if not _INVOICE_FIELDS.issuperset(changes):
            raise TypeError(
                f"not fields of InvoiceState: {sorted(changes.keys() - _INVOICE_FIELDS)}"
            )
        moved = object.__new__(InvoiceState)
        fields = moved.__dict__
        fields.update(self.__dict__)
        fields.update(changes)
        return moved

    def held_at(self, now: datetime) -> bool:
        return self.held_until is not None and self.held_until > now

    def notice(self, policy: Policy) -> Notice:
        return Notice(self.formal_notice_at, policy.notice_delay)

    def money(self, value: Decimal) -> PositiveMoney:
        return PositiveMoney(amount=value, currency=self.currency)

    @property
    def pauses(self) -> tuple[str, ...]:
        """Every pause that holds the invoice (a dispute and a promise may both hold it)."""
        return tuple(self.pause_reason.split(",")) if self.pause_reason else ()

    def paused_also(self, reason: str) -> InvoiceState:
        return replace(self, pause_reason=",".join(sorted({*self.pauses, reason})))

    def lifted(self, reason: str) -> InvoiceState:
        """Without the pause ``reason``; still paused if another one holds."""
        remaining = sorted(set(self.pauses) - {reason})
        return replace(self, pause_reason=",".join(remaining) or None)

    def snapshot(
        self, now: datetime | None = None, next_step: NextStep | None = None
    ) -> InvoiceDunningState | None:
        """The contract's view of the state; None when the invoice has no scenario.

        At ``now``, a hold in force shows as a pause (``hold``, until ``paused_until``) when
        no other pause holds the invoice; its timer is not shown (nothing happens before).
        ``next_step`` is :func:`heading_for`'s answer, shown only beside a timer.
        """
        if self.scenario_id is None:
            return None
        if now is not None and self.held_at(now) and not self.pauses:
            return InvoiceDunningState(
                customer_id=self.customer_id,
                company_code=self.company_code,
                invoice_id=self.invoice_id,
                scenario_id=self.scenario_id,
                step_name=self.last_step_name,
                level=self.last_level,
                paused=True,
                pause_reason="hold",
                paused_until=self.held_until,
                last_action_at=self.last_action_at,
                next_action_at=None,
            )
        return InvoiceDunningState(
            customer_id=self.customer_id,
            company_code=self.company_code,
            invoice_id=self.invoice_id,
            scenario_id=self.scenario_id,
            step_name=self.last_step_name,
            level=self.last_level,
            paused=self.pause_reason is not None,
            pause_reason=self.pauses[0] if self.pauses else None,
            last_action_at=self.last_action_at,
            next_action_at=self.next_action_at,
            next_step=next_step if self.next_action_at is not None else None,
        )


_INVOICE_FIELDS = frozenset(InvoiceState.__dataclass_fields__)
_INVOICE_FIELD_ORDER = tuple(InvoiceState.__dataclass_fields__)


def scenario_of(policy: Policy, state: InvoiceState) -> Scenario | None:
    if state.scenario_id is None:
        return None
    return policy.library.scenarios.get(state.scenario_id)


def position_of(policy: Policy, state: InvoiceState) -> int:
    """The index, in the scenario's version in force, of the step the invoice heads for
    (``len(steps)``: only the exit left), found by the step's identity: the rule of
    :mod:`services.scheduler.domain.versions` when it was read in another version."""
    return _position_in(policy.library, state)


def _position_in(library: Library, state: InvoiceState) -> int:
    scenario = None if state.scenario_id is None else library.scenarios.get(state.scenario_id)
    if scenario is None:
        return 0
    if state.status == "escalated":
        return len(scenario.steps) + 1
    if state.scenario_version is None or state.scenario_version == library.version_of(scenario.id):
        index = scenario.index_of(state.next_step)
        if index is not None:
            return index
    old = library.scenario_at(scenario.id, state.scenario_version)
    return followed_position(old, scenario, state.next_step)


def heading_for(
    library: Library, state: InvoiceState, customer: Customer | None
) -> NextStep | None:
    """The step the invoice's next action takes, as ``dunning.state.changed`` announces it.

    The first step from the invoice's position that applies to its open amount and to the
    customer's type, the one the tick will take when the timer fires (``plan`` and
    ``resumed_step`` choose it the same way). None when there is no timer (paused, held,
    closed, ended, waiting for a delivery), when only the exit is left, or when the customer
    or the scenario is not known.

    Remembered (a tick announces one per moved invoice, and they share few answers): the
    answer depends on the library, the invoice's scenario, its place in it (status, step,
    version), the class of its open amount (:func:`~.rule_memo.amount_class`: the only way a
    step's conditions read it) and the customer's type. The library and the scenario are
    keyed by identity and checked on every hit. :func:`heading_by_definition` is the rule
    step by step (unit tests compare the two).
    """
    if state.next_action_at is None or customer is None:
        return None
    scenario = None if state.scenario_id is None else library.scenarios.get(state.scenario_id)
    if scenario is None:
        return None
    customer_type = customer.segment.customer_type
    key = (
        id(library),
        state.scenario_id,
        id(scenario),
        state.status,
        state.next_step,
        state.scenario_version,
        amount_class(scenario, state.open_amount),
        customer_type,
    )
    known = _headings.get(key)
    if known is not None and known[0] is library and known[1] is scenario:
        return known[2]
    heading = _heading(library, scenario, state, customer_type)
    if len(_headings) >= 10_000:
        _headings.clear()
    _headings[key] = (library, scenario, heading)
    return heading


_headings: dict[tuple[object, ...], tuple[Library, Scenario, NextStep | None]] = {}


def heading_by_definition(
    library: Library, state: InvoiceState, customer: Customer | None
) -> NextStep | None:
    """:func:`heading_for`, not remembered."""
    if state.next_action_at is None or customer is None:
        return None
    scenario = None if state.scenario_id is None else library.scenarios.get(state.scenario_id)
    if scenario is None:
        return None
    return _heading(library, scenario, state, customer.segment.customer_type)


def _heading(
    library: Library, scenario: Scenario, state: InvoiceState, customer_type: CustomerType
) -> NextStep | None:
    steps = scenario.steps
    for index in range(_position_in(library, state), len(steps)):
        step = steps[index]
        if step.applies_to(state.open_amount, customer_type):
            return _next_step(step.name, step.level, step.channel)
    return None


@lru_cache(maxsize=4096)
def _next_step(name: str, level: str, channel: str) -> NextStep:
    """One validated model per step of the library, not one per state announced (the tick
    announces thousands; a model is immutable, so they may share it)."""
    return NextStep.model_validate({"step_name": name, "level": level, "channel": channel})


def at_position(policy: Policy, state: InvoiceState, position: int) -> InvoiceState:
    """``state`` heading for the step at ``position`` of its scenario's version in force."""
    scenario = scenario_of(policy, state)
    if scenario is None:
        return replace(state, next_step=None, scenario_version=None)
    return replace(
        state,
        next_step=scenario.id_at(position),
        scenario_version=policy.library.version_of(scenario.id),
    )


def rescheduled(
    policy: Policy, state: InvoiceState, customer: Customer | None, not_before: datetime | None
) -> InvoiceState:
    """``state`` with its next action recomputed (none when paused, closed or unassigned)."""
    scenario = scenario_of(policy, state)
    if (
        customer is None
        or scenario is None
        or state.status != "active"
        or state.pause_reason
        or state.awaiting_delivery is not None
    ):
        return state.moved(next_action_at=None)
    if state.last_action_at is not None:
        gap = state.last_action_at + policy.min_gap
        not_before = gap if not_before is None else max(not_before, gap)
    planned = plan(
        scenario,
        position_of(policy, state),
        due_date=state.due_date,
        open_amount=state.open_amount,
        debtor=customer.debtor(policy.window),
        not_before=not_before,
        notice=state.notice(policy),
    )
    at = None if planned is None else planned.at
    if at is not None and state.resumed and state.next_action_at is not None:
        at = min(at, state.next_action_at)  # an expedited resumption keeps its earlier timer
    return state.moved(next_action_at=at)


def _override(policy: Policy, customer: Customer) -> str | None:
    """The scenario a collector chose for the customer, while the library still has it."""
    chosen = customer.scenario_override
    return chosen if chosen is not None and chosen in policy.library.scenarios else None


def assigned(
    policy: Policy,
    state: InvoiceState,
    customer: Customer,
    outstanding: Mapping[str, Decimal] | None = None,
) -> InvoiceState:
    """A not-yet-started invoice with the scenario the customer's assignment gives it."""
    assignment = policy.library.assignment
    scenario_id = None
    if not assignment.invoice_opted_out(state.invoice_id):
        scenario_id = _override(policy, customer) or assignment.scenario_for(
            customer.customer_id, customer.segment, customer.country, outstanding
        )
    status = "active" if scenario_id is not None else "unassigned"
    return at_position(policy, replace(state, scenario_id=scenario_id, status=status), 0)


def reassigned(
    policy: Policy,
    state: InvoiceState,
    customer: Customer,
    outstanding: Mapping[str, Decimal] | None = None,
) -> InvoiceState:
    """An invoice under way, moved to the scenario its customer's attributes now give.

    A customer whose payer profile, type or tags changed follows the new scenario from its
    first step firmer than the last level sent (firmness never goes down, no level is sent
    twice); with no scenario any more (a good payer now, an opt-out) the invoice is no longer
    reminded. The same scenario changes nothing.
    """
    assignment = policy.library.assignment
    target = None
    if not assignment.invoice_opted_out(state.invoice_id):
        target = _override(policy, customer) or assignment.scenario_for(
            customer.customer_id, customer.segment, customer.country, outstanding
        )
    if target == state.scenario_id:
        return state
    if target is None:
        return replace(state, scenario_id=None, status="unassigned", next_action_at=None)
    scenario = policy.library.scenarios.get(target)
    if scenario is None:
        return state
    position = firmer_position(
        scenario,
        0,
        state.last_level,  # type: ignore[arg-type]  # a DunningLevel as stored
        open_amount=state.open_amount,
        debtor=customer.debtor(policy.window),
    )
    return at_position(
        policy,
        replace(state, scenario_id=target, resumed=False),
        position,
    )


def opened(
    policy: Policy,
    state: InvoiceState,
    customer: Customer | None,
    outstanding: Mapping[str, Decimal] | None,
    now: datetime,
) -> InvoiceState:
    """A newly followed invoice: assigned and planned if its customer is known, else waiting."""
    after = replace(state, scenario_id=None, status="unassigned", next_action_at=None)
    if customer is None:
        return after
    return rescheduled(policy, assigned(policy, after, customer, outstanding), customer, now)


def amount_changed(
    policy: Policy,
    state: InvoiceState,
    customer: Customer | None,
    *,
    due_date: date,
    amount: Decimal,
    open_amount: Decimal,
    now: datetime,
) -> InvoiceState:
    """The invoice with the ledger's new amounts and due date; a reversal reopens it."""
    status = state.status
    if status == "closed":  # a reversal reopened it
        status = "active" if state.scenario_id is not None else "unassigned"
    after = replace(state, due_date=due_date, amount=amount, open_amount=open_amount, status=status)
    return rescheduled(policy, after, customer, now)


def closed(state: InvoiceState) -> InvoiceState:
    """Settled or cancelled: never reminded again."""
    return replace(state, status="closed", next_action_at=None)


def paused(state: InvoiceState, reason: str) -> InvoiceState:
    """Held by one more pause (a dispute, a promise to pay, a payment plan): no timer."""
    return replace(state.paused_also(reason), next_action_at=None)


class Resumption(Enum):
    """How an invoice comes back from a pause."""

    WHERE_IT_STOPPED = "where_it_stopped"  # the step it would have taken next
    FIRMER = "firmer"  # the next step firmer than the last one, on that step's date or ASAP
    FIRMER_NOW = "firmer_now"  # the next firmer step, on the next business day


def resumed(
    policy: Policy,
    state: InvoiceState,
    customer: Customer | None,
    reason: str,
    how: Resumption,
    now: datetime,
) -> InvoiceState | None:
    """The invoice with the pause ``reason`` (only that one) lifted; None if not so paused.

    Still paused if another pause holds it (a promise under a dispute, say); otherwise it
    goes on as ``how`` says, after the minimum gap.
    """
    if reason not in state.pauses:
        return None
    lifted = state.lifted(reason)
    if lifted.pause_reason is not None:
        return lifted
    after = replace(lifted, resumed=True)
    if how is not Resumption.WHERE_IT_STOPPED:
        after = _firmer(policy, after, customer)
    not_before = now + policy.min_gap
    if how is Resumption.FIRMER_NOW and customer is not None:
        not_before = _next_business_instant(policy, after, customer, now)
        after = replace(after, next_action_at=not_before)
    return rescheduled(policy, after, customer, not_before)


def _firmer(policy: Policy, state: InvoiceState, customer: Customer | None) -> InvoiceState:
    scenario = scenario_of(policy, state)
    if scenario is None or customer is None:
        return state
    position = firmer_position(
        scenario,
        position_of(policy, state),
        state.last_level,  # type: ignore[arg-type]  # a DunningLevel as stored
        open_amount=state.open_amount,
        debtor=customer.debtor(policy.window),
    )
    return at_position(policy, state, position)


def _next_business_instant(
    policy: Policy, state: InvoiceState, customer: Customer, now: datetime
) -> datetime:
    """The first sending instant from now on a business day, after the minimum gap."""
    not_before = now
    if state.last_action_at is not None:
        not_before = max(not_before, state.last_action_at + policy.min_gap)
    if customer.last_contact_at is not None:
        not_before = max(not_before, customer.last_contact_at + policy.min_gap)
    return send_instant(
        not_before.astimezone(ZoneInfo(customer.time_zone)).date(),
        country=customer.country,
        time_zone=customer.time_zone,
        window=policy.window,
        not_before=not_before,
    )
