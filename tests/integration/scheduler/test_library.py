"""The versioned scenario library on a real PostgreSQL: edits while invoices are under way,
reloads without a restart, refusals, dry runs, removed scenarios, escalating steps."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from contracts import dunning, notifications
from contracts.erp import Segment
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.database import create_pool
from services.runtime.settings import DatabaseSettings
from services.scheduler import metrics
from services.scheduler.app import policy_of
from services.scheduler.cli import app as cli
from services.scheduler.domain.library import DEFAULT_LIBRARY
from services.scheduler.domain.state import Policy
from services.scheduler.errors import InvalidScenarios
from services.scheduler.library_store import LibraryWatch, reload_library
from services.scheduler.settings import SchedulerSettings
from services.scheduler.tick import Ticker
from services.scheduler.tracking import Tracker
from tests.integration.scheduler.fixtures import SCHEMA, Scheduler, customer, delivered, opened

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "scheduler" / "migrations"
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
DUE = date(2026, 11, 20)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    await migrations.apply_async(database_url, SCHEMA, MIGRATIONS)
    pool = await create_pool(DatabaseSettings(url=database_url), SCHEMA)
    yield pool
    await pool.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    copy = tmp_path / "scenarios"
    shutil.copytree(DEFAULT_LIBRARY, copy)
    return copy


def policy_for(folder: Path) -> Policy:
    return policy_of(SchedulerSettings(scenarios_path=folder))


def read(folder: Path, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((folder / f"{name}.yaml").read_text())
    return loaded


def write(folder: Path, name: str, content: dict[str, Any]) -> None:
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(content, sort_keys=False))


def step(step_id: str, level: str, offset: int, **more: Any) -> dict[str, Any]:
    return {
        "name": step_id,
        "level": level,
        "offset_days": offset,
        "channel": "email",
        "template": "reminder_firm",
        **more,
    }


async def book(pool: asyncpg.Pool, steps: list[dict[str, Any]], invoices: int) -> None:
    """``invoices`` invoices of 100 customers under way in negligent, version 1, each heading
    for one of its steps (or only the exit), a few not started yet."""
    segment = Segment(payer_profile="negligent").model_dump(mode="json")
    await pool.executemany(
        "INSERT INTO customer (customer_id, company_code, country, time_zone, language, "
        "segment, version) VALUES ($1, 'FR01', 'FR', 'Europe/Paris', 'fr', $2, 1)",
        [(f"C{n}", segment) for n in range(100)],
    )
    rows = []
    for n in range(invoices):
        position = n % (len(steps) + 1)  # len(steps): only the exit left
        last = steps[position - 1] if position else None
        rows.append(
            (
                f"FR01/F{n}",
                f"C{n % 100}",
                f"F{n}",
                steps[position]["name"] if position < len(steps) else None,
                None if last is None else last["name"],
                None if last is None else last["level"],
                None if last is None else NOW - timedelta(days=3),
                NOW + timedelta(days=1),
            )
        )
    await pool.executemany(
        "INSERT INTO dunning_invoice (invoice_id, customer_id, company_code, invoice_number, "
        "due_date, currency, amount, open_amount, scenario_id, next_step, scenario_version, "
        "status, last_step_name, last_level, last_action_at, next_action_at) "
        f"VALUES ($1, $2, 'FR01', $3, '{DUE.isoformat()}', 'EUR', 1200, 1200, 'negligent', "
        "$4, 1, 'active', $5, $6, $7, $8)",
        rows,
    )


async def progress(pool: asyncpg.Pool) -> dict[str, tuple[Any, ...]]:
    rows = await pool.fetch(
        "SELECT invoice_id, next_step, scenario_version, last_step_name, last_level "
        "FROM dunning_invoice"
    )
    return {r["invoice_id"]: tuple(r)[1:] for r in rows}


def expected_next(before: list[str], after: list[str], heading: str | None) -> str | None:
    """The rule, as docs/scenarios.md states it."""
    if heading is None or heading in after:
        return heading
    return next((s for s in before[before.index(heading) + 1 :] if s in after), None)


async def test_library_edits_while_1000_invoices_are_under_way_move_none_by_accident(
    pool: asyncpg.Pool, folder: Path
) -> None:
    negligent = read(folder, "negligent")
    await book(pool, negligent["steps"], 1000)
    legacy = "FR01/F0"  # as the former migration left it: an index, no identity yet
    await pool.execute(
        "UPDATE dunning_invoice SET next_step = NULL, scenario_version = NULL, "
        "legacy_position = 3 WHERE invoice_id = $1",
        legacy,
    )
    policy = policy_for(folder)
    first = await reload_library(pool, policy, folder, by="ops", now=NOW)
    assert (first.library.revision, first.library.versions["negligent"]) == (1, 1)
    assert (await progress(pool))[legacy][:2] == ("firm", 1)  # index 3 of version 1

    shipped = [dict(s) for s in negligent["steps"]]
    by_id = {s["name"]: s for s in shipped}
    edits = [
        # a step inserted before every other one: the classic shift of list indices
        [step("early", "preventive", -10, template="preventive_courtesy"), *shipped],
        # a step removed, another renamed (its identity kept)
        [
            step("early", "preventive", -10, template="preventive_courtesy"),
            by_id["courtesy"],
            {**by_id["friendly"], "id": "friendly", "name": "friendly_reminder"},
            by_id["firm"],
            by_id["registered"],
            by_id["formal_notice"],
        ],
        # two steps of one level reordered, one removed, one inserted
        [
            by_id["courtesy"],
            {**by_id["friendly"], "id": "friendly", "name": "friendly_reminder"},
            {**by_id["registered"], "offset_days": 25},
            {**by_id["firm"], "offset_days": 35},
            step("second_call", "level_2", 40, channel="phone_call", template="reminder_call"),
            by_id["formal_notice"],
        ],
    ]
    ids_before = [s["name"] for s in shipped]
    for version, steps in enumerate(edits, start=2):
        write(folder, "negligent", {**negligent, "steps": steps})
        ids_after = [s.get("id", s["name"]) for s in steps]
        before = await progress(pool)

        dry = await reload_library(pool, policy, folder, by="ops", now=NOW, dry_run=True)
        assert await progress(pool) == before, "a dry run changes nothing"
        assert policy.library.versions["negligent"] == version - 1
        done = await reload_library(pool, policy, folder, by="ops", now=NOW)
        assert [(m.invoice_id, m.kind, m.to_step) for m in dry.moves] == [
            (m.invoice_id, m.kind, m.to_step) for m in done.moves
        ], "the dry run lists exactly what the reload does"

        after = await progress(pool)
        assert policy.library.versions["negligent"] == version
        for invoice_id, (heading, _, last_step, last_level) in before.items():
            if last_step is None:  # not started: the new version from its beginning
                wanted = ids_after[0]
            else:
                wanted = expected_next(ids_before, ids_after, heading)
            assert after[invoice_id] == (wanted, version, last_step, last_level), invoice_id
        counted = done.counts()["negligent"]
        assert counted["moved"] == sum(after[i][0] != before[i][0] for i in before), (
            "moved counts the invoices whose next step changed"
        )
        assert counted["unchanged"] + counted["moved"] == 1000
        ids_before = ids_after

    changes = [
        e.payload
        for e in await Scheduler.of(pool, SimulatedClock(NOW)).emitted()
        if isinstance(e, dunning.LibraryChanged)
    ]
    assert [(c.revision_before, c.revision) for c in changes] == [(None, 1), (1, 2), (2, 3), (3, 4)]
    assert [s.version_after for s in changes[-1].scenarios] == [4]
    assert changes[-1].changed_by == "ops"


LEVELS = ("preventive", "level_1", "level_2", "formal_notice")


@st.composite
def edited_steps(draw: st.DrawFn, current: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A valid random edit of negligent's steps: some removed (never the last formal notice),
    some inserted, the rest possibly reordered; offsets and levels laid out again in order."""
    kept = [s for s in current if s["level"] == "formal_notice" or draw(st.booleans())]
    kept = draw(st.permutations(kept))
    for _ in range(draw(st.integers(0, 3))):
        name = f"new_{draw(st.uuids()).hex[:6]}"
        kept.insert(draw(st.integers(0, len(kept))), step(name, "level_1", 0))
    levels = sorted((s["level"] for s in kept), key=LEVELS.index)
    return [
        {**s, "level": level, "offset_days": -10 + 7 * index}
        for index, (s, level) in enumerate(zip(kept, levels, strict=True))
    ]


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(data=st.data())
async def test_random_edits_move_no_invoice_by_accident(
    pool: asyncpg.Pool, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    """Two successive random edits (insertions, removals, reorders) of a scenario 1,000
    invoices follow: each invoice under way heads for its step, or the next surviving one."""
    await pool.execute(
        "TRUNCATE library_version, library_revision, dunning_invoice, customer, outbox"
    )
    folder = tmp_path_factory.mktemp("scenarios") / "scenarios"
    shutil.copytree(DEFAULT_LIBRARY, folder)
    negligent = read(folder, "negligent")
    await book(pool, negligent["steps"], 1000)
    policy = policy_for(folder)
    await reload_library(pool, policy, folder, by="ops", now=NOW)
    current = negligent["steps"]
    for _ in range(2):
        steps = data.draw(edited_steps(current))
        write(folder, "negligent", {**negligent, "steps": steps})
        before_ids = [s.get("id", s["name"]) for s in current]
        after_ids = [s.get("id", s["name"]) for s in steps]
        before = await progress(pool)

        await reload_library(pool, policy, folder, by="ops", now=NOW)

        after = await progress(pool)
        version = policy.library.versions["negligent"]
        for invoice_id, (heading, _, last_step, last_level) in before.items():
            if last_step is None:
                wanted = after_ids[0]
            else:
                wanted = expected_next(before_ids, after_ids, heading)
            assert after[invoice_id] == (wanted, version, last_step, last_level), invoice_id
        current = steps


async def test_the_running_scheduler_adopts_a_new_version_without_a_restart(
    pool: asyncpg.Pool, folder: Path
) -> None:
    clock = SimulatedClock(datetime(2026, 11, 10, 9, 30, tzinfo=UTC))
    running = policy_for(folder)
    await reload_library(pool, running, folder, by="scheduler", now=clock.now())
    ticker = Ticker(pool, clock, running)
    tracker = Tracker(running)
    scheduler = Scheduler(pool, clock, tracker, ticker)
    await scheduler.feed([customer("C1"), opened("C1", "F1", date(2026, 12, 1))])
    other_replica = policy_for(folder)
    await reload_library(pool, other_replica, folder, by="scheduler", now=clock.now())

    # an operator moves the courtesy reminder from D-5 to D-15 in the folder
    negligent = read(folder, "negligent")
    negligent["steps"][0]["offset_days"] = -15
    write(folder, "negligent", negligent)
    watch = LibraryWatch(pool, running, folder, clock)
    await watch.check()

    assert (running.library.revision, running.library.versions["negligent"]) == (2, 2)
    timer = await pool.fetchval("SELECT next_action_at FROM dunning_invoice")
    assert timer.date() == date(2026, 11, 16), "planned again on the new offset (D-15)"
    await ticker.run_until_idle()
    assert await scheduler.reminders() == []
    clock.set(datetime(2026, 11, 16, 9, 30, tzinfo=UTC))
    await ticker.run_until_idle()
    (courtesy,) = await scheduler.reminders()
    assert courtesy.step_name == "courtesy"

    # the other replica adopts the revision at its next check (the folder not watched)
    assert await LibraryWatch(pool, other_replica, None, clock).adopt_latest()
    assert other_replica.library.versions["negligent"] == 2

    # an operator reloads from another folder: the watch does not undo it while its own
    # folder stays as it was, and the running scheduler adopts it
    elsewhere = folder.parent / "elsewhere"
    shutil.copytree(folder, elsewhere)
    negligent["description"] = "edited elsewhere"
    write(elsewhere, "negligent", negligent)
    await reload_library(pool, other_replica, elsewhere, by="ops", now=clock.now())
    await watch.check()
    assert (running.library.revision, running.library.versions["negligent"]) == (3, 3)
    assert running.library.scenarios["negligent"].description == "edited elsewhere"


async def test_an_invalid_library_is_refused_and_the_running_version_stays(
    pool: asyncpg.Pool, folder: Path, database_url: str
) -> None:
    running = policy_for(folder)
    await reload_library(pool, running, folder, by="scheduler", now=NOW)
    negligent = read(folder, "negligent")
    negligent["steps"][1]["channel"] = "fax"
    negligent["steps"][2]["id"] = "courtesy"
    write(folder, "negligent", negligent)
    refused = metrics.LIBRARY_RELOADS.labels("scheduler", "refused")
    before = refused._value.get()

    with pytest.raises(InvalidScenarios) as problems:
        await reload_library(pool, running, folder, by="ops", now=NOW)
    assert [str(p) for p in problems.value.problems] == [
        "negligent.yaml: scenario 'negligent': step 2 ('friendly'): channel: unknown channel "
        "'fax': Input should be 'email', 'interactive_email', 'sms', 'phone_call', "
        "'postal_letter', 'registered_letter' or 'electronic_registered_letter'"
    ]
    await LibraryWatch(pool, running, folder, SimulatedClock(NOW)).check()
    assert refused._value.get() == before + 1
    assert running.library.revision == 1
    assert await pool.fetchval("SELECT max(revision) FROM library_revision") == 1

    negligent["steps"][1]["channel"] = "email"
    write(folder, "negligent", negligent)
    result = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["library", "reload", str(folder), "--by", "marie"],
        env={"DATABASE_URL": database_url},
    )
    assert result.exit_code == 1
    assert (
        "negligent.yaml: scenario 'negligent': step 3 ('call'): step id 'courtesy' is used twice"
        in result.output
    )
    assert "the library is refused, the running version stays" in result.output


