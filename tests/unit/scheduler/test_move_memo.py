"""The tick's remembered moves answer as the rules they remember: a reminded invoice's new
state (``contact_rule.reminded``) and where a timer leads (``state.heading_for``), compared
with their step-by-step definitions for generated scenarios, libraries and invoices."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.dunning import DUNNING_LEVELS
from contracts.erp import Segment
from services.runtime.business_days import SendingWindow
from services.scheduler.domain.contact_rule import Due, reminded, reminded_by_definition
from services.scheduler.domain.library import Library, load_library
from services.scheduler.domain.progress import Taken
from services.scheduler.domain.scenario import Scenario
from services.scheduler.domain.state import (
    Customer,
    InvoiceState,
    Policy,
    heading_by_definition,
    heading_for,
)
from tests.unit.scheduler.test_progress_properties import ZONES

AMOUNTS = [Decimal(v) for v in ("0.01", "10", "49.99", "50", "50.00", "1200", "4999.99", "5000")]
BASE = load_library()


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """A scenario whose steps have amount thresholds, customer types and escalating steps."""
    count = draw(st.integers(1, 5))
    offsets = sorted(draw(st.sets(st.integers(-10, 80), min_size=count, max_size=count)))
    ranks = sorted(draw(st.lists(st.integers(0, 3), min_size=count, max_size=count)))
    steps = [
        {
            "name": f"s{n}",
            "level": DUNNING_LEVELS[rank],
            "offset_days": offset,
            "channel": "email",
            "template": "t",
            "escalating": draw(st.booleans()),
            "conditions": {
                "min_open_amount": draw(st.sampled_from([None, "50", "5000"])),
                "customer_types": draw(st.sampled_from([[], ["business"], ["consumer"]])),
            },
        }
        for n, (offset, rank) in enumerate(zip(offsets, ranks, strict=True))
    ]
    return Scenario.model_validate(
        {
            "id": "generated",
            "max_amicable_days": max(1, offsets[-1] + draw(st.integers(1, 30))),
            "exit_action": "doubtful_debt",
            "steps": steps,
        }
    )


@st.composite
def libraries(draw: st.DrawFn) -> Library:
    """The generated scenario in force, perhaps versioned, perhaps with an older version."""
    scenario = draw(scenarios())
    library = replace(BASE, scenarios={**BASE.scenarios, "generated": scenario})
    version = draw(st.sampled_from([None, 2]))
    if version is None:
        return library
    older = draw(scenarios())
    return library.versioned({"generated": version}, {("generated", 1): older}, 3)


def policy_of(library: Library, gap_hours: int, notice_days: int) -> Policy:
    return Policy(
        library=library,
        window=SendingWindow(),
        min_gap=timedelta(hours=gap_hours),
        notice_delay=timedelta(days=notice_days),
    )


def customer_of(country: str, customer_type: str) -> Customer:
    segment = Segment(payer_profile="negligent", customer_type=customer_type)
    return Customer("C1", "FR01", country, ZONES[country], "fr", segment, None)


def invoice(number: int, due: date, open_amount: Decimal, **fields: Any) -> InvoiceState:
    state = InvoiceState(
        invoice_id=f"FR01/F{number}",
        customer_id="C1",
        company_code="FR01",
        invoice_number=f"F{number}",
        due_date=due,
        currency="EUR",
        amount=Decimal("5000"),
        open_amount=open_amount,
        scenario_id="generated",
        next_step=None,
        scenario_version=None,
        status="active",
        pause_reason=None,
        resumed=False,
        last_step_name=None,
        last_level=None,
        last_action_at=None,
        next_action_at=datetime(2026, 6, 1, 8, tzinfo=UTC),
    )
    return replace(state, **fields)


@settings(max_examples=300, deadline=None)
@given(
    library=libraries(),
    position=st.integers(0, 4),
    country=st.sampled_from(sorted(ZONES)),
    customer_type=st.sampled_from(["business", "consumer"]),
    due=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)),
    amounts=st.lists(st.sampled_from(AMOUNTS), min_size=1, max_size=4),
    days=st.integers(-20, 140),
    hour=st.integers(0, 23),
    status=st.sampled_from(["active", "active", "unassigned"]),
    pause=st.sampled_from([None, None, "dispute"]),
    noticed_days=st.integers(-20, 140) | st.none(),
    gap_hours=st.sampled_from([0, 20, 72]),
    notice_days=st.sampled_from([8, 15]),
    resumed=st.booleans(),
)
def test_a_remembered_reminded_move_is_the_rules_move(
    library: Library,
    position: int,
    country: str,
    customer_type: str,
    due: date,
    amounts: list[Decimal],
    days: int,
    hour: int,
    status: str,
    pause: str | None,
    noticed_days: int | None,
    gap_hours: int,
    notice_days: int,
    resumed: bool,
) -> None:
    policy = policy_of(library, gap_hours, notice_days)
    customer = customer_of(country, customer_type)
    debtor = customer.debtor(policy.window)
    scenario = library.scenarios["generated"]
    position = min(position, len(scenario.steps) - 1)
    zone = ZoneInfo(ZONES[country])
    at = datetime.combine(due + timedelta(days=days), time(hour), zone)
    noticed = (
        None
        if noticed_days is None
        else datetime.combine(due + timedelta(days=noticed_days), time(10), zone)
    )
    taken = Taken(position, scenario.steps[position], ())
    for number, open_amount in enumerate(amounts * 2):  # the first ones warm the memo
        state = invoice(
            number,
            due,
            open_amount,
            status=status,
            pause_reason=pause,
            formal_notice_at=noticed,
            resumed=resumed,
            next_step=scenario.id_at(position),
            last_action_at=at - timedelta(days=9),
        )
        moved = Due(state, scenario, taken)
        expected = reminded_by_definition(policy, customer, moved, at)
        assert reminded(policy, customer, debtor, moved, at) == expected
        # and where the moved invoice's timer leads, as its state change announces it
        assert heading_for(library, expected, customer) == heading_by_definition(
            library, expected, customer
        )


@settings(max_examples=300, deadline=None)
@given(
    library=libraries(),
    step=st.integers(0, 6) | st.none(),
    version=st.sampled_from([None, 1, 2, 7]),
    status=st.sampled_from(["active", "escalated", "unassigned", "closed"]),
    customer_type=st.sampled_from(["business", "consumer"]),
    amounts=st.lists(st.sampled_from(AMOUNTS), min_size=1, max_size=4),
    timer=st.booleans(),
    scenario_id=st.sampled_from(["generated", "generated", "negligent", "gone", None]),
)
def test_a_remembered_heading_is_the_rules_heading(
    library: Library,
    step: int | None,
    version: int | None,
    status: str,
    customer_type: str,
    amounts: list[Decimal],
    timer: bool,
    scenario_id: str | None,
) -> None:
    customer = customer_of("FR", customer_type)
    scenario = library.scenarios.get(scenario_id or "")
    step_id = f"s{step}" if scenario is None else scenario.id_at(step or 0)
    if step is None:
        step_id = None
    for number, open_amount in enumerate(amounts * 2):  # the first ones warm the memo
        state = invoice(
            number,
            date(2026, 5, 1),
            open_amount,
            scenario_id=scenario_id,
            next_step=step_id,
            scenario_version=version,
            status=status,
            next_action_at=datetime(2026, 6, 1, 8, tzinfo=UTC) if timer else None,
        )
        expected = heading_by_definition(library, state, customer)
        assert heading_for(library, state, customer) == expected
        assert heading_for(library, state, None) is None


def test_a_library_in_a_collected_ones_place_is_not_answered_for_by_it() -> None:
    """Each hit checks the library and the scenario by identity: a new library answering
    differently is never answered for by the one it replaced."""
    customer = customer_of("FR", "business")
    state = invoice(1, date(2026, 5, 1), Decimal("1200"), next_step="s0")

    def made(channel: str) -> Library:
        scenario = Scenario.model_validate(
            {
                "id": "generated",
                "max_amicable_days": 60,
                "exit_action": "doubtful_debt",
                "steps": [
                    {"name": "s0", "level": "level_1", "offset_days": 3, "channel": channel,
                     "template": "t"},
                ],
            }
        )  # fmt: skip
        return replace(BASE, scenarios={**BASE.scenarios, "generated": scenario})

    for channel in ("email", "sms", "email", "sms"):
        heading = heading_for(made(channel), state, customer)
        assert heading is not None
        assert heading.channel == channel
