"""The step an invoice's next action takes, as ``dunning.state.changed`` announces it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from contracts.dunning import NextStep
from contracts.erp import CustomerType, Segment
from services.scheduler.domain.library import Library, load_library
from services.scheduler.domain.scenario import Scenario, Step, StepConditions
from services.scheduler.domain.state import Customer, InvoiceState, heading_for

NOW = datetime(2026, 12, 15, 9, 30, tzinfo=UTC)
LIBRARY = load_library()


def client(customer_type: CustomerType = "business") -> Customer:
    segment = Segment(payer_profile="negligent", customer_type=customer_type)
    return Customer("C1", "FR01", "FR", "Europe/Paris", "fr", segment, None)


def invoice(next_step: str | None = "call", **changes: object) -> InvoiceState:
    state = InvoiceState(
        invoice_id="FR01/F1",
        customer_id="C1",
        company_code="FR01",
        invoice_number="F1",
        due_date=date(2026, 12, 1),
        currency="EUR",
        amount=Decimal("1200.00"),
        open_amount=Decimal("1200.00"),
        scenario_id="negligent",
        next_step=next_step,
        scenario_version=None,
        status="active",
        pause_reason=None,
        resumed=False,
        last_step_name="friendly",
        last_level="level_1",
        last_action_at=NOW - timedelta(days=9),
        next_action_at=NOW + timedelta(days=1),
    )
    return replace(state, **changes)  # type: ignore[arg-type]


def test_the_step_the_timer_leads_to_with_its_level_and_channel() -> None:
    heading = heading_for(LIBRARY, invoice("call"), client())
    assert heading == NextStep(step_name="call", level="level_1", channel="phone_call")
    snapshot = invoice("call").snapshot(NOW, heading)
    assert snapshot is not None
    assert snapshot.next_step == heading


def test_nothing_without_a_timer_a_customer_or_a_step_left() -> None:
    assert heading_for(LIBRARY, invoice(next_action_at=None), client()) is None
    assert heading_for(LIBRARY, invoice(), None) is None
    assert heading_for(LIBRARY, invoice(None), client()) is None  # only the exit is left
    assert heading_for(LIBRARY, invoice(scenario_id="gone"), client()) is None
    # a paused invoice shows no next step even when one is given
    paused = invoice(pause_reason="dispute", next_action_at=None)
    snapshot = paused.snapshot(NOW, NextStep(step_name="call", level="level_1", channel="email"))
    assert snapshot is not None
    assert snapshot.next_step is None


def test_steps_that_do_not_apply_are_passed_as_the_tick_passes_them() -> None:
    negligent = LIBRARY.scenarios["negligent"]
    steps = list(negligent.steps)
    index = [s.name for s in steps].index("call")
    steps[index] = steps[index].model_copy(
        update={"conditions": StepConditions(customer_types=("consumer",))}
    )
    firm_from = [s.name for s in steps].index("firm")
    steps[firm_from] = steps[firm_from].model_copy(
        update={"conditions": StepConditions(min_open_amount=Decimal("5000"))}
    )
    scenario = Scenario.model_validate({**negligent.model_dump(), "steps": steps})
    library = replace(LIBRARY, scenarios={**LIBRARY.scenarios, "negligent": scenario})

    assert heading_for(library, invoice("call"), client("consumer")) == NextStep(
        step_name="call", level="level_1", channel="phone_call"
    )
    # a business skips the call, and the firm email under 5,000: the registered letter
    assert heading_for(library, invoice("call"), client("business")) == NextStep(
        step_name="registered", level="level_2", channel="registered_letter"
    )


def test_an_invoice_read_in_an_older_version_follows_its_step_by_identity() -> None:
    negligent = LIBRARY.scenarios["negligent"]
    shorter = Scenario.model_validate(
        {
            **negligent.model_dump(),
            "steps": [s for s in negligent.steps if s.name != "friendly"],
        }
    )
    library = Library(
        scenarios={**LIBRARY.scenarios, "negligent": shorter},
        assignment=LIBRARY.assignment,
        templates=LIBRARY.templates,
        versions={"negligent": 2},
        history={("negligent", 1): negligent, ("negligent", 2): shorter},
    )
    step: Step = next(s for s in negligent.steps if s.name == "call")
    state = invoice(step.id, scenario_version=1)
    assert heading_for(library, state, client()) == NextStep(
        step_name="call", level="level_1", channel="phone_call"
    )
