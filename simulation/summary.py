"""The end-of-run summary, read from the reporting schema, the notifier and the providers."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg

from contracts.dunning import ReminderDue, SendingResumed, SendingSuspended
from contracts.notifications import DeliverySuppressed
from contracts.topics import ALL_TOPICS, DUNNING_ACTIONS, NOTIFIER_DELIVERIES
from services.reporting import refresh
from services.reporting.app import SCHEMA as REPORTING_SCHEMA
from simulation import dead_letters
from simulation.cluster import read_topic, topic_counts
from simulation.generator import CRM
from simulation.run import Run, SuspensionRecord, end_of, start_of
from simulation.semi_automatic import PROPOSED, SCENARIO, paragraph_received


def _money(value: Any) -> str:
    if value is None:
        return "-"
    return f"{Decimal(value):,.0f}"


def _share(value: Any) -> str:
    return "-" if value is None else f"{float(value):.0%}"


@dataclass(frozen=True)
class DsoRow:
    company_code: str
    month: date
    dso_days: Decimal | None


def months_spanned(start: date, end: date) -> int:
    """How many calendar months the days from ``start`` to ``end`` touch, both included."""
    if end < start:
        raise ValueError(f"the history ends ({end}) before it starts ({start})")
    return (end.year - start.year) * 12 + end.month - start.month + 1


def dso_lines(rows: Iterable[DsoRow], end: date) -> list[str]:
    """The summary's DSO section: one line per company, its months in order.

    The month of ``end`` is cut at ``end`` (a month still under way), as the reporting
    service computes it. Without a row, one line says so rather than an empty table.
    """
    by_company: defaultdict[str, list[DsoRow]] = defaultdict(list)
    for row in rows:
        by_company[row.company_code].append(row)
    header = f"DSO (countback, days) per company and month, as of {end}"
    if not by_company:
        return [f"{header}: none (reporting.dso_monthly has no row for the simulated months)"]
    lines = [f"{header} (reporting.dso_monthly):"]
    for company, months in sorted(by_company.items()):
        cells = [
            f"{m.month:%b} " + ("-" if m.dso_days is None else f"{m.dso_days:.0f}")
            for m in sorted(months, key=lambda m: m.month)
        ]
        lines.append(f"  {company}: " + ", ".join(cells))
    return lines


async def refresh_dso(run: Run, start: date, end: date) -> int:
    """Recompute ``reporting.dso_monthly`` as of ``end`` for every month of the history.

    The reporting service recomputes the table only every
    ``RELANCE_REPORTING_REFRESH_INTERVAL_S`` (60 s in the demo, counted from its start, when
    nothing is recorded yet): a run shorter than that, or ending between two refreshes,
    would read an empty or stale table. This is the service's own refresh, run once more on
    the last simulated day, after every event has been projected.
    """
    connection = await asyncpg.connect(
        run.database_url,
        server_settings={"search_path": f'"{REPORTING_SCHEMA}", public'},
    )
    try:
        return await refresh.refresh_dso(connection, end, months_spanned(start, end))
    finally:
        await connection.close()


# Unmatched cash: payments and credit notes ingestion parked because an invoice they name
# had not arrived, as reporting keeps them. The view ``reporting.unmatched_cash`` is as of
# the real date; the summary asks its function for the last simulated day.
UNMATCHED_CASH_AS_OF = "reporting.unmatched_cash_as_of"


def unmatched_cash_lines(rows: list[Any], as_of: date) -> list[str]:
    """Unmatched cash at the end of the run: how much, per company and currency, how old."""
    if not rows:
        return [f"Unmatched cash on {as_of} ({UNMATCHED_CASH_AS_OF}): none"]
    flagged = sum(1 for r in rows if r["over_alert_age"])
    lines = [
        f"Unmatched cash on {as_of} ({UNMATCHED_CASH_AS_OF}): {len(rows)} documents, "
        f"{flagged} past the alert age"
    ]
    totals: defaultdict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in rows:
        totals[(r["company_code"], str(r["currency"] or "?"))] += Decimal(r["amount"] or 0)
    for (company, currency), amount in sorted(totals.items()):
        lines.append(f"  {company} {currency} {_money(amount)}")
    oldest = max(rows, key=lambda r: r["age_days"] or 0)
    lines.append(
        f"  oldest: {oldest['kind']} {oldest['document_id']} of {oldest['customer_id']}, "
        f"{oldest['age_days']} days, awaiting {', '.join(oldest['awaiting'] or ())}"
    )
    return lines


def drop_lines(reasons: Counter[str]) -> list[str]:
    """Deliveries dropped on purpose (``delivery.suppressed``), by reason."""
    total = sum(reasons.values())
    if not total:
        return ["Drops (delivery.suppressed): none"]
    return [
        f"Drops (delivery.suppressed): {total}, by reason: "
        + ", ".join(f"{reason} {n}" for reason, n in sorted(reasons.items()))
    ]


def suspension_lines(events: list[SendingSuspended | SendingResumed], planned: str) -> list[str]:
    """Every suspension and resumption announced on the dunning topic, in order."""
    lines = [f"Suspensions of sending ({planned}):"]
    if not events:
        lines.append("  none announced on the dunning topic (dunning.sending.suspended)")
    for event in events:
        p = event.payload
        scope = p.company_code or "every company"
        if isinstance(event, SendingSuspended):
            lines.append(
                f"  {p.at:%Y-%m-%d %H:%M} suspended {scope} by {p.by}: {event.payload.reason}"
            )
        else:
            lines.append(f"  {p.at:%Y-%m-%d %H:%M} resumed {scope} by {p.by}")
    return lines


def held_lines(
    record: SuspensionRecord, reminded: dict[str, str], settled_at_sending: set[str]
) -> list[str]:
    """What the suspension held and what became of it: the invoices whose reminder fell
    due while suspended; those reminded after the resumption (``reminded``: invoice to the
    first reminder decided for it after the resumption); those paid meanwhile, either
    settled before the resumption (never reminded) or paid on the resumption's day after
    the scheduler's morning decision (their reminder in ``settled_at_sending``, the
    reminders the notifier dropped as ``invoice_settled``)."""
    if record.resumed_at is None:
        return ["  held: the suspension was not lifted within the run"]
    candidates = {i for i in record.held - record.paid_meanwhile if i in reminded}
    dropped = {i for i in candidates if reminded[i] in settled_at_sending}
    released = candidates - dropped
    return [
        f"  held: {len(record.held)} invoices whose reminder fell due while suspended, "
        f"{record.held_deliveries} deliveries waiting in the notifier at the resumption",
        f"  released after the resumption: {len(released)} invoices in "
        f"{len({reminded[i] for i in released})} reminders (the catch-up: the latest step "
        "due, in the sending window)",
        f"  dropped because paid meanwhile: {len(record.paid_meanwhile) + len(dropped)} "
        f"invoices ({len(record.paid_meanwhile)} settled before the resumption, never "
        f"reminded; {len(dropped)} paid on the resumption's day, their catch-up reminder "
        "dropped by the notifier: invoice_settled)",
    ]


async def suspensions_and_drops(run: Run) -> list[str]:
    bootstrap = run.options.bootstrap
    events: list[SendingSuspended | SendingResumed] = []
    suspension = run.suspension
    resumed_at = suspension.resumed_at if suspension is not None else None
    reminded: dict[str, str] = {}  # invoice: its first reminder after the resumption
    settled_at_sending: set[str] = set()  # reminders the notifier dropped: paid by then
    for record in await read_topic(bootstrap, DUNNING_ACTIONS.name):
        event = DUNNING_ACTIONS.parse(record.value)
        if isinstance(event, SendingSuspended | SendingResumed):
            events.append(event)
        elif (
            isinstance(event, ReminderDue)
            and resumed_at is not None
            and event.occurred_at >= resumed_at
        ):
            for invoice in event.payload.invoices:
                reminded.setdefault(invoice.invoice_id, str(event.payload.reminder_id))
    reasons: Counter[str] = Counter()
    seen: set[str] = set()
    for record in await read_topic(bootstrap, NOTIFIER_DELIVERIES.name):
        event = NOTIFIER_DELIVERIES.parse(record.value)
        if isinstance(event, DeliverySuppressed) and str(event.event_id) not in seen:
            seen.add(str(event.event_id))
            reasons[event.payload.reason] += 1
            if event.payload.reason == "invoice_settled":
                settled_at_sending.add(str(event.payload.reminder_id))
    record = run.suspension
    planned = "none planned"
    if record is not None:
        plan = record.plan
        history = run.history
        planned = (
            f"planned: {plan.company_code} from {history.day_of(plan.first_day)} to "
            f"{history.day_of(plan.resume_day)}"
            + (f"; {'; '.join(record.problems)}" if record.problems else "")
        )
    lines = suspension_lines(sorted(events, key=lambda e: e.payload.at), planned)
    if record is not None:
        lines.extend(held_lines(record, reminded, settled_at_sending))
    lines.extend(drop_lines(reasons))
    end = end_of(run.history)
    rows = await run.fetch(f"SELECT * FROM {UNMATCHED_CASH_AS_OF}($1)", end)
    lines.extend(unmatched_cash_lines(rows, end))
    return lines


async def dead_letter_account(run: Run) -> dead_letters.Account:
    """Every dead letter of the run: injected on purpose, or refused by a service's rule."""
    bootstrap = run.options.bootstrap
    names = [t.dead_letter for t in ALL_TOPICS]
    found: list[dead_letters.DeadLetter] = []
    for name, count in (await topic_counts(bootstrap, names)).items():
        if count:
            found.extend(
                dead_letters.DeadLetter.of(name, r) for r in await read_topic(bootstrap, name)
            )
    holders = [
        dead_letters.Holder(
            r["dispute_id"], r["raised_by"], r["opened_at"], tuple(r["invoice_ids"])
        )
        for r in await run.fetch(
            "SELECT dispute_id, raised_by, opened_at, invoice_ids FROM disputes.dispute "
            "WHERE invoice_ids && $1::text[]",
            dead_letters.disputed_invoices(found),
        )
    ]
    return dead_letters.account(found, run.history.bad, holders)


