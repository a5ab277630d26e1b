"""Running an ad-hoc campaign: select in the scheduler's tables, emit, remember who was reached.

One transaction: the customers of the campaign's companies are locked (``FOR UPDATE``, so a
tick cannot contact them at the same moment), :func:`~services.scheduler.domain.campaign.select`
chooses, and each customer reached gets one ``dunning.reminder.due`` with ``campaign_id`` set,
scheduled at the first instant of a business day within the sending window. The customer's
last contact moves to that instant, so their scenario's next step keeps the minimum gap, and
``campaign_contact`` records the reach, so that running the campaign again reaches nobody twice
(the reminder's id is deterministic too, so the notifier would send it once anyway).

A campaign sent is an operator action: ``dunning.campaign.launched`` (who, when, what, whom
it reached and who it left out, by reason) goes out in the same transaction, for the audit
trail (reporting's ``operator_action``). A dry run sends nothing and announces nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from pydantic import ValidationError

from contracts.dunning import ActorRole, CampaignLaunched, CampaignRun, Reminder, ReminderDue
from contracts.envelope import Event
from contracts.topics import DUNNING_ACTIONS, Topic
from services.runtime.business_days import send_instant
from services.runtime.clock import Clock
from services.runtime.database import Connection, Pool
from services.runtime.outbox import OutgoingRecord, enqueue
from services.scheduler import queries
from services.scheduler.domain.campaign import (
    Campaign,
    SkipReason,
    check_campaign,
    fingerprint,
    select,
)
from services.scheduler.domain.reminders import (
    account_of,
    dunned_invoice,
    open_statement,
    reminder_id,
)
from services.scheduler.domain.state import Customer, InvoiceState, Policy
from services.scheduler.errors import CampaignRefused, InvalidScenarios, Problem
from services.scheduler.outgoing import SOURCE
from services.scheduler.suspensions import holding, suspended_among


def load_campaign(path: Path, templates: frozenset[str]) -> Campaign:
    """Read and check a campaign file; every problem is reported with the file's name."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidScenarios([Problem(path.name, f"cannot read YAML: {exc}")]) from exc
    try:
        campaign = Campaign.model_validate(raw)
    except ValidationError as exc:
        raise InvalidScenarios(
            [
                Problem(path.name, f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}")
                for e in exc.errors()
            ]
        ) from exc
    problems = check_campaign(campaign, templates)
    if problems:
        raise InvalidScenarios([Problem(path.name, p, campaign.id) for p in problems])
    return campaign