async def test_the_dry_run_lists_the_moves_and_a_removed_scenario_reassigns_and_alerts(
    pool: asyncpg.Pool, folder: Path, database_url: str
) -> None:
    clock = SimulatedClock(datetime(2026, 12, 4, 9, 30, tzinfo=UTC))  # a Friday
    running = policy_for(folder)
    await reload_library(pool, running, folder, by="scheduler", now=clock.now())
    scheduler = Scheduler(pool, clock, Tracker(running), Ticker(pool, clock, running))
    await scheduler.feed(
        [
            customer("B1", Segment(payer_profile="bad_payer")),
            opened("B1", "B1", date(2026, 12, 1)),
            opened("B1", "B2", date(2026, 12, 30)),
            customer("N1"),
            opened("N1", "N1", date(2026, 12, 1)),
        ]
    )
    await scheduler.ticker.run_until_idle()  # D+3: B1 gets bad_payer's firm, N1 friendly
    # bad_payer leaves the library (its file and its rule); negligent loses its call step
    (folder / "bad_payer.yaml").unlink()
    assignment = read(folder, "assignment")
    assignment["rules"] = [r for r in assignment["rules"] if r["scenario"] != "bad_payer"]
    write(folder, "assignment", assignment)
    negligent = read(folder, "negligent")
    negligent["steps"] = [s for s in negligent["steps"] if s["name"] != "call"]
    write(folder, "negligent", negligent)
    alert = metrics.LIBRARY_REASSIGNED.labels("scheduler", "bad_payer")
    before = alert._value.get()

    dry = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["library", "reload", str(folder), "--by", "marie", "--dry-run"],
        env={"DATABASE_URL": database_url},
    )
    assert dry.exit_code == 0, dry.output
    lines = dry.output.splitlines()
    assert lines[:5] == [
        "library would become revision 2",
        "  bad_payer: removed (v1 -> -)",
        "  negligent: changed (v1 -> v2)",
        "  assignment rules changed",
        "  invoices of bad_payer: 0 unchanged, 0 moved, 2 reassigned",
    ]
    assert "  invoices of negligent: 0 unchanged, 1 moved, 0 reassigned" in lines
    assert "    FR01/N1: negligent call -> firm" in lines
    assert "    FR01/B1: bad_payer removed, reassigned to negligent at firm" in lines
    assert "    FR01/B2: bad_payer removed, reassigned to negligent at courtesy" in lines
    assert alert._value.get() == before, "a dry run alerts nobody"

    api = await reload_library(pool, running, folder, by="marie", now=clock.now(), dry_run=True)
    assert api.summary()["counts"] == {
        "bad_payer": {"reassigned": 2},
        "negligent": {"moved": 1},
    }
    assert api.summary()["moves"][0] == {
        "invoice_id": "FR01/N1",
        "scenario_id": "negligent",
        "how": "moved",
        "from_step": "call",
        "to_step": "firm",
        "to_scenario": "negligent",
    }
    done = await reload_library(pool, running, folder, by="marie", now=clock.now())
    assert alert._value.get() == before + 2
    rows = await pool.fetch(
        "SELECT invoice_id, scenario_id, next_step, next_action_at FROM dunning_invoice "
        "ORDER BY invoice_id"
    )
    assert [(r["invoice_id"], r["scenario_id"], r["next_step"]) for r in rows] == [
        ("FR01/B1", "negligent", "firm"),  # firmer than bad_payer's level 1 it had
        ("FR01/B2", "negligent", "courtesy"),  # not started: from the beginning
        ("FR01/N1", "negligent", "firm"),  # its call step removed: the next one
    ]
    assert all(r["next_action_at"] is not None for r in rows), "nothing silently stops"
    (change,) = [
        e.payload for e in await scheduler.emitted() if isinstance(e, dunning.LibraryChanged)
    ][-1:]
    assert (change.changed_by, change.invoices_reassigned, change.invoices_moved) == (
        "marie",
        2,
        1,
    )
    assert done.removed == ("bad_payer",)


