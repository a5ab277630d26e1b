"""A collector's decision on a proposal, as the command the scheduler will execute.

A pure function of the posted form, as :mod:`services.console.domain.commands` is for the
customer page's actions: :func:`decision_of` checks the fields of an approval, an edit, a
postponement or a skip and builds the ``dunning.commands.v1`` event, citing the version of
the proposal the collector saw (the scheduler refuses ``stale_proposal`` when it was edited
since, ``already_decided`` when someone decided first); :func:`bulk_approval_of` builds one
``approve_proposals`` for the proposals ticked on My day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Literal, get_args
from uuid import UUID, uuid5

from contracts import commands
from contracts.dunning import Channel, ProposalVersion
from contracts.envelope import Event
from contracts.erp import ContactRole
from services.console.domain.commands import EVENT_NAMESPACE, SOURCE, FormProblem, command_event

Decision = Literal["approve", "edit", "postpone", "skip"]
DECISIONS: tuple[Decision, ...] = get_args(Decision)
CHANNELS: tuple[str, ...] = get_args(Channel)
CONTACT_ROLES: tuple[str, ...] = get_args(ContactRole)
PARAGRAPH_PREFIX = "paragraph."
NEW_PARAGRAPH_NAME = "new_paragraph_name"
NEW_PARAGRAPH_TEXT = "new_paragraph_text"
MAX_BULK = 500

EVENTS: Mapping[str, type[Event]] = {
    "approve": commands.ApproveProposalCommand,
    "edit": commands.EditProposalCommand,
    "postpone": commands.PostponeProposalCommand,
    "skip": commands.SkipProposalCommand,
}


def fields_of(form: Mapping[str, str]) -> dict[str, str]:
    """The decision's own fields of the posted form (carried to the confirmation), trimmed;
    empty ones left out, except a rewritten paragraph emptied on purpose (refused later)."""
    names = ("until", "reason", "channel", "recipient_role", NEW_PARAGRAPH_NAME)
    values = {name: form.get(name, "").strip() for name in names}
    fields = {name: value for name, value in values.items() if value}
    for name, value in form.items():
        if name.startswith(PARAGRAPH_PREFIX) or name == NEW_PARAGRAPH_TEXT:
            fields[name] = value.strip()
    return fields


def paragraphs_of(fields: Mapping[str, str], current: Mapping[str, str]) -> dict[str, str]:
    """The paragraphs the edit rewrites: those changed from ``current`` and a new one."""
    rewritten = {
        name.removeprefix(PARAGRAPH_PREFIX): text
        for name, text in fields.items()
        if name.startswith(PARAGRAPH_PREFIX)
        and current.get(name.removeprefix(PARAGRAPH_PREFIX)) != text
    }
    new_name = fields.get(NEW_PARAGRAPH_NAME)
    if new_name:
        rewritten[new_name] = fields.get(NEW_PARAGRAPH_TEXT, "")
    return rewritten


def _event(event_class: type[Event], command_id: UUID, now: datetime, payload: object) -> Event:
    return event_class.model_validate(
        {
            "event_id": uuid5(EVENT_NAMESPACE, str(command_id)),
            "occurred_at": now,
            "source": SOURCE,
            "payload": payload,
        }
    )


def decision_of(
    decision: str,
    fields: Mapping[str, str],
    *,
    command_id: UUID,
    customer_id: str,
    proposal_id: UUID,
    version: int,
    current_paragraphs: Mapping[str, str],
    current_channel: str,
    current_recipient_role: str | None,
    actor: commands.CommandActor,
    now: datetime,
    today: date,
) -> Event | list[FormProblem]:
    """The command of ``decision`` on the proposal's ``version``, or what is wrong."""
    problems: list[FormProblem] = []
    arguments: dict[str, object] = {}
    if decision == "postpone":
        until = fields.get("until")
        if not until:
            problems.append(FormProblem("until", "missing"))
        else:
            try:
                day = date.fromisoformat(until)
            except ValueError:
                problems.append(FormProblem("until", "not_a_date"))
            else:
                if day <= today:
                    problems.append(FormProblem("until", "not_after_today"))
                arguments["until"] = day
    elif decision == "skip":
        if not fields.get("reason"):
            problems.append(FormProblem("reason", "missing"))
        arguments["reason"] = fields.get("reason", "")
    elif decision == "edit":
        paragraphs = paragraphs_of(fields, current_paragraphs)
        for name, text in paragraphs.items():
            if not text:
                problems.append(FormProblem(PARAGRAPH_PREFIX + name, "missing"))
        if fields.get(NEW_PARAGRAPH_TEXT) and not fields.get(NEW_PARAGRAPH_NAME):
            problems.append(FormProblem(NEW_PARAGRAPH_NAME, "missing"))
        if paragraphs:
            arguments["paragraphs"] = paragraphs
        channel = fields.get("channel")
        if channel and channel != current_channel:
            if channel not in CHANNELS:
                problems.append(FormProblem("channel", "invalid"))
            arguments["channel"] = channel
        role = fields.get("recipient_role")
        if role and role != current_recipient_role:
            if role not in CONTACT_ROLES:
                problems.append(FormProblem("recipient_role", "invalid"))
            arguments["recipient_role"] = role
        if not arguments and not problems:
            problems.append(FormProblem("form", "unchanged"))
    elif decision != "approve":
        problems.append(FormProblem("decision", "invalid"))
    if problems:
        return problems
    return command_event(
        EVENTS[decision],
        command_id=command_id,
        now=now,
        customer_id=customer_id,
        actor=actor,
        proposal_id=proposal_id,
        version=version,
        **arguments,
    )


def selected_of(values: Sequence[str]) -> list[ProposalVersion] | list[FormProblem]:
    """The proposals ticked on My day, each ``<proposal id>:<version>``."""
    chosen: dict[UUID, int] = {}
    for value in values:
        proposal, _, version = value.partition(":")
        try:
            chosen[UUID(proposal)] = int(version)
        except ValueError:
            return [FormProblem("proposal", "invalid")]
    if not chosen:
        return [FormProblem("proposal", "missing")]
    if len(chosen) > MAX_BULK:
        return [FormProblem("proposal", "invalid")]
    return [ProposalVersion(proposal_id=p, version=v) for p, v in chosen.items()]


def bulk_approval_of(
    proposals: Sequence[ProposalVersion],
    *,
    command_id: UUID,
    actor: commands.CommandActor,
    now: datetime,
) -> Event:
    """One ``approve_proposals`` for ``proposals`` (each decided on its own)."""
    payload = commands.ApproveProposals(
        command_id=command_id, actor=actor, requested_at=now, proposals=tuple(proposals)
    )
    return _event(commands.ApproveProposalsCommand, command_id, now, payload)
