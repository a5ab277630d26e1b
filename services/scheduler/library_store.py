"""The scenario library as the running scheduler keeps it: versioned in PostgreSQL, reloaded
without a restart.

A library read from a folder (:func:`services.scheduler.domain.library.load_library`, which
refuses one with any problem) is *accepted* by :func:`reload_library`, in one transaction
under an advisory lock (two replicas, or a replica and an operator, never accept at once):

1. each scenario whose content changed (its digest) gets its next version number, an added
   one version 1 (or the next after its last, if it was removed before), a removed one a
   ``removed`` row; the library as a whole gets a new revision (``library_revision``);
2. the invoices under way of a changed scenario move to the new version by step identity
   (:mod:`services.scheduler.domain.versions`: a step inserted, removed or moved moves no
   invoice by accident); an invoice not started yet takes the new version from its
   beginning; their timers are planned again;
3. the invoices of a scenario no longer in the library are assigned again by the new
   assignment rules (:func:`services.scheduler.domain.state.reassigned`), counted in
   ``relance_scheduler_library_reassigned_total`` and logged at ERROR: an alert fires;
4. a ``dunning.library.changed`` (who, when, the versions before and after) and the moved
   invoices' ``dunning.state.changed`` go to the outbox in the same transaction.

``dry_run`` does steps 1 to 3 without writing: :class:`Reload` lists every invoice it
would move and how, with counts per scenario (the CLI prints it; an HTTP API can return it).

The running scheduler follows the latest revision: :class:`LibraryWatch` checks the folder
every ``library_check_interval_s`` (accepting a new valid version, refusing an invalid one
with its problems while the running version stays) and adopts a revision another replica
or the CLI accepted. The policy's ``library`` is replaced whole, so every component holding
the policy sees the new version at its next decision.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from contracts.dunning import LibraryChange, LibraryChanged, ScenarioVersionChange
from contracts.topics import DUNNING_ACTIONS
from services.runtime.database import Connection, Pool
from services.runtime.logs import get_logger
from services.runtime.outbox import OutgoingRecord, enqueue
from services.scheduler import metrics, outgoing
from services.scheduler.domain.assignment import Assignment
from services.scheduler.domain.library import Library, load_library
from services.scheduler.domain.scenario import Scenario
from services.scheduler.domain.state import (
    Customer,
    InvoiceState,
    Policy,
    assigned,
    heading_for,
    reassigned,
    rescheduled,
)
from services.scheduler.domain.versions import ScenarioChange, changes, digest, followed_position
from services.scheduler.errors import InvalidScenarios
from services.scheduler.outgoing import SOURCE

log = get_logger(__name__)
SERVICE = "scheduler"

LOCK = "SELECT pg_advisory_xact_lock(hashtext('relance.scheduler.library'))"
LATEST_REVISION = "SELECT * FROM library_revision ORDER BY revision DESC LIMIT 1"
REVISION_NUMBER = "SELECT max(revision) FROM library_revision"
ALL_VERSIONS = "SELECT * FROM library_version ORDER BY scenario_id, version"
RECORD_VERSION = """
INSERT INTO library_version (scenario_id, version, digest, content, removed, loaded_at, loaded_by)
VALUES ($1, $2, $3, $4::text::jsonb, $5, $6, $7)
"""
RECORD_REVISION = """
INSERT INTO library_revision (revision, digest, versions, assignment, templates, loaded_at,
                              loaded_by)
VALUES ($1, $2, $3::text::jsonb, $4::text::jsonb, $5::text::jsonb, $6, $7)
"""
LEGACY_POSITIONS = """
UPDATE dunning_invoice
SET next_step = ($2::text[])[legacy_position + 1], scenario_version = $3, legacy_position = NULL
WHERE scenario_id = $1 AND legacy_position IS NOT NULL
"""
CLEAR_LEGACY_POSITIONS = """
UPDATE dunning_invoice SET legacy_position = NULL WHERE legacy_position IS NOT NULL
"""
# The invoices under way of some scenarios (locked: a tick holding one finishes first; in
# the tick's order, customer then invoice, so that the two never wait on each other).
INVOICES_OF_SCENARIOS = """
SELECT * FROM dunning_invoice
WHERE scenario_id = ANY($1::text[]) AND status = 'active'
ORDER BY customer_id, invoice_id
FOR UPDATE
"""
CUSTOMERS = "SELECT * FROM customer WHERE customer_id = ANY($1::text[])"
OUTSTANDINGS = """
SELECT customer_id, currency, sum(open_amount) AS total FROM dunning_invoice
WHERE customer_id = ANY($1::text[]) AND status IN ('active', 'unassigned')
GROUP BY customer_id, currency
"""
# What a reload changes of an invoice: its scenario, its place, its timer. One JSON array of
# [invoice_id, scenario_id, next_step, scenario_version, status, next_action_at] rows.
SAVE_MOVES = """
UPDATE dunning_invoice AS d SET
    scenario_id = v ->> 1, next_step = v ->> 2, scenario_version = (v ->> 3)::int,
    status = v ->> 4, next_action_at = (v ->> 5)::timestamptz