async def proposal_lines(run: Run) -> list[str]:
    """The steps to confirm: the proposals raised, how each ended, and whether the customer
    of the edited one received the collector's paragraph (a problem otherwise, kept in
    ``run.collector.problems``)."""
    collector = run.collector
    rows = await run.fetch(
        "SELECT proposal_id::text AS proposal_id, status, version, decided_by, "
        "timed_out_at IS NOT NULL AS timed_out, on_timeout, "
        f"{PROPOSED} ->> 'reminder_id' AS reminder_id, {PROPOSED} ->> 'step_name' AS step "
        "FROM scheduler.proposal"
    )
    if not rows and not run.options.decide_proposals:
        return []
    status = Counter(r["status"] for r in rows)
    timed_out = [r for r in rows if r["timed_out"]]
    by_collector = Counter(
        r["status"] for r in rows if r["decided_by"] and r["decided_by"] != "timeout"
    )
    deciders = sorted({r["decided_by"] for r in rows if r["decided_by"]})
    refusals = await run.fetch(
        "SELECT command, reason, count(*) AS n FROM scheduler.refused_command "
        "WHERE command LIKE '%proposal%' GROUP BY 1, 2 ORDER BY 1, 2"
    )
    lines = [
        f"Steps to confirm (the {SCENARIO} scenario, semi-automatic; decided by the simulated "
        "collector through the commands API):",
        "  proposals raised by step: "
        + (
            ", ".join(f"{k} {v}" for k, v in sorted(Counter(r["step"] for r in rows).items()))
            or "none"
        ),
        f"  proposals raised {len(rows)}; approved {by_collector.get('approved', 0)} "
        f"({collector.approved_in_bulk} approvals asked in {collector.bulk_commands} bulk "
        "commands); "
        f"edited {sum(r['version'] > 1 for r in rows)}; postponed {status.get('postponed', 0)}; "
        f"skipped {status.get('skipped', 0)}; timed out {len(timed_out)} ("
        + (
            ", ".join(
                f"{policy}: {status} {n}"
                for (policy, status), n in sorted(
                    Counter((r["on_timeout"], r["status"]) for r in timed_out).items()
                )
            )
            or "none past its deadline"
        )
        + f"); withdrawn {status.get('withdrawn', 0)} (invoices settled first); "
        f"still pending {status.get('pending', 0)}",
        f"  decided by: {', '.join(deciders) or 'nobody'}"
        + (f"; commands refused by the API: {len(collector.refused)}" if collector.refused else "")
        + (
            "; refused by the scheduler when executed: "
            + ", ".join(f"{r['command']} {r['reason']} {r['n']}" for r in refusals)
            if refusals
            else ""
        ),
    ]
    assert run.providers is not None
    kept = run.providers.smtp.kept
    for reminder_id, paragraph in collector.edited_reminders.items():
        content = kept.get(reminder_id)
        if content is None:
            verdict = "! no email of this reminder reached the SMTP stand-in"
            collector.problems.append(f"edited reminder {reminder_id} never received")
        elif paragraph_received(content, paragraph):
            verdict = "the SMTP stand-in received it with the edited paragraph"
        else:
            verdict = "! the email the SMTP stand-in received lacks the edited paragraph"
            collector.problems.append(f"edited reminder {reminder_id} sent without the edit")
        lines.append(f"  edited reminder {reminder_id}: {verdict}")
    if not collector.edited_reminders:
        lines.append("  no proposal was edited (fewer proposals than the collector's parts)")
    return lines


