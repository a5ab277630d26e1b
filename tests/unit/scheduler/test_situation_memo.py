"""The contact rule's remembered situations decide as the rules do: ``decide`` with its
situations (``contact_rule.situation_of``: the step due and what taking it changes,
remembered per situation) and its customers' kinds (``_kind``) gives the decision it gives
with both computed afresh, for generated libraries, customers and groups of invoices sharing
situations; and the values the tick builds without their dataclasses' constructors equal
the constructed ones."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from unittest.mock import patch
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.erp import Segment
from services.runtime.business_days import SendingWindow
from services.scheduler.domain import contact_rule
from services.scheduler.domain.assignment import Match
from services.scheduler.domain.contact_rule import (
    Decision,
    Due,
    Move,
    Reminding,
    decide,
    sending_instant,
)
from services.scheduler.domain.library import Library
from services.scheduler.domain.progress import Debtor, Taken
from services.scheduler.domain.proposals import confirmation, may_need_confirmation
from services.scheduler.domain.reminders import reminder_id, reminder_id_text
from services.scheduler.domain.state import Customer, InvoiceState, Policy
from tests.unit.scheduler.test_move_memo import (
    AMOUNTS,
    BASE,
    customer_of,
    invoice,
    libraries,
    policy_of,
)
from tests.unit.scheduler.test_progress_properties import ZONES


def _kind_by_definition(
    policy: Policy, customer: Customer, now: datetime
) -> tuple[Debtor, datetime]:
    return customer.debtor(policy.window), sending_instant(policy, customer, now)


def decided_by_definition(
    policy: Policy, customer: Customer, states: list[InvoiceState], now: datetime
) -> Decision:
    """``decide`` with every situation and customer's kind computed afresh."""
    with (
        patch.object(contact_rule, "situation_of", contact_rule.situation_by_definition),
        patch.object(contact_rule, "_kind", _kind_by_definition),
    ):
        return decide(policy, customer, states, now)


invoice_places = st.tuples(
    st.integers(0, 5),  # position (past the last step: only the exit left)
    st.sampled_from(AMOUNTS),
    st.integers(0, 2),  # which of the due dates
    st.sampled_from(["active"] * 6 + ["escalated", "unassigned"]),
    st.sampled_from([None] * 4 + ["dispute"]),
    st.sampled_from([False] * 4 + [True]),  # resumed
    st.sampled_from([None] * 4 + ["s0"]),  # awaiting a delivery
    st.sampled_from(["generated"] * 5 + ["negligent", "gone"]),
    st.sampled_from([None, None, 1, 2]),  # the version it was read in
    st.sampled_from([None, None, -3, 20]),  # its formal notice, days after its due date
)
# each field's values, for invoices in the base's situation but for one field
FIELD_VALUES: list[list[object]] = [
    list(range(6)),
    list(AMOUNTS),
    [0, 1, 2],
    ["active", "escalated", "unassigned"],
    [None, "dispute"],
    [False, True],
    [None, "s0"],
    ["generated", "negligent", "gone"],
    [None, 1, 2],
    [None, -3, 20],
]
Place = tuple[int, Decimal, int, str, str | None, bool, str | None, str, int | None, int | None]


