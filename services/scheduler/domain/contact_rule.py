"""The tick's rule: what one customer's due invoices get now.

For each due invoice, the latest step due is taken (the earlier ones are recorded as
skipped); an invoice past its scenario's last step leaves the amicable phase (an
escalation per scenario). The invoices to remind are grouped by (level, channel, scenario)
and only the firmest group is reminded, in one reminder: a customer never gets two
reminders the same day. The other groups wait for the minimum gap, and so does the firmest
one while the customer's last contact is more recent than the gap. A timer that fired with
nothing to take (no scenario, no step due after all) is spent and planned again.

:func:`decide` is a pure function of the stored state; :mod:`services.scheduler.tick` reads
the due customers, calls it, and writes the :class:`Decision` it returns.
"""

from __future__ import annotations

import functools
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final, NamedTuple
from zoneinfo import ZoneInfo

from services.runtime.business_days import SendingWindow, send_instant
from services.scheduler.domain.library import Library
from services.scheduler.domain.progress import Debtor, Taken, resumed_step
from services.scheduler.domain.reminders import reminder_id_text
from services.scheduler.domain.rule_memo import MAX_ENTRIES, amount_class, due_now
from services.scheduler.domain.scenario import Scenario, Step
from services.scheduler.domain.state import (
    Customer,
    InvoiceState,
    Policy,
    at_position,
    position_of,
    rescheduled,
    scenario_of,
)


class Move(NamedTuple):
    """An invoice's state before and after the tick (a tuple: there is one per due invoice)."""

    before: InvoiceState
    after: InvoiceState


_set_attribute = object.__setattr__


@dataclass(frozen=True, init=False)
class Due:
    """An invoice with the step (or the exit) it takes now; ``situation``: what :func:`decide`
    remembered of such invoices (it is not part of the value)."""

    state: InvoiceState
    scenario: Scenario
    taken: Taken
    situation: Situation | None = field(default=None, compare=False, repr=False)

    def __init__(
        self,
        state: InvoiceState,
        scenario: Scenario,
        taken: Taken,
        situation: Situation | None = None,
    ) -> None:
        # the fields in one step (one per due invoice): a frozen dataclass's own __init__
        # sets them one by one through object.__setattr__
        _set_attribute(
            self,
            "__dict__",
            {"state": state, "scenario": scenario, "taken": taken, "situation": situation},
        )


@dataclass(frozen=True, init=False)
class Reminding:
    """One ``dunning.reminder.due``: ``step`` for ``invoices``, which move as ``moves`` say.

    Its id is kept as text (``reminder_text``, ``str`` of :attr:`reminder_id`): the tick only
    writes it, and making a ``uuid.UUID`` then formatting it was a twelfth of a tick."""

    reminder_text: str
    scenario_id: str
    step: Step
    scheduled_for: datetime
    invoices: tuple[InvoiceState, ...]
    moves: tuple[Move, ...]

    def __init__(
        self,
        reminder_text: str,
        scenario_id: str,
        step: Step,
        scheduled_for: datetime,
        invoices: tuple[InvoiceState, ...],
        moves: tuple[Move, ...],
    ) -> None:
        _set_attribute(  # in one step, as Due
            self,
            "__dict__",
            {
                "reminder_text": reminder_text,
                "scenario_id": scenario_id,
                "step": step,
                "scheduled_for": scheduled_for,
                "invoices": invoices,
                "moves": moves,
            },
        )

    @property
    def reminder_id(self) -> uuid.UUID:
        """The id as a ``uuid.UUID`` (a proposal's id is made of it)."""
        return uuid.UUID(self.reminder_text)


@dataclass(frozen=True)
class Escalating:
    """Invoices leaving ``scenario`` by its exit (one ``dunning.escalation.raised``)."""

    scenario: Scenario
    invoices: tuple[InvoiceState, ...]
    moves: tuple[Move, ...]


@dataclass(frozen=True, init=False)
class Decision:
    """What one customer's due invoices get, in the order the tick writes it."""

    customer: Customer
    spent: tuple[Move, ...]  # timers that fired with nothing to take, planned again
    escalations: tuple[Escalating, ...]
    postponed: tuple[Move, ...]  # groups waiting for the minimum gap
    reminder: Reminding | None
    skipped: tuple[tuple[str, str, str], ...]  # (invoice, scenario, step) passed over

    def __init__(
        self,
        customer: Customer,
        spent: tuple[Move, ...],
        escalations: tuple[Escalating, ...],
        postponed: tuple[Move, ...],
        reminder: Reminding | None,
        skipped: tuple[tuple[str, str, str], ...],
    ) -> None:
        _set_attribute(  # in one step, as Due
            self,
            "__dict__",
            {
                "customer": customer,
                "spent": spent,
                "escalations": escalations,
                "postponed": postponed,
                "reminder": reminder,
                "skipped": skipped,
            },
        )


