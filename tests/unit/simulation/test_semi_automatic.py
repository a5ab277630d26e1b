"""The demo's semi-automatic mode: its library and templates, and the collector's decisions."""

from __future__ import annotations

from datetime import date
from email.message import EmailMessage
from pathlib import Path

from services.notifier.composing.composer import SAMPLE_CREDITOR, sample_context
from services.notifier.composing.rendering import DEFAULT_TEMPLATES, TemplateCatalogue
from services.scheduler.domain.library import DEFAULT_LIBRARY, load_library
from simulation.semi_automatic import (
    EDITABLE_LEVELS,
    EDITED,
    PARAGRAPH,
    SCENARIO,
    Collector,
    Pending,
    demo_library,
    paragraph_received,
    plan_decisions,
    request,
)

MONDAY = date(2026, 1, 12)


def test_the_demo_library_confirms_one_scenario_and_leaves_the_repository_alone(
    tmp_path: Path,
) -> None:
    library = load_library(demo_library(DEFAULT_LIBRARY, tmp_path / "scenarios"))
    shipped = load_library(DEFAULT_LIBRARY)
    assert [s.id for s in library.scenarios.values() if s.confirm] == [SCENARIO]
    scenario = library.scenarios[SCENARIO]
    assert (scenario.on_timeout, scenario.timeout_business_days) == ("send", 2)
    assert scenario.steps == shipped.scenarios[SCENARIO].steps
    assert all(step.confirm is None for step in scenario.steps)
    assert not any(s.confirm for s in shipped.scenarios.values())
    assert not library.assignment.confirm


def test_the_demo_edits_a_paragraph_the_shipped_templates_mark() -> None:
    catalogue = TemplateCatalogue.load(DEFAULT_TEMPLATES, sample_context(SAMPLE_CREDITOR))
    levels = {"preventive", "level_1", "level_2", "formal_notice"}
    assert {level for level in levels if PARAGRAPH in catalogue.editable(level)} == EDITABLE_LEVELS
    assert {language for _, language in catalogue.sets} >= set(EDITED)


def pending(number: int, raised_on: date = date(2026, 1, 9), version: int = 1) -> Pending:
    return Pending(f"p{number}", version, f"C{number}", raised_on, editable=number == 1)


def test_the_collector_edits_postpones_skips_leaves_one_and_approves_the_rest() -> None:
    collector = Collector()
    waiting = [pending(n) for n in range(1, 8)] + [pending(9, raised_on=MONDAY)]
    decisions = plan_decisions(collector, waiting, MONDAY)
    assert [(d.kind, [p.proposal_id for p in d.proposals]) for d in decisions] == [
        ("edit", ["p1"]),
        ("postpone", ["p2"]),
        ("skip", ["p3"]),
        ("approve_bulk", ["p5", "p6", "p7"]),
    ]
    assert collector.roles["p4"] == "undecided"
    assert "p9" not in collector.roles  # raised today: tomorrow's queue
    # the same day, once the edit is executed: its version 2 is approved, alone
    again = plan_decisions(
        collector, [pending(1, MONDAY, 2), pending(4), pending(9, MONDAY)], MONDAY
    )
    assert [(d.kind, d.proposals) for d in again] == [("approve", (pending(1, MONDAY, 2),))]
    # the next day: the undecided one still waits, the new one is approved
    later = plan_decisions(collector, [pending(4), pending(9, MONDAY)], date(2026, 1, 13))
    assert [(d.kind, [p.proposal_id for p in d.proposals]) for d in later] == [("approve", ["p9"])]


def test_only_an_email_offering_the_paragraph_is_edited() -> None:
    collector = Collector()
    first = plan_decisions(collector, [pending(2), pending(3)], MONDAY)
    assert [d.kind for d in first] == ["postpone", "skip"]
    second = plan_decisions(collector, [pending(4), pending(1)], date(2026, 1, 13))
    assert [(d.kind, d.proposals[0].proposal_id) for d in second] == [("edit", "p1")]
    assert collector.roles["p4"] == "undecided"


def test_a_postponed_step_proposed_again_is_approved() -> None:
    collector = Collector()
    plan_decisions(collector, [pending(1), pending(2)], MONDAY)
    again = Pending("p2-again", 1, "C2", date(2026, 1, 15))
    decisions = plan_decisions(collector, [again, pending(3)], date(2026, 1, 16))
    assert [(d.kind, d.proposals[0].proposal_id) for d in decisions] == [
        ("skip", "p3"),
        ("approve", "p2-again"),
    ]


def test_approvals_go_in_bulk_by_at_most_500() -> None:
    waiting = [Pending(f"p{n:04}", 1, "C1", date(2026, 1, 9)) for n in range(1204)]
    collector = Collector(roles={p.proposal_id: "approve" for p in waiting})
    decisions = plan_decisions(collector, waiting, MONDAY)
    assert [(d.kind, len(d.proposals)) for d in decisions] == [
        ("approve_bulk", 500),
        ("approve_bulk", 500),
        ("approve_bulk", 204),
    ]


def test_the_requests_cite_the_version_seen() -> None:
    collector = Collector()
    edit, postpone, skip, bulk = plan_decisions(
        collector, [pending(n) for n in range(1, 7)], MONDAY
    )
    assert request(edit, MONDAY, {"C1": "fr"}) == (
        "edit_proposal",
        {
            "customer_id": "C1",
            "proposal_id": "p1",
            "version": 1,
            "paragraphs": {PARAGRAPH: EDITED["fr"]},
        },
    )
    assert request(postpone, MONDAY, {})[1]["until"] == "2026-01-15"
    name, body = request(skip, MONDAY, {})
    assert name == "skip_proposal"
    assert body["reason"]
    assert request(bulk, MONDAY, {}) == (
        "approve_proposals",
        {"proposals": [{"proposal_id": "p5", "version": 1}, {"proposal_id": "p6", "version": 1}]},
    )


def test_the_edited_paragraph_is_read_from_the_text_part_as_received() -> None:
    message = EmailMessage()
    message["Subject"] = "Relance"
    body = f"Bonjour,\n\n{EDITED['fr']}\n\n" + "Facture INV-1 " * 20
    message.set_content(body, cte="quoted-printable")
    message.add_alternative(f"<p>{EDITED['fr']}</p>", subtype="html")
    content = message.as_bytes()
    assert EDITED["fr"].encode() not in content  # encoded on the wire
    assert paragraph_received(content, EDITED["fr"])
    assert not paragraph_received(content, EDITED["en"])