@settings(max_examples=500, deadline=None)
@given(
    library=libraries(),
    base=invoice_places,
    variants=st.lists(st.tuples(st.integers(0, 9), st.integers(1, 7)), max_size=8),
    country=st.sampled_from(sorted(ZONES)),
    customer_type=st.sampled_from(["business", "consumer"]),
    due=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)),
    days=st.integers(-20, 140),
    hour=st.integers(0, 23),
    contacted_hours=st.integers(1, 200) | st.none(),
    gap_hours=st.sampled_from([0, 20, 72]),
    notice_days=st.sampled_from([8, 15]),
    exit_action=st.sampled_from(["doubtful_debt", "litigation"]),
)
def test_a_remembered_decision_is_the_rules_decision(
    library: Library,
    base: Place,
    variants: list[tuple[int, int]],
    country: str,
    customer_type: str,
    due: date,
    days: int,
    hour: int,
    contacted_hours: int | None,
    gap_hours: int,
    notice_days: int,
    exit_action: str,
) -> None:
    # an exit after a formal notice: the notice and its delay then decide when it is taken
    generated = library.scenarios["generated"].model_copy(update={"exit_action": exit_action})
    library = replace(library, scenarios={**library.scenarios, "generated": generated})
    policy = policy_of(library, gap_hours, notice_days)
    customer = customer_of(country, customer_type)
    zone = ZoneInfo(ZONES[country])
    now = datetime.combine(due + timedelta(days=days), time(hour), zone).astimezone(UTC)
    if contacted_hours is not None:
        customer = replace(customer, last_contact_at=now - timedelta(hours=contacted_hours))
    due_dates = [due, due - timedelta(days=31), due + timedelta(days=3)]
    # invoices in the base's situation but for one field each: a situation remembered for
    # one of them must not answer for another
    places: list[Any] = [base]
    for field, shift in variants:
        values = FIELD_VALUES[field]
        other = values[(values.index(base[field]) + shift) % len(values)]
        if other != base[field]:
            places.append((*base[:field], other, *base[field + 1 :]))
    states = []
    for number, place in enumerate(places):
        (position, open_amount, which, status, pause, resumed, awaiting, scenario_id, version,
         noticed_days) = place  # fmt: skip
        noticed = (
            None
            if noticed_days is None
            else datetime.combine(due + timedelta(days=noticed_days), time(10), zone)
        )
        scenario = library.scenarios.get(scenario_id)
        states.append(
            invoice(
                number,
                due_dates[which],
                open_amount,
                scenario_id=scenario_id,
                next_step=f"s{position}" if scenario is None else scenario.id_at(position),
                scenario_version=version,
                status=status,
                pause_reason=pause,
                resumed=resumed,
                awaiting_delivery=awaiting,
                formal_notice_at=noticed,
                last_action_at=now - timedelta(days=9),
                next_action_at=now - timedelta(hours=1),
            )
        )
    expected = decided_by_definition(policy, customer, states, now)
    assert decide(policy, customer, states, now) == expected  # perhaps remembered
    # the same invoices again (another tick's rows: equal values, other objects), remembered
    again = [replace(state) for state in states]
    assert decide(policy, customer, again, now) == expected
    # each invoice alone, as most customers' one due invoice
    for state in again:
        assert decide(policy, customer, [state], now) == decided_by_definition(
            policy, customer, [state], now
        )
    # under other policies with the same library (a much longer gap; another notice delay)
    longer_gap = policy_of(library, gap_hours + 24 * 30, notice_days)
    other_notice = policy_of(library, gap_hours, 23 - notice_days)
    uncontacted = replace(customer, last_contact_at=None)
    for each in (policy, longer_gap, policy, other_notice, policy):
        assert decide(each, uncontacted, again, now) == decided_by_definition(
            each, uncontacted, again, now
        )


def test_an_equal_instant_of_another_object_is_not_answered_for_by_the_remembered_one() -> None:
    """The sending instant is the reminded invoices' ``last_action_at``: a situation is
    remembered for its ``now``'s object, and an equal instant in another zone (written
    otherwise) gets its own."""
    library = BASE
    policy = policy_of(library, 20, 8)
    customer = customer_of("FR", "business")
    scenario = library.scenarios["negligent"]
    state = invoice(
        1,
        date(2026, 5, 1),
        Decimal("1200"),
        scenario_id="negligent",
        next_step=scenario.id_at(1),
        last_action_at=None,
        next_action_at=datetime(2026, 5, 20, 8, tzinfo=UTC),
    )
    in_utc = datetime(2026, 5, 20, 9, 30, tzinfo=UTC)
    in_paris = in_utc.astimezone(ZoneInfo("Europe/Paris"))
    for now in (in_utc, in_paris, in_utc, in_paris):
        decision = decide(policy, customer, [state], now)
        assert decision == decided_by_definition(policy, customer, [state], now)
        assert decision.reminder is not None
        after = decision.reminder.moves[0].after
        assert after.last_action_at is not None
        assert after.last_action_at.utcoffset() == decision.reminder.scheduled_for.utcoffset()


