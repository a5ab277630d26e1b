"""Loading and validating scenario files: every problem is located."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.erp import Segment
from services.scheduler.domain.library import DEFAULT_LIBRARY, load_library, parse_scenario
from services.scheduler.errors import InvalidScenarios

TEMPLATES = frozenset({"t1", "t2", "t3"})


def scenario(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": "s",
        "max_amicable_days": 60,
        "exit_action": "litigation",
        "steps": [
            {
                "name": "a",
                "level": "preventive",
                "offset_days": -3,
                "channel": "email",
                "template": "t1",
            },
            {"name": "b", "level": "level_1", "offset_days": 5, "channel": "sms", "template": "t2"},
            {
                "name": "c",
                "level": "formal_notice",
                "offset_days": 20,
                "channel": "registered_letter",
                "template": "t3",
            },
        ],
    }
    raw.update(changes)
    return raw


def messages(raw: dict[str, Any]) -> list[str]:
    parsed, problems = parse_scenario("s.yaml", raw, TEMPLATES)
    assert (parsed is None) == bool(problems)
    return [str(p) for p in problems]


def test_a_valid_scenario_has_no_problem() -> None:
    assert messages(scenario()) == []


def test_litigation_or_an_agency_needs_a_formal_notice_step_a_doubtful_debt_does_not() -> None:
    raw = scenario()
    raw["steps"][2]["level"] = "level_2"
    for exit_action in ("litigation", "collection_agency"):
        raw["exit_action"] = exit_action
        (problem,) = messages(raw)
        assert problem == (
            f"s.yaml: scenario 's': no formal notice step: an invoice cannot go to "
            f"{exit_action} without one (add a step of level formal_notice, or end with "
            "doubtful_debt)"
        )
    raw["exit_action"] = "doubtful_debt"
    assert messages(raw) == []


@pytest.mark.parametrize(
    "channel", ["postal_letter", "registered_letter", "sms", "phone_call", "interactive_email"]
)
def test_a_step_for_a_colleague_must_use_a_channel_that_reaches_one(channel: str) -> None:
    raw = scenario()
    raw["steps"][1].update(recipient="sales", channel=channel)
    (problem,) = messages(raw)
    assert problem == (
        f"s.yaml: scenario 's': step 2 ('b'): recipient 'sales' is a colleague, whom a "
        f"{channel} cannot reach: use email"
    )
    raw["steps"][1].update(channel="email")
    assert messages(raw) == []


def test_a_formal_notice_is_for_the_customer() -> None:
    raw = scenario()
    raw["steps"][2].update(recipient="order_administration", channel="email")
    (problem,) = messages(raw)
    assert problem.endswith("a formal notice is addressed to the customer, not a colleague")


def test_unknown_channel_names_file_scenario_and_step() -> None:
    raw = scenario()
    raw["steps"][1]["channel"] = "fax"
    (problem,) = messages(raw)
    assert problem.startswith("s.yaml: scenario 's': step 2 ('b'): channel: unknown channel 'fax'")


def test_unknown_template_is_located() -> None:
    raw = scenario()
    raw["steps"][2]["template"] = "nope"
    assert messages(raw) == ["s.yaml: scenario 's': step 3 ('c'): unknown template 'nope'"]


def test_steps_out_of_order_are_located() -> None:
    raw = scenario()
    raw["steps"][2]["offset_days"] = 5
    (problem,) = messages(raw)
    assert "step 3 ('c'): steps out of order" in problem


def test_firmness_going_down_is_located() -> None:
    raw = scenario(exit_action="doubtful_debt")
    raw["steps"][2]["level"] = "preventive"
    (problem,) = messages(raw)
    assert "step 3 ('c'): firmness goes down: preventive after level_1" in problem


def test_a_scenario_without_end_is_rejected() -> None:
    (problem,) = messages(scenario(exit_action=None))
    assert problem.startswith("s.yaml: scenario 's': the scenario has no end")


def test_a_step_past_the_amicable_phase_is_rejected() -> None:
    (problem,) = messages(scenario(max_amicable_days=10))
    assert "step 3 ('c'): offset 20 days is past the end" in problem


def test_a_scenario_without_steps_is_rejected() -> None:
    (problem,) = messages(scenario(steps=[]))
    assert "steps" in problem


def test_the_default_library_loads_every_profile() -> None:
    library = load_library()
    assert set(library.scenarios) == {
        "negligent",
        "bad_payer",
        "insolvent",
        "administrative",
        "disputer",
        "public_body",
        "export",
        "consumer",
    }


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        (Segment(payer_profile="automatic"), None),
        (Segment(payer_profile="good_payer"), None),
        (Segment(payer_profile="bad_payer"), "bad_payer"),
        (Segment(payer_profile="insolvent"), "insolvent"),
        (Segment(payer_profile="administrative"), "administrative"),
        (Segment(payer_profile="disputer"), "disputer"),
        (Segment(payer_profile="negligent"), "negligent"),
        (Segment(), "negligent"),
        (Segment(customer_type="public_body", payer_profile="bad_payer"), "public_body"),
        (Segment(customer_type="consumer"), "consumer"),
        (Segment(market="export"), "export"),
        (Segment(tags=("no-dunning",)), None),
    ],
)
def test_default_assignment(segment: Segment, expected: str | None) -> None:
    assert load_library().assignment.scenario_for("C1", segment, "FR") == expected


def test_an_override_wins_and_an_opt_out_wins_over_it(tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    shutil.copytree(DEFAULT_LIBRARY, folder)
    assignment = yaml.safe_load((folder / "assignment.yaml").read_text())
    assignment["overrides"] = {"C1": "bad_payer", "C2": None, "C3": "bad_payer"}
    assignment["opt_out_customers"] = ["C3"]
    assignment["opt_out_invoices"] = ["FR01/F1"]
    (folder / "assignment.yaml").write_text(yaml.safe_dump(assignment))
    rules = load_library(folder).assignment
    assert rules.scenario_for("C1", Segment(payer_profile="good_payer"), "FR") == "bad_payer"
    assert rules.scenario_for("C2", Segment(), "FR") is None
    assert rules.scenario_for("C3", Segment(), "FR") is None
    assert rules.invoice_opted_out("FR01/F1")
    assert not rules.invoice_opted_out("FR01/F2")


def test_rules_on_country_risk_tags_and_outstanding(tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    shutil.copytree(DEFAULT_LIBRARY, folder)
    rules = [
        {"scenario": "bad_payer", "when": {"country": ["DE"], "risk_rating": ["high"]}},
        {"scenario": "disputer", "when": {"any_tag": ["key-account"], "min_outstanding": "1000"}},
        {"scenario": "negligent"},
    ]
    (folder / "assignment.yaml").write_text(yaml.safe_dump({"rules": rules}))
    assignment = load_library(folder).assignment
    assert assignment.scenario_for("C", Segment(risk_rating="high"), "DE") == "bad_payer"
    assert assignment.scenario_for("C", Segment(risk_rating="high"), "FR") == "negligent"
    key = Segment(tags=("key-account",))
    assert assignment.scenario_for("C", key, "FR", {"EUR": Decimal("1000")}) == "disputer"
    assert assignment.scenario_for("C", key, "FR", {"EUR": Decimal("999.99")}) == "negligent"
    # amounts in different currencies are never added up
    split = {"EUR": Decimal("600"), "USD": Decimal("600")}
    assert assignment.scenario_for("C", key, "FR", split) == "negligent"


def test_a_broken_library_lists_every_problem_with_its_file(tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    shutil.copytree(DEFAULT_LIBRARY, folder)
    raw = yaml.safe_load((folder / "negligent.yaml").read_text())
    raw["steps"][0]["channel"] = "pigeon"
    raw["steps"][1]["template"] = "missing"
    (folder / "negligent.yaml").write_text(yaml.safe_dump(raw))
    (folder / "broken.yaml").write_text("id: [unclosed")
    assignment = yaml.safe_load((folder / "assignment.yaml").read_text())
    assignment["overrides"] = {"C9": "ghost"}
    (folder / "assignment.yaml").write_text(yaml.safe_dump(assignment))
    with pytest.raises(InvalidScenarios) as raised:
        load_library(folder)
    text = str(raised.value)
    assert (
        "negligent.yaml: scenario 'negligent': step 1 ('courtesy'): "
        "channel: unknown channel 'pigeon'" in text
    )
    assert "broken.yaml: cannot read YAML" in text
    assert "assignment.yaml: unknown scenario 'ghost'" in text


def test_min_outstanding_per_currency() -> None:
    from services.scheduler.domain.assignment import Match

    per_currency = Match.model_validate({"min_outstanding": {"EUR": "1000", "GBP": "850"}})
    assert per_currency.owes_enough({"GBP": Decimal("900")})
    assert not per_currency.owes_enough({"EUR": Decimal("900"), "USD": Decimal("5000")})
    assert Match().owes_enough({})
    with pytest.raises(ValueError, match="negative"):
        Match.model_validate({"min_outstanding": {"EUR": "-1"}})