@dataclass
class CampaignReport:
    campaign_id: str
    dry_run: bool
    reached: list[tuple[str, int]] = field(default_factory=list)  # customer, invoices
    skipped: dict[str, SkipReason] = field(default_factory=dict)
    reminders: list[Reminder] = field(default_factory=list)  # one per customer reached
    fingerprint: str = ""  # of what the campaign reaches (domain.campaign.fingerprint)

    def skipped_by_reason(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for reason in self.skipped.values():
            counts[reason] = counts.get(reason, 0) + 1
        return dict(sorted(counts.items()))


async def plan_campaign(
    connection: Connection, policy: Policy, campaign: Campaign, now: datetime
) -> CampaignReport:
    """Whom the campaign reaches now and the reminder each would get, nothing written (the
    customers are locked until the caller's transaction ends). :class:`CampaignRefused`
    while sending is suspended for one of its companies."""
    report = CampaignReport(campaign.id, dry_run=True)
    held = suspended_among(await holding(connection), campaign.select.company_codes)
    if held:
        scopes = ", ".join(h.company_code or "every company" for h in held)
        raise CampaignRefused(f"sending is suspended ({scopes}): `relance scheduler resume` first")
    customers = [
        Customer.of(row)
        for row in await connection.fetch(
            queries.CAMPAIGN_CUSTOMERS, list(campaign.select.company_codes)
        )
    ]
    invoices: dict[str, list[InvoiceState]] = {c.customer_id: [] for c in customers}
    for row in await connection.fetch(queries.OPEN_INVOICES_OF, list(invoices)):
        invoices[row["customer_id"]].append(InvoiceState.of(row))
    reached_before = frozenset(
        r["customer_id"] for r in await connection.fetch(queries.CAMPAIGN_REACHED, campaign.id)
    )
    outcome = select(
        campaign,
        policy.library.assignment,
        [(c, invoices[c.customer_id]) for c in customers],
        now=now,
        today_of={c.customer_id: now.astimezone(ZoneInfo(c.time_zone)).date() for c in customers},
        min_gap=policy.min_gap,
        already_reached=reached_before,
    )
    report.skipped = outcome.skipped
    report.fingerprint = fingerprint(campaign, outcome.targets)
    step = campaign.step
    for target in outcome.targets:
        customer = target.customer
        today = now.astimezone(ZoneInfo(customer.time_zone)).date()
        at = send_instant(
            today,
            country=customer.country,
            time_zone=customer.time_zone,
            window=policy.window,
            not_before=now,
        )
        ids = [i.invoice_id for i in target.invoices]
        report.reminders.append(
            Reminder(
                reminder_id=reminder_id(customer.customer_id, campaign.id, step.name, ids),
                customer_id=customer.customer_id,
                company_code=customer.company_code,
                scenario_id=campaign.id,
                campaign_id=campaign.id,
                step_name=step.name,
                level=step.level,
                channel=step.channel,
                recipient_role=step.recipient,
                template=step.template,
                language=customer.language,
                include_penalties=step.include_penalties,
                escalating=False,
                scheduled_for=at,
                invoices=tuple(dunned_invoice(i, customer, now) for i in target.invoices),
                statement=open_statement(account_of(invoices[customer.customer_id])),
            )
        )
        report.reached.append((customer.customer_id, len(ids)))
    return report


async def send_campaign(
    connection: Connection,
    campaign: Campaign,
    report: CampaignReport,
    *,
    by: str,
    now: datetime,
    topic: Topic = DUNNING_ACTIONS,
    role: ActorRole | None = None,
) -> None:
    """Send what :func:`plan_campaign` planned, in the caller's transaction: the reminders,
    the customers' last contact, the campaign's contacts and its audit event."""
    report.dry_run = False
    records: list[OutgoingRecord] = []
    for reminder in report.reminders:
        event = ReminderDue(
            event_id=reminder.reminder_id, occurred_at=now, source=SOURCE, payload=reminder
        )
        records.append(OutgoingRecord.of(topic, event))
        at = reminder.scheduled_for
        await connection.execute(queries.SET_LAST_CONTACT, reminder.customer_id, at)
        await connection.execute(
            queries.RECORD_CAMPAIGN_CONTACT,
            campaign.id,
            reminder.customer_id,
            reminder.reminder_id,
            [i.invoice_id for i in reminder.invoices],
            at,
            now,
        )
    records.append(OutgoingRecord.of(topic, launched(campaign, report, by, now, role)))
    await enqueue(connection, records)


async def run_campaign(
    pool: Pool,
    clock: Clock,
    policy: Policy,
    campaign: Campaign,
    *,
    dry_run: bool = False,
    topic: Topic = DUNNING_ACTIONS,
    by: str = "operator",
) -> CampaignReport:
    """Send the campaign (``by``: who launched it, for the audit) or, dry, only report."""
    now = clock.now()
    async with pool.acquire() as connection, connection.transaction():
        report = await plan_campaign(connection, policy, campaign, now)
        if not dry_run:
            await send_campaign(connection, campaign, report, by=by, now=now, topic=topic)
    return report


def launched(
    campaign: Campaign,
    report: CampaignReport,
    by: str,
    now: datetime,
    role: ActorRole | None = None,
) -> Event:
    """The audit event of a campaign sent."""
    step = campaign.step
    run = CampaignRun(
        campaign_id=campaign.id,
        template=step.template,
        step_name=step.name,
        level=step.level,
        channel=step.channel,
        company_codes=tuple(campaign.select.company_codes),
        by=by[:200],
        at=now,
        role=role,
        customers_reached=len(report.reached),
        invoices_reached=sum(n for _, n in report.reached),
        skipped=report.skipped_by_reason(),
    )
    return CampaignLaunched(event_id=uuid.uuid4(), occurred_at=now, source=SOURCE, payload=run)