def decide(
    policy: Policy, customer: Customer, states: Sequence[InvoiceState], now: datetime
) -> Decision:
    """What ``customer``'s due invoices (``states``, as stored) get at ``now``."""
    # what is due is judged at the instant the reminder will go: a tick outside the window
    # (a restart at night, a catch-up, a resumption at 08:00) sends at the next window
    # instant, and must then send the step due at that instant, never an older one (a
    # preventive reminder after the due date)
    debtor, sending_at = _kind(policy, customer, now)
    steps: defaultdict[tuple[int, str, str], list[Due]] = defaultdict(list)
    exits: defaultdict[str, list[Due]] = defaultdict(list)
    spent: list[Move] = []
    for state in states:
        scenario = scenario_of(policy, state)
        taken = None
        situation = None
        if scenario is not None and state.awaiting_delivery is None and not state.resumed:
            # the common case: the step due, remembered with what taking it changes
            situation = situation_of(policy, scenario, state, debtor, sending_at)
            taken = situation.taken
        else:
            if scenario is not None and state.awaiting_delivery is not None:
                scenario = None  # an escalating step not yet delivered: the invoice waits
            position = 0 if scenario is None else position_of(policy, state)
            if scenario is not None and state.resumed:
                # back from a pause: its timer says when (perhaps sooner than the step's own
                # date, after a broken promise); it takes the step where it stands
                taken = resumed_step(
                    scenario, position, open_amount=state.open_amount, debtor=debtor
                )
            if scenario is not None and taken is None:
                taken = due_now(
                    scenario,
                    position,
                    due_date=state.due_date,
                    open_amount=state.open_amount,
                    debtor=debtor,
                    now=sending_at,
                    resumed=state.resumed,
                    notice=state.notice(policy),
                )
        if scenario is None or taken is None:
            waiting = state.moved(next_action_at=None)  # the timer that fired is spent
            spent.append(Move(state, rescheduled(policy, waiting, customer, None)))
            continue
        due = Due(state, scenario, taken, situation)
        if taken.step is None:
            exits[scenario.id].append(due)
        else:
            steps[(taken.step.rank, taken.step.channel, scenario.id)].append(due)
    skipped: list[tuple[str, str, str]] = []
    escalations = tuple(_escalating(policy, group, skipped) for group in exits.values())
    if not steps:
        return Decision(customer, tuple(spent), escalations, (), None, tuple(skipped))
    gap_end = (
        None if customer.last_contact_at is None else customer.last_contact_at + policy.min_gap
    )
    firmest = max(steps)
    postponed: list[Move] = []
    for key, group in steps.items():
        if key == firmest and (gap_end is None or gap_end <= now):
            continue
        wait_until = max(now + policy.min_gap, gap_end or now)
        for due in group:
            later = send_instant(
                wait_until.date(),
                country=customer.country,
                time_zone=customer.time_zone,
                window=policy.window,
                not_before=wait_until,
            )
            postponed.append(Move(due.state, replace(due.state, next_action_at=later)))
    reminder = None
    if gap_end is None or gap_end <= now:
        reminder = _reminding(policy, customer, debtor, steps[firmest], sending_at, skipped)
    return Decision(customer, tuple(spent), escalations, tuple(postponed), reminder, tuple(skipped))


def _reminding(
    policy: Policy,
    customer: Customer,
    debtor: Debtor,  # customer.debtor(policy.window)
    group: list[Due],
    at: datetime,
    skipped: list[tuple[str, str, str]],
) -> Reminding:
    step: Step
    if len(group) == 1:
        step = group[0].taken.step  # type: ignore[assignment]  # a group's steps are steps
    else:
        step = max((d.taken.step for d in group if d.taken.step), key=lambda s: s.offset_days)
    scenario_id = group[0].scenario.id
    # the timers fired at a sending instant, unless the tick runs late (a restart at night, a
    # catch-up, a resumption): then the reminder waits for the next one, never goes at once
    # (``at``: the sending instant of the tick's ``now``, computed once by decide)
    moves = []
    for due in group:
        for passed in due.taken.skipped:
            skipped.append((due.state.invoice_id, scenario_id, passed.name))
        moves.append(Move(due.state, reminded(policy, customer, debtor, due, at)))
    return Reminding(
        reminder_text=reminder_id_text(
            customer.customer_id, scenario_id, step.name, [d.state.invoice_id for d in group]
        ),
        scenario_id=scenario_id,
        step=step,
        scheduled_for=at,
        invoices=tuple(d.state for d in group),
        moves=tuple(moves),
    )