async def test_an_escalating_step_waits_for_its_delivery_and_a_returned_letter_holds(
    pool: asyncpg.Pool,
) -> None:
    scheduler = Scheduler.of(pool, SimulatedClock(datetime(2026, 11, 20, 9, 30, tzinfo=UTC)))
    await scheduler.feed([customer("C1"), opened("C1", "F1", date(2026, 12, 1))])
    day = date(2026, 11, 20)
    while day < date(2027, 2, 20):  # D+81: past the formal notice (D+50) and the exit
        scheduler.clock.set(datetime(day.year, day.month, day.day, 9, 30, tzinfo=UTC))
        await scheduler.ticker.run_until_idle()
        day += timedelta(days=1)
    sent = await scheduler.reminders()
    assert [r.step_name for r in sent][-1] == "registered", "nothing after the letter"
    registered = sent[-1]
    assert registered.escalating
    waiting = await pool.fetchrow("SELECT awaiting_delivery, next_action_at FROM dunning_invoice")
    assert waiting is not None
    assert (waiting["awaiting_delivery"], waiting["next_action_at"]) == ("registered", None)

    returned_at = scheduler.clock.now()
    await scheduler.feed([bounced(registered, returned_at)])
    task = (await scheduler.reminders())[-1]
    assert (task.step_name, task.recipient_role, task.channel) == (
        "returned_letter",
        "collector",
        "email",
    )
    held = await pool.fetchrow(
        "SELECT awaiting_delivery, delivery_returned_at, next_action_at FROM dunning_invoice"
    )
    assert held is not None
    assert tuple(held) == ("registered", returned_at, None), "the level holds"

    # the letter is served after all (handed over again): the invoice moves on
    await scheduler.feed([delivered(registered, returned_at + timedelta(days=1))])
    scheduler.clock.set(returned_at + timedelta(days=5))  # the next business day is past
    await scheduler.ticker.run_until_idle()
    assert (await scheduler.reminders())[-1].step_name == "formal_notice"


def bounced(reminder: dunning.Reminder, at: datetime) -> notifications.DeliveryBounced:
    return notifications.DeliveryBounced(
        event_id=uuid.uuid4(),
        occurred_at=at,
        source="notifier",
        payload=notifications.Bounce(
            delivery_id=uuid.uuid4(),
            reminder_id=reminder.reminder_id,
            customer_id=reminder.customer_id,
            invoice_ids=tuple(i.invoice_id for i in reminder.invoices),
            channel=reminder.channel,
            at=at,
            provider="maileva",
            kind="soft",
            reason="returned to sender: not collected",
        ),
    )
