"""The demo's semi-automatic mode: one scenario to confirm, a simulated collector deciding.

The demo's scenario library is a copy of the repository's (``scenarios/``) in which the
negligent scenario, the one most customers follow, says ``confirm: true``: each of its steps
waits for a collector's decision (:func:`demo_library`); the installation's own library is
left as it is. The notifier's shipped templates are used as they are: the preventive, level-1
and level-2 sets mark their opening sentence as the editable paragraph ``opening`` in every
language (``{{ editable("opening", ...) }}``, :data:`EDITABLE_LEVELS`); a formal notice marks
none.

On Mondays, Wednesdays and Fridays (:data:`REVIEW_DAYS`), at the day's first sending
instant, the simulated collector looks at the proposals raised on earlier days and decides
each through the scheduler's commands API (``dunning.commands.v1``), authenticated with the
run's collector key, never with an actor of its own making. :func:`plan_decisions` says
what: the first email offering the paragraph is edited (its opening rewritten) and then
approved; of the others, the first is postponed (its step proposed again that day is
approved), the second skipped with a reason, the third left undecided so that the
scenario's ``on_timeout`` policy plays; all the rest are approved, together
(``approve_proposals``) when several wait.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Literal

import yaml

SCENARIO = "negligent"
ON_TIMEOUT = "send"
TIMEOUT_BUSINESS_DAYS = 2
PARAGRAPH = "opening"
# The levels whose shipped template sets mark :data:`PARAGRAPH` (in every language; the
# catalogue refuses a set whose languages differ); a formal notice's message is the notice.
EDITABLE_LEVELS = frozenset({"preventive", "level_1", "level_2"})
EDITABLE_CHANNEL = "email"
# The reminder a proposal would send, in SQL over ``scheduler.proposal`` (whose payload may
# be kept as a JSON document or as the text of one).
PROPOSED = "((payload #>> '{}')::jsonb -> 'reminder')"
# What the simulated collector writes instead, in the customer's language.
EDITED = {
    "fr": "Suite à notre échange téléphonique de ce jour, voici les factures dont nous "
    "attendons le règlement.",
    "en": "Following our phone call today, here are the invoices we expect you to settle.",
}
POSTPONE_DAYS = 3
# The collector goes through the queue on Mondays, Wednesdays and Fridays: never more than
# two business days after a proposal was raised, within its deadline, and several proposals
# at a time, approved together.
REVIEW_DAYS = (0, 2, 4)
SKIP_REASON = "The customer's buyer is away; the account manager calls him on his return"

BULK_SIZE = 500  # the most proposals one approve_proposals command may cite

Role = Literal["edit", "postpone", "skip", "undecided", "approve"]
SPECIAL_ROLES: tuple[Role, ...] = ("edit", "postpone", "skip", "undecided")


def demo_library(source: Path, target: Path) -> Path:
    """Copy the library of ``source`` into ``target`` with :data:`SCENARIO` to confirm
    (``on_timeout: send`` after two business days)."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    path = target / f"{SCENARIO}.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or raw.get("id") != SCENARIO:
        raise ValueError(f"{path}: not the {SCENARIO} scenario")
    scenario = {
        **{k: v for k, v in raw.items() if k != "steps"},
        "confirm": True,
        "on_timeout": ON_TIMEOUT,
        "timeout_business_days": TIMEOUT_BUSINESS_DAYS,
        "steps": raw.get("steps", []),
    }
    path.write_text(
        "# The demo's copy: every step waits for a collector's decision.\n"
        + yaml.safe_dump(scenario, sort_keys=False, allow_unicode=True, width=120),
        encoding="utf-8",
    )
    return target


@dataclass(frozen=True)
class Pending:
    """A proposal waiting for a decision, as the scheduler keeps it."""

    proposal_id: str
    version: int
    customer_id: str
    raised_on: date
    editable: bool = False  # an email whose template marks the paragraph


@dataclass(frozen=True)
class Decision:
    kind: Literal["edit", "postpone", "skip", "approve", "approve_bulk"]
    proposals: tuple[Pending, ...]


