"""Who may give an operator's command (suspend, resume, launch a campaign), and the
campaign a command carries as the scheduler's own: pure decisions on values.

An operator command needs a credit manager or an administrator, and a portfolio that covers
each company of its scope: one company in ``company_codes``, or every company for a scope of
every company (an administrator's, or a credit manager's whose portfolio is unrestricted).
A refusal is :class:`CommandRejected` ``forbidden``, dead-lettered and counted like any
other refused command.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError

from contracts.commands import CampaignSpec
from services.runtime.identity import Identity, Refused, Role, require_role
from services.scheduler.domain.campaign import Campaign, check_campaign
from services.scheduler.errors import CommandRejected

OPERATOR_ROLE: Role = "credit_manager"
"""The lowest role of every operator command (an administrator's includes it)."""


def authorize_scope(identity: Identity, company_codes: Sequence[str]) -> None:
    """Refuse (``forbidden``) unless ``identity`` may act on these companies (none: all)."""
    try:
        require_role(identity, OPERATOR_ROLE)
    except Refused as exc:
        raise CommandRejected("forbidden", exc.detail) from exc
    if identity.unrestricted:
        return
    if not company_codes:
        raise CommandRejected(
            "forbidden", f"{identity.subject} may not act on every company (portfolio)"
        )
    outside = sorted(set(company_codes) - identity.portfolio.company_codes)
    if outside:
        raise CommandRejected(
            "forbidden",
            f"companies {', '.join(outside)} are outside {identity.subject}'s portfolio",
        )


def campaign_of(spec: CampaignSpec, templates: frozenset[str]) -> Campaign:
    """The scheduler's campaign for a command's ``spec``; ``invalid_campaign`` when the
    library cannot send it (an unknown template, an empty overdue range)."""
    try:
        campaign = Campaign.model_validate(spec.model_dump(mode="python"))
    except ValidationError as exc:  # the contract mirrors the model: a drift is reported
        raise CommandRejected("invalid_campaign", str(exc)[:2000]) from exc
    problems = check_campaign(campaign, templates)
    if problems:
        raise CommandRejected("invalid_campaign", "; ".join(problems)[:2000])
    return campaign
