"""The Operations page's actions (credit managers and administrators): suspend and resume
sending, a campaign's dry run then its launch, the scenario library's versions and diffs.

- ``POST /operations/{suspend|resume}``: a confirmation page stating the scope (and the
  reason), then the confirmed post records the command in ``sent_command`` and puts it in
  the outbox in one transaction (``suspend_sending`` / ``resume_sending``), as the customer
  page's actions do; the ``command_id`` is drawn when the page is rendered.
- ``POST /operations/campaign/dry-run``: the campaign form is sent to the scheduler's dry run
  (``POST /v1/campaigns/dry-run``); the page lists the recipients a page at a time and shows
  one recipient's message rendered by the notifier (``POST /previews/reminders``), then a
  **Launch** button that sends ``launch_campaign`` with the dry run's fingerprint: the
  scheduler refuses the launch when the selection changed since (the page says so).
- ``GET /operations/library/diff``: two versions of a scenario side by side as a line diff
  of their YAML, read from the scheduler (``GET /v1/library/versions/...``).

Role and companies are checked on every request; the actor is the signed-in identity.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from contracts.envelope import Event
from services.console import queries, read_model, suspensions
from services.console.domain.commands import FormProblem
from services.console.domain.operations import (
    CHANNELS,
    CUSTOMER_TYPES,
    EVERY_COMPANY,
    LEVELS,
    LISTED_FIELDS,
    MARKETS,
    OPERATOR_ROLE,
    PAYER_PROFILES,
    RISK_RATINGS,
    campaign_fields_of,
    campaign_of,
    launch_of,
    library_diff,
    scope_allowed,
    scope_command_of,
    scope_of,
)
from services.console.domain.previews import preview_of
from services.console.errors import PreviewUnavailable, SchedulerUnavailable
from services.console.web.actions import actor_of
from services.console.web.security import protect
from services.runtime import outbox
from services.runtime.identity import Identity, Refused, require_role
from services.runtime.logs import get_logger

if TYPE_CHECKING:
    from services.console.web.pages import Console

log = get_logger(__name__)

RECIPIENTS_PER_PAGE = 20
AUDIT_SHOWN = 50  # the audit trail's newest entries on the page
SENT = ("suspend", "resume", "launch_campaign")


async def companies_of(console: Console, identity: Identity) -> list[str]:
    """The companies the reader may suspend or address: every company of the read model
    for an unrestricted portfolio, else the company codes of the portfolio (the scheduler
    holds a credit manager to those)."""
    if identity.unrestricted:
        return await read_model.companies(console.pool, identity)
    return sorted(identity.portfolio.company_codes)


async def page_values(console: Console, identity: Identity, sent: str) -> dict[str, Any]:
    """What the Operations page needs for its forms, beside the dead letters and freshness."""
    versions: list[dict[str, Any]] = []
    library_error = ""
    if console.scheduler.configured:
        try:
            versions = await console.scheduler.versions()
        except SchedulerUnavailable as exc:
            log.warning("library_unavailable", detail=str(exc))
            library_error = "unavailable"
    else:
        library_error = "not_configured"
    companies = await companies_of(console, identity)
    in_force = await suspensions.in_force(console.pool)
    resumable = [
        s.company_code or EVERY_COMPANY
        for s in in_force
        if scope_allowed(s.company_code or EVERY_COMPANY, companies, identity.unrestricted)
    ]
    return {
        "suspensions": in_force,
        "resumable": resumable,
        "companies": companies,
        "every_company": identity.unrestricted,
        "command_ids": {"suspend": console.new_command_id(), "resume": console.new_command_id()},
        "campaign": {},
        "levels": LEVELS,
        "channels": CHANNELS,
        "customer_types": CUSTOMER_TYPES,
        "payer_profiles": PAYER_PROFILES,
        "markets": MARKETS,
        "risk_ratings": RISK_RATINGS,
        "campaigns_possible": console.scheduler.configured,
        "versions": versions,
        "scenarios": sorted({v["scenario_id"] for v in versions}),
        "library_error": library_error,
        "catalogue": await console.scheduler.catalogue(),  # None: text fields
        "sent": sent if sent in SENT else None,
        # the whole console's trail: for a reader who sees every company only
        "audit": (
            await read_model.audit_trail(console.pool, AUDIT_SHOWN)
            if identity.unrestricted
            else None
        ),
        "audit_shown": AUDIT_SHOWN,
    }


async def _operator(console: Console, request: Request) -> tuple[Identity, dict[str, str]]:
    identity = await console.identity(request)
    require_role(identity, OPERATOR_ROLE)  # 403 for a collector, counted
    form = await console.form(request)
    posted = await request.form()  # parsed once: the same form, every value of a field
    for name in LISTED_FIELDS:
        values = [v.strip() for v in posted.getlist(name) if isinstance(v, str) and v.strip()]
        form[name] = ",".join(values)
    return identity, form


async def _check_scope(console: Console, identity: Identity, scope: str | None) -> None:
    if scope is None:
        return
    allowed = await companies_of(console, identity)
    if not scope_allowed(scope, allowed, identity.unrestricted):
        raise Refused("portfolio", f"{scope} is outside {identity.subject}'s portfolio")


def _command_id(form: dict[str, str]) -> UUID | None:
    try:
        return UUID(form.get("command_id", ""))
    except ValueError:
        return None


async def _send(
    console: Console,
    identity: Identity,
    command_id: UUID,
    name: str,
    facts: dict[str, str],
    event: Event,
) -> None:
    """Record the command and put it in the outbox, in one transaction (once per id)."""
    now = console.clock.now()
    async with console.pool.acquire() as connection, connection.transaction():
        recorded = await connection.fetchval(
            queries.RECORD_SENT_COMMAND, command_id, "", name, None, facts, identity.actor, now
        )
        if recorded is not None:
            await outbox.enqueue(
                connection, [outbox.OutgoingRecord.of(console.commands_topic, event)]
            )
    log.info(
        "operator_command_sent",
        command=name,
        command_id=str(command_id),
        subject=identity.subject,
        again=recorded is None,
        **facts,
    )


async def scope_action(console: Console, request: Request, action: str) -> Response:
    """Suspend or resume: a confirmation first, then the command."""
    identity, form = await _operator(console, request)
    if action not in ("suspend", "resume"):
        return console.render(request, "not_found.html", status_code=404, identity=identity)
    scope = scope_of(form)
    await _check_scope(console, identity, scope)
    command_id = _command_id(form)
    if command_id is None:
        return console.render(
            request, "refused.html", status_code=400, identity=identity, reason="form"
        )
    built = scope_command_of(
        action, form, command_id=command_id, actor=actor_of(identity), now=console.clock.now()
    )
    fields = {"company": scope or "", "reason": form.get("reason", "").strip()}
    if action == "resume":
        fields.pop("reason")
    if form.get("confirmed") != "yes" or isinstance(built, list):
        return console.render(
            request,
            "operations_confirm.html",
            status_code=422 if isinstance(built, list) else 200,
            identity=identity,
            action=action,
            fields=fields,
            every_company=EVERY_COMPANY,
            command_id=command_id,
            problems=built if isinstance(built, list) else [],
        )
    name = "suspend_sending" if action == "suspend" else "resume_sending"
    await _send(console, identity, command_id, name, fields, built)
    return protect(RedirectResponse(f"/operations?sent={action}", status_code=303))


def _int(form: dict[str, str], name: str) -> int:
    try:
        return max(0, int(form.get(name, "0")))
    except ValueError:
        return 0


async def _sample(console: Console, recipient: dict[str, Any] | None) -> object:
    """The recipient's message rendered by the notifier, or why it cannot be shown."""
    if recipient is None:
        return None
    try:
        rendering = await console.notifier.render_reminder(recipient["reminder"])
    except PreviewUnavailable as exc:
        log.warning("campaign_preview_unavailable", detail=str(exc))
        return "unavailable"
    return preview_of(rendering.media_type, rendering.content)