FROM jsonb_array_elements($1::text::jsonb) AS v
WHERE d.invoice_id = v ->> 0
"""


def library_digest(library: Library) -> str:
    """The digest of a whole library: its scenarios, assignment rules and templates."""
    parts = {
        "scenarios": {sid: digest(s) for sid, s in sorted(library.scenarios.items())},
        "assignment": library.assignment.model_dump(mode="json"),
        "templates": sorted(library.templates),
    }
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class InvoiceMove:
    """What a reload does to one invoice under way."""

    invoice_id: str
    customer_id: str
    scenario_id: str
    kind: str  # unchanged (same next step), moved (another next step), reassigned
    from_step: str | None  # None: only the exit was left
    to_step: str | None
    to_scenario: str | None = None  # reassigned: the scenario the rules gave (None: none)

    def __str__(self) -> str:
        def step(name: str | None) -> str:
            return name or "(exit)"

        if self.kind == "reassigned":
            target = self.to_scenario or "no scenario"
            return f"{self.invoice_id}: {self.scenario_id} removed, reassigned to {target}" + (
                f" at {step(self.to_step)}" if self.to_scenario else ""
            )
        if self.kind == "moved":
            return (
                f"{self.invoice_id}: {self.scenario_id} {step(self.from_step)} -> "
                f"{step(self.to_step)}"
            )
        return f"{self.invoice_id}: {self.scenario_id} {step(self.from_step)} unchanged"


@dataclass(frozen=True)
class Reload:
    """A library to accept (or a dry run's view of it): what changes and what moves."""

    library: Library  # the new library, with its versions and revision
    revision_before: int | None
    changes: tuple[ScenarioChange, ...]
    assignment_changed: bool
    templates_changed: bool
    digest: str
    moves: tuple[InvoiceMove, ...]
    states: tuple[tuple[InvoiceState, InvoiceState], ...]  # (before, after) of each move

    @property
    def changed(self) -> bool:
        """Whether there is anything to accept (an identical library is not a new revision)."""
        return self.revision_before is None or self.library.revision != self.revision_before

    @property
    def removed(self) -> tuple[str, ...]:
        return tuple(c.scenario_id for c in self.changes if c.kind == "removed")

    def counts(self) -> dict[str, Counter[str]]:
        """Per scenario, how many invoices are unchanged, moved or reassigned."""
        found: defaultdict[str, Counter[str]] = defaultdict(Counter)
        for move in self.moves:
            found[move.scenario_id][move.kind] += 1
        return dict(found)

    def summary(self) -> dict[str, Any]:
        """The reload as JSON-ready data (what an HTTP API's dry run answers)."""
        return {
            "revision_before": self.revision_before,
            "revision": self.library.revision,
            "changed": self.changed,
            "scenarios": [
                {
                    "scenario_id": c.scenario_id,
                    "change": c.kind,
                    "version_before": c.version_before,
                    "version_after": c.version_after,
                }
                for c in self.changes
                if c.kind != "unchanged"
            ],
            "assignment_changed": self.assignment_changed,
            "templates_changed": self.templates_changed,
            "counts": {sid: dict(counted) for sid, counted in sorted(self.counts().items())},
            "moves": [
                {
                    "invoice_id": m.invoice_id,
                    "scenario_id": m.scenario_id,
                    "how": m.kind,
                    "from_step": m.from_step,
                    "to_step": m.to_step,
                    "to_scenario": m.to_scenario if m.kind == "reassigned" else m.scenario_id,
                }
                for m in self.moves
                if m.kind != "unchanged"
            ],
        }

    def audit(self, by: str, now: datetime) -> LibraryChange:
        kinds = Counter(m.kind for m in self.moves)
        return LibraryChange(
            revision_before=self.revision_before,
            revision=self.library.revision,
            changed_by=by,
            changed_at=now,
            scenarios=tuple(
                ScenarioVersionChange(
                    scenario_id=c.scenario_id,
                    change=c.kind,  # unchanged ones are left out
                    version_before=c.version_before,
                    version_after=c.version_after,
                )
                for c in self.changes
                if c.kind != "unchanged"
            ),
            assignment_changed=self.assignment_changed,
            templates_changed=self.templates_changed,
            invoices_moved=kinds["moved"],
            invoices_reassigned=kinds["reassigned"],
        )


@dataclass(frozen=True)
class _Stored:
    library: Library | None  # the latest revision (None: nothing stored yet)
    last_versions: Mapping[str, int]  # every scenario's last version, removed ones included
    history: Mapping[tuple[str, int], Scenario]
    digest: str | None


async def _stored(connection: Connection) -> _Stored:
    history: dict[tuple[str, int], Scenario] = {}
    last: dict[str, int] = {}
    for row in await connection.fetch(ALL_VERSIONS):
        last[row["scenario_id"]] = row["version"]
        if not row["removed"]:
            content = row["content"]
            if isinstance(content, str):
                content = json.loads(content)
            history[(row["scenario_id"], row["version"])] = Scenario.model_validate(content)
    latest = await connection.fetchrow(LATEST_REVISION)
    if latest is None:
        return _Stored(None, last, history, None)
    row = latest
    versions = _json(row["versions"])
    library = Library(
        scenarios={sid: history[(sid, v)] for sid, v in versions.items()},
        assignment=Assignment.model_validate(_json(row["assignment"])),
        templates=frozenset(_json(row["templates"])),
        versions=versions,
        history=history,
        revision=row["revision"],
    )
    return _Stored(library, last, history, row["digest"])


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def stored_library(connection: Connection) -> Library | None:
    """The latest accepted library, with every stored version (None: nothing stored yet)."""
    return (await _stored(connection)).library


async def plan_reload(
    connection: Connection, candidate: Library, policy: Policy, now: datetime
) -> Reload:
    """What accepting ``candidate`` changes (takes the library lock: call it in the
    transaction that applies it)."""
    await connection.execute(LOCK)
    stored = await _stored(connection)
    before = stored.library
    new_digest = library_digest(candidate)
    if before is not None and stored.digest == new_digest:
        return Reload(before, before.revision, (), False, False, new_digest, (), ())
    found = changes(
        before.scenarios if before is not None else {},
        stored.last_versions,
        candidate.scenarios,
    )
    versions = {c.scenario_id: c.version_after for c in found if c.version_after is not None}
    history = dict(stored.history)
    for change in found:
        if change.version_after is not None and change.kind != "unchanged":
            history[(change.scenario_id, change.version_after)] = candidate.scenarios[
                change.scenario_id
            ]
    revision = 1 if before is None else before.revision + 1
    library = candidate.versioned(versions, history, revision)
    new_policy = replace(policy, library=library)
    moved_ids = [c.scenario_id for c in found if c.kind == "changed"]
    moves, states = await _moves(connection, before, new_policy, moved_ids)
    orphans = await _orphans(connection, new_policy)
    moves += orphans[0]
    states += orphans[1]
    return Reload(
        library=library,
        revision_before=None if before is None else before.revision,
        changes=found,
        assignment_changed=before is None
        or before.assignment.model_dump() != candidate.assignment.model_dump(),
        templates_changed=before is None or before.templates != candidate.templates,
        digest=new_digest,
        moves=tuple(moves),
        states=tuple(states),
    )


async def _customers(connection: Connection, rows: Sequence[Any]) -> dict[str, Customer]:
    ids = sorted({r["customer_id"] for r in rows})
    return {r["customer_id"]: Customer.of(r) for r in await connection.fetch(CUSTOMERS, ids)}


async def _moves(
    connection: Connection, before: Library | None, policy: Policy, scenario_ids: list[str]
) -> tuple[list[InvoiceMove], list[tuple[InvoiceState, InvoiceState]]]:
    """The invoices under way of changed scenarios, moved to their new version by identity."""
    if before is None or not scenario_ids:
        return [], []
    rows = await connection.fetch(INVOICES_OF_SCENARIOS, scenario_ids)
    customers = await _customers(connection, rows)
    moves, states = [], []
    for row in rows:
        state = InvoiceState.of(row)
        assert state.scenario_id is not None
        old = before.scenario_at(state.scenario_id, state.scenario_version)
        new = policy.library.scenarios[state.scenario_id]
        version = policy.library.version_of(new.id)
        if state.last_step_name is None and not state.resumed:
            position = 0  # not started: the new version from its beginning
        else:
            position = followed_position(old, new, state.next_step)
        after = replace(state, next_step=new.id_at(position), scenario_version=version)
        after = rescheduled(policy, after, customers.get(state.customer_id), None)
        kind = "moved" if after.next_step != state.next_step else "unchanged"
        moves.append(
            InvoiceMove(
                state.invoice_id,
                state.customer_id,
                state.scenario_id,
                kind,
                state.next_step,
                after.next_step,
            )
        )
        states.append((state, after))
    return moves, states


async def _orphans(
    connection: Connection, policy: Policy
) -> tuple[list[InvoiceMove], list[tuple[InvoiceState, InvoiceState]]]:
    """The invoices under way of scenarios no longer in the library, assigned again."""
    rows = await connection.fetch(
        """
        SELECT * FROM dunning_invoice
        WHERE status = 'active' AND scenario_id IS NOT NULL
          AND NOT (scenario_id = ANY($1::text[]))
        ORDER BY customer_id, invoice_id
        FOR UPDATE
        """,
        sorted(policy.library.scenarios),
    )
    if not rows:
        return [], []
    customers = await _customers(connection, rows)
    outstanding: defaultdict[str, dict[str, Decimal]] = defaultdict(dict)
    for r in await connection.fetch(OUTSTANDINGS, sorted(customers)):
        outstanding[r["customer_id"]][r["currency"]] = r["total"]
    moves, states = [], []
    for row in rows:
        state = InvoiceState.of(row)
        assert state.scenario_id is not None
        customer = customers.get(state.customer_id)
        if customer is None:
            after = replace(state, scenario_id=None, status="unassigned", next_step=None)
        elif state.last_step_name is None:
            after = assigned(policy, state, customer, outstanding[state.customer_id])
        else:
            after = reassigned(policy, state, customer, outstanding[state.customer_id])
        after = rescheduled(policy, after, customer, None)
        moves.append(
            InvoiceMove(
                state.invoice_id,
                state.customer_id,
                state.scenario_id,
                "reassigned",
                state.next_step,
                after.next_step,
                after.scenario_id,
            )
        )
        states.append((state, after))
    return moves, states


def _move_row(state: InvoiceState) -> list[object]:
    return [
        state.invoice_id,
        state.scenario_id,
        state.next_step,
        state.scenario_version,
        state.status,
        None if state.next_action_at is None else outgoing.instant(state.next_action_at),
    ]


async def apply_reload(connection: Connection, reload: Reload, *, by: str, now: datetime) -> None:
    """Record the new versions and revision, move the invoices, announce it (in the
    transaction of :func:`plan_reload`)."""
    if not reload.changed:
        return
    library = reload.library
    for change in reload.changes:
        if change.kind in ("added", "changed"):
            assert change.version_after is not None
            scenario = library.scenarios[change.scenario_id]
            await connection.execute(
                RECORD_VERSION,
                change.scenario_id,
                change.version_after,
                digest(scenario),
                scenario.model_dump_json(),
                False,
                now,
                by,
            )
        elif change.kind == "removed":
            await connection.execute(
                RECORD_VERSION,
                change.scenario_id,
                (change.version_before or 0) + 1,
                None,
                None,
                True,
                now,
                by,
            )
    await connection.execute(
        RECORD_REVISION,
        library.revision,
        reload.digest,
        json.dumps(dict(library.versions)),
        library.assignment.model_dump_json(),
        json.dumps(sorted(library.templates)),
        now,
        by,
    )
    if reload.revision_before is None:
        # the first accepted library is the one the scheduler ran with: the former list
        # indices become step identities of its version 1
        for scenario_id, scenario in library.scenarios.items():
            await connection.execute(
                LEGACY_POSITIONS,
                scenario_id,
                list(scenario.step_ids),
                library.versions[scenario_id],
            )
        await connection.execute(CLEAR_LEGACY_POSITIONS)
    records: list[OutgoingRecord] = []
    if reload.states:
        await connection.execute(
            SAVE_MOVES, json.dumps([_move_row(after) for _, after in reload.states])
        )
        seen = [
            after
            for before, after in reload.states
            # what a reload changes of the state consumers see: scenario, status, timer and
            # the step it leads to
            if (before.scenario_id, before.status, before.next_action_at, before.next_step)
            != (after.scenario_id, after.status, after.next_action_at, after.next_step)
        ]
        customers = await _customers(connection, [{"customer_id": s.customer_id} for s in seen])
        for after in seen:
            heading = heading_for(reload.library, after, customers.get(after.customer_id))
            changed = outgoing.state_changed(after, now, heading)
            if changed is not None:
                records.append(changed)
    event = LibraryChanged(
        event_id=uuid.uuid4(), occurred_at=now, source=SOURCE, payload=reload.audit(by, now)
    )
    records.append(OutgoingRecord.of(DUNNING_ACTIONS, event))
    await enqueue(connection, records)


def alert_removed(reload: Reload) -> None:
    """Count and log, at ERROR, the invoices of removed scenarios assigned again (once
    committed): an alert fires on the counter."""
    for scenario_id, counted in sorted(reload.counts().items()):
        reassigned_count = counted["reassigned"]
        if reassigned_count:
            metrics.LIBRARY_REASSIGNED.labels(SERVICE, scenario_id).inc(reassigned_count)
            log.error(
                "scenario_removed_invoices_reassigned",
                scenario_id=scenario_id,
                invoices=reassigned_count,
                revision=reload.library.revision,
            )


async def reload_library(
    pool: Pool,
    policy: Policy,
    folder: Path,
    *,
    by: str,
    now: datetime,
    dry_run: bool = False,
    candidate: Library | None = None,
) -> Reload:
    """Accept the library of ``folder`` (or, ``dry_run``, only say what it would do);
    ``candidate``: the folder's library, already loaded.

    Raises :class:`InvalidScenarios` (nothing changes) when the folder has any problem.
    On success the policy's library is the new one.
    """
    if candidate is None:
        candidate = load_library(folder)
    async with pool.acquire() as connection, connection.transaction():
        reload = await plan_reload(connection, candidate, policy, now)
        if not dry_run:
            await apply_reload(connection, reload, by=by, now=now)
    if not dry_run:
        alert_removed(reload)
        if reload.changed:
            metrics.LIBRARY_RELOADS.labels(SERVICE, "accepted").inc()
            log.info(
                "library_accepted",
                revision=reload.library.revision,
                by=by,
                changed=[c.scenario_id for c in reload.changes if c.kind != "unchanged"],
            )
        policy.library = reload.library
    return reload


class LibraryWatch:
    """Keeps the running scheduler's library current: the folder's new versions accepted,
    another replica's or the CLI's adopted.

    The folder is accepted when *it* changed since the last look (``seen``, its digest), not
    whenever it differs from the library in force: a library an operator reloaded from
    another folder stays until this folder changes (or the scheduler restarts, when its
    folder is accepted again)."""

    def __init__(
        self,
        pool: Pool,
        policy: Policy,
        folder: Path | None,
        clock: Any,
        seen: str | None = None,
    ) -> None:
        self.pool = pool
        self.policy = policy
        self.folder = folder
        self.clock = clock
        self.seen = seen  # the digest of the folder's library when last accepted
        self._refused: str | None = None  # the problems last logged, not to repeat them

    async def check(self) -> None:
        """One check: the folder (when watched), then the latest stored revision."""
        if self.folder is not None:
            await self._check_folder(self.folder)
        await self.adopt_latest()

    async def _check_folder(self, folder: Path) -> None:
        try:
            candidate = load_library(folder)
        except InvalidScenarios as exc:
            text = str(exc)
            if text != self._refused:
                self._refused = text
                metrics.LIBRARY_RELOADS.labels(SERVICE, "refused").inc()
                log.error(
                    "library_refused",
                    folder=str(folder),
                    problems=[str(p) for p in exc.problems],
                    running_revision=self.policy.library.revision,
                )
            return
        self._refused = None
        found = library_digest(candidate)
        if found == self.seen:
            return
        await reload_library(
            self.pool, self.policy, folder, by="folder", now=self.clock.now(), candidate=candidate
        )
        self.seen = found

    async def adopt_latest(self) -> bool:
        """Adopt a revision newer than the running one; whether there was one."""
        async with self.pool.acquire() as connection:
            latest = await connection.fetchval(REVISION_NUMBER)
            if latest is None or latest <= self.policy.library.revision:
                return False
            library = await stored_library(connection)
        assert library is not None
        self.policy.library = library
        log.info("library_adopted", revision=library.revision)
        return True


async def adopt(connection: Connection, policy: Policy) -> None:
    """Replace the policy's library with the latest stored one."""
    library = await stored_library(connection)
    if library is not None:
        policy.library = library


def unknown_versions(policy: Policy, versions: Iterable[tuple[str | None, int | None]]) -> bool:
    """Whether an invoice refers to a scenario version the policy's library does not know
    (another replica accepted a new one since): adopt the latest before deciding.
    ``versions``: the invoices' (scenario_id, scenario_version)."""
    library = policy.library
    for scenario_id, version in versions:
        if scenario_id is None or version is None:
            continue
        if library.scenario_at(scenario_id, version) is None and (
            version > (library.version_of(scenario_id) or 0)
        ):
            return True
    return False
