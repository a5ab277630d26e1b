"""The Operations page's actions, as the commands the scheduler will execute: pure
functions of the posted forms.

- **suspend** and **resume** sending, for one company or for every company, with a reason
  for a suspension (``suspend_sending``, ``resume_sending``);
- a **campaign**: the form read into a :class:`contracts.commands.CampaignSpec` (what the
  scheduler's dry run takes), then ``launch_campaign`` citing the dry run's fingerprint;
- the **library**: the difference between two versions of a scenario, line by line
  (:mod:`difflib` on their YAML); the page escapes every line.

Each returns the command event or what is wrong with the form
(:class:`services.console.domain.commands.FormProblem`). The scheduler checks role and
companies again and may still refuse (``already_suspended``, ``selection_changed``...).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, get_args
from uuid import UUID

from pydantic import ValidationError

from contracts import commands
from contracts.dunning import DunningLevel
from contracts.envelope import Event
from contracts.erp import CustomerType, Market, PayerProfile, RiskRating
from services.console.domain.commands import FormProblem, command_event

OPERATOR_ROLE: Literal["credit_manager"] = "credit_manager"
"""The lowest role of the Operations page's actions (the scheduler checks it again)."""

EVERY_COMPANY = "*"
"""The scope field's value for every company."""

SCOPE_ACTIONS: Mapping[str, type[Event]] = {
    "suspend": commands.SuspendSendingCommand,
    "resume": commands.ResumeSendingCommand,
}

CAMPAIGN_FIELDS: tuple[str, ...] = (
    "campaign_id",
    "description",
    "step_name",
    "level",
    "channel",
    "template",
    "company",
    "customer_type",
    "payer_profile",
    "market",
    "risk_rating",
    "country",
    "any_tag",
    "min_days_overdue",
    "max_days_overdue",
    "min_open_amount",
    "min_customer_total",
)
"""The campaign form's fields (carried from the dry run to the launch unchanged)."""

LEVELS: tuple[str, ...] = get_args(DunningLevel)
CHANNELS: tuple[str, ...] = ("email", "sms", "postal_letter")
CUSTOMER_TYPES: tuple[str, ...] = get_args(CustomerType)
PAYER_PROFILES: tuple[str, ...] = get_args(PayerProfile)
MARKETS: tuple[str, ...] = get_args(Market)
RISK_RATINGS: tuple[str, ...] = get_args(RiskRating)
LISTED_FIELDS: tuple[str, ...] = ("risk_rating",)
"""The campaign's fields chosen several at a time (a multiple select): their values are
carried joined by commas, from the form to the dry run and the launch."""


def scope_of(form: Mapping[str, str]) -> str | None:
    """The posted scope: a company code, ``*`` for every company, None when missing."""
    value = form.get("company", "").strip()
    return value or None


def scope_allowed(scope: str, companies: Sequence[str], unrestricted: bool) -> bool:
    """Whether the reader may act on ``scope``: every company needs an unrestricted
    portfolio; one company must be among those the reader covers."""
    if scope == EVERY_COMPANY:
        return unrestricted
    return unrestricted or scope in companies


def scope_command_of(
    action: str,
    form: Mapping[str, str],
    *,
    command_id: UUID,
    actor: commands.CommandActor,
    now: datetime,
) -> Event | list[FormProblem]:
    """``suspend_sending`` or ``resume_sending`` for the posted scope (and reason)."""
    problems: list[FormProblem] = []
    scope = scope_of(form)
    if scope is None:
        problems.append(FormProblem("company", "missing"))
    fields: dict[str, Any] = {
        "actor": actor,
        "company_code": None if scope in (None, EVERY_COMPANY) else scope,
    }
    if action == "suspend":
        reason = form.get("reason", "").strip()
        if not reason:
            problems.append(FormProblem("reason", "missing"))
        fields["reason"] = reason
    if problems:
        return problems
    return command_event(SCOPE_ACTIONS[action], command_id=command_id, now=now, **fields)


def campaign_fields_of(form: Mapping[str, str]) -> dict[str, str]:
    """The campaign's own fields of the posted form, trimmed; empty ones left out."""
    values = {name: form.get(name, "").strip() for name in CAMPAIGN_FIELDS}
    return {name: value for name, value in values.items() if value}


