"""The audit view of collectors' commands, projected from dunning.command.executed."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import asyncpg
import pytest

from contracts import dunning
from contracts.topics import DUNNING_ACTIONS
from tests.integration.reporting.conftest import feed

pytestmark = pytest.mark.integration

AT = datetime(2026, 11, 27, 10, tzinfo=UTC)


def executed(command: str, detail: dict[str, str], moved: bool) -> dunning.CommandExecuted:
    before = dunning.InvoiceSnapshot(
        invoice_id="FR01/F1", scenario_id="negligent", next_step="friendly"
    )
    after = before.model_copy(update={"next_step": "call"}) if moved else before
    return dunning.CommandExecuted(
        event_id=uuid.uuid4(),
        occurred_at=AT,
        source="scheduler",
        payload=dunning.ExecutedCommand(
            command_id=uuid.uuid4(),
            command=command,
            customer_id="C1",
            company_code="FR01",
            actor_subject="local:marie.dupont",
            actor_role="collector",
            requested_at=AT,
            executed_at=AT,
            invoice_id="FR01/F1",
            detail=detail,
            before=(before,),
            after=(after,),
        ),
    )


async def test_executed_commands_are_kept_once_without_who_or_what_was_written(
    pool: asyncpg.Pool,
) -> None:
    hold = executed("hold", {"until": "2026-12-10", "reason": "credit note for Mme Martin"}, False)
    skip = executed("skip_step", {"step_name": "friendly"}, True)
    note = executed("add_note", {"note": "Mme Martin promised Friday"}, False)
    events = [(DUNNING_ACTIONS, e) for e in (hold, skip, note, hold)]  # hold delivered twice
    await feed(pool, events)
    rows = await pool.fetch("SELECT * FROM audit_event ORDER BY command")
    assert [(r["command"], r["held_until"], r["step_name"], r["steps_moved"]) for r in rows] == [
        ("add_note", None, None, 0),
        ("hold", date(2026, 12, 10), None, 0),
        ("skip_step", None, "friendly", 1),
    ]
    assert {r["actor_role"] for r in rows} == {"collector"}
    text = " ".join(str(v) for r in rows for v in r.values())
    assert "marie" not in text
    assert "Martin" not in text


async def test_suspensions_and_campaigns_are_operator_actions_in_the_audit_trail(
    pool: asyncpg.Pool,
) -> None:
    suspension = dunning.Suspension(
        suspension_id=uuid.uuid4(),
        company_code="FR01",
        by="jeanne.operator",
        reason="ERP migration, Mme Martin's request",
        at=AT,
    )
    suspended = dunning.SendingSuspended(
        event_id=uuid.uuid4(), occurred_at=AT, source="scheduler", payload=suspension
    )
    resumed = dunning.SendingResumed(
        event_id=uuid.uuid4(),
        occurred_at=AT.replace(hour=16),
        source="scheduler",
        payload=dunning.SuspensionLifted(
            suspension_id=suspension.suspension_id,
            company_code="FR01",
            by="jeanne.operator",
            at=AT.replace(hour=16),
            role="credit_manager",  # from the console's Operations page; the CLI says none
        ),
    )
    campaign = dunning.CampaignLaunched(
        event_id=uuid.uuid4(),
        occurred_at=AT.replace(hour=17),
        source="scheduler",
        payload=dunning.CampaignRun(
            campaign_id="year_end",
            template="statement",
            step_name="year_end_statement",
            level="preventive",
            channel="email",
            company_codes=("FR01", "BE01"),
            by="jeanne.operator",
            at=AT.replace(hour=17),
            customers_reached=12,
            invoices_reached=30,
            skipped={"already_reached": 2},
        ),
    )
    hold = executed("hold", {"until": "2026-12-10", "reason": "credit note"}, False)
    call = executed("log_call", {"outcome": "no_answer", "invoices": "1"}, False)
    events = [(DUNNING_ACTIONS, e) for e in (suspended, resumed, campaign, campaign, hold, call)]
    await feed(pool, events)

    rows = await pool.fetch("SELECT * FROM operator_action ORDER BY at")
    assert [
        (r["action"], r["company_codes"], r["state_before"], r["state_after"], r["actor_role"])
        for r in rows
    ] == [
        ("sending_suspended", ["FR01"], "sending", "suspended", "administrator"),
        ("sending_resumed", ["FR01"], "suspended", "sending", "credit_manager"),
        ("campaign_launched", ["FR01", "BE01"], "not_sent", "sent", "administrator"),
    ]
    assert rows[0]["suspension_id"] == rows[1]["suspension_id"] == suspension.suspension_id
    assert (rows[2]["campaign_id"], rows[2]["customers"], rows[2]["invoices"]) == (
        "year_end",
        12,
        30,
    )
    trail = await pool.fetch("SELECT * FROM audit_trail ORDER BY at, source, action")
    assert [(r["source"], r["action"]) for r in trail] == [
        ("command", "hold"),
        ("command", "log_call"),
        ("operator", "sending_suspended"),
        ("operator", "sending_resumed"),
        ("operator", "campaign_launched"),
    ]
    outcome = await pool.fetchval("SELECT call_outcome FROM audit_event WHERE command = 'log_call'")
    assert outcome == "no_answer"
    text = " ".join(str(v) for r in [*rows, *trail] for v in r.values())
    assert "jeanne" not in text
    assert "Martin" not in text


async def test_library_changes_are_kept_once_without_who_changed_it(pool: asyncpg.Pool) -> None:
    change = dunning.LibraryChanged(
        event_id=uuid.uuid4(),
        occurred_at=AT,
        source="scheduler",
        payload=dunning.LibraryChange(
            revision_before=1,
            revision=2,
            changed_by="operator:marie.dupont",
            changed_at=AT,
            scenarios=(
                dunning.ScenarioVersionChange(
                    scenario_id="negligent", change="changed", version_before=1, version_after=2
                ),
                dunning.ScenarioVersionChange(
                    scenario_id="bad_payer", change="removed", version_before=1
                ),
            ),
            assignment_changed=True,
            invoices_moved=3,
            invoices_reassigned=40,
        ),
    )
    await feed(pool, [(DUNNING_ACTIONS, change), (DUNNING_ACTIONS, change)])
    (row,) = await pool.fetch("SELECT * FROM library_audit_event")
    assert (row["revision"], row["scenarios_changed"], row["scenarios_removed"]) == (
        2,
        ["negligent"],
        ["bad_payer"],
    )
    assert (row["invoices_moved"], row["invoices_reassigned"]) == (3, 40)
    assert "marie" not in " ".join(str(v) for v in row.values())