@given(
    state=st.builds(
        lambda number, amount: invoice(number, date(2026, 5, 1), amount),
        st.integers(0, 99),
        st.sampled_from(AMOUNTS),
    ),
    position=st.integers(0, 3),
)
def test_the_values_built_in_one_step_are_the_constructed_ones(
    state: InvoiceState, position: int
) -> None:
    scenario = BASE.scenarios["negligent"]
    step = scenario.steps[position]
    taken = Taken(position, step, ())
    due = Due(state, scenario, taken)
    assert (due.state, due.scenario, due.taken, due.situation) == (state, scenario, taken, None)
    assert replace(due, taken=Taken(0, None, ())) == Due(state, scenario, Taken(0, None, ()))
    at = datetime(2026, 5, 20, 9, 30, tzinfo=UTC)
    debtor = customer_of("FR", "business").debtor(SendingWindow())
    situation = contact_rule.Situation(BASE, scenario, debtor, at, taken)
    assert due == Due(state, scenario, taken, situation)  # not part of the value
    rid = reminder_id_text("C1", scenario.id, step.name, [state.invoice_id])
    fields = {
        "reminder_text": rid,
        "scenario_id": scenario.id,
        "step": step,
        "scheduled_for": at,
        "invoices": (state,),
        "moves": (Move(state, state),),
    }
    reminding = Reminding(**fields)  # type: ignore[arg-type]
    assert vars(reminding) == fields
    assert reminding.reminder_id == reminder_id("C1", scenario.id, step.name, [state.invoice_id])
    assert replace(reminding, scheduled_for=at) == reminding
    customer = customer_of("FR", "business")
    decision = Decision(customer, (), (), (Move(state, state),), reminding, (("i", "s", "t"),))
    assert list(vars(decision)) == list(Decision.__dataclass_fields__)
    assert replace(decision) == decision
    assert decision.reminder is reminding
    assert decision.postponed == (Move(state, state),)


@given(
    held=st.none() | st.just(datetime(2026, 5, 1, tzinfo=UTC)),
    override=st.none() | st.just("negligent"),
    contacted=st.none() | st.just(datetime(2026, 4, 1, tzinfo=UTC)),
    with_optional=st.booleans(),
)
def test_a_customer_read_from_a_row_is_the_constructed_one(
    held: datetime | None, override: str | None, contacted: datetime | None, with_optional: bool
) -> None:
    row: dict[str, object] = {
        "customer_id": "C1",
        "company_code": "FR01",
        "country": "FR",
        "time_zone": "Europe/Paris",
        "language": "fr",
        "segment": {"payer_profile": "negligent", "customer_type": "consumer", "tags": ["a"]},
        "last_contact_at": contacted,
    }
    if with_optional:
        row |= {"held_until": held, "scenario_override": override}
    read = Customer.of(row)
    segment = Segment.model_validate(row["segment"])
    expected = Customer(
        "C1",
        "FR01",
        "FR",
        "Europe/Paris",
        "fr",
        segment,
        contacted,
        held if with_optional else None,
        override if with_optional else None,
    )
    assert read == expected
    assert list(vars(read)) == list(Customer.__dataclass_fields__)
    assert hash(read) == hash(expected)


@given(
    step_confirm=st.sampled_from([None, True, False]),
    scenario_confirm=st.booleans(),
    segments=st.booleans(),
    customer_type=st.sampled_from(["business", "consumer"]),
    owed=st.sampled_from([Decimal("10"), Decimal("100000")]),
)
def test_a_step_said_to_need_no_confirmation_needs_none(
    step_confirm: bool | None,
    scenario_confirm: bool,
    segments: bool,
    customer_type: str,
    owed: Decimal,
) -> None:
    scenario = BASE.scenarios["negligent"]
    step = scenario.steps[1].model_copy(update={"confirm": step_confirm})
    scenario = scenario.model_copy(update={"confirm": scenario_confirm})
    assignment = BASE.assignment.model_copy(
        update={"confirm": (Match(customer_type=("consumer",)),) if segments else ()}
    )
    policy = policy_of(replace(BASE, assignment=assignment), 20, 8)
    customer = customer_of("FR", customer_type)
    found = confirmation(policy, customer, scenario, step, {"EUR": owed})
    if not may_need_confirmation(policy, scenario, step):
        assert found is None
    # it asks no more only when the answer is None for every customer
    needs = step_confirm if step_confirm is not None else scenario_confirm or segments
    assert may_need_confirmation(policy, scenario, step) == needs