@dataclass
class Collector:
    """What the simulated collector decided (kept for the summary)."""

    roles: dict[str, Role] = field(default_factory=dict)  # proposal id: its part
    postponed_customers: set[str] = field(default_factory=set)  # proposed again: approved
    edited: dict[str, str] = field(default_factory=dict)  # proposal id: the paragraph
    edited_reminders: dict[str, str] = field(default_factory=dict)  # reminder id: paragraph
    approved: int = 0
    approved_in_bulk: int = 0
    bulk_commands: int = 0
    postponed: int = 0
    skipped: int = 0
    refused: list[str] = field(default_factory=list)  # commands the API did not accept
    problems: list[str] = field(default_factory=list)  # what the summary found wrong


def plan_decisions(collector: Collector, waiting: Iterable[Pending], today: date) -> list[Decision]:
    """The decisions of ``today`` (a business day) on the proposals ``waiting``.

    Only proposals raised before today are decided (the collector reviews the previous
    days' queue). Each proposal seen for the first time takes the next special part not
    yet given (edit, postpone, skip, undecided; edit only for an editable one), then the
    part ``approve``. An edited proposal is approved once its new version is raised (a
    second pass the same day). Approvals of several proposals go in bulk, by
    :data:`BULK_SIZE`.
    """
    approvals: list[Pending] = []
    decisions: list[Decision] = []
    for pending in sorted(waiting, key=lambda p: (p.raised_on, p.proposal_id)):
        role = collector.roles.get(pending.proposal_id)
        if pending.raised_on >= today and not (role == "edit" and pending.version > 1):
            continue
        if role is None and pending.customer_id in collector.postponed_customers:
            role = collector.roles[pending.proposal_id] = "approve"
        if role is None:
            given = set(collector.roles.values())
            fresh: Role = next(
                (r for r in SPECIAL_ROLES if r not in given and (r != "edit" or pending.editable)),
                "approve",
            )
            collector.roles[pending.proposal_id] = role = fresh
        if role == "undecided":
            continue
        if role == "edit" and pending.version == 1:
            decisions.append(Decision("edit", (pending,)))
        elif role == "postpone":
            collector.postponed_customers.add(pending.customer_id)
            decisions.append(Decision("postpone", (pending,)))
        elif role == "skip":
            decisions.append(Decision("skip", (pending,)))
        else:  # approve, or an edit whose new version is raised
            approvals.append(pending)
    if len(approvals) == 1:
        decisions.append(Decision("approve", tuple(approvals)))
    for start in range(0, len(approvals) if len(approvals) > 1 else 0, BULK_SIZE):
        decisions.append(Decision("approve_bulk", tuple(approvals[start : start + BULK_SIZE])))
    return decisions


def request(
    decision: Decision, today: date, language: Mapping[str, str]
) -> tuple[str, dict[str, Any]]:
    """The commands API's route name and body for ``decision``."""
    first = decision.proposals[0]
    cited = {
        "customer_id": first.customer_id,
        "proposal_id": first.proposal_id,
        "version": first.version,
    }
    if decision.kind == "edit":
        text = EDITED.get(language.get(first.customer_id, "en"), EDITED["en"])
        return "edit_proposal", {**cited, "paragraphs": {PARAGRAPH: text}}
    if decision.kind == "postpone":
        return "postpone_proposal", {
            **cited,
            "until": (today + timedelta(days=POSTPONE_DAYS)).isoformat(),
        }
    if decision.kind == "skip":
        return "skip_proposal", {**cited, "reason": SKIP_REASON}
    if decision.kind == "approve":
        return "approve_proposal", cited
    return "approve_proposals", {
        "proposals": [
            {"proposal_id": p.proposal_id, "version": p.version} for p in decision.proposals
        ]
    }


def text_of(content: bytes) -> str:
    """The plain-text part of an email as received, whitespace folded."""
    message = BytesParser(policy=policy.default).parsebytes(content)
    body = message.get_body(("plain",))
    text = body.get_content() if body is not None else ""
    return " ".join(str(text).split())


def paragraph_received(content: bytes, paragraph: str) -> bool:
    return " ".join(paragraph.split()) in text_of(content)