def reminded_by_definition(
    policy: Policy, customer: Customer, due: Due, at: datetime
) -> InvoiceState:
    """An invoice after the step ``due`` takes is sent at ``at``: the step recorded, the
    invoice heading for the next one (of the version in force), its timer planned again."""
    taken_step = due.taken.step
    assert taken_step is not None
    moved = due.state.moved(  # one copy: the tick's hot path (at_position, inlined)
        next_step=due.scenario.id_at(due.taken.position + 1),
        scenario_version=policy.library.version_of(due.scenario.id),
        last_step_name=taken_step.name,
        last_level=taken_step.level,
        last_action_at=at,
        resumed=False,
        # an escalating step must be delivered (or deemed delivered) before the next one
        awaiting_delivery=taken_step.name if taken_step.escalating else None,
    )
    return rescheduled(policy, moved, customer, at)


# What :func:`reminded_by_definition` changes of an invoice, remembered: a batch's reminded
# invoices share few of its inputs (a few scenarios, steps and due dates, a tick's one
# instant, a few kinds of customer), and rescheduling each one was a tenth of a tick's Python.
_CHANGED: Final = (
    "next_step",
    "scenario_version",
    "last_step_name",
    "last_level",
    "last_action_at",
    "resumed",
    "awaiting_delivery",
    "next_action_at",
)
_reminded_changes: dict[tuple[object, ...], tuple[Library, Scenario, Step, dict[str, Any]]] = {}


def reminded(
    policy: Policy, customer: Customer, debtor: Debtor, due: Due, at: datetime
) -> InvoiceState:
    """:func:`reminded_by_definition`, its changes remembered (unit tests compare the two).

    The changes depend on the library (the version in force, the step after this one), the
    scenario, the step taken and its position, ``at``, the invoice's status and pauses (no
    timer for a paused or inactive one), its due date, the class of its open amount (the only
    way the rules read it: :func:`~.rule_memo.amount_class`), the customer's kind
    (``debtor``, ``customer.debtor(policy.window)``), its formal notice, and the policy's
    minimum gap and notice delay. The library, the scenario and the step are keyed by
    identity and checked on every hit; the other fields of the invoice are not changed.
    """
    state = due.state
    situation = due.situation
    if situation is not None and situation.at is at:
        # decided in one situation with the other invoices in it (situation_of)
        changes = situation.changes
        if changes is not None:
            return state.moved_by(changes)
        after = reminded_by_definition(policy, customer, due, at)
        situation.changes = {f: getattr(after, f) for f in _CHANGED}
        return after
    scenario = due.scenario
    step = due.taken.step
    library = policy.library
    assert step is not None
    key = (
        id(library),
        state.scenario_id,
        id(scenario),
        id(step),
        due.taken.position,
        at,
        state.status,
        state.pause_reason,
        state.due_date,
        amount_class(scenario, state.open_amount),
        debtor,
        state.formal_notice_at,
        policy.min_gap,
        policy.notice_delay,
    )
    known = _reminded_changes.get(key)
    if known is not None and known[0] is library and known[1] is scenario and known[2] is step:
        return state.moved_by(known[3])
    after = reminded_by_definition(policy, customer, due, at)
    if len(_reminded_changes) >= MAX_ENTRIES:
        _reminded_changes.clear()
    _reminded_changes[key] = (library, scenario, step, {f: getattr(after, f) for f in _CHANGED})
    return after


class Situation:
    """What :func:`decide` remembers of the due invoices in one situation: the step due
    (``taken``) and, once one of them was reminded, what the step changed of it (``changes``,
    the fields :func:`reminded_by_definition` sets)."""

    __slots__ = ("at", "changes", "debtor", "library", "scenario", "taken")

    def __init__(
        self,
        library: Library,
        scenario: Scenario,
        debtor: Debtor,
        at: datetime,
        taken: Taken | None,
    ) -> None:
        self.library = library
        self.scenario = scenario
        self.debtor = debtor
        self.at = at
        self.taken = taken
        self.changes: dict[str, Any] | None = None


# A batch's due invoices share few situations (a few scenarios and places in them, due dates
# and kinds of customer, a tick's one instant): the whole move of an invoice, from its place
# to the step due and then to what taking it changes, is computed once per situation rather
# than looked up piece by piece (its position, the step due, the step's changes) per invoice.
_situations: dict[tuple[object, ...], Situation] = {}