async def campaign_dry_run(console: Console, request: Request) -> Response:
    """The recipients a campaign would reach now, a sample message, and the Launch button."""
    identity, form = await _operator(console, request)
    fields = campaign_fields_of(form)
    spec = campaign_of(fields)
    catalogue = await console.scheduler.catalogue()
    if (
        not isinstance(spec, list)
        and catalogue
        and spec.step.template not in catalogue["templates"]
    ):
        spec = [FormProblem("template", "invalid")]  # not in the library: say so before asking
    values: dict[str, Any] = {
        "catalogue": catalogue,
        "identity": identity,
        "fields": fields,
        "levels": LEVELS,
        "channels": CHANNELS,
        "customer_types": CUSTOMER_TYPES,
        "payer_profiles": PAYER_PROFILES,
        "markets": MARKETS,
        "risk_ratings": RISK_RATINGS,
        "companies": await companies_of(console, identity),
        "every_company": identity.unrestricted,
    }
    if isinstance(spec, list):
        return console.render(
            request, "operations_campaign.html", status_code=422, problems=spec, **values
        )
    await _check_scope(console, identity, fields.get("company"))
    offset = _int(form, "offset")
    try:
        dry = await console.scheduler.dry_run(
            spec.model_dump(mode="json"), offset, RECIPIENTS_PER_PAGE
        )
    except SchedulerUnavailable as exc:
        log.info("campaign_dry_run_refused", status=exc.status, error=exc.error)
        refusal = exc.error if exc.error in ("suspended", "invalid_campaign") else "unavailable"
        return console.render(
            request,
            "operations_campaign.html",
            status_code=409 if refusal != "unavailable" else 503,
            problems=[],
            refusal=refusal,
            refusal_detail=str(exc) if refusal == "invalid_campaign" else "",
            **values,
        )
    recipients = dry["recipients"]
    chosen = form.get("sample", "")
    sample = next((r for r in recipients if r["customer_id"] == chosen), None) or (
        recipients[0] if recipients else None
    )
    names = await read_model.customer_names(console.pool, [r["customer_id"] for r in recipients])
    return console.render(
        request,
        "operations_campaign.html",
        problems=[],
        dry=dry,
        names=names,
        sample=sample,
        preview=await _sample(console, sample),
        offset=offset,
        per_page=RECIPIENTS_PER_PAGE,
        command_id=console.new_command_id(),
        **values,
    )