def letters_abroad_lines(run: Run) -> list[str]:
    """The letters to customers in Germany, Spain, Italy and the UK, read back from the print
    room: each in the customer's language, from its company, under its law (docs/law.md);
    the same check as the system test's, here requiring a formal notice in each country."""
    from simulation.checks import addressees_of
    from simulation.letters_law import LAWS, demo_rates, law_verdict, letters_in

    assert run.providers is not None
    addressees = addressees_of(run.history)
    abroad = {c for c, a in addressees.items() if a.country in LAWS}
    law = law_verdict(letters_in(run.providers.letters.directory, abroad), addressees, demo_rates())
    mark = "" if law.ok(require_each=not run.history.size.simple) else "! "
    return [f"  {mark}{law.line()}"] + [f"    ! {problem}" for problem in law.problems[:5]]


async def summary_lines(run: Run, *, dso_refreshed: bool = False) -> list[str]:
    """The summary's lines; ``dso_refreshed``: :func:`refresh_dso` already ran for the run's
    months (the demo runs it first, so that the HTML report, written meanwhile, reads it)."""
    history = run.history
    found = await dead_letter_account(run)
    lines: list[str] = []
    add = lines.append
    start, end = start_of(history), end_of(history)
    add("")
    add(
        f"Summary: {start} to {end}, {len(history.customers)} customers, "
        f"{len(history.invoices)} invoices, {run.published} records published"
    )

    add("")
    add("Reminders sent by level and channel (notifier deliveries):")
    rows = await run.fetch(
        "SELECT reminder->>'level' AS level, channel, status, count(*) AS n "
        "FROM notifier.deliveries GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    )
    table: defaultdict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for r in rows:
        table[(r["level"], r["channel"])][r["status"]] = r["n"]
    order = {"preventive": 0, "level_1": 1, "level_2": 2, "formal_notice": 3}
    add(f"  {'level':<14}{'channel':<30}{'sent':>7}{'suppressed':>12}{'failed':>8}{'other':>7}")
    for (level, channel), counts in sorted(
        table.items(), key=lambda k: (order.get(k[0][0], 9), k[0][1])
    ):
        other = sum(v for k, v in counts.items() if k not in ("sent", "suppressed", "failed"))
        add(
            f"  {level:<14}{channel:<30}{counts.get('sent', 0):>7}"
            f"{counts.get('suppressed', 0):>12}{counts.get('failed', 0):>8}{other:>7}"
        )
    assert run.providers is not None
    counts = run.providers.counts()
    add(
        f"  providers received: email {counts['email']}, sms {counts['sms']}, "
        f"letters {counts['letters']} ({dict(run.providers.letters.by_channel())}); "
        f"notices by email {counts['notices']} (owner reminders, promise confirmations)"
    )
    lines.extend(letters_abroad_lines(run))
    calls = await run.fetch("SELECT status, count(*) AS n FROM notifier.call_tasks GROUP BY 1")
    add(
        f"  call tasks: {dict((r['status'], r['n']) for r in calls)}; "
        f"answered by the simulation: {dict(run.answers)}"
    )

    add("")
    lines.extend(await suspensions_and_drops(run))

    proposals = await proposal_lines(run)
    if proposals:
        add("")
        lines.extend(proposals)

    add("")
    add("Payments following each step (reporting.step_effectiveness):")
    add(
        f"  {'scenario':<16}{'step':<22}{'reminders':>10}{'invoices':>9}"
        f"{'paid 7d':>9}{'paid 30d':>9}{'promise':>8}{'dispute':>8}"
    )
    for r in await run.fetch(
        "SELECT * FROM reporting.step_effectiveness ORDER BY scenario_id, step_name"
    ):
        add(
            f"  {r['scenario_id']:<16}{r['step_name']:<22}{r['reminders']:>10}"
            f"{r['invoices_reminded']:>9}{_share(r['paid_within_7_days']):>9}"
            f"{_share(r['paid_within_30_days']):>9}{r['promises_within_30_days']:>8}"
            f"{r['disputes_within_30_days']:>8}"
        )

    disputes = await run.fetch("SELECT status, count(*) AS n FROM reporting.disputes GROUP BY 1")
    promises = await run.fetch("SELECT status, count(*) AS n FROM reporting.promises GROUP BY 1")
    escalations = await run.fetch(
        "SELECT action, count(DISTINCT event_id) AS n, sum(total_open) AS amount "
        "FROM reporting.escalations GROUP BY 1 ORDER BY 1"
    )
    add("")
    generated = len(history.disputes)
    refused = found.rejected_commands("dispute.open", CRM)
    add(
        f"Disputes: {dict((r['status'], r['n']) for r in disputes) or 'none recorded'} "
        f"(the CRM asked to open {generated}"
        + (f", {refused} refused: see the dead letters" if refused else "")
        + f"; call tasks raised {run.answers.get('dispute_raised', 0)})"
    )
    add(
        f"Promises: {dict((r['status'], r['n']) for r in promises) or 'none recorded'} "
        f"(made on calls: {run.answers.get('promise_to_pay', 0)})"
    )
    add(
        "Escalations: "
        + (
            ", ".join(f"{r['action']} {r['n']} ({_money(r['amount'])})" for r in escalations)
            or "none"
        )
    )

    add("")
    add("Aged balance in EUR (reporting.aged_balance_as_of), start -> end:")
    buckets: dict[str, list[Decimal]] = {}
    for position, day in enumerate((start, end)):
        for r in await run.fetch(
            "SELECT bucket, bucket_order, sum(open_amount_reporting) AS amount "
            "FROM reporting.aged_balance_as_of($1) GROUP BY 1, 2 ORDER BY 2",
            day,
        ):
            buckets.setdefault(r["bucket"], [Decimal(0), Decimal(0)])[position] = Decimal(
                r["amount"] or 0
            )
    for bucket, (before, after) in buckets.items():
        add(f"  {bucket:<10}{_money(before):>16}  ->{_money(after):>16}")
    total_before = sum((v[0] for v in buckets.values()), Decimal(0))
    total_after = sum((v[1] for v in buckets.values()), Decimal(0))
    add(f"  {'total':<10}{_money(total_before):>16}  ->{_money(total_after):>16}")

    add("")
    if not dso_refreshed:
        await refresh_dso(run, start, end)
    dso = await run.fetch(
        "SELECT company_code, month, dso_days FROM reporting.dso_monthly "
        "WHERE month >= $1 AND month <= $2 ORDER BY company_code, month",
        start.replace(day=1),
        end,
    )
    lines.extend(
        dso_lines((DsoRow(r["company_code"], r["month"], r["dso_days"]) for r in dso), end)
    )

    add("")
    lines.extend(dead_letters.summary_lines(found))
    return lines
