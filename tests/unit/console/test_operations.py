"""The Operations page's forms as commands, and the library's diffs: pure functions."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import pytest

from contracts import commands
from services.console.domain.commands import FormProblem
from services.console.domain.dead_letters import DeadLetter, refusal_of
from services.console.domain.operations import (
    campaign_fields_of,
    campaign_of,
    launch_of,
    library_diff,
    scope_allowed,
    scope_command_of,
)

NOW = datetime(2026, 12, 15, 9, 30, tzinfo=UTC)
COMMAND_ID = UUID("9a1f0c4e-5b7d-4c2a-8e3f-1d2b3c4d5e6f")
ACTOR = commands.CommandActor(subject="local:dominique", roles=("credit_manager",))


def test_a_suspension_of_one_company_with_its_reason() -> None:
    built = scope_command_of(
        "suspend",
        {"company": "FR01", "reason": "  ERP migration  "},
        command_id=COMMAND_ID,
        actor=ACTOR,
        now=NOW,
    )
    assert isinstance(built, commands.SuspendSendingCommand)
    assert (built.payload.company_code, built.payload.reason) == ("FR01", "ERP migration")
    assert built.payload.actor == ACTOR
    again = scope_command_of(
        "suspend",
        {"company": "FR01", "reason": "ERP migration"},
        command_id=COMMAND_ID,
        actor=ACTOR,
        now=NOW,
    )
    assert isinstance(again, commands.SuspendSendingCommand)
    assert again.event_id == built.event_id  # the same form posted twice: the same event


def test_every_company_and_what_is_missing() -> None:
    every = scope_command_of(
        "resume", {"company": "*"}, command_id=COMMAND_ID, actor=ACTOR, now=NOW
    )
    assert isinstance(every, commands.ResumeSendingCommand)
    assert every.payload.company_code is None
    problems = scope_command_of(
        "suspend", {"reason": " "}, command_id=COMMAND_ID, actor=ACTOR, now=NOW
    )
    assert problems == [FormProblem("company", "missing"), FormProblem("reason", "missing")]


@pytest.mark.parametrize(
    ("scope", "companies", "unrestricted", "allowed"),
    [
        ("FR01", ["FR01"], False, True),
        ("DE02", ["FR01"], False, False),
        ("*", ["FR01", "DE02"], False, False),
        ("*", [], True, True),
        ("DE02", [], True, True),
    ],
)
def test_the_scope_must_be_the_readers(
    scope: str, companies: list[str], unrestricted: bool, allowed: bool
) -> None:
    assert scope_allowed(scope, companies, unrestricted) is allowed


FORM = {
    "campaign_id": "year-end-2026",
    "description": "Before closing",
    "step_name": "year-end-email",
    "level": "level_1",
    "channel": "email",
    "template": "reminder_firm",
    "company": "FR01",
    "customer_type": "business",
    "min_days_overdue": "1",
    "min_open_amount": "100,50",
    "max_days_overdue": "",
    "csrf_token": "not a campaign field",
}


def test_the_campaign_form_is_the_dry_runs_campaign_and_the_launch_cites_its_fingerprint() -> None:
    fields = campaign_fields_of(FORM)
    assert "csrf_token" not in fields
    assert "max_days_overdue" not in fields  # empty: left out
    spec = campaign_of(fields)
    assert isinstance(spec, commands.CampaignSpec)
    assert spec.select.company_codes == ("FR01",)
    assert spec.select.customers.customer_type == ("business",)
    assert (spec.select.min_days_overdue, spec.select.min_open_amount) == (1, Decimal("100.50"))
    launch = launch_of(spec, "a" * 64, command_id=COMMAND_ID, actor=ACTOR, now=NOW)
    assert isinstance(launch, commands.LaunchCampaignCommand)
    assert (launch.payload.fingerprint, launch.payload.campaign) == ("a" * 64, spec)
    assert launch_of(spec, "forged", command_id=COMMAND_ID, actor=ACTOR, now=NOW) == [
        FormProblem("fingerprint", "invalid")
    ]
    every = campaign_of({**fields, "company": "*"})
    assert isinstance(every, commands.CampaignSpec)
    assert every.select.company_codes == ()


def test_a_campaign_form_with_problems_says_which_fields() -> None:
    fields = campaign_fields_of(
        {**FORM, "campaign_id": "y" * 101, "min_days_overdue": "1.5", "template": ""}
    )
    problems = campaign_of(fields)
    assert problems == [
        FormProblem("template", "missing"),
        FormProblem("min_days_overdue", "invalid"),
    ]
    named = campaign_of({**fields, "template": "t", "min_days_overdue": "2"})
    assert named == [FormProblem("campaign_id", "invalid")]


def test_a_campaign_selects_by_payer_profile_market_countries_and_segment_tags() -> None:
    fields = campaign_fields_of(
        {
            **FORM,
            "payer_profile": "negligent",
            "market": "export",
            "country": "de, es it",
            "any_tag": "key-account, retail",
        }
    )
    spec = campaign_of(fields)
    assert isinstance(spec, commands.CampaignSpec)
    customers = spec.select.customers
    assert customers.payer_profile == ("negligent",)
    assert customers.market == ("export",)
    assert customers.country == ("DE", "ES", "IT")
    assert customers.any_tag == ("key-account", "retail")
    assert customers.customer_type == ("business",)
    wrong = campaign_of({**fields, "payer_profile": "generous", "country": "Germany"})
    assert isinstance(wrong, list)
    assert {p.field for p in wrong} == {"payer_profile", "country"}


def test_the_library_diff_marks_added_and_removed_lines_with_context() -> None:
    before = "id: negligent\nsteps:\n- name: courtesy\n  offset_days: -5\n- name: friendly\n"
    after = "id: negligent\nsteps:\n- name: courtesy\n  offset_days: -3\n- name: friendly\n"
    lines = library_diff(before, after, context=1)
    assert [(line.kind, line.text) for line in lines] == [
        ("hunk", "@@ -3,3 +3,3 @@"),
        ("context", "- name: courtesy"),
        ("removed", "  offset_days: -5"),
        ("added", "  offset_days: -3"),
        ("context", "- name: friendly"),
    ]
    assert library_diff(before, before) == []


def test_a_refused_launch_is_read_from_its_dead_letter_without_a_customer() -> None:
    spec = campaign_of(campaign_fields_of(FORM))
    assert isinstance(spec, commands.CampaignSpec)
    launch = launch_of(spec, "b" * 64, command_id=COMMAND_ID, actor=ACTOR, now=NOW)
    assert isinstance(launch, commands.LaunchCampaignCommand)
    value = launch.model_dump_json().encode()
    headers = [("dlq.reason", b"selection_changed"), ("dlq.topic", b"dunning.commands.v1")]
    letter = DeadLetter("dunning.commands.v1.dlq", 0, 7, 1_773_600_000_000, value, headers)
    refusal = refusal_of(letter)
    assert refusal is not None
    assert (refusal.command_id, refusal.command, refusal.customer_id, refusal.reason) == (
        COMMAND_ID,
        "launch_campaign",
        None,
        "selection_changed",
    )
    assert refusal.actor_subject == "local:dominique"


def test_a_campaign_selects_by_risk_rating_several_at_once() -> None:
    """The multiple select's values arrive joined by commas (as the dry run carries them to
    the launch); none selected: any rating."""
    fields = campaign_fields_of({**FORM, "risk_rating": "high,critical"})
    assert fields["risk_rating"] == "high,critical"
    spec = campaign_of(fields)
    assert isinstance(spec, commands.CampaignSpec)
    assert spec.select.customers.risk_rating == ("high", "critical")
    launch = launch_of(spec, "b" * 64, command_id=COMMAND_ID, actor=ACTOR, now=NOW)
    assert isinstance(launch, commands.LaunchCampaignCommand)
    assert launch.payload.campaign.select.customers.risk_rating == ("high", "critical")
    anything = campaign_of(campaign_fields_of({**FORM, "risk_rating": ""}))
    assert isinstance(anything, commands.CampaignSpec)
    assert anything.select.customers.risk_rating == ()
    wrong = campaign_of({**fields, "risk_rating": "high,extreme"})
    assert wrong == [FormProblem("risk_rating", "invalid")]