async def campaign_launch(console: Console, request: Request) -> Response:
    """``launch_campaign`` with the dry run's fingerprint."""
    identity, form = await _operator(console, request)
    fields = campaign_fields_of(form)
    spec = campaign_of(fields)
    command_id = _command_id(form)
    fingerprint = form.get("fingerprint", "")
    if isinstance(spec, list) or command_id is None:
        return console.render(
            request, "refused.html", status_code=400, identity=identity, reason="form"
        )
    await _check_scope(console, identity, fields.get("company"))
    built = launch_of(
        spec, fingerprint, command_id=command_id, actor=actor_of(identity), now=console.clock.now()
    )
    if isinstance(built, list):  # a fingerprint that is not one
        return console.render(
            request, "refused.html", status_code=400, identity=identity, reason="form"
        )
    facts = {
        "campaign_id": spec.id,
        "company": fields.get("company", ""),
        "template": spec.step.template,
    }
    await _send(console, identity, command_id, "launch_campaign", facts, built)
    return protect(RedirectResponse("/operations?sent=launch_campaign", status_code=303))


async def library_diff_page(
    console: Console, request: Request, scenario: str, before: int, after: int
) -> Response:
    identity = await console.identity(request)
    require_role(identity, OPERATOR_ROLE)
    problems: list[FormProblem] = []
    lines = []
    versions: tuple[dict[str, Any], dict[str, Any]] | None = None
    try:
        old = await console.scheduler.version(scenario, before)
        new = await console.scheduler.version(scenario, after)
    except SchedulerUnavailable as exc:
        log.info("library_version_unavailable", status=exc.status, detail=str(exc))
        problems.append(FormProblem("version", "invalid" if exc.status == 404 else "missing"))
    else:
        versions = (old, new)
        lines = library_diff(old["yaml"], new["yaml"])
    return console.render(
        request,
        "operations_diff.html",
        status_code=404 if problems and problems[0].problem == "invalid" else 200,
        identity=identity,
        scenario=scenario,
        before=before,
        after=after,
        versions=versions,
        lines=lines,
        problems=problems,
    )