def situation_of(
    policy: Policy, scenario: Scenario, state: InvoiceState, debtor: Debtor, at: datetime
) -> Situation:
    """The situation of a due invoice that is neither resumed nor awaiting a delivery, in
    ``scenario`` (its scenario in ``policy.library``), for a customer of kind ``debtor``
    (``customer.debtor(policy.window)``), its reminder sent at ``at``.

    Its inputs, all in the key: the library (the version in force, the steps' identities,
    old versions), the scenario, the invoice's place (status, pauses, next step, version),
    its due date, the class of its open amount (:func:`~.rule_memo.amount_class`), the
    customer's kind, ``at``, the formal notice and the policy's minimum gap and notice delay.
    The library, the scenario and the debtor (one object per kind of customer) are keyed by
    identity, ``at`` compared by identity too (an equal instant in another zone is written
    otherwise), all four checked on every hit.
    :func:`situation_by_definition` computes it afresh (unit tests compare the two through
    :func:`decide`)."""
    library = policy.library
    key = (
        id(library),
        state.scenario_id,
        id(scenario),
        state.status,
        state.pause_reason,
        state.next_step,
        state.scenario_version,
        state.due_date,
        amount_class(scenario, state.open_amount),
        id(debtor),
        at,
        state.formal_notice_at,
        policy.min_gap,
        policy.notice_delay,
    )
    known = _situations.get(key)
    if (
        known is not None
        and known.library is library
        and known.scenario is scenario
        and known.debtor is debtor
        and known.at is at
    ):
        return known
    situation = situation_by_definition(policy, scenario, state, debtor, at)
    if len(_situations) >= MAX_ENTRIES:
        _situations.clear()
    _situations[key] = situation
    return situation


def situation_by_definition(
    policy: Policy, scenario: Scenario, state: InvoiceState, debtor: Debtor, at: datetime
) -> Situation:
    """:func:`situation_of`, not remembered: the step due, its changes not yet known."""
    taken = due_now(
        scenario,
        position_of(policy, state),
        due_date=state.due_date,
        open_amount=state.open_amount,
        debtor=debtor,
        now=at,
        resumed=False,
        notice=state.notice(policy),
    )
    return Situation(policy.library, scenario, debtor, at, taken)


# A customer's kind (``Debtor``) and sending instant, per kind of customer and tick: the tick's
# ``now`` and the policy's window keyed by identity (checked on every hit), which costs less
# than hashing them for two caches per customer.
_kinds: dict[tuple[object, ...], tuple[SendingWindow, datetime, Debtor, datetime]] = {}


def _kind(policy: Policy, customer: Customer, now: datetime) -> tuple[Debtor, datetime]:
    """``customer.debtor(policy.window)`` and ``sending_instant(policy, customer, now)``."""
    window = policy.window
    key = (
        customer.country,
        customer.time_zone,
        customer.segment.customer_type,
        id(window),
        id(now),
    )
    known = _kinds.get(key)
    if known is not None and known[0] is window and known[1] is now:
        return known[2], known[3]
    debtor = customer.debtor(window)
    at = sending_instant(policy, customer, now)
    if len(_kinds) >= 1024:
        _kinds.clear()
    _kinds[key] = (window, now, debtor, at)
    return debtor, at


def sending_instant(policy: Policy, customer: Customer, now: datetime) -> datetime:
    """``now`` if it is inside the customer's sending window on a business day, else the next
    such instant (in the customer's time zone and country)."""
    return _sending_instant(now, customer.country, customer.time_zone, policy.window)


@functools.lru_cache(maxsize=1024)
def _sending_instant(
    now: datetime, country: str, time_zone: str, window: SendingWindow
) -> datetime:
    # a tick decides for all its customers at one ``now``: one computation per time zone
    return send_instant(
        now.astimezone(ZoneInfo(time_zone)).date(),
        country=country,
        time_zone=time_zone,
        window=window,
        not_before=now,
    )


def _escalating(
    policy: Policy, group: list[Due], skipped: list[tuple[str, str, str]]
) -> Escalating:
    scenario = group[0].scenario
    assert scenario.exit_action is not None
    moves = []
    for due in group:
        for passed in due.taken.skipped:
            skipped.append((due.state.invoice_id, scenario.id, passed.name))
        after = replace(
            at_position(policy, due.state, len(scenario.steps)),
            status="escalated",
            next_action_at=None,
        )
        moves.append(Move(due.state, after))
    return Escalating(scenario, tuple(d.state for d in group), tuple(moves))