def _number(
    fields: Mapping[str, str], name: str, problems: list[FormProblem], whole: bool
) -> Decimal | int | None:
    raw = fields.get(name)
    if raw is None:
        return None
    try:
        value = Decimal(raw.replace(",", "."))
    except InvalidOperation:
        problems.append(FormProblem(name, "invalid"))
        return None
    if whole:
        if value != value.to_integral_value():
            problems.append(FormProblem(name, "invalid"))
            return None
        return int(value)
    return value


def campaign_of(fields: Mapping[str, str]) -> commands.CampaignSpec | list[FormProblem]:
    """The campaign the form describes, or what is wrong with it."""
    problems: list[FormProblem] = []
    for required in ("campaign_id", "step_name", "level", "channel", "template", "company"):
        if not fields.get(required):
            problems.append(FormProblem(required, "missing"))
    selection: dict[str, Any] = {}
    company = fields.get("company")
    if company and company != EVERY_COMPANY:
        selection["company_codes"] = (company,)
    customers: dict[str, tuple[str, ...]] = {}
    for name in ("customer_type", "payer_profile", "market"):
        if fields.get(name):
            customers[name] = (fields[name],)
    for name in ("risk_rating", "country", "any_tag"):
        # several, separated by commas or spaces (countries in upper case: ISO 3166; risk
        # ratings as the multiple select posts them, joined by commas)
        listed = [v for v in fields.get(name, "").replace(",", " ").split() if v]
        if listed:
            customers[name] = tuple(v.upper() if name == "country" else v for v in listed)
    if customers:
        selection["customers"] = customers
    for name, whole in (
        ("min_days_overdue", True),
        ("max_days_overdue", True),
        ("min_open_amount", False),
        ("min_customer_total", False),
    ):
        value = _number(fields, name, problems, whole)
        if value is not None:
            selection[name] = value
    if problems:
        return problems
    try:
        return commands.CampaignSpec.model_validate(
            {
                "id": fields["campaign_id"],
                "description": fields.get("description", ""),
                "step": {
                    "name": fields["step_name"],
                    "level": fields["level"],
                    "channel": fields["channel"],
                    "template": fields["template"],
                },
                "select": selection,
            }
        )
    except ValidationError as exc:
        return [_problem_of(error) for error in exc.errors()]


_FORM_NAMES = {
    ("id",): "campaign_id",
    ("step", "name"): "step_name",
    ("step", "level"): "level",
    ("step", "channel"): "channel",
    ("step", "template"): "template",
}


def _problem_of(error: Any) -> FormProblem:
    location = tuple(str(p) for p in error.get("loc", ()))
    name = _FORM_NAMES.get(location[:2]) or _FORM_NAMES.get(location[:1])
    if name is None:
        name = location[-1] if location else "form"
        if location[:1] == ("select",) and len(location) > 1:
            customers_field = location[2] if len(location) > 2 else "customer_type"
            name = customers_field if location[1] == "customers" else location[1]
    return FormProblem(name, "invalid")


def launch_of(
    campaign: commands.CampaignSpec,
    fingerprint: str,
    *,
    command_id: UUID,
    actor: commands.CommandActor,
    now: datetime,
) -> Event | list[FormProblem]:
    """``launch_campaign`` citing the dry run's ``fingerprint``."""
    return command_event(
        commands.LaunchCampaignCommand,
        command_id=command_id,
        now=now,
        actor=actor,
        campaign=campaign,
        fingerprint=fingerprint,
    )


@dataclass(frozen=True)
class DiffLine:
    """One line of a difference: ``kind`` is added, removed, context or hunk (a ``@@``)."""

    kind: Literal["added", "removed", "context", "hunk"]
    text: str


def library_diff(before: str, after: str, *, context: int = 3) -> list[DiffLine]:
    """The lines that differ between two versions' YAML, with ``context`` lines around."""
    lines: list[DiffLine] = []
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=context)
    for line in diff:
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            lines.append(DiffLine("hunk", line))
        elif line.startswith("+"):
            lines.append(DiffLine("added", line[1:]))
        elif line.startswith("-"):
            lines.append(DiffLine("removed", line[1:]))
        else:
            lines.append(DiffLine("context", line[1:]))
    return lines
