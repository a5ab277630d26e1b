"""The customer page's header: who looks after the account, and the holds in force.

Pure functions of what the read model holds. The **account team** is read from the
customer's segment tags shaped ``<role>:<member>`` (``collector:C12``, ``sales:JMARTIN``),
the convention the ERP contract already uses for the collector in charge (the contract has
no account team fields). A **hold** is in force on an invoice the scheduler paused for a
hold (``dunning.state.changed`` with ``pause_reason`` ``hold``) until its ``paused_until``;
the customer's own hold is the last ``hold`` command executed for it, unless a ``release``
came after it or its day has passed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class TeamMember:
    role: str
    member: str


def account_team_of(tags: Iterable[str]) -> list[TeamMember]:
    """The account team among a customer's tags, in the order the ERP gave them; tags
    without a role (``vip``) are not people."""
    team: list[TeamMember] = []
    for tag in tags:
        role, sep, member = tag.partition(":")
        if sep and role.strip() and member.strip():
            found = TeamMember(role.strip(), member.strip())
            if found not in team:
                team.append(found)
    return team


@dataclass(frozen=True)
class Hold:
    """Dunning stopped until a day: for the whole customer (``numbers`` empty) or for some
    of its invoices."""

    until: date | None
    numbers: tuple[str, ...] = ()
    reason: str | None = None
    by: str | None = None


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def holds_in_force(
    paused_invoices: Iterable[tuple[str, str | None, datetime | None]],
    last_hold_command: tuple[str, dict[str, Any]] | None,
    today: date,
) -> list[Hold]:
    """The holds in force today.

    ``paused_invoices``: (invoice number, pause reason, paused until) of the open invoices;
    ``last_hold_command``: the kind (``command.hold`` or ``command.release``) and facts of
    the customer's last hold or release on its timeline, if any.
    """
    customer_hold: Hold | None = None
    if last_hold_command is not None and last_hold_command[0] == "command.hold":
        facts = last_hold_command[1]
        until = _day(facts.get("until"))
        if until is None or until > today:
            customer_hold = Hold(
                until=until,
                numbers=(str(facts["number"]),) if facts.get("number") else (),
                reason=facts.get("reason"),
                by=facts.get("by"),
            )
    per_day: dict[date | None, list[str]] = {}
    for number, reason, until in paused_invoices:
        if reason != "hold":
            continue
        day = _day(until)
        if day is not None and day <= today:
            continue
        per_day.setdefault(day, []).append(number)
    holds: list[Hold] = []
    for day, numbers in sorted(per_day.items(), key=lambda kv: (kv[0] is None, kv[0])):
        if customer_hold is not None and customer_hold.until == day:
            # the customer's hold explains these invoices: one line with its reason
            holds.append(Hold(day, tuple(sorted(numbers)), customer_hold.reason, customer_hold.by))
            customer_hold = None
        else:
            holds.append(Hold(day, tuple(sorted(numbers))))
    if customer_hold is not None:
        holds.insert(0, customer_hold)
    return holds
